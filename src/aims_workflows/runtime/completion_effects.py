"""What a completed run changes beyond the engine (``Runtime.completion_effects``), applied by
the dispatcher in the transaction that reports the completion.

An effect that only writes is a plain function ``(conn, run_id) -> result``. One that starts
runs (an approved change of the inventory starts the workflows subscribed to it) evaluates
their templates and conditions, which must not happen while the write lock is held: it is a
:class:`PlannedEffect`, planned on a snapshot before the transaction (runtime/internal_plans)
and stored in it, raising ``ConcurrentUpdate`` when the plan no longer holds.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from sqlalchemy import Connection

__all__ = ["CompletionEffect", "PlannedEffect", "apply_effect", "plan_effect"]


@runtime_checkable
class PlannedEffect(Protocol):
    def plan(self, run_id: str, now: datetime) -> Any:
        """The effect's engine work, on a snapshot (reads only, no write lock)."""

    def store(self, conn: Connection, run_id: str, plan: Any, now: datetime) -> dict[str, Any]:
        """Store ``plan`` in ``conn``'s write transaction; what it did."""


CompletionEffect = Callable[[Connection, str], dict[str, Any]] | PlannedEffect


def plan_effect(effect: CompletionEffect | None, run_id: str, now: datetime) -> Any:
    """The plan of a :class:`PlannedEffect`; None for the others."""
    return effect.plan(run_id, now) if isinstance(effect, PlannedEffect) else None


def apply_effect(
    effect: CompletionEffect, conn: Connection, run_id: str, plan: Any, now: datetime
) -> dict[str, Any]:
    if isinstance(effect, PlannedEffect):
        return effect.store(conn, run_id, plan, now)
    return effect(conn, run_id)
