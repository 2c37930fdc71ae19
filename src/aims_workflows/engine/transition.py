"""The result of applying one event."""

from __future__ import annotations

from dataclasses import dataclass, field

from .commands import Command
from .evidence import EvidenceRecord
from .state import RunState

__all__ = ["Transition"]


@dataclass(frozen=True)
class Transition:
    """What one event did: the new state, commands for the outbox, evidence for the ledger.

    ``ignored`` explains an event that changed nothing (stale, duplicate, for a closed run).
    """

    run: RunState
    commands: list[Command] = field(default_factory=list)
    evidence: list[EvidenceRecord] = field(default_factory=list)
    ignored: str | None = None
