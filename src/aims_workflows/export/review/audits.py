"""Section 4 of the management-review pack: internal audits and their results."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, or_, select

from ...engine.evidence_kinds import ArtefactRecorded
from ..period import ClosedPeriod
from ._queries import FINDINGS, INTERNAL_AUDIT, RUNS, is_open_at, ledger_of, parse_time, within
from .model import LIST_LIMIT, AuditRow, AuditSection, Capped, Figure
from .nonconformities import source_label
from .period import ReviewPeriod

__all__ = ["gather_audits"]


RESULTS = ("conforming", "observation", "minor_nonconformity", "major_nonconformity")


def gather_audits(
    conn: Connection, rp: ReviewPeriod, as_of: datetime, findings: Sequence[Any]
) -> AuditSection:

    cur, prev = rp.current, rp.previous
    r = RUNS
    runs = conn.execute(
        select(r.c.id, r.c.status, r.c.started_at, r.c.completed_at)
        .where(
            r.c.workflow_id == INTERNAL_AUDIT,
            r.c.started_at < cur.end,
            or_(r.c.completed_at.is_(None), r.c.completed_at >= prev.start),
        )
        .order_by(r.c.started_at, r.c.id)
    ).all()
    reports: dict[str, tuple[datetime, dict[str, Any]]] = {}
    for run_id, recorded_at, recorded in ledger_of(conn, [x.id for x in runs], ArtefactRecorded):
        if recorded.artefact == "internal_audit_report":
            reports[run_id] = (parse_time(recorded_at), recorded.fields)
    f = FINDINGS
    raised_by: dict[str, int] = dict(
        conn.execute(
            select(f.c.source, func.count())
            .where(f.c.source.in_([f"{INTERNAL_AUDIT}/{x.id}" for x in runs] or [""]))
            .group_by(f.c.source)
        ).all()
    )

    def results(p: ClosedPeriod, wanted: str) -> int:
        return sum(
            1
            for when, fields in reports.values()
            if within(p, when)
            for value in (fields.get("results") or {}).values()
            if value == wanted
        )

    def from_audits(f, p: ClosedPeriod) -> bool:
        return source_label(f.source) == INTERNAL_AUDIT and within(p, f.raised_at)

    def completed(x, p: ClosedPeriod) -> bool:
        return x.status == "completed" and within(p, x.completed_at)

    figures = [
        Figure(
            "Internal audits completed",
            sum(completed(x, cur) for x in runs),
            sum(completed(x, prev) for x in runs),
        ),
        Figure(
            "Internal audits in progress",
            sum(is_open_at(x.started_at, x.completed_at, as_of) for x in runs),
            sum(is_open_at(x.started_at, x.completed_at, cur.start) for x in runs),
            state=True,
        ),
        Figure(
            "Audit areas found conforming", results(cur, "conforming"), results(prev, "conforming")
        ),
        Figure("Observations", results(cur, "observation"), results(prev, "observation")),
        Figure(
            "Nonconformities raised by internal audits",
            sum(from_audits(f, cur) for f in findings),
            sum(from_audits(f, prev) for f in findings),
        ),
    ]
    shown = [x for x in runs if cur.overlaps(x.started_at, x.completed_at)]
    items = []
    for x in shown[:LIST_LIMIT]:
        fields = reports.get(x.id, (None, {}))[1]
        results_ = {str(k): str(v) for k, v in (fields.get("results") or {}).items()}
        found = [str(v) for v in fields.get("findings") or [] if v]
        done = x.completed_at is not None and x.completed_at <= as_of
        items.append(
            AuditRow(
                x.id,
                x.status if done else "in progress",
                x.started_at,
                x.completed_at if done else None,
                fields.get("audit_reference"),
                fields.get("scope"),
                results_,
                found,
                raised_by.get(f"{INTERNAL_AUDIT}/{x.id}", 0),
            )
        )
    return AuditSection(figures, Capped(items, len(shown)))
