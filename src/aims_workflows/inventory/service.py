"""Inventory changes: kept as history, written to the ledger, and starting the workflows that
subscribe to them, all in the transaction of the change.

The runs a change starts are planned before that transaction, on a snapshot (change_plans):
their scope conditions and templates are never evaluated while the write lock is held. The
transaction checks the plan still holds, else the change is planned again."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select

from ..engine import Actor, SubjectChanged
from ..engine import evidence_kinds as ev
from ..errors import EngineError, InventoryError
from ..runtime.core import CLI, Runtime
from ..runtime.trigger_plans import store_triggers
from ..store import inventory as inventory_store
from ..store import runs as run_store
from ..store.models import Run
from .change_plans import PlannedAdd, PlannedChange, plan_add, plan_change, refuse_taken_name
from .importer import parse_import
from .intake import INTAKE_WORKFLOW, IntakeDecisions
from .model import MATERIAL_FIELDS, AISystemRecord, validate_changes
from .scope_change import (
    SCOPE_CHANGE_WORKFLOW,
    decided_change,
    refuse_unreasoned,
    waiting_request,
)

__all__ = ["Inventory"]


def _assurance(actor: Actor) -> dict[str, str]:
    """The optional ``assurance`` field, written only when the actor's identity is stated (a
    CLI claim with the OS user), so rows without one keep the shape they always had."""
    return {"assurance": actor.assurance} if actor.assurance else {}


class Inventory:
    """``aims systems add | import | set`` and their effects."""

    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime
        # an approved scope change reaches the inventory when its run completes, and so does
        # an approved intake decision
        runtime.completion_effects[SCOPE_CHANGE_WORKFLOW] = ScopeDecisions(self)
        runtime.completion_effects[INTAKE_WORKFLOW] = IntakeDecisions(self)

    def add(
        self, record: AISystemRecord, *, actor: Actor = CLI
    ) -> tuple[dict[str, Any], list[str]]:
        def attempt() -> tuple[dict[str, Any], list[str]]:
            now = self.rt.clock.now()
            planned = self.plan_add(record, now, actor)
            with self.rt.db.begin() as conn:
                return self._store_add(conn, planned, now, actor)

        return self.rt._retrying(attempt)

    def plan_add(
        self,
        record: AISystemRecord,
        now: datetime,
        actor: Actor,
        *,
        tracker_issue: str | None = None,
    ) -> PlannedAdd:
        """The registration of ``record`` and the runs it starts, planned on a snapshot."""
        with self.rt.db.connect() as read:
            [system_id] = inventory_store.reserve_ids(read, 1)
            return plan_add(
                self.rt, read, record, now, actor, system_id, tracker_issue=tracker_issue
            )

    def _store_add(
        self, conn: Connection, planned: PlannedAdd, now: datetime, actor: Actor
    ) -> tuple[dict[str, Any], list[str]]:
        """Register the planned system and store the runs it starts, in ``conn``'s write
        transaction. ``planned.tracker_issue``: the issue the system was proposed in, named in
        the evidence."""
        record = planned.record
        refuse_taken_name(conn, record.name)
        if inventory_store.taken(conn, planned.system_id):
            raise run_store.ConcurrentUpdate(f"AI system id {planned.system_id} was taken")
        row = inventory_store.add(
            conn, record, actor=actor.id, now=now, system_id=planned.system_id
        )
        # the owner decides as system_owner: they are a person of the directory from now on
        self.rt.people.ensure_person(conn, record.owner, now, method="inventory owner")
        tracker_issue = planned.tracker_issue
        self.rt.record(
            conn,
            ev.AISystemRegistered(
                system_id=row["id"],
                record=ev.AISystemSnapshot.model_validate(record.model_dump()),
                **_assurance(actor),
                **({"tracker_issue": tracker_issue} if tracker_issue else {}),
            ),
            now,
            actor=actor,
            ref=f"ai_system:{row['id']}",
        )
        return row, store_triggers(self.rt, conn, planned.triggers, now)

    def import_file(self, path: Path, *, actor: Actor = CLI) -> tuple[int, int, list[str]]:
        """(added, changed, runs started). All rows are checked first; one bad row refuses the
        file. A row that would move an existing system into or out of scope refuses it too:
        that change needs a reason and an approval (``aims systems set ... --reason``).

        Every row is planned on one snapshot (the runs it starts evaluated there), then all
        are stored in one transaction that evaluates nothing."""
        records = parse_import(path)

        def attempt() -> tuple[int, int, list[str]]:
            now = self.rt.clock.now()
            plans = self._plan_import(path, records, now, actor)
            added = changed = 0
            started: list[str] = []
            with self.rt.db.begin() as conn:
                for planned in plans:
                    if isinstance(planned, PlannedAdd):
                        if inventory_store.find(conn, planned.record.name) is not None:
                            raise run_store.ConcurrentUpdate(
                                f"'{planned.record.name}' was added meanwhile"
                            )
                        _, runs = self._store_add(conn, planned, now, actor)
                        added += 1
                    else:
                        changes, runs = self._store_change(conn, planned, now, actor)
                        changed += bool(changes)
                    started += runs
            return added, changed, started

        return self.rt._retrying(attempt)

    def _plan_import(
        self, path: Path, records: list[AISystemRecord], now: datetime, actor: Actor
    ) -> list[PlannedAdd | PlannedChange]:
        with self.rt.db.connect() as read:
            rows = [inventory_store.find(read, record.name) for record in records]
            ids = iter(inventory_store.reserve_ids(read, sum(row is None for row in rows)))
            plans: list[PlannedAdd | PlannedChange] = []
            for record, row in zip(records, rows, strict=True):
                if row is not None and bool(record.in_scope) != bool(row["in_scope"]):
                    wanted = "true" if record.in_scope else "false"
                    raise InventoryError(
                        f"{path.name}: the row for '{row['name']}' sets in_scope to {wanted}, "
                        "which needs a reason and the approval of top management; nothing "
                        "was imported",
                        hint=f"keep its in_scope as it is in the file, then run "
                        f"aims systems set {row['name']!r} in_scope={wanted} --reason '...'",
                    )
                plans.append(
                    plan_add(self.rt, read, record, now, actor, next(ids))
                    if row is None
                    else plan_change(self.rt, read, row, record, now, actor)
                )
        return plans

    def set(
        self, name: str, changes: dict[str, Any], *, actor: Actor = CLI, reason: str | None = None
    ) -> tuple[dict[str, list[Any]], list[str]]:
        """(changes made, runs started). A change of ``in_scope`` is not made here: with a
        ``reason`` it starts an ai-system-scope-change run, whose approval makes it (the changes
        come back empty, the run among those started); without one it is refused."""

        def attempt() -> tuple[dict[str, list[Any]], list[str]]:
            now = self.rt.clock.now()
            with self.rt.db.connect() as read:
                row = inventory_store.get(read, name)
                record = validate_changes(inventory_store.record_of(row), changes)
                scope_reason = refuse_unreasoned(name, record, row, reason)
                if scope_reason is None:
                    planned = plan_change(self.rt, read, row, record, now, actor)
            if scope_reason is not None:
                return {}, [
                    self.request_scope_change(row, bool(record.in_scope), scope_reason, actor)
                ]
            with self.rt.db.begin() as conn:
                return self._store_change(conn, planned, now, actor)

        return self.rt._retrying(attempt)

    def request_scope_change(
        self, row: dict[str, Any], in_scope: bool, reason: str, actor: Actor
    ) -> str:
        """Start the run in which top management decides; the inventory waits for it."""
        from ..errors import NotFound

        try:
            self.rt.specs.current(SCOPE_CHANGE_WORKFLOW)
        except NotFound:
            raise InventoryError(
                f"a change of in_scope is decided in the workflow '{SCOPE_CHANGE_WORKFLOW}', "
                "which is not among the workflows in use; nothing was changed",
                hint="copy it from the shipped workflows (aims init --copy-workflows) into "
                "your workflows folder",
            ) from None
        self._refuse_if_waiting(row)
        try:
            # only_one: the write transaction checks again, so two requests at the same
            # moment start one run, not two
            transition = self.rt.start(
                SCOPE_CHANGE_WORKFLOW,
                system=str(row["id"]),
                inputs={"in_scope": in_scope, "reason": reason, "requested_by": actor.id},
                actor=actor,
                only_one=True,
            )
        except EngineError:
            self._refuse_if_waiting(row)  # the one that got in first, said as above
            raise
        return transition.run.run_id

    def _refuse_if_waiting(self, row: dict[str, Any]) -> None:
        with self.rt.db.connect() as conn:
            waiting = waiting_request(conn, row["id"])
        if waiting is not None:
            raise InventoryError(
                f"a change of the scope of '{row['name']}' is already waiting for a decision "
                f"in run {waiting}; nothing was changed",
                hint=f"follow it with `aims runs show {waiting}`, or cancel it first",
            )

    def _store_change(
        self,
        conn: Connection,
        planned: PlannedChange,
        now: datetime,
        actor: Actor,
        *,
        decided: dict[str, str | None] | None = None,
    ) -> tuple[dict[str, list[Any]], list[str]]:
        """Make the planned change and store the runs it starts, in ``conn``'s write
        transaction, once the system is found as the plan read it. ``decided``: the run and
        approval that decided the change (``decided_in``, ``approval_id``), named in its
        evidence."""
        row = inventory_store.get(conn, planned.row["id"])
        if row["version"] != planned.row["version"]:
            raise run_store.ConcurrentUpdate(f"AI system '{row['name']}' changed meanwhile")
        record = planned.record
        refuse_taken_name(conn, record.name, row)
        changes = inventory_store.change(conn, row, record, actor=actor.id, now=now)
        if not changes:
            return {}, []
        if "owner" in changes:
            self.rt.people.ensure_person(conn, record.owner, now, method="inventory owner")
        material = sorted(set(changes) & MATERIAL_FIELDS)
        self.rt.record(
            conn,
            ev.AISystemChanged(
                system_id=row["id"],
                changes=changes,
                material=material,
                **_assurance(actor),
                **(decided or {}),
            ),
            now,
            actor=actor,
            ref=f"ai_system:{row['id']}",
        )
        subject = planned.subject
        if material:
            inventory_store.end_impact_coverage(conn, row["id"], now)
        runs = Run.__table__
        open_runs = conn.scalars(
            select(runs.c.id).where(
                runs.c.subject_type == "ai_system",
                runs.c.subject_id == str(row["id"]),
                runs.c.status.in_(("new", "running")),
            )
        )
        # the open runs take the new subject: the engine records it and evaluates nothing
        update_event = SubjectChanged(
            actor=actor, name=subject.name, owner=subject.owner, attributes=subject.attributes
        )
        for run_id in list(open_runs):
            self.rt._apply(conn, run_id, update_event, now)
        started = store_triggers(self.rt, conn, planned.triggers, now) if planned.triggers else []
        return changes, started


class ScopeDecisions:
    """The completion effect of ``ai-system-scope-change``: the approved change is made, as the
    approver's, in the transaction that reports the completion (nothing when it was refused).
    The change and the runs it starts are planned before it (runtime/completion_effects)."""

    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory
        self.rt = inventory.rt

    def plan(self, run_id: str, now: datetime) -> PlannedChange | None:
        with self.rt.db.connect() as read:
            decided = decided_change(read, run_id)
            if decided is None:
                return None
            row, record, approver = decided
            return plan_change(self.rt, read, row, record, now, Actor(approver, "engine"))

    def store(
        self, conn: Connection, run_id: str, plan: PlannedChange | None, now: datetime
    ) -> dict[str, Any]:
        decided = decided_change(conn, run_id)
        if decided is None and plan is None:
            return {"inventory_changed": []}
        if decided is None or plan is None or plan.record != decided[1]:
            raise run_store.ConcurrentUpdate(f"the decision of run {run_id} was planned on another")
        changes, _ = self.inventory._store_change(conn, plan, now, Actor(decided[2], "engine"))
        return {"inventory_changed": sorted(changes)}
