"""Inbound Jira changes: from a webhook body (or a poll result) to an engine ``Event``.

``parse_change`` reads the parts of a Jira payload that matter; ``to_event`` decides, given the
task the issue stands for, what the change means:

* into a done-category status while the task is open -> ``task.completed`` with the answers
  read from the issue's fields (the engine checks them against the form; missing or invalid
  answers come back as a ``task.refuse_answers`` command, which moves the issue back);
* form fields edited after completion -> ``task.updated``;
* anything else (a comment, a reopen, an issue the engine does not own) -> nothing, with the
  reason recorded on the inbox row.

An issue of type Nonconformity is no task: its creation (or the first edit that gives it what
it lacked) raises a finding (``_nonconformity``), once per issue however often it is reported.

Whether the task is open, completed or cancelled is read from the run's state
(``Runtime.task_status``); the issue mapping only says which task an issue is.

:class:`InboxProcessor` hands stored deliveries to ``Runtime.receive``, which applies each in
one transaction with the inbox row that carried it, so a crash half-way leaves the delivery to
be processed again and never applies it twice.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ... import bounded_json
from ...engine import Actor, ApprovalDecided, Event, TaskCompleted, TaskUpdated
from ...engine.commands import Command, RecordAttachments
from ...errors import (
    AimsError,
    IntegrationError,
    LedgerTampered,
    SpecTampered,
    StoreError,
)
from ...ports import JiraIssueStore
from ...runtime import Delivery, HeldBack, Queued
from ._directory_sync import find_jira_people_by_email
from ._fields import answers_from_issue
from ._nonconformity import NONCONFORMITY_TYPE, finding_from_issue, is_nonconformity
from ._shape import change_version, payload_problem
from ._step_up import Confirmation, confirmation_in
from ._tracker import OWNED_LABEL, PROPERTY

__all__ = ["Change", "parse_change", "to_event", "InboxProcessor", "SOURCE", "POLL_SOURCE"]

log = logging.getLogger("aims.jira")
SOURCE = "jira"
POLL_SOURCE = "jira-poll"
"""The inbox source of changes the reconciliation poll found (no webhook reported them)."""


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
        status = self.fields.get("status")
        category = status.get("statusCategory") if isinstance(status, dict) else None
        return str(category.get("key", "")) if isinstance(category, dict) else ""

    @property
    def labels(self) -> list[str]:
        labels = self.fields.get("labels")
        return [str(label) for label in labels] if isinstance(labels, list) else []

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
    changelog = payload.get("changelog")
    items = changelog.get("items") if isinstance(changelog, dict) else None
    if not isinstance(items, list):
        items = []
    fields = issue.get("fields")
    return Change(
        webhook_event=str(payload.get("webhookEvent") or ("poll" if polled else "")),
        issue_id=str(issue["id"]),
        issue_key=str(issue["key"]),
        fields=fields if isinstance(fields, dict) else {},
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
    handle: str | None = None,
) -> Decision:
    """The engine event for ``change`` to the issue of ``task`` (its mapping, with the task's
    ``status`` from the run's state: ``open``, ``completed``, ``cancelled`` or ``closed``)."""
    if task is None:
        return Decision(None, f"{change.issue_key} is not an issue of the engine")
    if task["status"] in ("cancelled", "closed"):
        return Decision(None, f"the task of {change.issue_key} was {task['status']}")
    mapping = task["fields"] or {}
    # the accountId is who acted: the runtime resolves it through the directory of people
    actor = Actor(person, "jira", roles, handle=handle)
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
    if task["status"] == "completed" and change.polled and change.user is not None:
        # the poll has no changelog items: it offers the issue's answers as they are now, and
        # the engine records them only if they differ from what it holds
        answers = answers_from_issue(mapping, change.fields, email_of)
        event = TaskUpdated(
            actor=actor, step_id=task["step_id"], answers=answers, ref=change.issue_key
        )
        return Decision(event, record_attachments=bool(change.fields.get("attachment")))
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
    """Applies stored Jira deliveries (inbox rows with source ``jira``) through the runtime's
    public API: each change becomes an event (:func:`to_event`) that the runtime applies in one
    transaction with the delivery's inbox row."""

    def __init__(
        self,
        runtime,
        tracker,
        store: JiraIssueStore,
        *,
        nonconformity_type: str = NONCONFORMITY_TYPE,
        owner: str | None = None,
    ) -> None:
        from ...findings import Findings

        self.rt = runtime
        self.tracker = tracker
        self.store = store
        self.nonconformity_type = nonconformity_type
        self.findings = Findings(runtime)
        # the name this processor takes deliveries under (see process_pending)
        self.owner = owner or f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._asked: set[str] = set()  # accountIds looked for once already

    def pending(self) -> int:
        """How many stored Jira deliveries wait to be applied."""
        return self.rt.inbox_backlog().get(SOURCE, 0)

    def process_pending(self, limit: int = 500, *, batch: int = 100) -> int:
        """Process up to ``limit`` stored deliveries, oldest first; returns how many were
        settled (applied, ignored with why, or parked).

        The deliveries are taken under this worker's name (``FOR UPDATE SKIP LOCKED`` on
        PostgreSQL), so workers sharing a database work on different ones, and their events
        are applied with group commit: ``batch`` per transaction, a savepoint each, so one
        that fails is retried or parked alone."""
        done = seen = 0
        try:
            while seen < limit:
                taken = self.rt.claim_deliveries(SOURCE, self.owner, min(batch, limit - seen))
                if not taken:
                    break
                seen += len(taken)
                done += self._apply_taken(taken)
                if len(taken) < batch:
                    break
        finally:
            # what is left (Jira or the database unavailable, a run's event held back behind
            # its failed one) is given back: the next pass, here or in another worker, takes it
            self.rt.release_deliveries(SOURCE, self.owner)
        return done

    def _apply_taken(self, taken: list[Delivery]) -> int:
        done = 0
        queued: list[Queued] = []
        for delivery in taken:
            try:
                planned = self._plan(delivery.id, delivery.payload)
                if isinstance(planned, Queued):
                    queued.append(planned)
                else:
                    done += planned
            except Exception as err:  # noqa: BLE001 - one odd delivery must not stop the rest
                done += self._failed(delivery, err)
        if not queued:
            return done
        for item, result in zip(queued, self.rt.receive_batch(queued), strict=True):
            if isinstance(result, Exception):
                assert item.delivery is not None  # every planned event carries its delivery
                stored = next(d for d in taken if d.id == item.delivery.id)
                done += self._failed(stored, result)
            elif not result.duplicate:
                done += 1
        return done

    def _failed(self, delivery: Delivery, err: Exception) -> int:
        """A delivery that could not be applied: parked when the reason is its own (its
        content, a tampered workflow or ledger), left for the next pass when it is Jira's or
        the database's (or it waits behind an earlier event of its run)."""
        if isinstance(err, HeldBack) or (
            isinstance(err, (StoreError, IntegrationError))
            and not isinstance(err, (SpecTampered, LedgerTampered))
        ):
            log.warning("jira delivery %s not processed yet: %s", delivery.id, err)
            return 0
        return self._park(delivery, err)

    def _park(self, delivery: Delivery, err: Exception) -> int:
        """Set aside a delivery that failed for a reason of its own (its content), so it does
        not stay first in the queue and block every later one."""
        detail = str(err).splitlines()[0] if str(err) else ""
        reason = f"cannot be applied: {type(err).__name__}" + (f": {detail}" if detail else "")
        log.error("jira delivery %s parked: %s", delivery.id, reason[:300])
        run_id = None
        with contextlib.suppress(Exception):  # best effort: name the run when the issue is known
            change = parse_change(json.loads(delivery.payload))
            found = self.store.find_issue(issue_id=change.issue_id) if change else None
            run_id = found["run_id"] if found else None
        return int(self.rt.park(Delivery(SOURCE, delivery.id, run_id=run_id), reason[:1000]))

    def _task_for(self, change: Change) -> dict[str, Any] | None:
        """The task visit the issue stands for, with its status as the run's state says."""
        task = self.store.find_issue(issue_id=change.issue_id) or self._unrecorded(change)
        if task is None:
            return None
        status = self.rt.task_status(task["run_id"], task["step_id"], int(task["attempt"]))
        return {**task, "status": status or "closed"}

    def _unrecorded(self, change: Change) -> dict[str, Any] | None:
        """An issue made by us but not recorded yet (a crash right after the create): the issue
        says which task it is, and is recorded now."""
        if "aims" not in change.labels:
            return None
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
        link = {
            "issue_id": change.issue_id,
            "issue_key": change.issue_key,
            "idem_key": value.get("key")
            or f"{value['run_id']}/{value['step_id']}/{value['attempt']}/task",
            "run_id": value["run_id"],
            "step_id": value["step_id"],
            "attempt": int(value["attempt"]),
            "fields": value.get("fields") or {},
        }
        self.store.remember_issue(**link)
        return link

    def _person(self, change: Change) -> str:
        """The e-mail Jira shows for whoever made the change, else their accountId (Jira
        hides the e-mail of people whose profile visibility says so)."""
        user = change.user or {}
        if user.get("emailAddress"):
            return str(user["emailAddress"])
        if user.get("accountId"):
            return self.tracker.email_of(user["accountId"]) or f"jira:{user['accountId']}"
        return "unknown"

    def _learn_account(self, account: str) -> None:
        """An accountId the directory does not know yet: ask Jira for the accounts of the
        directory's people not tied to one (a user search by each e-mail, as `aims people
        sync` does), once per account per process."""
        directory = self.rt.people
        if account in self._asked or directory.knows("jira", account):
            return
        self._asked.add(account)
        emails = directory.people_without("jira")
        if not emails:
            return
        try:
            found = find_jira_people_by_email(self.tracker.jira, emails)
        except AimsError as err:  # the change is still applied; who made it stays unresolved
            log.warning("could not look up Jira accounts: %s", err)
            return
        directory.record_matches(
            "jira", found, by=Actor("jira", "config"), method="jira user search by e-mail"
        )

    def _person_of_account(self, account_id: str | None) -> str | None:
        """A user field's person: the directory's, else the e-mail Jira shows."""
        if not account_id:
            return None
        return self.rt.people.person_of("jira", account_id) or self.tracker.email_of(account_id)

    def _decide(self, change: Change, task: dict[str, Any]) -> Decision:
        account = (change.user or {}).get("accountId")
        if account:
            self._learn_account(str(account))
        person = self._person(change)
        return to_event(
            change,
            task,
            person=person,
            roles=self.rt.actor(person, "jira").roles,
            email_of=self._person_of_account,
            handle=str(account) if account else None,
        )

    def process(self, delivery_id: str, payload_text: str) -> int:
        """Apply one stored delivery; 1 when this call settled it, 0 when another worker had."""
        planned = self._plan(delivery_id, payload_text)
        if not isinstance(planned, Queued):
            return planned
        assert planned.delivery is not None and planned.run_id is not None
        outcome = self.rt.receive(
            planned.event,
            run_id=planned.run_id,
            delivery=planned.delivery,
            follow_up=planned.follow_up,
        )
        return 0 if outcome.duplicate else 1

    def _plan(self, delivery_id: str, payload_text: str) -> Queued | int:
        """The event a stored delivery carries, to apply; or, when it carries none, the
        delivery settled now (parked or ignored, with why): 1 when this call settled it."""
        try:
            payload = bounded_json.loads(payload_text)
        except ValueError:
            payload = None
        change = parse_change(payload)
        problem = payload_problem(payload) if change else None
        if problem is not None:
            # stored before the edge checked its shape (or by an older version): set it aside
            return int(self.rt.park(Delivery(SOURCE, delivery_id), problem))
        if change is not None and self.reports_nonconformity(change):
            return self.raise_nonconformity(change, Delivery(SOURCE, delivery_id))
        confirmation = confirmation_in(payload) if change else None
        if change is not None and confirmation is not None:
            return self._confirm(delivery_id, change, confirmation)
        task = self._task_for(change) if change else None
        decision = (
            self._decide(change, task)
            if change and task
            else Decision(
                None,
                "not about an issue"
                if change is None
                else f"{change.issue_key} is not an issue of the engine",
            )
        )
        delivery = Delivery(SOURCE, delivery_id)
        if change is not None and isinstance(payload, dict):
            delivery = self._placed(delivery, change, task, change_version(payload))
        return self._settle(delivery, change, task, decision)

    def _confirm(self, delivery_id: str, change: Change, confirmation: Confirmation) -> int:
        """A step-up confirmation: the approval it names, decided 'confirm' by the account
        that wrote the comment (the engine checks it is the approver's)."""
        account = confirmation.author.get("accountId")
        if account:
            self._learn_account(str(account))
        person = self._person(Change(change.webhook_event, "", "", {}, user=confirmation.author))
        event = ApprovalDecided(
            actor=Actor(
                person,
                "jira",
                self.rt.actor(person, "jira").roles,
                handle=str(account) if account else None,
            ),
            approval_id=confirmation.approval_id,
            decision="confirm",
            reason=confirmation.text,
            ref=f"{change.issue_key}#comment-{confirmation.comment_id}",
        )
        outcome = self.rt.receive(event, delivery=Delivery(SOURCE, delivery_id))
        return 0 if outcome.duplicate else 1

    @staticmethod
    def _placed(
        delivery: Delivery,
        change: Change,
        task: dict[str, Any] | None,
        version: tuple[int, int] | None,
    ) -> Delivery:
        """The delivery with the run and issue it concerns, and where its change stands in the
        issue's history (so an older change delivered late is ignored)."""
        return delivery.about(
            run_id=task["run_id"] if task else None,
            subject=f"issue:{change.issue_id}",
            version=version[0] if version else None,
            version_seq=version[1] if version else 0,
        )

    # -- nonconformities reported in Jira ------------------------------------------------------
    def reports_nonconformity(self, change: Change) -> bool:
        """An issue of the Nonconformity type that the engine did not make itself."""
        return OWNED_LABEL not in change.labels and is_nonconformity(
            change.fields, self.nonconformity_type
        )

    def raise_nonconformity(self, change: Change, delivery: Delivery) -> int:
        """Raise the finding a Nonconformity issue reports (once per issue); 1 when this call
        settled the delivery. An issue that lacks what a finding needs (its source) is parked
        with what to add; the edit that adds it raises the finding."""
        from ...findings import FindingError

        delivery = delivery.about(subject=f"issue:{change.issue_id}")
        earlier = self.findings.raised_for_issue(change.issue_id)
        if earlier is not None:
            return int(self.rt.ignore(delivery, f"{change.issue_key} raised {earlier} before"))
        if change.webhook_event not in ("jira:issue_created", "jira:issue_updated", "poll"):
            return int(self.rt.ignore(delivery, "not the creation or an edit of the issue"))
        try:
            report = finding_from_issue(change.issue_id, change.issue_key, change.fields)
        except FindingError as err:
            reason = f"{change.issue_key} cannot be raised: {err.message}" + (
                f"; {err.hint}" if err.hint else ""
            )
            return int(self.rt.park(delivery, reason))
        account = (change.user or {}).get("accountId")
        if account:
            self._learn_account(str(account))
        person = self._person(change)
        actor = self.rt.actor(person, "jira", handle=str(account) if account else None)
        raised = self.findings.raise_finding(report, actor=actor, delivery=delivery)
        if raised.started:
            log.info(
                "%s raised %s; corrective action %s",
                change.issue_key,
                raised.finding_id,
                ", ".join(raised.started),
            )
        return 0 if raised.already_applied else 1

    def apply_change(self, change: Change, delivery_id: str) -> bool:
        """Apply a change found by the reconciliation poll; False when already seen."""
        task = self._task_for(change)
        if task is None:
            return False
        decision = self._decide(change, task)
        if decision.event is None:
            return False
        payload = json.dumps({"issue": change.issue_key})
        updated = _poll_version(change)
        delivery = self._placed(Delivery(POLL_SOURCE, delivery_id, payload), change, task, updated)
        planned = self._settle(delivery, change, task, decision)
        if not isinstance(planned, Queued):
            return bool(planned)
        outcome = self.rt.receive(
            planned.event, run_id=planned.run_id, delivery=delivery, follow_up=planned.follow_up
        )
        return not outcome.duplicate

    def _settle(
        self,
        delivery: Delivery,
        change: Change | None,
        task: dict[str, Any] | None,
        decision: Decision,
    ) -> Queued | int:
        """The delivery's event to hand to the runtime; or, when there is none, the delivery
        recorded as ignored with why (1 when this call recorded it)."""
        follow_up: list[Command] = []
        if decision.record_attachments and task is not None and change is not None:
            follow_up.append(
                RecordAttachments(
                    key=f"{task['run_id']}/jira-attachments/{delivery.source}/{delivery.id}",
                    run_id=task["run_id"],
                    ref=change.issue_key,
                    step_id=task["step_id"],
                )
            )
        if decision.event is None or task is None:
            reason = decision.reason or "no change the engine acts on"
            return int(self.rt.ignore(delivery, reason, follow_up=follow_up))
        return Queued(decision.event, run_id=task["run_id"], delivery=delivery, follow_up=follow_up)


def _poll_version(change: Change) -> tuple[int, int] | None:
    return change_version({"issue": {"fields": change.fields}})
