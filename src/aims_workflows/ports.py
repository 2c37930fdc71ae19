"""The ports: one-method Protocols for everything outside the process.

Each has a real adapter (Jira, Slack, SMTP ...) and an in-memory one in
:mod:`aims_workflows.testing`. ``perform`` receives a command from the outbox (its ``key`` is the
idempotency key: a port must not carry out the same key twice) and returns what the runtime
should remember (e.g. ``{"ref": "AIMS-12", "assignee": "eng@example.com"}``). It raises
:class:`~aims_workflows.errors.RetryableError` or :class:`~aims_workflows.errors.PermanentError`.

An adapter that keeps state of its own (which Jira issue is which task, where the Slack copies
of a request are) is given a small storage Protocol of its own, implemented in ``store/``:
:class:`JiraIssueStore` and :class:`SlackMessageStore`. Adapters never read the runtime's
tables.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

from .engine.commands import Command
from .engine.evidence import EvidenceRecord

__all__ = [
    "Clock",
    "IssueTracker",
    "ApprovalChannel",
    "Notifier",
    "SystemClock",
    "JiraIssueStore",
    "SlackMessageStore",
    "PostedCopy",
    "PostedRequest",
    "PostIntent",
    "SlackPostStore",
]


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


class JiraIssueStore(Protocol):
    """The Jira integration's own records: which issue is which task visit (the issue mapping
    row is a dict with ``issue_id``, ``issue_key``, ``idem_key``, ``run_id``, ``step_id``,
    ``attempt`` and ``fields``), the engineers' attachments already in the ledger, and the
    reconciliation poll's cursor. Whether a task is open is the runtime's to say, not this."""

    def find_issue(
        self, *, issue_id: str | None = None, key: str | None = None
    ) -> dict[str, Any] | None: ...

    def issue_by_idem(self, idem_key: str) -> dict[str, Any] | None: ...

    def issues_of_run(self, run_id: str) -> list[str]: ...

    def issues_of_parent(self, run_id: str) -> list[str]: ...

    def create_attempted(self, idem_key: str) -> datetime | None: ...

    def note_create_attempt(self, idem_key: str) -> None: ...

    def forget_create_attempt(self, idem_key: str) -> None: ...

    def create_id_floor(self, idem_key: str) -> int | None: ...

    def note_unassignable(self, idem_key: str, reason: str) -> None: ...

    def unassignable(self, idem_key: str) -> tuple[str, bool] | None: ...

    def unassignable_told(self, idem_key: str) -> None: ...

    def remember_issue(
        self,
        *,
        issue_id: str,
        issue_key: str,
        idem_key: str,
        run_id: str,
        step_id: str,
        attempt: int,
        fields: dict[str, Any],
    ) -> None: ...

    def attachment_recorded(self, attachment_id: str) -> bool: ...

    def record_attachment(
        self,
        *,
        attachment_id: str,
        issue_key: str,
        filename: str,
        size: int,
        sha256: str,
        evidence: EvidenceRecord,
    ) -> bool: ...

    def evidence_rows(self, first: int, last: int) -> list[dict[str, Any]]: ...

    def cursor(self, name: str) -> datetime | None: ...

    def set_cursor(self, name: str, value: datetime) -> None: ...

    def open_since(self) -> datetime | None: ...

    def open_issue_ids(self, limit: int = 50) -> list[int]: ...


@dataclass(frozen=True)
class PostedCopy:
    """One posted message of an approval request. ``person`` is None for a channel post;
    ``role`` is ``approver`` (with buttons), ``channel`` or ``watcher`` (escalation, no
    buttons)."""

    approval_id: str
    channel: str
    ts: str
    role: str
    person: str | None = None
    user: str | None = None
    command_key: str | None = None
    """The command that posted it: a retry after a crash finds what it posted already."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class PostedRequest:
    """An approval request as the approval channel showed it, and who it was sent to."""

    approval_id: str
    run_id: str
    card: dict[str, Any]
    people: list[str]


class SlackMessageStore(Protocol):
    """Where the Slack app keeps what it posted, so any process can update every copy."""

    def save_request(self, request: PostedRequest) -> None: ...

    def request(self, approval_id: str) -> PostedRequest | None: ...

    def open_requests(self) -> list[PostedRequest]: ...

    def add_copy(self, copy: PostedCopy) -> None: ...

    def retire(self, channel: str, ts: str) -> None: ...

    def copies(self, approval_id: str) -> list[PostedCopy]: ...

    def posted_by(self, command_key: str) -> list[PostedCopy]: ...


@dataclass(frozen=True)
class PostIntent:
    """A Slack post written down before it is made. ``channel`` is the conversation's ID, once
    known (written down before the post when ``target`` is a ``#name``); ``ts`` is None until
    the post is known to be made; ``marker`` travels in the message, so a post cut short by a
    crash can be found in the conversation's history."""

    marker: str
    command_key: str
    slot: str
    target: str
    intended_at: datetime
    channel: str | None = None
    ts: str | None = None


class SlackPostStore(Protocol):
    """Where the Slack app writes down each post before making it, so no process posts twice."""

    def intend(
        self, marker: str, command_key: str, slot: str, target: str
    ) -> tuple[PostIntent, bool]:
        """The intent, and whether this call wrote it down (False: an earlier attempt did)."""
        ...

    def posted(self, marker: str, channel: str, ts: str) -> None: ...

    def addressed(self, marker: str, channel: str) -> None:
        """The ID of the conversation the post goes to, written down before it is made."""
        ...

    def made_by(self, command_key: str) -> list[PostIntent]: ...

    def channel_of(self, target: str) -> str | None: ...
