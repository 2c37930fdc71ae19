"""Commands: effects the engine asks for. The runtime puts them in the outbox in the same
transaction as the new run state, and the dispatcher carries them out afterwards.

One frozen model per kind, all members of the discriminated union :data:`Command` (on ``kind``).
Every command carries its idempotency ``key`` (the same key is never carried out twice) and the
``run_id`` of the run that asked for it. The outbox stores a command as its model's JSON and reads
it back with :func:`command_from_json`::

    >>> text = command_to_json(CancelTask(key="R1/fix/1/cancel", run_id="R1", ref="AIMS-7",
    ...                                   task_key="R1/fix/1/task", reason="cancelled"))
    >>> command_from_json(text).ref
    'AIMS-7'

Times inside commands are the canonical UTC text of :func:`~aims_workflows.engine.evidence.iso`,
as the adapters put them in Jira and Slack.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from ..spec.model import Coverage, FormField
from .events import ReplyTo
from .state import Decision, Subject

__all__ = [
    "COMMAND_KINDS",
    "ApprovalCommand",
    "AskStepUp",
    "AttachEvidence",
    "CancelChildRun",
    "CancelTask",
    "CloseApproval",
    "CloseTask",
    "Command",
    "CommandKind",
    "CreateTask",
    "EscalateApproval",
    "EscalateTask",
    "InvalidateApproval",
    "NewFinding",
    "Notify",
    "PostCheckpoint",
    "RecordAttachments",
    "RefuseAnswers",
    "RefuseDecision",
    "RemindApproval",
    "RemindTask",
    "ReopenApproval",
    "ReportRunEnd",
    "RequestApproval",
    "SpawnRun",
    "TaskCommand",
    "command_from_dict",
    "command_from_json",
    "command_to_json",
]


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str
    """The idempotency key: the engine prefixes it with the run id, so it is unique across runs."""
    run_id: str
    """The run that asked for the effect."""


class _Addressed(_Command):
    """A message for roles (``to``); the dispatcher resolves them to ``people`` before an adapter
    sees the command."""

    to: tuple[str, ...]
    people: tuple[str, ...] = ()


class _Chaser(_Addressed):
    """A reminder or an escalation of an open task or approval, fired by one of its timers."""

    step_id: str
    ref: str | None = None
    approval_id: str | None = None
    assignee: str | None = None
    subject: Subject


# -- tasks (the IssueTracker port: Jira) -----------------------------------------------------
class CreateTask(_Command):
    """Open an issue for a task step's visit."""

    kind: Literal["task.create"] = "task.create"
    step_id: str
    attempt: int
    workflow: str
    title: str
    description: str
    role: str
    subject: Subject
    form: tuple[FormField, ...]
    due_at: str | None = None
    priority: str = "medium"
    previous_answers: dict[str, Any] | None = None
    """The answers of the step's previous visit, to fill the new issue in with."""
    assignee: str | None = None
    """The person the step names (its ``assignee``), or else who holds ``role``: filled in by
    the dispatcher from aims.yaml."""


class RemindTask(_Chaser):
    kind: Literal["task.remind"] = "task.remind"


class EscalateTask(_Chaser):
    kind: Literal["task.escalate"] = "task.escalate"


class CancelTask(_Command):
    """The run no longer needs the task (cancelled): close its issue as not needed."""

    kind: Literal["task.cancel"] = "task.cancel"
    ref: str | None
    task_key: str
    reason: str


class CloseTask(_Command):
    """The task is complete in the ledger: close its issue if it was completed elsewhere, and
    attach the completion's evidence."""

    kind: Literal["task.close"] = "task.close"
    step_id: str
    attempt: int
    ref: str | None
    task_key: str
    by: str
    via: str
    evidence_seqs: tuple[int, int] | None = None
    """First and last ledger row of the completion, filled in by the runtime once numbered."""


