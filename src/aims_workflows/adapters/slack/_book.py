"""Where each approval's Slack messages are, so every copy can be updated when it closes.

The ApprovalChannel returns, for each command it carries out, the copies it posted and the
card it showed; the dispatcher stores that result with the command in the outbox, in the same
transaction that marks the command done. The book reads those results back whenever it is
asked (no table of its own: the outbox already keeps them for as long as the run exists), so a
copy posted by another process is found too, and keeps what this process posted in memory, so
that a command retried after a partial failure (a 429 for the third approver) does not post
twice to the first two.
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select

from ...engine.commands import EscalateApproval, RemindApproval, RequestApproval

__all__ = ["Copy", "MessageBook", "POSTING_KINDS"]

POSTING_KINDS = ("approval.request", "approval.remind", "approval.escalate")
_POSTING = (RequestApproval, RemindApproval, EscalateApproval)


@dataclass(frozen=True)
class Copy:
    """One posted message of an approval. ``person`` is None for a channel post;
    ``role`` is ``approver`` (with buttons), ``channel`` or ``watcher`` (escalation, no buttons)."""

    approval_id: str
    channel: str
    ts: str
    role: str
    person: str | None = None
    user: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class MessageBook:
    """Copies and cards by approval, from this process's memory and the outbox results."""

    def __init__(self, db: Any | None = None) -> None:
        self._db = db
        self._lock = threading.Lock()
        self._copies: dict[str, list[Copy]] = {}
        self._retired: dict[str, set[tuple[str, str]]] = {}
        self._cards: dict[str, dict[str, Any]] = {}
        self._people: dict[str, list[str]] = {}

    def bind(self, db: Any) -> None:
        """Read earlier results from ``db`` (when the book was made before the database)."""
        if self._db is None:
            self._db = db

    # -- writing (the channel, as it posts) -----------------------------------------------
    def add(self, copy: Copy) -> None:
        with self._lock:
            copies = self._copies.setdefault(copy.approval_id, [])
            if all((c.channel, c.ts) != (copy.channel, copy.ts) for c in copies):
                copies.append(copy)

    def retire(self, approval_id: str, channel: str, ts: str) -> None:
        """A copy replaced by a repost: it no longer has buttons and needs no update."""
        with self._lock:
            self._retired.setdefault(approval_id, set()).add((channel, ts))

    def set_card(self, approval_id: str, card: dict[str, Any], people: list[str]) -> None:
        with self._lock:
            self._cards[approval_id] = card
            self._people[approval_id] = list(people)

    # -- reading ----------------------------------------------------------------------------
    def copies(self, run_id: str, approval_id: str) -> list[Copy]:
        """Live copies (not retired), oldest first."""
        self._load(run_id, approval_id)
        with self._lock:
            retired = self._retired.get(approval_id, set())
            return [
                c for c in self._copies.get(approval_id, []) if (c.channel, c.ts) not in retired
            ]

    def card(self, run_id: str, approval_id: str) -> dict[str, Any] | None:
        self._load(run_id, approval_id)
        with self._lock:
            return self._cards.get(approval_id)

    def people(self, run_id: str, approval_id: str) -> list[str]:
        """Who the request was sent to (after segregation of duties)."""
        self._load(run_id, approval_id)
        with self._lock:
            return list(self._people.get(approval_id, []))

    def known(self) -> list[tuple[str, dict[str, Any], list[str]]]:
        """(approval id, card, people) of every request this process posted or read."""
        with self._lock:
            return [
                (aid, dict(card), list(self._people.get(aid, [])))
                for aid, card in self._cards.items()
            ]

    def decided(self, run_id: str, approval_id: str) -> set[str]:
        """People whose decision on this request is in the ledger."""
        if self._db is None:
            return set()
        from ...store.models import Evidence

        table = Evidence.__table__
        with self._db.connect() as conn:
            rows = conn.execute(
                select(table.c.payload).where(
                    table.c.run_id == run_id, table.c.kind == "approval.decided"
                )
            ).all()
        people: set[str] = set()
        for (payload,) in rows:
            data = json.loads(payload)
            if data.get("approval_id") == approval_id:
                people.add(data.get("person"))
        return people

    def _load(self, run_id: str, approval_id: str) -> None:
        """Read the outbox results of earlier commands for this approval, every time: another
        process (`aims worker` beside `aims serve`) may have posted or retired a copy since.
        Reading is idempotent (copies and retirements are sets), and one indexed query."""
        if self._db is None:
            return
        from ...store import outbox
        from ...store.models import OutboxItem

        table = OutboxItem.__table__
        with self._db.connect() as conn:
            rows = conn.execute(
                select(table.c.kind, table.c.key, table.c.payload, table.c.result)
                .where(
                    table.c.run_id == run_id,
                    table.c.kind.in_(POSTING_KINDS),
                    table.c.status == "done",
                )
                .order_by(table.c.id)
            ).all()
        for kind, key, payload, result in rows:
            if not result:
                continue
            command = outbox.read_stored(kind, key, run_id, payload)
            if isinstance(command, _POSTING) and command.approval_id == approval_id:
                self.absorb(kind, approval_id, json.loads(result))

    def absorb(self, kind: str, approval_id: str, result: dict[str, Any]) -> None:
        """Take in what one command's result says (used when reading the outbox)."""
        if kind == "approval.request" and result.get("card"):
            with self._lock:
                self._cards.setdefault(approval_id, result["card"])
                self._people.setdefault(approval_id, list(result.get("people", [])))
        for raw in result.get("copies", []):
            self.add(Copy(**raw))
        for channel, ts in result.get("retired", []):
            self.retire(approval_id, channel, ts)
