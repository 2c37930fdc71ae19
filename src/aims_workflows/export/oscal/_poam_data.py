"""What the POA&M lists, read from the database as it stood at the cut-off: the end of the
period, or now for an open-ended one (what happened at the cut-off itself counts). The
milestones of each open nonconformity's corrective action, and the risk treatments that are
overdue.

A risk treatment is overdue when
- a task of a step whose own ``evidences:`` name risk treatment (6.1.3 or 8.3), such as the risk
  assessment's ``treat``, was open past its due date; or
- the newest risk register entry for a risk chose a treatment other than ``accept`` and its plan's
  target date has passed, and the plan is not tracked by a ``risk-treatment`` run (version 1 of
  the risk assessment started none: nothing marks such a plan done, so its entry stays listed
  until a newer assessment of the same risk replaces it). A tracked plan is its run's task,
  due on the target date, listed by the first rule while it is open.

The tracked treatments come from the risk register (``risk_treatments``, :func:`treatments`):
each open at the cut-off past its due date is an open item, each completed in the period an item
marked completed on its completion date; their tasks are not listed a second time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, func, or_, select

from ...engine.evidence_kinds import ArtefactRecorded
from ...store.models import Evidence, RiskRegisterEntry, Run, StepRecord
from ...store.models_risks import RiskTreatment
from ..citations import Citations
from ..period import Period
from ._meta import when

__all__ = [
    "TREATMENT_CLAUSES",
    "Milestone",
    "OverdueTask",
    "OverduePlan",
    "milestones",
    "overdue_tasks",
    "overdue_plans",
    "Treatment",
    "treatments",
]

TREATMENT_CLAUSES = frozenset({"6.1.3", "8.3"})

_S, _R, _E, _RR, _T = (
    StepRecord.__table__,
    Run.__table__,
    Evidence.__table__,
    RiskRegisterEntry.__table__,
    RiskTreatment.__table__,
)
COMPLETED_OUTCOMES = ("done", "partly_done", "not_done")
"""A treatment action's outcomes once its task is completed (``cancelled`` is not one)."""


@dataclass(frozen=True)
class Milestone:
    run_id: str
    step_id: str
    attempt: int
    title: str
    role: str
    assignee: str | None
    due: datetime | None
    done: datetime | None  # completed by the cut-off, else None


@dataclass(frozen=True)
class OverdueTask:
    milestone: Milestone
    workflow: str
    subject: str
    last_seq: int | None
    last_hash: str | None


@dataclass(frozen=True)
class OverduePlan:
    run_id: str
    system: str
    risk: str
    treatment: str
    plan: str
    target: date
    owner: str | None
    residual_score: float | None
    recorded_at: datetime
    seq: int | None
    digest: str | None


def _aware(moment: datetime | None) -> datetime | None:
    return when(moment) if moment is not None else None


def _milestone(row: Any, cutoff: datetime) -> Milestone:
    done = _aware(row.completed_at)
    return Milestone(
        row.run_id,
        row.step_id,
        row.attempt,
        row.title,
        row.role,
        row.assignee,
        _aware(row.due_at),
        done if done is not None and done <= cutoff else None,
    )


def milestones(
    conn: Connection, runs: Iterable[str], cutoff: datetime
) -> dict[str, list[Milestone]]:
    """Run id -> the tasks it had issued by the cut-off, in order."""
    wanted = sorted(set(runs))
    found: dict[str, list[Milestone]] = {r: [] for r in wanted}
    if not wanted:
        return found
    query = (
        select(_S)
        .where(_S.c.run_id.in_(wanted), _S.c.created_at <= cutoff, _S.c.status != "cancelled")
        .order_by(_S.c.created_at, _S.c.id)
    )
    for row in conn.execute(query):
        found[row.run_id].append(_milestone(row, cutoff))
    return found


def overdue_tasks(conn: Connection, cited: Citations, cutoff: datetime) -> list[OverdueTask]:
    """Risk-treatment tasks open at the cut-off past their due date, oldest due first."""
    query = (
        select(_S, _R.c.workflow_id, _R.c.spec_version, _R.c.subject_name)
        .select_from(_S.join(_R, _S.c.run_id == _R.c.id))
        .where(
            _S.c.created_at <= cutoff,
            _S.c.due_at.is_not(None),
            _S.c.due_at < cutoff,
            or_(_S.c.completed_at.is_(None), _S.c.completed_at > cutoff),
            _S.c.status != "cancelled",
        )
        .order_by(_S.c.due_at, _S.c.id)
    )
    found = []
    for row in conn.execute(query):
        # the step itself must name treatment: a workflow naming 6.1.3 as a whole (the risk
        # assessment does) would make its identify task a treatment too
        steps = cited.steps.get((row.workflow_id, row.spec_version), {})
        if not steps.get(row.step_id, frozenset()) & TREATMENT_CLAUSES:
            continue
        found.append(
            OverdueTask(_milestone(row, cutoff), row.workflow_id, row.subject_name, None, None)
        )
    seqs = _last_rows(conn, [t.milestone.run_id for t in found])
    return [
        OverdueTask(t.milestone, t.workflow, t.subject, *seqs.get(t.milestone.run_id, (None, None)))
        for t in found
    ]