class RefuseAnswers(_Command):
    """Answers that do not pass the form: say why on the issue and reopen it."""

    kind: Literal["task.refuse_answers"] = "task.refuse_answers"
    step_id: str
    ref: str | None
    problems: tuple[str, ...]
    task_key: str


class AttachEvidence(_Command):
    """Attach a file to an issue (queued by releases before ``task.close`` carried evidence)."""

    kind: Literal["task.attach_evidence"] = "task.attach_evidence"
    ref: str
    filename: str
    content: str


class RecordAttachments(_Command):
    """Hash the files people attached to an issue into the ledger (from the Jira integration)."""

    kind: Literal["task.record_attachments"] = "task.record_attachments"
    ref: str
    step_id: str | None = None


class AskStepUp(_Command):
    """Ask an approver to confirm their approval in the tracker (a comment by the same
    account on the issue the approval covers): the second channel of a step-up."""

    kind: Literal["approval.step_up"] = "approval.step_up"
    approval_id: str
    person: str
    title: str
    issues: tuple[str, ...]
    code: str
    """What the confirming comment must say."""


# -- approvals (the ApprovalChannel port: Slack) ---------------------------------------------
class RequestApproval(_Command):
    """Ask the approvers of a step to decide over content bound by ``content_hash``."""

    kind: Literal["approval.request"] = "approval.request"
    approval_id: str
    step_id: str
    workflow: str
    title: str
    approvers: tuple[str, ...]
    quorum: Literal["any", "all"] | int
    channel: Literal["direct", "channel"]
    content_hash: str
    show: dict[str, Any]
    issues: tuple[str, ...]
    subject: Subject
    due_at: str | None = None
    exclude: tuple[str, ...] = ()
    """People segregation of duties rules out."""
    forbidden_roles: tuple[str, ...] = ()
    asked_by: tuple[str, ...] = ()
    """The people whose answers are being approved, for the approver to see."""
    people: tuple[str, ...] = ()
    """The eligible approvers: filled in by the dispatcher."""
    escalated_from: str | None = None
    """The request that expired before this one went to an alternate role."""
    step_up: bool = False
    """An approval counts only once the approver confirms it in Jira."""
    step_up_rule: str | None = None
    """The step-up condition with the values it read: 'evaluate.score >= 15 (evaluate.score =
    16): above the threshold'."""
    changed: tuple[tuple[str, str, str], ...] = ()
    """(label, before, after) of the shown values that changed since the step's previous
    request (a rework or edited answers): filled in by the dispatcher from the ledger."""
    withdraw_within: str | None = None
    """How long a decision may be taken back ('1h'), when the step allows it."""


class RemindApproval(_Chaser):
    kind: Literal["approval.remind"] = "approval.remind"


class EscalateApproval(_Chaser):
    kind: Literal["approval.escalate"] = "approval.escalate"


class CloseApproval(_Command):
    kind: Literal["approval.close"] = "approval.close"
    approval_id: str
    outcome: Literal["approved", "rejected", "cancelled", "expired"]
    decisions: tuple[Decision, ...] = ()
    # an expired request: the role it went to instead, for the copies to say so
    escalated_to: str | None = None


class ReopenApproval(_Command):
    """A decision was withdrawn: the request is open again for the person who withdrew."""

    kind: Literal["approval.reopen"] = "approval.reopen"
    approval_id: str
    person: str
    reason: str


class InvalidateApproval(_Command):
    """The content changed under an open request: its buttons no longer count."""

    kind: Literal["approval.invalidate"] = "approval.invalidate"
    approval_id: str
    reason: str


class RefuseDecision(_Command):
    """Tell a person why their decision was not recorded."""

    kind: Literal["approval.refuse"] = "approval.refuse"
    person: str
    approval_id: str | None
    reason: str
    response: ReplyTo | None = None
    """Where the person clicked, to answer them there."""


# -- messages (the Notifier port) --------------------------------------------------------------
class Notify(_Addressed):
    kind: Literal["notify"] = "notify"
    message: str
    subject: Subject | None = None


