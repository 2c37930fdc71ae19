"""Events: the one shape every input takes before it reaches the engine.

Jira webhooks, Slack interactions, timers, the CLI and other runs are all turned into an
:class:`Event` at the edge, so the engine never sees a vendor payload.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

__all__ = ["Actor", "Event", "EventKind", "ReplyTo", "SYSTEM"]

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


@dataclass(frozen=True)
class Actor:
    """Who caused an event and through which tool (``cli``, ``jira``, ``slack``, ``scheduler`` ...)."""

    id: str
    via: str
    roles: tuple[str, ...] = ()


SYSTEM = Actor("aims", "system")


@dataclass(frozen=True)
class Event:
    """One input to :func:`~aims_workflows.engine.advance`.

    ``step_id`` and ``attempt`` say which step visit the event is about, so a late event for an
    earlier visit (a Jira webhook for a reopened task) is recognised and ignored.
    ``data`` carries the kind's fields: answers, decision and reason, child outcome, attributes.
    ``ref`` is the source reference kept in the evidence (Jira key, Slack action id).
    """

    kind: EventKind
    actor: Actor = SYSTEM
    step_id: str | None = None
    attempt: int | None = None
    data: dict[str, Any] = field(default_factory=dict)
    ref: str | None = None


class ReplyTo(BaseModel):
    """Where a person acted in their tool (a Slack channel and user id), to answer them there."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    channel: str | None = None
    user: str | None = None
