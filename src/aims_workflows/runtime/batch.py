"""Group commit: the queued events the worker applies together, one transaction per batch and a
savepoint per event (:meth:`~aims_workflows.runtime.Runtime.receive_batch`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..engine import ApprovalDecided, Command, Event
from .inbound import Delivery

__all__ = ["Queued", "HeldBack"]


@dataclass(frozen=True)
class Queued:
    """One event waiting to be applied, as :meth:`Runtime.receive` takes it."""

    event: Event
    run_id: str | None = None
    delivery: Delivery | None = None
    follow_up: Sequence[Command] = ()

    def order_key(self) -> str | None:
        """What the event's order is kept within: its run (an approval's decision names its
        approval instead; the approval belongs to one run)."""
        if self.run_id is not None:
            return self.run_id
        if isinstance(self.event, ApprovalDecided):
            return "approval:" + self.event.approval_id
        return None


class HeldBack(Exception):
    """Not applied in this batch: an earlier event of the same run failed, and a run's events
    are applied in order. Apply it again after that one."""

    def __init__(self, key: str) -> None:
        super().__init__(f"held back behind a failed event of {key}")
        self.key = key
