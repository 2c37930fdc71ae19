"""The register-like CSVs of the audit pack: runs, approvals, findings, tasks, the AI system
inventory and its history, and the workflow versions runs were pinned to.

Each function returns ``(header, rows)``; rows are produced while the query streams
(``yield_per``), so a large table is never held in memory. Things active at any time in the period
are included (a run started before it and completed inside it is in).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, or_, select

from ..engine.evidence_kinds import ApprovalDecided, ApprovalRefused, parse_evidence
from ..errors import EvidenceError
from ..store.models import (
    AISystem,
    AISystemHistory,
    Approval,
    Evidence,
    Finding,
    Run,
    SpecVersion,
    StepRecord,
)
from .period import Period

__all__ = [
    "runs",
    "approvals",
    "findings",
    "tasks",
    "inventory",
    "inventory_history",
    "pinned_versions",
    "Table",
]

Table = tuple[list[str], Iterator[list[Any]]]
_BATCH = 1000


def _active(period: Period, start_col, end_col) -> list[Any]:
    """Rows whose [start, end) touches the period (an open end means still active)."""
    where = []
    if period.end is not None:
        where.append(start_col < period.end)
    if period.start is not None:
        where.append(or_(end_col.is_(None), end_col >= period.start))
    return where


def _stream(conn: Connection, query) -> Iterator[Any]:
    yield from conn.execute(query.execution_options(yield_per=_BATCH))


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 2)


def _days(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return round((end - start).total_seconds() / 86400, 1)


def runs(conn: Connection, period: Period) -> Table:
    r = Run.__table__
    header = [
        "run",
        "workflow",
        "version",
        "spec_hash",
        "subject_type",
        "subject_id",
        "subject",
        "status",
        "current_step",
        "started_by_run",
        "waited_for_by",
        "started_at",
        "completed_at",
    ]
    query = (
        select(
            r.c.id,
            r.c.workflow_id,
            r.c.spec_version,
            r.c.spec_hash,
            r.c.subject_type,
            r.c.subject_id,
            r.c.subject_name,
            r.c.status,
            r.c.current_step,
            r.c.spawned_by,
            r.c.parent_run_id,
            r.c.started_at,
            r.c.completed_at,
        )
        .where(*_active(period, r.c.started_at, r.c.completed_at))
        .order_by(r.c.started_at, r.c.id)
    )
    return header, (list(row) for row in _stream(conn, query))


def _decisions(conn: Connection) -> tuple[dict[str, list[dict[str, Any]]], dict[str, int]]:
    """approval id -> its decisions in order, and -> how many clicks were refused (not an approver,
    segregation of duties, changed content). Only these two kinds of row are read (indexed)."""
    e = Evidence.__table__
    decided: dict[str, list[dict[str, Any]]] = {}
    refused: dict[str, int] = {}
    query = (
        select(e.c.kind, e.c.actor, e.c.effective_at, e.c.payload)
        .where(e.c.kind.in_((ApprovalDecided.KIND, ApprovalRefused.KIND)))
        .order_by(e.c.seq)
    )
    for kind, actor, at, payload in _stream(conn, query):
        try:
            row = parse_evidence(kind, payload)
        except EvidenceError:
            continue  # a row that does not fit its kind's contract holds no decision to list
        match row:
            case ApprovalDecided() if row.approval_id:
                decided.setdefault(row.approval_id, []).append(
                    {
                        "by": row.person or actor,
                        "decision": row.decision,
                        "reason": row.reason,
                        "at": at,
                    }
                )
            case ApprovalRefused() if row.approval_id:
                refused[row.approval_id] = refused.get(row.approval_id, 0) + 1
    return decided, refused


def approvals(conn: Connection, period: Period) -> Table:
    """One row per decision (an approval with a quorum of two has two rows); an approval nobody
    decided yet has one row with the decision columns empty."""
    a, r = Approval.__table__, Run.__table__
    decided, refused = _decisions(conn)
    header = [
        "approval",
        "run",
        "workflow",
        "subject",
        "step",
        "approvers",
        "requested_at",
        "outcome",
        "closed_at",
        "latency_hours",
        "decided_by",
        "decision",
        "reason",
        "decided_at",
        "refused_attempts",
        "content_hash",
    ]
    query = (
        select(
            a.c.approval_id,
            a.c.run_id,
            r.c.workflow_id,
            r.c.subject_name,
            a.c.step_id,
            a.c.approvers,
            a.c.requested_at,
            a.c.status,
            a.c.closed_at,
            a.c.latency_seconds,
            a.c.content_hash,
        )
        .select_from(a.outerjoin(r, a.c.run_id == r.c.id))
        .where(*_active(period, a.c.requested_at, a.c.closed_at))
        .order_by(a.c.requested_at, a.c.approval_id)
    )

    def rows() -> Iterator[list[Any]]:
        for row in _stream(conn, query):
            base = [
                row.approval_id,
                row.run_id,
                row.workflow_id,
                row.subject_name,
                row.step_id,
                row.approvers,
                row.requested_at,
                row.status,
                row.closed_at,
                _hours(row.latency_seconds),
            ]
            tail = [refused.get(row.approval_id, 0), row.content_hash]
            for d in decided.get(row.approval_id) or [{}]:
                yield base + [d.get("by"), d.get("decision"), d.get("reason"), d.get("at")] + tail

    return header, rows()


def findings(conn: Connection, period: Period, now: datetime) -> Table:
    f, r = Finding.__table__, Run.__table__
    header = [
        "finding",
        "title",
        "severity",
        "source",
        "clause",
        "system",
        "description",
        "status",
        "raised_at",
        "closed_at",
        "days_to_close",
        "days_open",
        "corrective_action_run",
        "corrective_action_status",
        "corrective_action_completed_at",
        "source_type",
        "tracker_issue",
    ]
    query = (
        select(f, r.c.status.label("run_status"), r.c.completed_at.label("run_completed_at"))
        .select_from(f.outerjoin(r, f.c.corrective_run_id == r.c.id))
        .where(*_active(period, f.c.raised_at, f.c.closed_at))
        .order_by(f.c.raised_at, f.c.id)
    )

    def rows() -> Iterator[list[Any]]:
        for row in _stream(conn, query):
            closed = row.closed_at if row.status == "closed" else None
            yield [
                row.id,
                row.title,
                row.severity,
                row.source,
                row.clause,
                row.system_name,
                row.description,
                row.status,
                row.raised_at,
                row.closed_at,
                _days(row.raised_at, closed),
                None if closed else _days(row.raised_at, now),
                row.corrective_run_id,
                row.run_status,
                row.run_completed_at,
                row.source_type or "internal",  # rows from before 1.5 are internal audits'
                row.tracker_issue,
            ]

    return header, rows()


def tasks(conn: Connection, period: Period, now: datetime) -> Table:
    """The task projection: one row per visit of a task step. ``overdue``: open and past due now;
    ``completed_late``: done after its due date; ``marked_overdue``: the engine escalated it."""
    s, r = StepRecord.__table__, Run.__table__
    header = [
        "run",
        "workflow",
        "subject",
        "step",
        "attempt",
        "title",
        "role",
        "assignee",
        "issue",
        "status",
        "created_at",
        "due_at",
        "completed_at",
        "overdue",
        "days_overdue",
        "completed_late",
        "marked_overdue",
    ]
    query = (
        select(s, r.c.workflow_id, r.c.subject_name)
        .select_from(s.outerjoin(r, s.c.run_id == r.c.id))
        .where(*_active(period, s.c.created_at, s.c.completed_at))
        .order_by(s.c.created_at, s.c.id)
    )

    def rows() -> Iterator[list[Any]]:
        for row in _stream(conn, query):
            overdue = row.status == "open" and row.due_at is not None and row.due_at < now
            late = (
                row.completed_at is not None
                and row.due_at is not None
                and row.completed_at > row.due_at
            )
            yield [
                row.run_id,
                row.workflow_id,
                row.subject_name,
                row.step_id,
                row.attempt,
                row.title,
                row.role,
                row.assignee,
                row.external_ref,
                row.status,
                row.created_at,
                row.due_at,
                row.completed_at,
                overdue,
                _days(row.due_at, now) if overdue else None,
                late,
                row.overdue,
            ]

    return header, rows()


def inventory(conn: Connection) -> Table:
    """Every AI system with every column the inventory keeps, as it stands at export time."""
    t = AISystem.__table__
    header = [c.name for c in t.columns]
    return header, (list(row) for row in _stream(conn, select(t).order_by(t.c.id)))


def inventory_history(conn: Connection, period: Period) -> Table:
    h, t = AISystemHistory.__table__, AISystem.__table__
    header = ["system_id", "system", "version", "changed_at", "changed_by", "changes", "snapshot"]
    where = []
    if period.start is not None:
        where.append(h.c.changed_at >= period.start)
    if period.end is not None:
        where.append(h.c.changed_at < period.end)
    query = (
        select(
            h.c.system_id,
            t.c.name,
            h.c.version,
            h.c.changed_at,
            h.c.changed_by,
            h.c.changes,
            h.c.snapshot,
        )
        .select_from(h.outerjoin(t, h.c.system_id == t.c.id))
        .where(*where)
        .order_by(h.c.changed_at, h.c.id)
    )
    return header, (list(row) for row in _stream(conn, query))


def pinned_versions(conn: Connection, period: Period) -> Iterable[Any]:
    """Stored workflow versions with at least one run active in the period (all of them without
    a period), with their exact text."""
    v, r = SpecVersion.__table__, Run.__table__
    used = (
        select(r.c.workflow_id, r.c.spec_version)
        .where(*_active(period, r.c.started_at, r.c.completed_at))
        .distinct()
        .subquery()
    )
    query = (
        select(v)
        .select_from(
            v.join(
                used,
                and_(v.c.workflow_id == used.c.workflow_id, v.c.version == used.c.spec_version),
            )
        )
        .order_by(v.c.workflow_id, v.c.version)
    )
    return conn.execute(query).all()