# -- runs (carried out by the dispatcher itself) -----------------------------------------------
class NewFinding(BaseModel):
    """A nonconformity raised by a spawn step: the subject of the run it starts."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    title: str
    severity: str
    clause: str | None = None
    description: str | None = None
    source: str
    system: str | None = None
    source_type: str = "internal"
    """The kind of source (see ``aims_workflows.findings.SOURCES``); commands queued before it
    was kept are an internal audit's."""


class SpawnRun(_Command):
    """Start a run of another workflow, on ``finding`` when there is one, else on ``subject``."""

    kind: Literal["run.start"] = "run.start"
    child_run_id: str
    workflow: str
    inputs: dict[str, Any]
    finding: NewFinding | None = None
    subject: Subject | None = None
    parent_run_id: str | None = None
    """Set when the spawning run waits for this one."""


class CancelChildRun(_Command):
    kind: Literal["run.cancel"] = "run.cancel"
    child_run_id: str
    reason: str


class ReportRunEnd(_Command):
    """A run ended: tell its parent, and start the workflows triggered by its completion."""

    kind: Literal["run.completed"] = "run.completed"
    workflow: str
    subject: Subject
    parent_run_id: str | None = None
    coverage: Coverage | None = None
    status: Literal["completed", "cancelled"] = "completed"
    started_at: str | None = None
    outputs: dict[str, Any] | None = None
    """A completed run's outputs, for the parent that waits for it (None without a parent)."""


TaskCommand = (
    CreateTask
    | RemindTask
    | EscalateTask
    | CancelTask
    | CloseTask
    | RefuseAnswers
    | AttachEvidence
    | RecordAttachments
    | AskStepUp
)
"""What the IssueTracker port carries out."""


class PostCheckpoint(_Command):
    """Post a signed checkpoint of the ledger head to one witness outside the database."""

    kind: Literal["witness.post"] = "witness.post"
    witness: Literal["slack", "jira", "git", "tsa"]
    line: str
    """The checkpoint in its posted form (``aims-checkpoint/1;seq=...``)."""
    head_seq: int


ApprovalCommand = (
    RequestApproval
    | RemindApproval
    | EscalateApproval
    | CloseApproval
    | InvalidateApproval
    | RefuseDecision
    | ReopenApproval
)
"""What the ApprovalChannel port carries out."""

Command = Annotated[
    TaskCommand
    | ApprovalCommand
    | Notify
    | SpawnRun
    | CancelChildRun
    | ReportRunEnd
    | PostCheckpoint,
    Field(discriminator="kind"),
]
"""Any command; ``kind`` says which."""

CommandKind = Literal[
    "task.create",
    "task.remind",
    "task.escalate",
    "task.cancel",
    "task.close",
    "task.refuse_answers",
    "task.attach_evidence",
    "task.record_attachments",
    "approval.step_up",
    "approval.request",
    "approval.remind",
    "approval.escalate",
    "approval.close",
    "approval.invalidate",
    "approval.refuse",
    "approval.reopen",
    "notify",
    "run.start",
    "run.cancel",
    "run.completed",
    "witness.post",
]

_ADAPTER: TypeAdapter[Command] = TypeAdapter(Command)

COMMAND_KINDS: frozenset[str] = frozenset(get_args(CommandKind))
"""Every command kind, as the outbox's ``kind`` column holds it."""


def command_to_json(command: Command) -> str:
    """The command as the outbox stores it: its model's JSON, ``kind``, ``key`` and ``run_id``
    included. A value an expression produced that JSON cannot hold is written as its text."""
    return command.model_dump_json(fallback=str)


def command_from_json(text: str | bytes) -> Command:
    """A stored command, validated: raises pydantic's ``ValidationError`` for one that is not."""
    return _ADAPTER.validate_json(text)


def command_from_dict(data: dict[str, Any]) -> Command:
    """A command from its fields as plain data (``kind`` included), validated."""
    return _ADAPTER.validate_python(data)