def overdue_plans(conn: Connection, cutoff: datetime) -> list[OverduePlan]:
    """The newest register entry of each (system, risk), recorded by the cut-off, whose treatment
    plan's target date is before the cut-off's day."""
    rows = conn.execute(
        select(_RR).where(_RR.c.recorded_at <= cutoff).order_by(_RR.c.recorded_at, _RR.c.id)
    ).all()
    newest: dict[tuple[str, str], Any] = {}
    for row in rows:
        newest[(row.system_name, row.risk)] = row
    tracked = set(
        conn.scalars(
            select(_R.c.spawned_by).where(
                _R.c.workflow_id == "risk-treatment", _R.c.started_at <= cutoff
            )
        )
    )
    found = []
    for row in newest.values():
        if row.run_id in tracked:
            continue
        fields = row.fields if isinstance(row.fields, dict) else {}
        target = _date(fields.get("target_date"))
        treatment = row.treatment or ""
        if treatment in ("", "accept") or target is None or target >= cutoff.date():
            continue
        found.append((row, fields, target))
    refs = _last_rows(conn, [row.run_id for row, _, _ in found], artefacts=True)
    return sorted(
        (
            OverduePlan(
                row.run_id,
                row.system_name,
                row.risk,
                treatment=row.treatment,
                plan=str(fields.get("treatment_plan") or ""),
                target=target,
                owner=row.owner,
                residual_score=row.residual_score,
                recorded_at=when(row.recorded_at),
                seq=refs.get(row.run_id, (None, None))[0],
                digest=refs.get(row.run_id, (None, None))[1],
            )
            for row, fields, target in found
        ),
        key=lambda p: (p.target, p.system, p.risk),
    )


@dataclass(frozen=True)
class Treatment:
    """A treatment action of the register (a ``risk-treatment`` run), as at the cut-off."""

    run_id: str
    risk_id: str | None
    system: str
    risk: str
    treatment: str
    plan: str
    action_owner: str
    due: date
    outcome: str | None  # done, partly_done, not_done; None while open at the cut-off
    completed_at: datetime | None
    seq: int | None
    digest: str | None


def treatments(
    conn: Connection, period: Period, cutoff: datetime
) -> tuple[list[Treatment], list[Treatment]]:
    """The register's treatment actions open at the cut-off past their due date (most overdue
    first), and those completed in the period by the cut-off (oldest first)."""
    t = _T
    started = t.c.started_at <= cutoff
    overdue = conn.execute(
        select(t)
        .where(
            started,
            t.c.due_date < cutoff.date().isoformat(),
            or_(t.c.completed_at.is_(None), t.c.completed_at > cutoff),
            t.c.status != "cancelled",
        )
        .order_by(t.c.due_date, t.c.run_id)
    ).all()
    done_where: list[Any] = [
        started,
        t.c.status.in_(COMPLETED_OUTCOMES),
        t.c.completed_at.is_not(None),
        t.c.completed_at <= cutoff,
    ]
    if period.start is not None:
        done_where.append(t.c.completed_at >= period.start)
    completed = conn.execute(
        select(t).where(*done_where).order_by(t.c.completed_at, t.c.run_id)
    ).all()
    refs = _last_rows(conn, [r.run_id for r in [*overdue, *completed]])

    def one(row: Any, outcome: str | None) -> Treatment:
        seq, digest = refs.get(row.run_id, (None, None))
        return Treatment(
            row.run_id,
            row.risk_id,
            row.system_name,
            row.risk_title,
            row.treatment,
            row.plan,
            row.action_owner,
            date.fromisoformat(row.due_date),
            outcome,
            _aware(row.completed_at) if outcome else None,
            seq,
            digest,
        )

    return [one(r, None) for r in overdue], [one(r, r.status) for r in completed]


def _date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def _last_rows(
    conn: Connection, runs: list[str], *, artefacts: bool = False
) -> dict[str, tuple[int, str]]:
    """Run id -> (seq, hash) of its latest ledger row (of its latest artefact, with
    ``artefacts``: a register entry is its run's last record)."""
    if not runs:
        return {}
    where: list[Any] = [_E.c.run_id.in_(sorted(set(runs)))]
    if artefacts:
        where.append(_E.c.kind == ArtefactRecorded.KIND)
    latest = (
        select(_E.c.run_id, func.max(_E.c.seq).label("seq")).where(*where).group_by(_E.c.run_id)
    ).subquery()
    query = select(latest.c.run_id, _E.c.seq, _E.c.hash).join(_E, _E.c.seq == latest.c.seq)
    return {run_id: (seq, digest) for run_id, seq, digest in conn.execute(query)}
