"""``JiraIssueTracker``: the IssueTracker port on Jira Cloud (REST API v3).

``task.create`` makes one issue per task visit. The command's idempotency key is kept on the
issue twice: as the entity property ``aims.task`` (with run, step, attempt and the form's field
ids) and, hashed, as a label that JQL can find. Before creating, the tracker looks for that
label, so a create retried after a crash (issue made, result not yet recorded) returns the
issue it already made. The other commands comment on, move or attach to that issue; each
comment carries a short reference derived from its command key and is not posted twice.

``task.close`` follows every completion, wherever it happened: it closes the issue when the
task was completed elsewhere (the CLI, another channel) and attaches the ledger rows of the
completion as a JSON file. ``task.record_attachments`` comes from the Jira integration itself
(enqueued in the same transaction as the change it follows, so it is retried like any other
command): it downloads the files an engineer attached, hashes them and records them in the
ledger.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from typing import Any

from ...engine.commands import (
    AskStepUp,
    AttachEvidence,
    CancelTask,
    CloseTask,
    Command,
    CreateTask,
    EscalateTask,
    RecordAttachments,
    RefuseAnswers,
    RemindTask,
    TaskCommand,
)
from ...errors import IntegrationError, PermanentError, RetryableError
from ...ports import Clock, JiraIssueStore, SystemClock
from ...spec.model import FormField
from . import _adf
from ._client import RECONCILE_LIMIT, JiraConnection
from ._evidence_files import EvidenceFiles, evidence_file
from ._fields import FieldMap, value_for_jira
from ._priority import nearest_priority

__all__ = ["JiraIssueTracker", "PROPERTY", "OWNED_LABEL", "idem_label", "ref_marker"]

log = logging.getLogger("aims.jira")

PROPERTY = "aims.task"
OWNED_LABEL = "aims"
"""Every issue the engine made carries this label; the reconciliation poll searches by it."""
CANCELLED_LABEL = "aims-cancelled"
_PRIORITIES = {
    "highest": "Highest",
    "high": "High",
    "medium": "Medium",
    "low": "Low",
    "lowest": "Lowest",
}


def _about_assignee(err: PermanentError) -> bool:
    """A 400 that refuses the assignee (no *Assignable User* permission in the project, or an
    account Jira does not let us name)."""
    text = err.message.lower()
    return err.answered == 400 and ("cannot be assigned" in text or "assignee" in text)


def _about_priority(err: PermanentError) -> bool:
    """A 400 that names the priority field (not on the screen, or no such priority)."""
    return err.answered == 400 and "priority" in err.message.lower()


def _screen_values(transition: dict[str, Any]) -> dict[str, Any] | None:
    """What a transition's screen wants filled: a resolution (Jira's Resolve Issue screen);
    Done when the site has it, else its first resolution."""
    wanted = (transition.get("fields") or {}).get("resolution")
    if not wanted:
        return None
    names = [str(v.get("name")) for v in wanted.get("allowedValues") or [] if v.get("name")]
    if not names:
        return None
    return {"resolution": {"name": "Done" if "Done" in names else names[0]}}


FIRST_ISSUE_ID = 10000
"""Jira Cloud numbers issues from here: the floor when no issue id was known before a create."""
LOST_CREATE_WINDOWS = 4
"""How many windows of ``RECONCILE_LIMIT`` issue ids a retry reads for a create whose answer
was lost, before it waits for the search instead."""

SEARCH_SETTLE_SECONDS = 120.0
"""How long a new issue may stay invisible to ``/search/jql`` (Jira's search is eventually
consistent; seconds as a rule, this much under load)."""


def jira_summary(title: str) -> str:
    """A title as Jira takes a summary: one line (Jira refuses newlines), at most 255
    characters (a longer one is cut and ends in an ellipsis)."""
    line = " ".join(title.split())
    return line if len(line) <= 255 else line[:254] + "\u2026"


def idem_label(idem_key: str) -> str:
    """The label that finds an issue by its idempotency key (labels cannot hold spaces or be
    long)."""
    return "aims-k-" + hashlib.sha256(idem_key.encode()).hexdigest()[:20]


def ref_marker(command_key: str) -> str:
    return "aims ref " + hashlib.sha256(command_key.encode()).hexdigest()[:10]


def _requirement(field: FormField) -> str:
    if field.required_if:
        return f"required when {field.required_if}"
    return "required" if field.required else "optional"


class JiraIssueTracker(EvidenceFiles):
    """Carries out ``task.*`` commands on one Jira project.

    ``store`` (optional) is where the issue-to-task mapping and recorded attachments are kept
    (:class:`~aims_workflows.ports.JiraIssueStore`); without it the tracker still finds its
    issues by label, but inbound events cannot be mapped.
    """

    def __init__(
        self,
        connection: JiraConnection,
        project: str,
        *,
        issue_type: str = "Task",
        store: JiraIssueStore | None = None,
        clock: Clock | None = None,
        aims_owners: Callable[[], list[str]] | None = None,
    ) -> None:
        """``aims_owners`` names who runs the AIMS (e-mails), told in Jira when a task's
        issue cannot be assigned to the person it is for."""
        self.jira = connection
        self.project = project
        self.issue_type = issue_type
        self.store = store
        self.clock = clock or SystemClock()
        self.aims_owners = aims_owners or (lambda: [])
        self._accounts: dict[str, str | None] = {}
        self._emails: dict[str, str] = {}
        self._me: str | None = None
        self._site_priorities: list[str] | None = None

    # -- the port ---------------------------------------------------------------------------
    def perform(self, command: Command) -> dict[str, Any]:
        match command:
            case CreateTask():
                return self._create(command)
            case RemindTask():
                return self._remind(command)
            case EscalateTask():
                return self._escalate(command)
            case CancelTask():
                return self._cancel(command)
            case CloseTask():
                return self._close(command)
            case RefuseAnswers():
                return self._refuse(command)
            case AttachEvidence():
                return self._attach_evidence(command)
            case RecordAttachments():
                return self._record_attachments(command)
            case AskStepUp():
                return self._ask_step_up(command)
        raise PermanentError(f"the Jira tracker does not carry out '{command.kind}'")

    # -- task.create ------------------------------------------------------------------------
    def field_map(self) -> FieldMap:
        return FieldMap(self.jira.fields(what="list the Jira fields"))

    def _find_by_label(self, label: str) -> dict[str, Any] | None:
        jql = f'project = "{self.project}" AND labels = "{label}"'
        for issue in self.jira.search(
            jql, fields=["summary", "labels"], what="look for an issue made by an earlier attempt"
        ):
            return issue
        return None

    def _description(self, command: CreateTask) -> dict[str, Any]:
        blocks: list[dict[str, Any]] = []
        for line in command.description.strip().split("\n"):
            blocks.append(_adf.paragraph(line))
        if command.form:
            blocks.append(_adf.heading("What to fill in"))
            blocks.append(
                _adf.bullets(
                    [
                        f"{f.label} ({_requirement(f)})" + (f": {f.help}" if f.help else "")
                        for f in command.form
                    ]
                )
            )
        if command.previous_answers:
            blocks.append(
                _adf.paragraph("Your earlier answers are filled in; change what needs changing.")
            )
        blocks.append(
            _adf.paragraph(
                "Move the issue to Done when the answers are in. They are checked, and the issue "
                "comes back with a comment if something is missing."
            )
        )
        subject = command.subject.name
        blocks.append(
            _adf.paragraph(
                f"{command.workflow} / {command.step_id} (attempt {command.attempt})"
                + (f" for {subject}" if subject else ""),
                label="Workflow: ",
            )
        )
        return _adf.document(*blocks)

    def _create(self, command: CreateTask) -> dict[str, Any]:
        idem = command.key  # the engine prefixes it with the run id: unique across runs
        label = idem_label(idem)
        # the Jira field helpers read forms as plain data, as `aims jira setup` does
        form = [f.model_dump(mode="json") for f in command.form]
        if self.store is not None:
            known = self.store.issue_by_idem(idem)
            if known:
                return self._created(command, known["issue_key"])
        field_ids = self.field_map().resolve(form)
        mapping = {f.id: [field_ids[f.id], f.type] for f in command.form}
        refused: str | None = None
        issue = self._find_by_label(label) or self._find_lost_create(idem, label)
        if issue is None:
            self._wait_out_search_lag(idem)
            try:
                issue, refused = self._new_issue(command, label, form, field_ids)
            except IntegrationError as err:
                # Jira answered no (refused, limited, shedding load): nothing was created, so
                # the next attempt need not wait for the search to show anything
                if err.answered is not None and (err.answered < 500 or err.answered == 503):
                    self._forget_attempt(idem)
                raise
        key, issue_id = issue["key"], str(issue["id"])
        # recorded before anything else can fail: a retry then finds the issue by its key,
        # without depending on a search that may not show it yet
        if self.store is not None:
            self.store.remember_issue(
                issue_id=issue_id,
                issue_key=key,
                idem_key=idem,
                run_id=command.run_id,
                step_id=command.step_id,
                attempt=command.attempt,
                fields=mapping,
            )
        self.jira.set_issue_property(
            key,
            PROPERTY,
            {
                "key": idem,
                "run_id": command.run_id,
                "step_id": command.step_id,
                "attempt": command.attempt,
                "fields": mapping,
            },
            what=f"label issue {key} with its task",
        )
        self._link_related(command.run_id, key)
        return self._created(command, key, refused)

    def _created(self, command: CreateTask, key: str, refused: str | None = None) -> dict[str, Any]:
        """The result of a create whose issue is ``key``: unassigned when Jira refused the
        assignee (``refused``, or as an earlier attempt recorded), and then said so on the
        issue once, however often the command is carried out."""
        notice = self.store.unassignable(command.key) if self.store is not None else None
        reason = refused or (notice[0] if notice else None)
        if reason is None:
            return {"ref": key, "assignee": command.assignee}
        if notice is None or not notice[1]:
            self._tell_unassigned(command, key, reason)
            if self.store is not None:
                self.store.unassignable_told(command.key)
        return {"ref": key, "assignee": None}

    def _find_lost_create(self, idem: str, label: str) -> dict[str, Any] | None:
        """The issue of an earlier attempt whose answer was lost (Jira made it; the caller saw
        a timeout or a reset connection), found although the search index has not caught up.

        Issue ids grow: the lost issue's is above the highest id known when that attempt
        started. The label search is asked to reconcile the ids above it, ``RECONCILE_LIMIT``
        at a time (Jira's limit), which reads them consistently; after ``LOST_CREATE_WINDOWS``
        such windows (a busy site may have made many issues since) the retry falls back on
        waiting for the search to settle."""
        if self.store is None or self.store.create_attempted(idem) is None:
            return None
        floor = self.store.create_id_floor(idem)
        start = (floor if floor is not None else FIRST_ISSUE_ID - 1) + 1
        jql = f'project = "{self.project}" AND labels = "{label}"'
        for window in range(LOST_CREATE_WINDOWS):
            first = start + window * RECONCILE_LIMIT
            ids = list(range(first, first + RECONCILE_LIMIT))
            for issue in self.jira.search(
                jql,
                fields=["summary", "labels"],
                reconcile=ids,
                what="look for the issue an attempt whose answer was lost made",
            ):
                log.warning("found %s, made by an attempt whose answer was lost", issue["key"])
                return issue
        return None

    def _wait_out_search_lag(self, idem: str) -> None:
        """Before creating: if an earlier attempt asked Jira to create this issue and did not
        live to record it, the label search may not show that issue yet. Within Jira's search
        consistency window, try again later rather than create a second issue."""
        if self.store is None:
            return
        first = self.store.create_attempted(idem)
        if first is not None:
            waited = (self.clock.now() - first).total_seconds()
            if waited < SEARCH_SETTLE_SECONDS:
                raise RetryableError(
                    "an earlier attempt may have created this issue and Jira's search does not "
                    "show it yet; looking again before creating one",
                    retry_after=SEARCH_SETTLE_SECONDS - waited,
                )
        self.store.note_create_attempt(idem)

    def _forget_attempt(self, idem: str) -> None:
        if self.store is not None:
            self.store.forget_create_attempt(idem)

    def _new_issue(
        self,
        command: CreateTask,
        label: str,
        form: list[dict[str, Any]],
        field_ids: dict[str, str],
    ) -> tuple[dict[str, Any], str | None]:
        """The created issue (``id``, ``key``), and Jira's reason when it refused the
        assignee (the issue is then unassigned)."""
        fields: dict[str, Any] = {
            "project": {"key": self.project},
            "issuetype": {"name": self.issue_type},
            "summary": jira_summary(command.title or command.step_id),
            "description": self._description(command),
            "labels": [OWNED_LABEL, label, f"aims-{command.workflow or 'workflow'}"[:255]],
        }
        priority = self._priority(command.priority)
        if priority:
            fields["priority"] = {"name": priority}
        account = self.account_of(command.assignee)
        if account:
            fields["assignee"] = {"accountId": account}
        if command.due_at:
            fields["duedate"] = command.due_at[:10]
        previous = command.previous_answers or {}
        for field in form:
            value = value_for_jira(field, previous.get(field["id"]), self.account_of)
            if value is not None:
                fields[field_ids[field["id"]]] = value
        what = f"create the issue for {command.run_id} step {command.step_id}"
        # Jira created nothing on a 400: a refused hint (priority) or a refused assignee is no
        # reason to leave the task without an issue; each is dropped once and the create retried
        refused: str | None = None
        for _ in range(3):
            try:
                return self.jira.create_issue(fields, what=what), refused
            except PermanentError as err:
                if "assignee" in fields and _about_assignee(err):
                    log.warning(
                        "Jira refused %s as assignee of %s; creating it unassigned",
                        command.assignee,
                        command.step_id,
                    )
                    del fields["assignee"]
                    refused = err.message
                    # kept before the unassigned create: the comment about it must outlive a
                    # crash between that create and the comment
                    if self.store is not None:
                        self.store.note_unassignable(command.key, refused)
                elif "priority" in fields and _about_priority(err):
                    log.warning(
                        "Jira refused the priority of %s; creating it without one", command.step_id
                    )
                    self._site_priorities = []
                    del fields["priority"]
                else:
                    raise
        return self.jira.create_issue(fields, what=what), refused

    def _tell_unassigned(self, command: CreateTask, key: str, reason: str) -> None:
        """Say on the issue why nobody is assigned, naming the AIMS owners (a mention, so Jira
        notifies them) who can give the person access or reassign the task. The marker finds
        a comment posted by an attempt that did not live to record it."""
        marker = f"aims:unassignable:{command.key}"
        if self._already_commented(key, marker):
            return
        owners = [o for o in self.aims_owners() if o]
        mentions: list[dict[str, Any]] = []
        for owner in owners:
            account = self.account_of(owner)
            if account:
                mentions.append({"type": "mention", "attrs": {"id": account, "text": f"@{owner}"}})
                mentions.append({"type": "text", "text": " "})
        named = ", ".join(owners) or "the AIMS owner (aims_owner in aims.yaml)"
        blocks = [
            _adf.paragraph(
                f"This task is for {command.assignee}, but Jira would not assign it to them "
                f"({reason.strip()}). It was created unassigned."
            ),
            _adf.paragraph(
                f"{named}: give {command.assignee} the project's Assignable User permission "
                "(Project settings, Permissions) and assign the issue, or assign it to someone "
                "else who holds the task's role."
            ),
        ]
        if mentions:
            blocks.append({"type": "paragraph", "content": mentions[:-1]})
        body = _adf.document(*blocks, _adf.paragraph(f"({marker})"))
        self.jira.add_comment(key, body, what=f"say why {key} is unassigned")

    def _priority(self, wanted: str | None) -> str | None:
        """The site's priority nearest to ``wanted``, read once from ``GET /priority``."""
        if self._site_priorities is None:
            try:
                listed = self.jira.call("GET", "priority", what="list the site's priorities")
            except PermanentError:
                listed = []
            self._site_priorities = [
                str(p["name"]) for p in listed or [] if isinstance(p, dict) and p.get("name")
            ]
        return nearest_priority(_PRIORITIES.get(wanted or "", wanted), self._site_priorities)

    def _link_related(self, run_id: str, key: str) -> None:
        """Link the issue to the issues of the run that started this one (a finding's audit)."""
        if self.store is None:
            return
        related = self.store.issues_of_parent(run_id)
        already = self.store.issues_of_run(run_id) if related else []
        if not related or already:
            return  # linked when the run's first issue was made
        self.jira.call(
            "POST",
            "issueLink",
            what=f"link {key} to {related[-1]}",
            json={
                "type": {"name": "Relates"},
                "inwardIssue": {"key": related[-1]},
                "outwardIssue": {"key": key},
            },
        )

    # -- comments and moves -----------------------------------------------------------------
    def _already_commented(self, key: str, marker: str) -> bool:
        comments = self.jira.comments(
            key, order_by="-created", max_results=50, what=f"read the comments of {key}"
        )
        return any(marker in _adf.to_text(c.get("body")) for c in comments)

    def _comment(self, command: TaskCommand, key: str, *blocks: dict[str, Any]) -> None:
        marker = ref_marker(command.key)
        if self._already_commented(key, marker):
            return
        body = _adf.document(*blocks, _adf.paragraph(f"({marker})"))
        self.jira.add_comment(key, body, what=f"comment on {key}")

    @staticmethod
    def _issue(ref: str | None) -> str | None:
        """The Jira key in a task's reference; None for none, or a task the local tracker made."""
        return ref if ref and not ref.startswith("LOCAL:") else None

    def _ask_step_up(self, command: AskStepUp) -> dict[str, Any]:
        """Where the approver confirms a step-up: a comment on the issue the approval covers
        asks them for a comment of their own (Jira then says which account wrote it)."""
        key = next((k for k in map(self._issue, command.issues) if k), None)
        if not key:
            return {"skipped": "no Jira issue to confirm on"}
        self._comment(
            command,
            key,
            _adf.paragraph(
                f"{command.person} approved {command.title} in Slack, above the step-up "
                "threshold. The approval counts once they confirm it here, under their own Jira "
                f"account, with a comment reading: {command.code}"
            ),
        )
        return {"ref": key}

    def _remind(self, command: RemindTask) -> dict[str, Any]:
        key = self._issue(command.ref)
        if not key:
            return {"skipped": "no issue yet"}
        self._comment(
            command,
            key,
            _adf.paragraph(
                "Reminder: this task is still open. Fill in the answers and move the issue to Done."
            ),
        )
        return {"ref": key}

    def _escalate(self, command: EscalateTask) -> dict[str, Any]:
        key = self._issue(command.ref)
        if not key:
            return {"skipped": "no issue yet"}
        people = ", ".join(command.people or command.to)
        self._comment(
            command,
            key,
            _adf.paragraph(f"This task is overdue and has been escalated to {people}."),
        )
        high = self._priority("high")
        if high:
            try:
                self.jira.call(
                    "PUT",
                    f"issue/{key}",
                    json={"fields": {"priority": {"name": high}}},
                    what=f"raise the priority of {key}",
                )
            except PermanentError as err:
                if not _about_priority(err):
                    raise
                log.warning("Jira refused raising the priority of %s", key)
        return {"ref": key}

    def _transition_to(self, key: str, category: str, *, what: str) -> bool:
        """Take a transition into a status of ``category`` (``done`` or not done); False if none."""
        options = self.jira.transitions(
            key, expand="transitions.fields", what=f"read the transitions of {key}"
        )

        def category_of(t: dict[str, Any]) -> str:
            return str(((t.get("to") or {}).get("statusCategory") or {}).get("key", ""))

        if category == "done":
            chosen = next((t for t in options if category_of(t) == "done"), None)
        else:
            chosen = next((t for t in options if category_of(t) == "indeterminate"), None) or next(
                (t for t in options if category_of(t) not in ("done", "")), None
            )
        if chosen is None:
            return False
        self.jira.transition(key, str(chosen["id"]), fields=_screen_values(chosen), what=what)
        return True

    def _status_category(self, key: str) -> str:
        issue = self.jira.issue(key, fields="status", what=f"read the status of {key}")
        return str(issue["fields"]["status"]["statusCategory"]["key"])

    def _refuse(self, command: RefuseAnswers) -> dict[str, Any]:
        key = self._issue(command.ref)
        if not key:
            return {"skipped": "no issue"}
        problems = list(command.problems)
        self._comment(
            command,
            key,
            _adf.paragraph(
                "Some answers are missing or not valid, so this task is not complete yet:"
            ),
            _adf.bullets(problems or ["an answer is missing"]),
            _adf.paragraph("Please fix them on this issue and move it to Done again."),
        )
        if self._status_category(key) == "done":
            self._transition_to(key, "open", what=f"move {key} back for corrections")
        return {"ref": key, "moved_back": True}

    def _cancel(self, command: CancelTask) -> dict[str, Any]:
        key = self._issue(command.ref)
        if not key:
            return {"skipped": "no issue"}
        # the run's state says the task is cancelled already, so the move's webhook is not read
        # as an answer
        reason = command.reason or "cancelled"
        self._comment(command, key, _adf.paragraph(f"This task is no longer needed: {reason}."))
        self.jira.call(
            "PUT",
            f"issue/{key}",
            json={"update": {"labels": [{"add": CANCELLED_LABEL}]}},
            what=f"label {key} cancelled",
        )
        self._move_to_done(key)
        return {"ref": key, "cancelled": True}

    def _move_to_done(self, key: str) -> bool:
        """Walk the issue into a done-category status; False if it was there already."""
        moved = False
        for _ in range(3):  # a workflow may need To Do -> In Progress -> Done
            if self._status_category(key) == "done":
                break
            moved = True
            if not self._transition_to(key, "done", what=f"close {key}"):
                self._transition_to(key, "open", what=f"move {key} towards Done")
        return moved

    def _close(self, command: CloseTask) -> dict[str, Any]:
        """The task is complete in the ledger: close its issue if it was completed elsewhere,
        and attach the evidence of the completion (once)."""
        key = self._issue(command.ref) or self._issue_of_task(command.task_key)
        if not key:
            return {"skipped": "no issue"}
        # the run's state says the task is completed already, so the move's webhook is not read
        # as answers
        closed = self._move_to_done(key)  # False when completed in Jira: nothing to say then
        if closed:
            self._comment(
                command,
                key,
                _adf.paragraph(
                    f"Completed in aims-workflows by {command.by or 'someone'} "
                    f"(via {command.via or 'another channel'}); "
                    "this issue is closed to match. The answers are in the attached evidence."
                ),
            )
        result: dict[str, Any] = {"ref": key, "closed": closed}
        records = self._sealed_records(command.evidence_seqs)
        if records:
            filename, content = evidence_file(
                records,
                run_id=command.run_id,
                step_id=command.step_id,
                attempt=command.attempt,
                issue=key,
            )
            result.update(self._attach_once(key, filename, content))
        return result

    def _issue_of_task(self, task_key: str | None) -> str | None:
        """The issue made for a task whose completion came before the engine learnt its key (done
        from the CLI while its task.create was still queued: the outbox carries that out first)."""
        if not task_key or self.store is None:
            return None
        known = self.store.issue_by_idem(task_key)
        return known["issue_key"] if known else None
