"""Where each approval's Slack messages are, so every copy can be updated when it closes.

The ApprovalChannel writes each request's card and every copy it posts to the Slack app's own
storage (:class:`~aims_workflows.ports.SlackMessageStore`, tables ``slack_requests`` and
``slack_messages``) as it posts them, and reads them back whenever it is asked, so a copy posted
by another process (`aims worker` beside `aims serve`) is found too. Without a store (a book
made before the database, or in a test) the book keeps them in memory.

Who has decided on a request is the runtime's to say (the run's state), not the book's: the
book asks the ``deciders`` function it is bound to.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from ...engine.commands import EscalateApproval, RemindApproval, RequestApproval
from ...ports import PostedCopy, PostedRequest, SlackMessageStore

__all__ = ["Copy", "MessageBook", "POSTING_KINDS"]

POSTING_KINDS = ("approval.request", "approval.remind", "approval.escalate")
_POSTING = (RequestApproval, RemindApproval, EscalateApproval)

Copy = PostedCopy
"""One posted message of an approval (``role`` ``approver``, ``channel`` or ``watcher``)."""

Deciders = Callable[[str, str], set[str]]
"""(run id, approval id) -> the people whose decision on that request is recorded."""


class MessageBook:
    """Requests and copies by approval, in the Slack app's storage (or in memory)."""

    def __init__(
        self, store: SlackMessageStore | None = None, deciders: Deciders | None = None
    ) -> None:
        self._store = store
        self._deciders = deciders
        self._lock = threading.Lock()
        self._requests: dict[str, PostedRequest] = {}
        self._copies: dict[str, list[Copy]] = {}
        self._retired: set[tuple[str, str]] = set()

    def bind(self, store: SlackMessageStore, deciders: Deciders | None = None) -> None:
        """Use ``store`` (when the book was made before the database) and ask ``deciders`` who
        has decided."""
        if self._store is None:
            self._store = store
        if deciders is not None:
            self._deciders = deciders

    # -- writing (the channel, as it posts) -----------------------------------------------
    def add(self, copy: Copy) -> None:
        if self._store is not None:
            self._store.add_copy(copy)
            return
        with self._lock:
            copies = self._copies.setdefault(copy.approval_id, [])
            if all((c.channel, c.ts) != (copy.channel, copy.ts) for c in copies):
                copies.append(copy)

    def retire(self, approval_id: str, channel: str, ts: str) -> None:
        """A copy replaced by a repost: it no longer has buttons and needs no update."""
        if self._store is not None:
            self._store.retire(channel, ts)
            return
        with self._lock:
            self._retired.add((channel, ts))

    def set_card(
        self, run_id: str, approval_id: str, card: dict[str, Any], people: list[str]
    ) -> None:
        request = PostedRequest(approval_id, run_id, card, list(people))
        if self._store is not None:
            self._store.save_request(request)
            return
        with self._lock:
            self._requests.setdefault(approval_id, request)

    # -- reading ----------------------------------------------------------------------------
    def copies(self, run_id: str, approval_id: str) -> list[Copy]:
        """Live copies (not retired), oldest first."""
        if self._store is not None:
            return self._store.copies(approval_id)
        with self._lock:
            return [
                c
                for c in self._copies.get(approval_id, [])
                if (c.channel, c.ts) not in self._retired
            ]

    def posted_by(self, command_key: str) -> list[Copy]:
        """Every copy the command ``command_key`` posted, retired or not, oldest first."""
        if self._store is not None:
            return self._store.posted_by(command_key)
        with self._lock:
            return [
                c
                for copies in self._copies.values()
                for c in copies
                if c.command_key == command_key
            ]

    def _request(self, approval_id: str) -> PostedRequest | None:
        if self._store is not None:
            return self._store.request(approval_id)
        with self._lock:
            return self._requests.get(approval_id)

    def card(self, run_id: str, approval_id: str) -> dict[str, Any] | None:
        request = self._request(approval_id)
        return dict(request.card) if request else None

    def people(self, run_id: str, approval_id: str) -> list[str]:
        """Who the request was sent to (after segregation of duties)."""
        request = self._request(approval_id)
        return list(request.people) if request else []

    def open_requests(self) -> list[PostedRequest]:
        """Every request still open, oldest first (in memory: every request this book
        posted)."""
        if self._store is not None:
            return self._store.open_requests()
        with self._lock:
            return list(self._requests.values())

    def known(self) -> list[tuple[str, dict[str, Any], list[str]]]:
        """(approval id, card, people) of :meth:`open_requests`."""
        return [(r.approval_id, dict(r.card), list(r.people)) for r in self.open_requests()]

    def decided(self, run_id: str, approval_id: str) -> set[str]:
        """People whose decision on this request is recorded (the run's state says)."""
        return self._deciders(run_id, approval_id) if self._deciders is not None else set()
