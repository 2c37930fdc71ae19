"""Inbound Jira changes: from a webhook body (or a poll result) to an engine ``Event``.

``parse_change`` reads the parts of a Jira payload that matter; ``to_event`` decides, given the
task the issue stands for, what the change means:

* into a done-category status while the task is open -> ``task.completed`` with the answers
  read from the issue's fields (the engine checks them against the form; missing or invalid
  answers come back as a ``task.refuse_answers`` command, which moves the issue back);
* form fields edited after completion -> ``task.updated``;
* anything else (a comment, a reopen, an issue the engine does not own) -> nothing, with the
  reason recorded on the inbox row.

:class:`InboxProcessor` applies stored deliveries in the runtime, each in one transaction with
the inbox row that carried it, so a crash half-way leaves the delivery to be processed again
and never applies it twice.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update

from ...engine import Actor, Event, TaskCompleted, TaskUpdated
from ...engine.commands import RecordAttachments
from ...errors import AimsError, NotFound, StoreError
from ...store import inbox, outbox
from ...store.models import InboxItem
from . import _store
from ._fields import answers_from_issue
from ._tracker import PROPERTY

__all__ = ["Change", "parse_change", "to_event", "InboxProcessor", "SOURCE"]

log = logging.getLogger("aims.jira")
SOURCE = "jira"
_INBOX = InboxItem.__table__


@dataclass(frozen=True)
class Change:
    """What one Jira payload says about one issue."""

    webhook_event: str
    issue_id: str
    issue_key: str
    fields: dict[str, Any]
    items: list[dict[str, Any]] = field(default_factory=list)
    user: dict[str, Any] | None = None
    polled: bool = False

    @property
    def status_category(self) -> str:
        return str(((self.fields.get("status") or {}).get("statusCategory") or {}).get("key", ""))

    @property
    def status_changed(self) -> bool:
        return any(i.get("field") == "status" or i.get("fieldId") == "status" for i in self.items)

    def touched(self, field_ids: set[str]) -> bool:
        return any(i.get("fieldId") in field_ids for i in self.items)

    @property
    def attachments_added(self) -> bool:
        return any(i.get("fieldId") == "attachment" and i.get("to") for i in self.items)


def parse_change(payload: Any, *, polled: bool = False) -> Change | None:
    """The change a webhook body describes, or None when it is not about an issue."""
    if not isinstance(payload, dict):
        return None
    issue = payload.get("issue")
    if not isinstance(issue, dict) or not issue.get("id") or not issue.get("key"):
        return None
    items = ((payload.get("changelog") or {}).get("items")) or []
    return Change(
        webhook_event=str(payload.get("webhookEvent") or ("poll" if polled else "")),
        issue_id=str(issue["id"]),
        issue_key=str(issue["key"]),
        fields=issue.get("fields") if isinstance(issue.get("fields"), dict) else {},
        items=[i for i in items if isinstance(i, dict)],
        user=payload.get("user") if isinstance(payload.get("user"), dict) else None,
        polled=polled,
    )


@dataclass(frozen=True)
class Decision:
    event: Event | None
    reason: str | None = None
    record_attachments: bool = False


def to_event(
    change: Change,
    task: dict[str, Any] | None,
    *,
    person: str,
    roles: tuple[str, ...] = (),
    email_of: Callable[[str | None], str | None] | None = None,
) -> Decision:
    """The engine event for ``change`` to the issue of ``task`` (a ``jira_issues`` row)."""
    if task is None:
        return Decision(None, f"{change.issue_key} is not an issue of the engine")
    if task["status"] == "cancelled":
        return Decision(None, f"the task of {change.issue_key} was cancelled")
    mapping = task["fields"] or {}
    actor = Actor(person, "jira", roles)
    attachments = change.attachments_added
    is_done = change.status_category == "done"
    if is_done and (change.status_changed or change.polled) and task["status"] == "open":
        answers = answers_from_issue(mapping, change.fields, email_of)
        event: Event = TaskCompleted(
            actor=actor,
            step_id=task["step_id"],
            attempt=int(task["attempt"]),
            answers=answers,
            ref=change.issue_key,
        )
        return Decision(event, record_attachments=bool(change.fields.get("attachment")))
    jira_ids = {v[0] for v in mapping.values()}
    if task["status"] == "completed" and not change.polled and change.touched(jira_ids):
        answers = answers_from_issue(mapping, change.fields, email_of)
        event = TaskUpdated(
            actor=actor, step_id=task["step_id"], answers=answers, ref=change.issue_key
        )
        return Decision(event, record_attachments=attachments)
    if attachments:
        return Decision(None, "attachments added", record_attachments=True)
    return Decision(None, "no change the engine acts on")


class InboxProcessor:
    """Applies stored Jira deliveries (inbox rows with source ``jira``) in the runtime."""

    def __init__(self, runtime, tracker) -> None:
        self.rt = runtime
        self.tracker = tracker
        # the database's write gate: storing a delivery (urgent, Jira waits for the answer) goes
        # before applying one (a background write, as db.begin() takes it)
        self.gate = runtime.db.gate

    def pending(self) -> int:
        from sqlalchemy import func

        with self.rt.db.connect() as conn:
            return int(
                conn.scalar(
                    select(func.count())
                    .select_from(_INBOX)
                    .where(_INBOX.c.source == SOURCE, _INBOX.c.status == "received")
                )
                or 0
            )

    def process_pending(self, limit: int = 500) -> int:
        """Process up to ``limit`` stored deliveries, oldest first; returns how many were
        settled."""
        with self.rt.db.connect() as conn:
            rows = conn.execute(
                select(_INBOX.c.delivery_id, _INBOX.c.payload)
                .where(_INBOX.c.source == SOURCE, _INBOX.c.status == "received")
                .order_by(_INBOX.c.id)
                .limit(limit)
            ).all()
        done = 0
        for row in rows:
            try:
                done += self.process(row.delivery_id, row.payload)
            except (StoreError, AimsError) as err:
                # Jira or the database is unavailable: the row stays 'received' for the next pass.
                log.warning("jira delivery %s not processed yet: %s", row.delivery_id, err)
        return done

    def _task_for(self, change: Change) -> dict[str, Any] | None:
        with self.rt.db.connect() as conn:
            task = _store.find_issue(conn, issue_id=change.issue_id)
        if task is not None:
            return task
        if "aims" not in (change.fields.get("labels") or []):
            return None
        # Made by us but not recorded yet (a crash right after the create): the issue says which
        # task it is.
        try:
            prop = self.tracker.jira.issue_property(
                change.issue_key, PROPERTY, what=f"read which task {change.issue_key} is"
            )
        except AimsError as err:
            if "404" in str(err):
                return None
            raise
        value = (prop or {}).get("value") or {}
        if not value.get("run_id"):
            return None
        return {
            "issue_id": change.issue_id,
            "issue_key": change.issue_key,
            "run_id": value["run_id"],
            "step_id": value["step_id"],
            "attempt": value["attempt"],
            "fields": value.get("fields") or {},
            "status": "open",
            "idem_key": value.get("key"),
            "_unrecorded": True,
        }

    def _person(self, change: Change) -> str:
        user = change.user or {}
        if user.get("emailAddress"):
            return str(user["emailAddress"])
        if user.get("accountId"):
            return self.tracker.email_of(user["accountId"]) or str(user["accountId"])
        return "unknown"

    def process(self, delivery_id: str, payload_text: str) -> int:
        """Apply one stored delivery; 1 when this call settled it, 0 when another worker had."""
        try:
            payload = json.loads(payload_text)
        except ValueError:
            payload = None
        change = parse_change(payload)
        task = self._task_for(change) if change else None
        decision = (
            to_event(
                change,
                task,
                person=self._person(change),
                roles=self.rt.config.roles_of(self._person(change)),
                email_of=self.tracker.email_of,
            )
            if change and task
            else Decision(
                None,
                "not about an issue"
                if change is None
                else f"{change.issue_key} is not an issue of the engine",
            )
        )
        return self._settle(delivery_id, change, task, decision)

    def apply_change(self, change: Change, delivery_id: str) -> bool:
        """Apply a change found by the reconciliation poll; False when already seen."""
        task = self._task_for(change)
        if task is None:
            return False
        person = self._person(change)
        decision = to_event(
            change,
            task,
            person=person,
            roles=self.rt.config.roles_of(person),
            email_of=self.tracker.email_of,
        )
        if decision.event is None:
            return False
        now = self.rt.clock.now()
        with self.rt.db.begin() as conn:
            if not inbox.claim(
                conn, SOURCE + "-poll", delivery_id, json.dumps({"issue": change.issue_key}), now
            ):
                return False
        return bool(self._settle(delivery_id, change, task, decision, source=SOURCE + "-poll"))

    def _settle(
        self,
        delivery_id: str,
        change: Change | None,
        task: dict[str, Any] | None,
        decision: Decision,
        source: str = SOURCE,
    ) -> int:
        def work() -> int:
            now = self.rt.clock.now()
            with self.rt.db.begin() as conn:
                taken = conn.execute(
                    update(_INBOX)
                    .where(
                        _INBOX.c.source == source,
                        _INBOX.c.delivery_id == delivery_id,
                        _INBOX.c.status == "received",
                    )
                    .values(status="processing")
                )
                if taken.rowcount != 1:
                    return 0
                reason = decision.reason
                status = "ignored"
                if decision.event is not None and task is not None:
                    if task.get("_unrecorded"):
                        _store.remember_issue(
                            conn,
                            issue_id=task["issue_id"],
                            issue_key=task["issue_key"],
                            idem_key=task["idem_key"]
                            or f"{task['run_id']}/{task['step_id']}/{task['attempt']}/task",
                            run_id=task["run_id"],
                            step_id=task["step_id"],
                            attempt=int(task["attempt"]),
                            fields=task["fields"],
                            now=now,
                        )
                    try:
                        transition = self.rt._apply(conn, task["run_id"], decision.event, now)
                    except NotFound as err:
                        transition, reason = None, str(err)
                    if transition is not None and transition.ignored is None:
                        status, reason = "processed", None
                        self._after(conn, transition, task, now)
                    elif transition is not None:
                        reason = transition.ignored
                if decision.record_attachments and task is not None and change is not None:
                    outbox.enqueue(
                        conn,
                        [
                            RecordAttachments(
                                key=f"{task['run_id']}/jira-attachments/{source}/{delivery_id}",
                                run_id=task["run_id"],
                                ref=change.issue_key,
                                step_id=task["step_id"],
                            )
                        ],
                        now,
                    )
                inbox.mark(conn, source, delivery_id, status, now, reason)
                return 1

        return self.rt._retrying(work)

    def _after(self, conn, transition, task: dict[str, Any], now) -> None:
        # the engine's task.close attaches the completion's evidence; here only the mapping moves
        if any(e.kind == "task.completed" for e in transition.evidence):
            _store.set_status(conn, task["issue_id"], "completed", now)
