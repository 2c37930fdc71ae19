"""Evidence of work given to people: a task requested, issued, answered, chased."""

from __future__ import annotations

from pydantic import Field, JsonValue

from ._base import EvidencePayload, Timestamp

__all__ = [
    "KINDS",
    "TaskRequested",
    "TaskIssued",
    "TaskCompleted",
    "TaskAnswersRefused",
    "TaskRefused",
    "TaskAnswersChanged",
    "Reminded",
    "Overdue",
    "Escalated",
    "TaskReminded",
    "TaskOverdue",
    "TaskEscalated",
]


class TaskRequested(EvidencePayload):
    """Work was assigned to a role, with a due date where the workflow sets one: the
    responsibility was given (5.3 roles and responsibilities, 8.1)."""

    KIND = "task.requested"

    title: str = Field(description="the task's title as the assignee sees it")
    role: str = Field(description="the role responsible for it")
    attempt: int = Field(description="which visit of the step this is (1, then 2 after rework)")
    due_at: Timestamp | None = Field(description="when it is due; null: no due date")


class TaskIssued(EvidencePayload):
    """The task exists in the issue tracker (a Jira issue) and has an assignee."""

    KIND = "task.issued"

    ref: str | None = Field(description="the tracker's reference, such as a Jira issue key")
    assignee: str | None = Field(description="the person it was assigned to, if any")
    attempt: int = Field(description="which visit of the step it is for")


class TaskCompleted(EvidencePayload):
    """A person completed the task with answers that passed the form's checks: the content of the
    assessment, analysis or action (a risk assessment for 8.2, an impact assessment for 8.4, a
    correction for 10.2). The row's actor is the person; its ref is the tracker issue."""

    KIND = "task.completed"

    answers: dict[str, JsonValue] = Field(description="the checked answers, by form field id")
    by: str = Field(description="the person who completed it")
    attempt: int = Field(description="which visit of the step it completed")
    overdue: bool = Field(description="whether it was completed after its due date")
    assurance: str | None = Field(
        None,
        description="how the person's identity is known: 'verified by jira', 'verified by "
        "slack', or 'claimed' (the CLI, with the operating-system user)",
    )


class TaskRefused(EvidencePayload):
    """Someone who may not complete the task tried to: not its assignee, not a holder of its
    role, not a delegate of one, or a person aims cannot identify. Nothing of what they sent
    was taken (5.3)."""

    KIND = "task.refused"

    person: str = Field(
        description="who tried, as the directory knows them or as their tool named them"
    )
    reason: str = Field(description="why it was refused")
    attempt: int = Field(description="which visit of the step it was for")


class TaskAnswersRefused(EvidencePayload):
    """Answers were submitted but failed the form's checks; the task stays open and the person is
    told what to fix. Nothing was recorded as done."""

    KIND = "task.answers_refused"

    problems: list[str] = Field(description="every problem found, one sentence each")
    by: str = Field(description="the person who submitted them")
    attempt: int = Field(description="which visit of the step it was for")


class TaskAnswersChanged(EvidencePayload):
    """Answers of a completed task were edited afterwards (in the Jira issue). Records computed
    from them are written again, and approvals given over the old answers are named, since they
    no longer cover the data (7.5.3 control of changes)."""

    KIND = "task.answers_changed"

    before: dict[str, JsonValue] = Field(description="the answers before, by form field id")
    after: dict[str, JsonValue] = Field(description="the answers after, by form field id")
    by: str = Field(description="the person who changed them")
    approvals_no_longer_covering: list[str] = Field(
        description="approval steps whose approved content these answers changed"
    )


class Reminded(EvidencePayload):
    """The shape of ``task.reminded`` and ``approval.reminded``: a reminder of open work."""

    timer: str = Field(description="the id of the reminder's timer")
    to: list[str] = Field(description="the roles reminded")


class Overdue(EvidencePayload):
    """The shape of ``task.overdue`` and ``approval.overdue``: a due date passed."""

    due_at: Timestamp = Field(description="the due date that passed")


class Escalated(EvidencePayload):
    """The shape of ``task.escalated`` and ``approval.escalated``: open work escalated."""

    to: str = Field(description="the role it was escalated to")
    timer: str = Field(description="the id of the escalation's timer")


class TaskReminded(Reminded):
    """A reminder of an open task went to its role (9.1 monitoring of timeliness)."""

    KIND = "task.reminded"


class TaskOverdue(Overdue):
    """A task's due date passed while it was open (9.1); the task is marked overdue."""

    KIND = "task.overdue"


class TaskEscalated(Escalated):
    """An overdue task was escalated to the role the workflow names (5.3, 9.1)."""

    KIND = "task.escalated"


KINDS: tuple[type[EvidencePayload], ...] = (
    TaskRequested,
    TaskIssued,
    TaskCompleted,
    TaskAnswersRefused,
    TaskRefused,
    TaskAnswersChanged,
    TaskReminded,
    TaskOverdue,
    TaskEscalated,
)
