"""The inbox: an inbound delivery (webhook, interaction) is recorded once; a repeat is a no-op."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select, update

from .models import InboxItem
from .upsert import insert_for

__all__ = ["claim", "mark"]

_INBOX = InboxItem.__table__


def claim(conn: Connection, source: str, delivery_id: str, payload: str, now: datetime) -> bool:
    """True when this delivery is new (and is now recorded), False for a repeat."""
    statement = (
        insert_for(conn.dialect.name, _INBOX)
        .values(
            source=source,
            delivery_id=delivery_id,
            payload=payload,
            received_at=now,
            status="received",
        )
        .on_conflict_do_nothing(index_elements=["source", "delivery_id"])
        .returning(_INBOX.c.id)
    )
    # A returned id means the row was inserted. Not rowcount: with an implicit RETURNING,
    # psycopg reports -1 on PostgreSQL, which made every new delivery look like a repeat.
    return conn.execute(statement).first() is not None


def mark(
    conn: Connection,
    source: str,
    delivery_id: str,
    status: str,
    now: datetime,
    error: str | None = None,
) -> None:
    conn.execute(
        update(_INBOX)
        .where(_INBOX.c.source == source, _INBOX.c.delivery_id == delivery_id)
        .values(status=status, processed_at=now, error=error)
    )


def status_of(conn: Connection, source: str, delivery_id: str) -> str | None:
    return conn.scalar(
        select(_INBOX.c.status).where(
            _INBOX.c.source == source, _INBOX.c.delivery_id == delivery_id
        )
    )
