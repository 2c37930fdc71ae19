"""Commands: effects the engine asks for. The runtime puts them in the outbox in the same
transaction as the new run state, and the dispatcher carries them out afterwards."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Command", "CommandKind"]

CommandKind = Literal[
    "task.create",
    "task.remind",
    "task.escalate",
    "task.cancel",
    "task.refuse_answers",
    "approval.request",
    "approval.remind",
    "approval.escalate",
    "approval.close",
    "approval.invalidate",
    "approval.refuse",
    "notify",
    "run.start",
    "run.cancel",
    "run.completed",
]


@dataclass(frozen=True)
class Command:
    """One effect. ``key`` is the idempotency key: the same key is never carried out twice."""

    kind: CommandKind
    key: str
    run_id: str
    payload: dict[str, Any] = field(default_factory=dict)
