"""A proposed AI system arriving from a tracker issue: registered at most once per issue, in one
transaction with the inbox row of the delivery that reported it (see ``adapters.jira``).

Which issue registered which system is read from the inbox: the delivery that registered it is
kept with the subject ``proposal:ISSUE_ID``, so a retried webhook, a later edit of the issue or
the poll finding it again register nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, select

from ..engine import Actor
from ..errors import ConfigError, InventoryError
from ..runtime import inbound
from ..runtime.inbound import Delivery
from ..store import inventory as inventory_store
from ..store import runs as run_store
from ..store.models import InboxItem, Run
from .change_plans import PlannedAdd
from .model import AISystemRecord
from .service import Inventory

__all__ = ["Proposals", "Proposed", "proposal_subject"]

_INBOX = InboxItem.__table__
_RUNS = Run.__table__


def proposal_subject(issue_id: str) -> str:
    """The inbox subject of the deliveries about one proposal issue."""
    return f"proposal:{issue_id}"


@dataclass(frozen=True)
class Proposed:
    """What registering a proposal did. ``already_applied``: its delivery was applied before
    (by this or another worker); ``duplicate``: the issue had registered its system before."""

    system: str
    started: list[str] = field(default_factory=list)
    duplicate: bool = False
    already_applied: bool = False


class Proposals:
    """New AI systems proposed in a tracker issue."""

    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory
        self.rt = inventory.rt

    def register(
        self,
        record: AISystemRecord,
        *,
        tracker_issue: str,
        tracker_issue_id: str,
        actor: Actor,
        delivery: Delivery,
    ) -> Proposed:
        """Register the proposed system and start the workflows its registration starts. A
        name the inventory holds already raises InventoryError, and nothing is written."""
        delivery = delivery.about(subject=proposal_subject(tracker_issue_id))

        def attempt() -> Proposed:
            now = self.rt.clock.now()
            # the runs the registration starts are planned before the write transaction
            planned = self._plan(record, now, actor, tracker_issue)
            with self.rt.db.begin() as conn:
                if not inbound.take(conn, delivery, now):
                    applied = self._registered(conn, tracker_issue_id) or ""
                    return Proposed(applied, duplicate=True, already_applied=True)
                earlier = self._registered(conn, tracker_issue_id)
                if earlier is not None:
                    reason = f"{tracker_issue} registered {earlier} before"
                    inbound.settle(conn, delivery, now, reason)
                    return Proposed(earlier, duplicate=True)
                existing = inventory_store.find(conn, record.name)
                if existing is not None:
                    raise InventoryError(
                        f"an AI system named '{existing['name']}' is in the inventory already, "
                        f"so {tracker_issue} cannot propose it",
                        hint="if this is a different system, give it a name of its own in the "
                        "summary; if it is the same, close this issue (changes to a registered "
                        "system go through `aims systems set`)",
                    )
                if planned is None:  # the name was taken in the snapshot, and is free now
                    raise run_store.ConcurrentUpdate(f"'{record.name}' was removed meanwhile")
                row, started = self.inventory._store_add(conn, planned, now, actor)
                if not started:
                    # rolled back with the rest: a proposal nobody takes through intake is not
                    # made
                    raise ConfigError(
                        f"no workflow starts on the AI system proposed in {tracker_issue}, so "
                        "it would get no intake; nothing was recorded",
                        hint="ship ai-system-intake (`aims workflows list`), then retry the "
                        "parked delivery",
                    )
                inbound.settle(conn, delivery.about(run_id=started[0]), now)
            return Proposed(str(row["name"]), started)

        return self.rt._retrying(attempt)

    def _plan(
        self, record: AISystemRecord, now: datetime, actor: Actor, tracker_issue: str
    ) -> PlannedAdd | None:
        """The registration planned on a snapshot; None when the name is taken there (the
        write transaction says so)."""
        try:
            return self.inventory.plan_add(record, now, actor, tracker_issue=tracker_issue)
        except InventoryError:
            return None

    def registered_for_issue(self, issue_id: str) -> str | None:
        """The name of the system a proposal issue registered, if it registered one."""
        with self.rt.db.connect() as conn:
            return self._registered(conn, issue_id)

    def last_refusal(self, issue_id: str) -> str | None:
        """Why the latest delivery about a proposal issue was set aside, if it was (so the
        same reason is not written on the issue again each time it is seen)."""
        with self.rt.db.connect() as conn:
            row = conn.execute(
                select(_INBOX.c.error)
                .where(_INBOX.c.subject == proposal_subject(issue_id))
                .where(_INBOX.c.status == "parked")
                .order_by(_INBOX.c.id.desc())
                .limit(1)
            ).first()
        return row.error if row is not None else None

    @staticmethod
    def _registered(conn: Connection, issue_id: str) -> str | None:
        """The delivery that registered the system is the one kept ``processed`` with the
        issue's proposal subject and the intake run it started."""
        run_id = conn.scalar(
            select(_INBOX.c.run_id)
            .where(_INBOX.c.subject == proposal_subject(issue_id))
            .where(_INBOX.c.status == "processed")
            .limit(1)
        )
        if run_id is None:
            return None
        name = conn.scalar(select(_RUNS.c.subject_name).where(_RUNS.c.id == run_id))
        return str(name) if name is not None else run_id
