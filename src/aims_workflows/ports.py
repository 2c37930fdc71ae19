"""The ports: one-method Protocols for everything outside the process.

Each has a real adapter (Jira, Slack, SMTP ...) and an in-memory one in
:mod:`aims_workflows.testing`. ``perform`` receives a command from the outbox (its ``key`` is the
idempotency key: a port must not carry out the same key twice) and returns what the runtime
should remember (e.g. ``{"ref": "AIMS-12", "assignee": "eng@example.com"}``). It raises
:class:`~aims_workflows.errors.RetryableError` or :class:`~aims_workflows.errors.PermanentError`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

from .engine.commands import Command

__all__ = ["Clock", "IssueTracker", "ApprovalChannel", "Notifier", "SystemClock"]


@runtime_checkable
class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """The real clock (UTC). Everything else takes a Clock so tests can move time."""

    def now(self) -> datetime:

        return datetime.now(UTC)


@runtime_checkable
class IssueTracker(Protocol):
    """Carries out ``task.*`` commands (Jira)."""

    def perform(self, command: Command) -> dict[str, Any]: ...


@runtime_checkable
class ApprovalChannel(Protocol):
    """Carries out ``approval.*`` commands (Slack)."""

    def perform(self, command: Command) -> dict[str, Any]: ...


@runtime_checkable
class Notifier(Protocol):
    """Carries out ``notify`` commands (Slack message, e-mail)."""

    def perform(self, command: Command) -> dict[str, Any]: ...
