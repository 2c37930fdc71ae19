"""The way in: every inbound delivery (a Jira webhook, a Slack decision, a change the Jira poll
found) is recorded in the inbox once, and applied once, in the same transaction as the event it
carries (see :meth:`Runtime.receive <aims_workflows.runtime.Runtime.receive>`).

A delivery is either stored first and applied later (a webhook: stored while Jira waits for the
answer, applied by a worker) or stored and applied at once; either way the inbox row and the run
change together, so a crash half-way leaves the delivery to be applied again and never applies
it twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Table, func, select, update

from ..store import inbox
from ..store.models import InboxItem

__all__ = ["Delivery", "as_delivery", "take", "settle", "stored", "backlog"]

_INBOX: Table = InboxItem.__table__


@dataclass(frozen=True)
class Delivery:
    """One inbound delivery: where it came from (``jira``, ``slack``, ``jira-poll``), the id
    that source gives it (kept across its retries) and what it said (stored with it)."""

    source: str
    id: str
    payload: str = ""


def as_delivery(delivery: Delivery | tuple[str, str] | None, payload: str) -> Delivery | None:
    """The older ``(source, id)`` form of a delivery, as a :class:`Delivery`."""
    if delivery is None or isinstance(delivery, Delivery):
        return delivery
    return Delivery(delivery[0], delivery[1], payload)


def take(conn: Connection, delivery: Delivery, now: datetime) -> bool:
    """Make the delivery this transaction's to apply: record it if it is new, or take it if it
    was stored and not applied yet. False when it was applied (or is being applied) already."""
    if inbox.claim(conn, delivery.source, delivery.id, delivery.payload, now):
        return True
    taken = conn.execute(
        update(_INBOX)
        .where(
            _INBOX.c.source == delivery.source,
            _INBOX.c.delivery_id == delivery.id,
            _INBOX.c.status == "received",
        )
        .values(status="processing")
    )
    return taken.rowcount == 1


def settle(conn: Connection, delivery: Delivery, now: datetime, ignored: str | None = None) -> None:
    """Mark a taken delivery with what applying it did: processed, or ignored and why."""
    inbox.mark(
        conn, delivery.source, delivery.id, "ignored" if ignored else "processed", now, ignored
    )


def stored(conn: Connection, source: str, limit: int) -> list[Delivery]:
    """Deliveries of ``source`` that were stored and not applied yet, oldest first."""
    rows = conn.execute(
        select(_INBOX.c.delivery_id, _INBOX.c.payload)
        .where(_INBOX.c.source == source, _INBOX.c.status == "received")
        .order_by(_INBOX.c.id)
        .limit(limit)
    ).all()
    return [Delivery(source, row.delivery_id, row.payload) for row in rows]


def backlog(conn: Connection) -> dict[str, int]:
    """How many stored deliveries wait to be applied, by source."""
    rows = conn.execute(
        select(_INBOX.c.source, func.count())
        .where(_INBOX.c.status == "received")
        .group_by(_INBOX.c.source)
    ).all()
    return {str(source): int(count) for source, count in rows}
