"""The runs a change made by hand starts (an AI system registered or changed), planned on a
snapshot before the write transaction and stored in it after checking that what they were
planned from still holds.

A triggered run's scope condition and first step (templates, conditions) are the engine's work,
and may take long: as for events (:meth:`Runtime.receive`), it is done outside the write lock.
The transaction that makes the change only stores the planned starts, once it has found that
the workflows busy on the subject in the snapshot still are (one that is free now would have
started) and that the risk register gives the runs what it gave them then; when not, it raises
``ConcurrentUpdate`` and the caller plans again (``Runtime._retrying``). A workflow that got an
open run meanwhile is skipped, as it would have been in the snapshot.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from ..engine import Actor, Transition
from ..engine.state import Subject
from ..spec.loader import LoadedSpec
from ..store import runs as run_store

if TYPE_CHECKING:
    from .core import Runtime

__all__ = ["TriggerPlan", "plan_triggers", "store_triggers"]


@dataclass(frozen=True)
class TriggerPlan:
    """The runs one event starts on one subject, as planned on a snapshot."""

    event_name: str
    subject: Subject
    planned: list[tuple[LoadedSpec, Transition]]
    busy: frozenset[str]
    """Subscribed workflows that had an open run on the subject (not planned)."""
    inputs: dict[str, dict[str, Any] | None]
    """What each planned run was given from the risk register (by workflow id)."""


def plan_triggers(
    rt: Runtime,
    read: Connection,
    event_name: str,
    subject: Subject,
    now: datetime,
    *,
    fields: Iterable[str] = (),
    actor: Actor,
) -> TriggerPlan:
    """Plan on ``read`` (a read connection, no write lock) the runs ``event_name`` starts on
    ``subject``: scopes evaluated, first transitions made."""
    busy: set[str] = set()

    def has_open_run(workflow_id: str) -> bool:
        if rt._open_run_exists(read, workflow_id, subject):
            busy.add(workflow_id)
            return True
        return False

    inputs: dict[str, dict[str, Any] | None] = {}
    planned = rt._plan_triggers(
        event_name,
        subject,
        now,
        fields=fields,
        actor=actor,
        skip=has_open_run,
        conn=read,
        seen_inputs=inputs,
    )
    return TriggerPlan(event_name, subject, planned, frozenset(busy), inputs)


def store_triggers(rt: Runtime, conn: Connection, plan: TriggerPlan, now: datetime) -> list[str]:
    """Store ``plan`` in ``conn``'s write transaction (reads and writes only: nothing is
    evaluated); the runs started. ``ConcurrentUpdate`` when the plan no longer holds."""
    for workflow_id in sorted(plan.busy):
        if not rt._open_run_exists(conn, workflow_id, plan.subject):
            raise run_store.ConcurrentUpdate(
                f"the open run of {workflow_id} on {plan.subject.name} ended since the plan"
            )
    for loaded, _ in plan.planned:
        spec = loaded.spec
        if spec.id in plan.inputs and (
            rt._register_inputs(conn, spec, plan.subject) != plan.inputs[spec.id]
        ):
            raise run_store.ConcurrentUpdate(
                f"the risk register {spec.id} starts from changed since the plan"
            )
    return rt._fire_triggers(conn, plan.event_name, plan.subject, now, planned=plan.planned)
