"""Events: the typed inputs of :func:`~aims_workflows.engine.advance`.

Jira webhooks, Slack interactions, timers, the CLI and other runs are all turned into one of
these models at the edge, so the engine never sees a vendor payload. Each is frozen and checked
when it is made: a Jira issue cannot hand the engine a list where a person's id belongs.
:data:`Event` is their union, told apart by ``kind``; :func:`parse_event` reads one from plain
data (a recorded history, a test)::

    >>> parse_event({"kind": "run.cancel", "reason": "system retired"}).reason
    'system retired'

Every event has an ``actor`` (who caused it) and a ``ref``, the source reference the evidence
keeps (Jira key, Slack action id). Task events name the step visit they are about (``step_id``
and ``attempt``), so a late event for an earlier visit (a webhook for a reopened task) is
recognised and ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

__all__ = [
    "Actor",
    "ApprovalDecided",
    "CancelRun",
    "ChildCompleted",
    "EVENT_KINDS",
    "Event",
    "EventKind",
    "ReplyTo",
    "SYSTEM",
    "StartRun",
    "SubjectChanged",
    "TaskCompleted",
    "TaskCreated",
    "TaskUpdated",
    "TimerTick",
    "parse_event",
]


@dataclass(frozen=True)
class Actor:
    """Who caused an event and through which tool (``cli``, ``jira``, ``slack``, ``scheduler``).

    ``id`` is the person's id in the directory of people once the runtime has identified them
    (before that, what their tool said). The runtime fills in the rest from the directory:
    ``roles`` they hold, ``handle`` (their account in the tool: Jira accountId, Slack user id,
    the operating-system user of the CLI), ``assurance`` (``verified by jira``, ``verified by
    slack``, ``claimed``; ``unresolved`` when the directory does not know them, which the engine
    refuses for any task or approval), ``acts_for`` (``(person, role)`` delegations in force)
    and ``conflicts`` (pairs of roles they hold that aims.yaml keeps apart).
    """

    id: str
    via: str
    roles: tuple[str, ...] = ()
    handle: str | None = None
    assurance: str = ""
    acts_for: tuple[tuple[str, str], ...] = ()
    conflicts: tuple[tuple[str, str], ...] = ()

    def delegated(self, roles: tuple[str, ...] | list[str]) -> str | None:
        """The person this actor stands in for in one of ``roles``, if a delegation allows."""
        return next((person for person, role in self.acts_for if role in roles), None)


SYSTEM = Actor("aims", "system")


class ReplyTo(BaseModel):
    """Where a person acted in their tool (a Slack channel and user id), to answer them there."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    channel: str | None = None
    user: str | None = None
    # the interaction's response_url: an answer there reaches the person where they clicked
    response_url: str | None = None


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    actor: Actor = SYSTEM
    ref: str | None = None


class StartRun(_Event):
    """Begin a run in state ``new``; ``trigger`` says what started it, for the evidence."""

    kind: Literal["run.start"] = "run.start"
    trigger: str = "manual"


class TaskCreated(_Event):
    """The tracker made the issue of a task (``ref`` is its key)."""

    kind: Literal["task.created"] = "task.created"
    step_id: str
    attempt: int | None = None
    assignee: str | None = None


class TaskCompleted(_Event):
    """Someone says a task is done, with their answers (checked against the form by the engine)."""

    kind: Literal["task.completed"] = "task.completed"
    step_id: str
    attempt: int | None = None
    answers: dict[str, Any] = Field(default_factory=dict)


class TaskUpdated(_Event):
    """The answers of a completed task were edited afterwards (in its Jira issue)."""

    kind: Literal["task.updated"] = "task.updated"
    step_id: str
    answers: dict[str, Any] = Field(default_factory=dict)


class ApprovalDecided(_Event):
    """An approver's decision on one request.

    ``decision`` is what the button or command said; anything but ``approve`` or ``reject`` is
    refused by the engine, with evidence, like any other decision that does not count.
    ``content_hash`` is the content the approver saw. ``eligible`` lists everyone who may decide
    (a quorum of ``all`` is counted against it); ``reply_to`` is where to answer a refusal.
    """

    kind: Literal["approval.decided"] = "approval.decided"
    approval_id: str
    decision: str
    reason: str | None = None
    content_hash: str | None = None
    eligible: tuple[str, ...] | None = None
    reply_to: ReplyTo | None = None
    # (step id, person) for every change of a task's answers after it was completed, from the
    # ledger: whoever changed approved answers took part in them (segregation of duties)
    edited_by: tuple[tuple[str, str], ...] = ()
    # how the request ended when it is no longer open ("already approved by X at T"), from
    # the runtime's records, for the person deciding late
    closed_note: str | None = None


class TimerTick(_Event):
    """Fire every timer of the run that is due at ``now``."""

    kind: Literal["timer.tick"] = "timer.tick"


class ChildCompleted(_Event):
    """A run this run waits for has ended, with what it gave: its subject and, when it
    completed, its ``outputs`` (the values the child's spec declares, else its step data),
    computed by the child's own last transition so that the parent only stores them."""

    kind: Literal["child.completed"] = "child.completed"
    child_run_id: str
    status: Literal["completed", "cancelled", "failed"] = "completed"
    subject_id: str | None = None
    subject_name: str | None = None
    outputs: dict[str, Any] | None = None


class SubjectChanged(_Event):
    """The run's subject changed (an inventory edit): its name and owner as they now are, and
    the attributes that changed."""

    kind: Literal["subject.changed"] = "subject.changed"
    name: str
    owner: str | None
    attributes: dict[str, Any] = Field(default_factory=dict)


class CancelRun(_Event):
    kind: Literal["run.cancel"] = "run.cancel"
    reason: str = "cancelled"


Event = Annotated[
    StartRun
    | TaskCreated
    | TaskCompleted
    | TaskUpdated
    | ApprovalDecided
    | TimerTick
    | ChildCompleted
    | SubjectChanged
    | CancelRun,
    Field(discriminator="kind"),
]
"""Any event; ``kind`` says which."""

EventKind = Literal[
    "run.start",
    "task.created",
    "task.completed",
    "task.updated",
    "approval.decided",
    "timer.tick",
    "child.completed",
    "subject.changed",
    "run.cancel",
]

EVENT_KINDS: frozenset[str] = frozenset(get_args(EventKind))

_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)


def parse_event(data: Mapping[str, Any]) -> Event:
    """An event from plain data, ``kind`` included; raises pydantic's ``ValidationError``
    naming every field that is missing or of the wrong type."""
    return _ADAPTER.validate_python(data)
