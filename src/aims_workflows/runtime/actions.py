"""People's actions: completing and updating tasks, deciding approvals, cancelling runs, and
who may decide. Part of :class:`~aims_workflows.runtime.Runtime` (a base class of it), kept apart
so each file has one job: every action here is one event through :meth:`Runtime.receive`."""

from __future__ import annotations

import getpass
import json
import os
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ..config import AimsConfig
from ..engine import (
    Actor,
    ApprovalDecided,
    CancelRun,
    Command,
    Event,
    ReplyTo,
    TaskCompleted,
    TaskUpdated,
)
from ..store import Database
from .approvals import approval_row
from .inbound import Delivery, as_delivery
from .starts import CLI

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from .core import Outcome
    from .directory import Directory
    from .role_holders import RoleHolders

__all__ = ["PeoplesActions", "os_user"]


def os_user() -> str:
    """Who is logged in to the machine running the CLI (as far as the system says)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry and no LOGNAME/USER: a bare container
        return f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"


# what an inbox row keeps of a decision made through the API (the delivery's payload)
_DECISION_AS_STORED = {"approval_id", "decision", "reason", "content_hash", "reply_to"}


class PeoplesActions:
    """What people do to runs; the unit of work itself is the Runtime's."""

    db: Database
    config: AimsConfig
    people: Directory
    role_holders: RoleHolders

    def receive(
        self,
        event: Event,
        *,
        run_id: str | None = None,
        delivery: Delivery | None = None,
        follow_up: Sequence[Command] = (),
    ) -> Outcome:
        raise NotImplementedError  # the Runtime's

    def actor(self, person: str, via: str, *, handle: str | None = None) -> Actor:
        """A person acting through ``via``, with the roles aims.yaml gives them; the runtime
        identifies them through the directory of people when their event is applied.
        ``handle`` is their account in the tool (a Slack user id, a Jira accountId); for the
        CLI it is the operating-system user, recorded beside the person they claim to be."""
        if handle is None and via == "cli":
            handle = os_user()
        return Actor(person.strip(), via, self.config.roles_of(person), handle=handle)

    def complete_task(
        self,
        run_id: str,
        step_id: str,
        answers: dict[str, Any],
        *,
        person: str,
        via: str = "cli",
        attempt: int | None = None,
        ref: str | None = None,
        delivery: tuple[str, str] | None = None,
    ) -> Outcome:
        event = TaskCompleted(
            actor=self.actor(person, via),
            step_id=step_id,
            attempt=attempt,
            answers=answers,
            ref=ref,
        )
        return self.receive(
            event,
            run_id=run_id,
            delivery=as_delivery(delivery, json.dumps(answers, default=str)),
        )

    def update_answers(
        self,
        run_id: str,
        step_id: str,
        answers: dict[str, Any],
        *,
        person: str,
        via: str = "cli",
        ref: str | None = None,
    ) -> Outcome:
        event = TaskUpdated(
            actor=self.actor(person, via), step_id=step_id, answers=answers, ref=ref
        )
        return self.receive(event, run_id=run_id)

    def approval(self, approval_id: str) -> dict[str, Any]:
        """The approval's row (status, content hash, approvers, run and step)."""
        with self.db.connect() as conn:
            return approval_row(conn, approval_id)

    def people_in(
        self,
        role: str,
        subject_owner: str | None,
        *,
        delegates: bool = True,
        conn: Connection | None = None,
    ) -> list[str]:
        """Who may act in a role for a subject: ``system_owner`` is the AI system's owner,
        every other role the people aims.yaml names for it, then those an approved role
        assignment gave it; and (unless ``delegates`` is False) whoever a holder delegated the
        role to, while the delegation is in force. Read on ``conn`` when given (a unit of
        work's snapshot), else on a connection of its own."""
        holders = [subject_owner] if role == "system_owner" and subject_owner else []
        if not holders:
            holders = self.role_holders.holders(role, conn)
        if not delegates:
            return holders
        delegated = self.people.delegates_in(role, holders)
        return holders + [d for d in delegated if d not in holders]

    def eligible_approvers(
        self,
        approvers: Iterable[str],
        subject_owner: str | None,
        *,
        exclude: Iterable[str] = (),
        forbidden_roles: Iterable[str] = (),
        delegates: bool = True,
        conn: Connection | None = None,
    ) -> list[str]:
        """People who may decide: holders of the approver roles (and their delegates unless
        ``delegates`` is False), minus those segregation of duties rules out (named people,
        holders of a forbidden role). Read on ``conn`` when given (the snapshot an approval's
        decision is prepared on), else on a connection of its own."""
        people = {
            person
            for role in approvers
            for person in self.people_in(role, subject_owner, delegates=delegates, conn=conn)
        }
        forbidden = set(forbidden_roles)
        excluded = set(exclude)
        return sorted(
            p
            for p in people
            if p not in excluded and not forbidden & set(self.role_holders.roles_of(p, conn))
        )

    def decide(
        self,
        approval_id: str,
        *,
        person: str,
        decision: str,
        reason: str,
        content_hash: str | None = None,
        via: str = "cli",
        ref: str | None = None,
        delivery: Delivery | tuple[str, str] | None = None,
        response: ReplyTo | None = None,
    ) -> Outcome:
        """An approver's decision. ``content_hash`` is what they saw; None means the current
        content.

        One transaction, as :meth:`receive`: the approval, and the run it belongs to (loaded
        once, under the same lock as any event), are read in the unit of work that applies the
        decision.
        """
        event = ApprovalDecided(
            actor=self.actor(person, via),
            approval_id=approval_id,
            decision=decision,
            reason=reason,
            content_hash=content_hash,
            reply_to=response,
            ref=ref,
        )
        stored = event.model_dump_json(include=_DECISION_AS_STORED)
        return self.receive(event, delivery=as_delivery(delivery, stored))

    def cancel(self, run_id: str, reason: str, actor: Actor = CLI) -> Outcome:
        return self.receive(CancelRun(actor=actor, reason=reason), run_id=run_id)
