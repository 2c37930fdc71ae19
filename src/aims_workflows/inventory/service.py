"""Inventory changes: kept as history, written to the ledger, and starting the workflows that
subscribe to them, all in the transaction of the change."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select

from ..engine import Actor, SubjectChanged
from ..engine import evidence_kinds as ev
from ..errors import InventoryError
from ..runtime.core import CLI, Runtime
from ..runtime.subjects import ai_system_subject
from ..store import inventory as inventory_store
from ..store.models import Run
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
        runtime.completion_effects[SCOPE_CHANGE_WORKFLOW] = self._scope_decided
        runtime.completion_effects[INTAKE_WORKFLOW] = IntakeDecisions(self).apply

    def _scope_decided(self, conn: Connection, run_id: str) -> dict[str, Any]:
        return {"inventory_changed": sorted(self.apply_scope_decision(conn, run_id))}

    def add(
        self, record: AISystemRecord, *, actor: Actor = CLI
    ) -> tuple[dict[str, Any], list[str]]:
        with self.rt.db.begin() as conn:
            return self._add(conn, record, actor)

    def _add(
        self,
        conn: Connection,
        record: AISystemRecord,
        actor: Actor,
        *,
        tracker_issue: str | None = None,
    ) -> tuple[dict[str, Any], list[str]]:
        """``tracker_issue``: the issue the system was proposed in, named in the evidence and
        given to the runs its registration starts (``subject.proposal_issue``)."""
        now = self.rt.clock.now()
        if inventory_store.find(conn, record.name) is not None:
            raise InventoryError(
                f"an AI system named '{record.name}' exists already",
                hint="use `aims systems set` to change it",
            )
        row = inventory_store.add(conn, record, actor=actor.id, now=now)
        # the owner decides as system_owner: they are a person of the directory from now on
        self.rt.people.ensure_person(conn, record.owner, now, method="inventory owner")
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
        subject = ai_system_subject(row)
        if tracker_issue:
            attributes = {**subject.attributes, "proposal_issue": tracker_issue}
            subject = subject.model_copy(update={"attributes": attributes})
        started = self.rt._fire_triggers(conn, "ai_system.registered", subject, now, actor=actor)
        return row, started

    def import_file(self, path: Path, *, actor: Actor = CLI) -> tuple[int, int, list[str]]:
        """(added, changed, runs started). All rows are checked first; one bad row refuses the
        file. A row that would move an existing system into or out of scope refuses it too:
        that change needs a reason and an approval (``aims systems set ... --reason``)."""
        records = parse_import(path)
        added = changed = 0
        started: list[str] = []
        with self.rt.db.begin() as conn:
            for record in records:
                row = inventory_store.find(conn, record.name)
                if row is not None and bool(record.in_scope) != bool(row["in_scope"]):
                    wanted = "true" if record.in_scope else "false"
                    raise InventoryError(
                        f"{path.name}: the row for '{row['name']}' sets in_scope to {wanted}, "
                        "which needs a reason and the approval of top management; nothing "
                        "was imported",
                        hint=f"keep its in_scope as it is in the file, then run "
                        f"aims systems set {row['name']!r} in_scope={wanted} --reason '...'",
                    )
                if row is None:
                    _, runs = self._add(conn, record, actor)
                    added += 1
                else:
                    changes, runs = self._change(conn, row, record, actor)
                    changed += bool(changes)
                started += runs
        return added, changed, started

    def set(
        self, name: str, changes: dict[str, Any], *, actor: Actor = CLI, reason: str | None = None
    ) -> tuple[dict[str, list[Any]], list[str]]:
        """(changes made, runs started). A change of ``in_scope`` is not made here: with a
        ``reason`` it starts an ai-system-scope-change run, whose approval makes it (the changes
        come back empty, the run among those started); without one it is refused."""
        with self.rt.db.begin() as conn:
            row = inventory_store.get(conn, name)
            record = validate_changes(inventory_store.record_of(row), changes)
            scope_reason = refuse_unreasoned(name, record, row, reason)
            if scope_reason is None:
                return self._change(conn, row, record, actor)
        return {}, [self.request_scope_change(row, bool(record.in_scope), scope_reason, actor)]

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
        with self.rt.db.connect() as conn:
            waiting = waiting_request(conn, row["id"])
        if waiting is not None:
            raise InventoryError(
                f"a change of the scope of '{row['name']}' is already waiting for a decision "
                f"in run {waiting}; nothing was changed",
                hint=f"follow it with `aims runs show {waiting}`, or cancel it first",
            )
        transition = self.rt.start(
            SCOPE_CHANGE_WORKFLOW,
            system=str(row["id"]),
            inputs={"in_scope": in_scope, "reason": reason, "requested_by": actor.id},
            actor=actor,
        )
        return transition.run.run_id

    def apply_scope_decision(self, conn: Connection, run_id: str) -> dict[str, list[Any]]:
        """Called when a scope-change run completes: make the approved change, as the
        approver's, in the caller's transaction (nothing when it was refused)."""
        decided = decided_change(conn, run_id)
        if decided is None:
            return {}
        row, record, approver = decided
        changes, _ = self._change(conn, row, record, Actor(approver, "engine"))
        return changes

    def _change(
        self,
        conn: Connection,
        row: dict[str, Any],
        record: AISystemRecord,
        actor: Actor,
        *,
        decided: dict[str, str | None] | None = None,
    ) -> tuple[dict[str, list[Any]], list[str]]:
        """``decided``: the run and approval that decided the change (``decided_in``,
        ``approval_id``), named in its evidence."""
        now = self.rt.clock.now()
        if (
            record.name.lower() != row["name"].lower()
            and inventory_store.find(conn, record.name) is not None
        ):
            raise InventoryError(f"an AI system named '{record.name}' exists already")
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
        new_row = inventory_store.get(conn, row["id"])
        subject = ai_system_subject(new_row)
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
        update_event = SubjectChanged(
            actor=actor, name=subject.name, owner=subject.owner, attributes=subject.attributes
        )
        for run_id in list(open_runs):
            self.rt._apply(conn, run_id, update_event, now)
        started = (
            self.rt._fire_triggers(
                conn, "ai_system.changed", subject, now, fields=material, actor=actor
            )
            if material
            else []
        )
        return changes, started
