"""What the integrations may ask the runtime without changing anything: the state of a task
visit, who decided on an approval, an AI system at a glance. Answers come from the run state
(the one owner of a task's or an approval's status) and the runtime's projections."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection, Table, func, select

from ..engine.state import RunState
from ..store.models import AISystem, Run

__all__ = ["SystemStatus", "TaskStatus", "task_status", "deciders", "system_status"]

TaskStatus = Literal["open", "completed", "cancelled", "closed"]
"""``open``: waiting for its answers; ``completed``: answered (its answers may still be
edited); ``cancelled``: its run was cancelled; ``closed``: left without answers (a later
visit, or a run that ended)."""

_SYSTEMS: Table = AISystem.__table__
_RUNS: Table = Run.__table__


def task_status(run: RunState, step_id: str, attempt: int) -> TaskStatus:
    """The status of visit ``attempt`` of task ``step_id``, read from the run's state."""
    task = run.task
    if run.is_open and task is not None and (task.step_id, task.attempt) == (step_id, attempt):
        return "open"
    if run.status == "cancelled":
        return "cancelled"
    if step_id in run.data:
        return "completed"
    return "closed"


def deciders(run: RunState, approval_id: str) -> set[str]:
    """People whose decision on the open request ``approval_id`` counts (empty when the
    request is no longer the run's open one)."""
    approval = run.approval
    if approval is None or approval.approval_id != approval_id:
        return set()
    return {d.person for d in approval.decisions}


@dataclass(frozen=True)
class SystemStatus:
    """An AI system's assessments and its latest runs (``/aims status`` in Slack)."""

    name: str
    owner: str
    risk_tier: str
    risk_valid_until: datetime | None
    impact_valid_until: datetime | None
    runs: list[dict[str, Any]]


def system_status(conn: Connection, name: str) -> SystemStatus | list[str]:
    """The system's assessments and latest runs; the known names when there is no such system."""
    row = conn.execute(
        select(_SYSTEMS).where(func.lower(_SYSTEMS.c.name) == name.strip().lower())
    ).first()
    if row is None:
        return [
            n for (n,) in conn.execute(select(_SYSTEMS.c.name).order_by(_SYSTEMS.c.name).limit(30))
        ]
    latest = conn.execute(
        select(
            _RUNS.c.id,
            _RUNS.c.workflow_id,
            _RUNS.c.status,
            _RUNS.c.current_step,
            _RUNS.c.started_at,
            _RUNS.c.completed_at,
        )
        .where(_RUNS.c.subject_type == "ai_system", _RUNS.c.subject_name == row.name)
        .order_by(_RUNS.c.started_at.desc())
        .limit(10)
    ).all()
    return SystemStatus(
        name=row.name,
        owner=row.owner,
        risk_tier=row.risk_tier or "(not set)",
        risk_valid_until=row.risk_valid_until,
        impact_valid_until=row.impact_valid_until,
        runs=[dict(r._mapping) for r in latest],
    )
