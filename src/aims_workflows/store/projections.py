"""Read models kept up to date in the same transaction as the evidence that moves them, so the
KPIs read a handful of indexed rows instead of scanning the ledger."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from ..engine.evidence import EvidenceRecord
from ..engine.evidence_kinds import (
    ApprovalClosed,
    ApprovalExpired,
    ApprovalInvalidated,
    ApprovalRequested,
    ArtefactRecorded,
    EvidencePayload,
    RunCancelled,
    RunCompleted,
    RunFailed,
    RunStarted,
    TaskCompleted,
    TaskIssued,
    TaskOverdue,
    TaskRequested,
)
from ..engine.state import RunState
from . import risk_register
from ._fast import Prepared
from .models import (
    AISystem,
    Approval,
    ApprovalLatencyBucket,
    Finding,
    KpiCounter,
    RiskRegisterEntry,
    StepRecord,
)
from .upsert import insert_for

__all__ = ["apply", "bump_counter", "RISK_REGISTER_ARTEFACT"]

RISK_REGISTER_ARTEFACT = "risk_register_entry"

_STEPS = StepRecord.__table__
_APPROVALS = Approval.__table__
_HIST = ApprovalLatencyBucket.__table__
_COUNTERS = KpiCounter.__table__
_SYSTEMS = AISystem.__table__
_FINDINGS = Finding.__table__
_RISKS = RiskRegisterEntry.__table__


_UPSERTS: dict[tuple[str, str, str, str], Prepared] = {}


def _upsert_statement(dialect_name: str, table, key_column: str, column: str) -> Prepared:
    """INSERT ... ON CONFLICT DO UPDATE adding to ``column``; built once per dialect and table."""
    cache_key = (dialect_name, table.name, key_column, column)
    statement = _UPSERTS.get(cache_key)
    if statement is None:
        amount = bindparam("b_amount", type_=table.c[column].type)
        statement = Prepared(
            insert_for(dialect_name, table)
            .values(
                {key_column: bindparam("b_key", type_=table.c[key_column].type), column: amount}
            )
            .on_conflict_do_update(
                index_elements=[key_column], set_={column: table.c[column] + amount}
            ),
            ("b_key", "b_amount"),
        )
        _UPSERTS[cache_key] = statement
    return statement


def _upsert_add(
    conn: Connection, table, key_column: str, key: Any, column: str, amount: float
) -> None:
    _upsert_statement(conn.dialect.name, table, key_column, column).execute(
        conn, {"b_key": key, "b_amount": amount}
    )


def bump_counter(conn: Connection, name: str, amount: float) -> None:
    _upsert_add(conn, _COUNTERS, "name", name, "value", amount)


# Statements compiled once per dialect for the projections every event moves (see _fast); the
# rare ones are built where they are used.
_INSERT_STEP = Prepared(
    insert(_STEPS),
    (
        "run_id",
        "step_id",
        "attempt",
        "kind",
        "title",
        "role",
        "status",
        "overdue",
        "created_at",
        "due_at",
    ),
)
_STEP_VISIT = update(_STEPS).where(
    _STEPS.c.run_id == bindparam("b_run_id"),
    _STEPS.c.step_id == bindparam("b_step_id"),
    _STEPS.c.attempt == bindparam("b_attempt"),
)
_STEP_KEYS = ("b_run_id", "b_step_id", "b_attempt")
# keyed by the columns an update sets, in the order _update_step is given them
_UPDATE_STEP: dict[tuple[str, ...], Prepared] = {
    ("external_ref", "assignee"): Prepared(_STEP_VISIT, (*_STEP_KEYS, "external_ref", "assignee")),
    ("status", "completed_at"): Prepared(_STEP_VISIT, (*_STEP_KEYS, "status", "completed_at")),
}
_CANCEL_OPEN_STEPS = Prepared(
    update(_STEPS).where(_STEPS.c.run_id == bindparam("b_run_id"), _STEPS.c.status == "open"),
    ("b_run_id", "status", "completed_at"),
)
_INSERT_APPROVAL = Prepared(
    insert(_APPROVALS),
    ("approval_id", "run_id", "step_id", "content_hash", "approvers", "status", "requested_at"),
)
_UPDATE_APPROVAL = Prepared(
    update(_APPROVALS).where(_APPROVALS.c.approval_id == bindparam("b_approval_id")),
    ("b_approval_id", "status", "closed_at", "latency_seconds"),
)
_CANCEL_OPEN_APPROVALS = Prepared(
    update(_APPROVALS).where(
        _APPROVALS.c.run_id == bindparam("b_run_id"), _APPROVALS.c.status == "open"
    ),
    ("b_run_id", "status", "closed_at"),
)
_UPDATE_SYSTEM = {
    prefix: Prepared(
        update(_SYSTEMS).where(_SYSTEMS.c.id == bindparam("b_id")),
        ("b_id", f"{prefix}_assessed_at", f"{prefix}_valid_until"),
    )
    for prefix in ("risk", "impact")
}


def _update_step(conn, run: RunState, step_id: str | None, attempt: int, **values: Any) -> None:
    _UPDATE_STEP[tuple(values)].execute(
        conn, dict(b_run_id=run.run_id, b_step_id=step_id, b_attempt=attempt, **values)
    )


def _task_requested(conn, run, step_id, payload: TaskRequested, now, _coverage):
    _INSERT_STEP.execute(
        conn,
        dict(
            run_id=run.run_id,
            step_id=step_id,
            attempt=payload.attempt,
            kind="task",
            title=payload.title[:500],
            role=payload.role,
            status="open",
            overdue=False,
            created_at=now,
            due_at=payload.due_at,
        ),
    )


def _task_issued(conn, run, step_id, payload: TaskIssued, now, _coverage):
    _update_step(
        conn, run, step_id, payload.attempt, external_ref=payload.ref, assignee=payload.assignee
    )


def _task_completed(conn, run, step_id, payload: TaskCompleted, now, _coverage):
    _update_step(conn, run, step_id, payload.attempt, status="done", completed_at=now)


def _task_overdue(conn, run, step_id, _payload: TaskOverdue, now, _coverage):
    conn.execute(
        update(_STEPS)
        .where(
            _STEPS.c.run_id == run.run_id,
            _STEPS.c.step_id == step_id,
            _STEPS.c.status == "open",
        )
        .values(overdue=True)
    )


def _approval_requested(conn, run, step_id, payload: ApprovalRequested, now, _coverage):
    _INSERT_APPROVAL.execute(
        conn,
        dict(
            approval_id=payload.approval_id,
            run_id=run.run_id,
            step_id=step_id,
            content_hash=payload.content_hash,
            approvers=payload.approvers,
            status="open",
            requested_at=now,
        ),
    )


def _approval_invalidated(conn, run, step_id, payload: ApprovalInvalidated, now, _coverage):
    conn.execute(
        update(_APPROVALS)
        .where(_APPROVALS.c.approval_id == payload.approval_id)
        .values(status="invalidated", closed_at=now)
    )


def _approval_expired(conn, run, step_id, payload: ApprovalExpired, now, _coverage):
    # closed without an outcome: no latency, so the approval-latency KPI neither counts it
    # as decided nor as rejected
    conn.execute(
        update(_APPROVALS)
        .where(_APPROVALS.c.approval_id == payload.approval_id)
        .values(status="expired", closed_at=now)
    )


def _approval_closed(conn, run, step_id, payload: ApprovalClosed, now, _coverage):
    latency = float(payload.latency_seconds)
    _UPDATE_APPROVAL.execute(
        conn,
        dict(
            b_approval_id=payload.approval_id,
            status=payload.outcome,
            closed_at=now,
            latency_seconds=latency,
        ),
    )
    _upsert_add(conn, _HIST, "bucket_minutes", int(latency // 60), "count", 1)


def _artefact_recorded(conn, run, step_id, payload: ArtefactRecorded, now, _coverage):
    risk_register.on_artefact(conn, run, payload.artefact, payload.fields, now)
    if payload.artefact != RISK_REGISTER_ARTEFACT:
        return
    fields = payload.fields

    def number(name: str) -> float | None:
        value = fields.get(name)
        return (
            float(value)
            if isinstance(value, (int, float)) and not isinstance(value, bool)
            else None
        )

    row = dict(
        system_name=run.subject.name,
        risk=str(fields.get("risk", "")),
        likelihood=number("likelihood"),
        impact=number("impact"),
        score=number("score"),
        treatment=fields.get("treatment"),
        residual_score=number("residual_score"),
        owner=fields.get("owner"),
        fields=fields,
        recorded_at=now,
    )
    existing = conn.scalar(select(_RISKS.c.id).where(_RISKS.c.run_id == run.run_id))
    if existing is None:
        conn.execute(insert(_RISKS).values(run_id=run.run_id, **row))
    else:  # a reworked assessment replaces its own entry
        conn.execute(update(_RISKS).where(_RISKS.c.id == existing).values(**row))


def _run_closed(
    conn, run, step_id, payload: RunCompleted | RunCancelled | RunFailed, now, coverage
):
    _CANCEL_OPEN_STEPS.execute(
        conn, dict(b_run_id=run.run_id, status="cancelled", completed_at=now)
    )
    _CANCEL_OPEN_APPROVALS.execute(
        conn, dict(b_run_id=run.run_id, status="cancelled", closed_at=now)
    )
    if isinstance(payload, RunCancelled):
        risk_register.on_run_cancelled(conn, run, now)
    if not isinstance(payload, RunCompleted):
        return
    if coverage is not None and run.subject.type == "ai_system":
        kpi, valid_for = coverage
        prefix = "risk" if kpi == "risk_assessment" else "impact"
        _UPDATE_SYSTEM[prefix].execute(
            conn,
            {
                "b_id": int(run.subject.id),
                f"{prefix}_assessed_at": now,
                f"{prefix}_valid_until": now + valid_for,
            },
        )
    if run.subject.type == "finding":
        raised_at = conn.scalar(
            select(_FINDINGS.c.raised_at).where(
                _FINDINGS.c.id == run.subject.id, _FINDINGS.c.status == "open"
            )
        )
        if raised_at is not None:
            conn.execute(
                update(_FINDINGS)
                .where(_FINDINGS.c.id == run.subject.id)
                .values(status="closed", closed_at=now)
            )
            bump_counter(conn, "nonconformities_closed", 1)
            bump_counter(conn, "nonconformity_close_seconds", (now - raised_at).total_seconds())


def _run_started(conn, run, step_id, payload: RunStarted, now, _coverage):
    risk_register.on_run_started(conn, run, now)


_HANDLERS: dict[type[EvidencePayload], Callable[..., None]] = {
    RunStarted: _run_started,
    TaskRequested: _task_requested,
    TaskIssued: _task_issued,
    TaskCompleted: _task_completed,
    TaskOverdue: _task_overdue,
    ApprovalRequested: _approval_requested,
    ApprovalInvalidated: _approval_invalidated,
    ApprovalClosed: _approval_closed,
    ApprovalExpired: _approval_expired,
    ArtefactRecorded: _artefact_recorded,
    RunCompleted: _run_closed,
    RunCancelled: _run_closed,
    RunFailed: _run_closed,
}
"""The read model moved by each kind of evidence; the other kinds move none."""

_PROJECTED: dict[str, type[EvidencePayload]] = {model.KIND: model for model in _HANDLERS}


def apply(
    conn: Connection,
    run: RunState,
    evidence: Iterable[EvidenceRecord],
    now: datetime,
    coverage: tuple[str, timedelta] | None = None,
) -> None:
    """Move the read models for the evidence of one transition."""
    for record in evidence:
        model = _PROJECTED.get(record.kind)
        if model is RunStarted and run.spec_id != risk_register.TREATMENT_WORKFLOW:
            continue  # only a treatment action's start moves a read model
        if model is not None:
            # the engine's own model when it built the record (its payload is that model's dump,
            # which parses back to an equal model): no need to parse the payload again
            payload = (
                record.model
                if type(record.model) is model
                else model.model_validate(record.payload)
            )
            _HANDLERS[model](conn, run, record.step_id, payload, now, coverage)
