"""An inventory change planned on a snapshot, before its write transaction: the row it makes,
the subject the runs it starts see, and those runs (runtime/trigger_plans).

A registration or a material change starts the workflows subscribed to it, and their scope
conditions and first steps (templates) are evaluated here, on a read connection, so that the
write lock is held only to store the change and the planned starts (service.Inventory). An
import plans every row on one snapshot, then stores them all in one transaction that evaluates
nothing. The write transaction checks the plan still holds (the row's version, the id drawn,
the busy workflows and the register's values) and otherwise raises ``ConcurrentUpdate``: the
change is planned again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from ..engine import Actor
from ..engine.state import Subject
from ..errors import InventoryError
from ..runtime.core import Runtime
from ..runtime.subjects import ai_system_subject
from ..runtime.trigger_plans import TriggerPlan, plan_triggers
from ..store import inventory as inventory_store
from .model import MATERIAL_FIELDS, AISystemRecord

__all__ = ["PlannedAdd", "PlannedChange", "plan_add", "plan_change", "refuse_taken_name"]


@dataclass(frozen=True)
class PlannedAdd:
    """A system to register under the id drawn for it, and the runs its registration starts."""

    record: AISystemRecord
    system_id: int
    subject: Subject
    """The subject as the inventory gives it (without the proposal's issue)."""
    tracker_issue: str | None
    triggers: TriggerPlan


@dataclass(frozen=True)
class PlannedChange:
    """A change of the system in ``row`` (as the snapshot read it) to ``record``, and the runs
    it starts (None when it is not material). ``changes`` is empty when nothing changes."""

    row: dict[str, Any]
    record: AISystemRecord
    changes: dict[str, list[Any]]
    subject: Subject
    triggers: TriggerPlan | None


def refuse_taken_name(conn: Connection, name: str, current: dict[str, Any] | None = None) -> None:
    """InventoryError when another system than ``current`` has the name ``name``."""
    if current is not None and name.lower() == current["name"].lower():
        return
    if inventory_store.find(conn, name) is None:
        return
    if current is None:
        raise InventoryError(
            f"an AI system named '{name}' exists already",
            hint="use `aims systems set` to change it",
        )
    raise InventoryError(f"an AI system named '{name}' exists already")


def plan_add(
    rt: Runtime,
    read: Connection,
    record: AISystemRecord,
    now: datetime,
    actor: Actor,
    system_id: int,
    *,
    tracker_issue: str | None = None,
) -> PlannedAdd:
    """``system_id``: drawn by ``inventory_store.reserve_ids``. ``tracker_issue``: the issue the
    system was proposed in, given to the runs its registration starts (``proposal_issue``)."""
    refuse_taken_name(read, record.name)
    subject = ai_system_subject({**record.model_dump(), "id": system_id})
    seen = subject
    if tracker_issue:
        attributes = {**subject.attributes, "proposal_issue": tracker_issue}
        seen = subject.model_copy(update={"attributes": attributes})
    triggers = plan_triggers(rt, read, "ai_system.registered", seen, now, actor=actor)
    return PlannedAdd(record, system_id, subject, tracker_issue, triggers)


def plan_change(
    rt: Runtime,
    read: Connection,
    row: dict[str, Any],
    record: AISystemRecord,
    now: datetime,
    actor: Actor,
) -> PlannedChange:
    """The change of ``row`` (read on ``read``) to ``record``."""
    refuse_taken_name(read, record.name, row)
    changes = inventory_store.changes_of(row, record)
    subject = ai_system_subject({**row, **record.model_dump()})
    material = sorted(set(changes) & MATERIAL_FIELDS)
    triggers = (
        plan_triggers(rt, read, "ai_system.changed", subject, now, fields=material, actor=actor)
        if material
        else None
    )
    return PlannedChange(row, record, changes, subject, triggers)
