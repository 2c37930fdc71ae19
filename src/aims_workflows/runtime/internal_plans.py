"""The engine's part of the dispatcher's own commands, done before their write transaction.

Starting a spawned run (``run.start``), telling a parent that a child it waits for ended
(``run.completed``) and cancelling a child (``run.cancel``) each run the engine: templates,
conditions, the next step. As for events (:meth:`Runtime.receive`), that work is done here on a
snapshot, outside the write lock, and the transaction that carries the command out only stores
the result after checking that what it was computed from is still so; when it is not, it raises
``ConcurrentUpdate`` and the command is planned and carried out again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from ..engine import Actor, CancelRun, ChildCompleted, Transition
from ..engine.commands import CancelChildRun, Command, ReportRunEnd, SpawnRun
from ..engine.state import Subject
from ..errors import NotFound, PermanentError
from ..spec.loader import LoadedSpec
from ..store import runs as run_store
from .completion_effects import plan_effect
from .core import Runtime, _Prepared
from .subjects import finding_subject, finding_subject_of

__all__ = [
    "Plan",
    "PlannedStart",
    "finding_row",
    "plan_internal",
    "store_planned_start",
    "store_run_event",
]


@dataclass(frozen=True)
class PlannedStart:
    """A spawned run's first transition and what it was computed from."""

    loaded: LoadedSpec
    subject: Subject
    inputs: dict[str, Any] | None
    transition: Transition


@dataclass(frozen=True)
class Plan:
    """What the engine made of one internal command on a snapshot (each part when it applies).
    ``triggers``: the runs a completion starts (Runtime._plan_triggers). ``effect``: the plan
    of the completed workflow's effect (runtime/completion_effects), when it plans one."""

    start: PlannedStart | None = None
    run_event: _Prepared | NotFound | None = None
    triggers: list[Any] | None = None
    effect: Any = None


def finding_row(command: SpawnRun, now: datetime) -> dict[str, Any]:
    """The findings row a spawn that raises a finding inserts (its columns)."""
    finding = command.finding
    if finding is None:
        raise ValueError("the spawn raises no finding")
    return dict(
        id=finding.id,
        title=finding.title,
        severity=finding.severity,
        source=finding.source,
        clause=finding.clause,
        description=finding.description,
        system_name=finding.system,
        source_type=finding.source_type,
        status="open",
        raised_at=now,
        corrective_run_id=command.child_run_id,
        tracker_issue=None,
    )


def _spawned_subject(command: SpawnRun, now: datetime) -> Subject:
    if command.finding is not None:
        return finding_subject_of(finding_row(command, now))
    if command.subject is not None:
        return command.subject
    raise PermanentError(
        f"run.start of {command.child_run_id} names neither a finding nor a subject",
        hint="the spawning workflow's run cannot be continued; cancel it",
    )


def _plan_start(rt: Runtime, command: SpawnRun, now: datetime, actor: Actor) -> PlannedStart:
    loaded = rt.specs.current(command.workflow)
    subject = _spawned_subject(command, now)
    with rt.db.connect() as conn:
        inputs = rt._start_inputs(conn, loaded.spec, subject, command.inputs, now, command.run_id)
    transition = rt._started(
        loaded,
        subject,
        now,
        inputs=inputs,
        actor=actor,
        trigger=f"spawned by {command.run_id}",
        run_id=command.child_run_id,
        parent_run_id=command.parent_run_id,
    )
    return PlannedStart(loaded, subject, inputs, transition)


def plan_internal(rt: Runtime, command: Command, now: datetime, actor: Actor) -> Plan:
    """The engine's work for ``command``, on a snapshot, before its write transaction."""
    if isinstance(command, SpawnRun):
        return Plan(start=_plan_start(rt, command, now, actor))
    if isinstance(command, CancelChildRun):
        event = CancelRun(actor=actor, reason=command.reason)
        return Plan(run_event=rt._prepare(event, command.child_run_id, now))
    if isinstance(command, ReportRunEnd):
        run_event = None
        if command.parent_run_id:
            notice = ChildCompleted(
                child_run_id=command.run_id,
                status=command.status,
                subject_id=command.subject.id,
                subject_name=command.subject.name,
                outputs=command.outputs,
            )
            run_event = rt._prepare(notice, command.parent_run_id, now)
        triggers = effect = None
        if command.status == "completed":
            # an approved scope change starts the runs the inventory's change triggers
            effect = plan_effect(rt.completion_effects.get(command.workflow), command.run_id, now)
            triggers = rt._plan_triggers(
                "run.completed", command.subject, now, workflow=command.workflow, actor=actor
            )
        return Plan(run_event=run_event, triggers=triggers, effect=effect)
    return Plan()


def store_planned_start(
    rt: Runtime, conn: Connection, planned: PlannedStart, command: SpawnRun, now: datetime
) -> None:
    """Store a spawned run's planned start in ``conn``'s transaction, once the subject and the
    register's values it was computed from are found unchanged (reads only)."""
    subject = (
        finding_subject(conn, command.finding.id)
        if command.finding is not None
        else planned.subject
    )
    inputs = rt._start_inputs(
        conn, planned.loaded.spec, subject, command.inputs, now, command.run_id
    )
    if subject != planned.subject or inputs != planned.inputs:
        raise run_store.ConcurrentUpdate(
            f"what run {command.child_run_id} starts from changed since it was planned"
        )
    rt._store_start(conn, planned.loaded, planned.transition, now)


def store_run_event(
    rt: Runtime, conn: Connection, prepared: _Prepared | NotFound, now: datetime
) -> str:
    """Store an event the engine applied to a snapshot of a run (plan_internal), in ``conn``'s
    transaction; a run changed since fails the version check (``ConcurrentUpdate``). The run's
    id; what ``ignored`` said when the engine had nothing to do."""
    if isinstance(prepared, NotFound):
        raise prepared
    if prepared.transition.ignored is None:
        rt._commit_transition(conn, prepared.spec, prepared.transition, prepared.lock_version, now)
    return prepared.run_id
