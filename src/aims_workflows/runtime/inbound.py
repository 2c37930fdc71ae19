"""The way in: every inbound delivery (a Jira webhook, a Slack decision, a change the Jira poll
found) is recorded in the inbox once, and applied once, in the same transaction as the event it
carries (see :meth:`Runtime.receive <aims_workflows.runtime.Runtime.receive>`).

A delivery is either stored first and applied later (a webhook: stored while Jira waits for the
answer, applied by a worker) or stored and applied at once; either way the inbox row and the run
change together, so a crash half-way leaves the delivery to be applied again and never applies
it twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import Connection, Table, and_, func, or_, select, text, update

from ..store import inbox
from ..store.models import InboxItem

__all__ = [
    "Delivery",
    "Parked",
    "as_delivery",
    "take",
    "settle",
    "stored",
    "store",
    "claim_stored",
    "release",
    "retry_parked",
    "backlog",
    "park",
    "parked",
    "parked_counts",
    "superseded_by",
    "safe_text",
]

_INBOX: Table = InboxItem.__table__


@dataclass(frozen=True)
class Delivery:
    """One inbound delivery: where it came from (``jira``, ``slack``, ``jira-poll``), the id
    that source gives it (kept across its retries) and what it said (stored with it)."""

    source: str
    id: str
    payload: str = ""
    run_id: str | None = None
    """The run the delivery concerns, when the integration knows it."""
    subject: str | None = None
    """What the delivery changes at its source (e.g. ``issue:10042``), to order its changes."""
    version: int | None = None
    """Where the change stands in the subject's history at the source (e.g. Jira's change
    time in ms): a change older than one already applied is ignored."""
    version_seq: int = 0
    """The tie-break between two changes at the same ``version`` (e.g. Jira's changelog id)."""

    def about(self, **changes: object) -> Delivery:
        """This delivery with what it concerns filled in (run, subject, version)."""
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Parked:
    """A delivery set aside because it could not be applied, and why."""

    source: str
    id: str
    run_id: str | None
    received_at: datetime
    parked_at: datetime | None
    reason: str


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def safe_text(text: str, limit: int = 2000) -> str:
    """``text`` as every database stores it: no NUL (PostgreSQL refuses it in text) and no lone
    surrogate (not encodable as UTF-8), shown escaped; at most ``limit`` characters."""
    if _UNSTORABLE.search(text):
        text = text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")
    return text[:limit]


def as_delivery(delivery: Delivery | tuple[str, str] | None, payload: str) -> Delivery | None:
    """The older ``(source, id)`` form of a delivery, as a :class:`Delivery`."""
    if delivery is None or isinstance(delivery, Delivery):
        return delivery
    return Delivery(delivery[0], delivery[1], payload)


def store(conn: Connection, delivery: Delivery, now: datetime) -> bool:
    """Record a delivery to be applied later, with the subject it changes when known; False
    for a repeat of one recorded before."""
    if not inbox.claim(conn, delivery.source, delivery.id, delivery.payload, now):
        return False
    _describe(conn, delivery)
    return True


def take(conn: Connection, delivery: Delivery, now: datetime) -> bool:
    """Make the delivery this transaction's to apply: record it if it is new, or take it if it
    was stored and not applied yet. False when it was applied (or is being applied) already."""
    if inbox.claim(conn, delivery.source, delivery.id, safe_text(delivery.payload, 10**7), now):
        _describe(conn, delivery)
        return True
    taken = conn.execute(
        update(_INBOX)
        .where(
            _INBOX.c.source == delivery.source,
            _INBOX.c.delivery_id == delivery.id,
            _INBOX.c.status == "received",
        )
        .values(status="processing", **_about(delivery))
    )
    return taken.rowcount == 1


def _about(delivery: Delivery) -> dict[str, object]:
    values: dict[str, object] = {}
    if delivery.run_id is not None:
        values["run_id"] = delivery.run_id[:200]
    if delivery.subject is not None:
        values["subject"] = delivery.subject[:200]
    if delivery.version is not None:
        values["version"], values["version_seq"] = delivery.version, delivery.version_seq
    return values


def _describe(conn: Connection, delivery: Delivery) -> None:
    values = _about(delivery)
    if values:
        conn.execute(
            update(_INBOX)
            .where(_INBOX.c.source == delivery.source, _INBOX.c.delivery_id == delivery.id)
            .values(**values)
        )


def superseded_by(conn: Connection, delivery: Delivery) -> str | None:
    """The id of an applied delivery of the same subject carrying a newer change, or None
    (also when the delivery does not say where its change stands)."""
    if delivery.subject is None or delivery.version is None:
        return None
    newer = conn.scalar(
        select(_INBOX.c.delivery_id)
        .where(
            _INBOX.c.source.in_(_same_history(delivery.source)),
            _INBOX.c.subject == delivery.subject[:200],
            _INBOX.c.status == "processed",
            _INBOX.c.delivery_id != delivery.id,
            or_(
                _INBOX.c.version > delivery.version,
                and_(
                    _INBOX.c.version == delivery.version,
                    _INBOX.c.version_seq > delivery.version_seq,
                ),
            ),
        )
        .limit(1)
    )
    return str(newer) if newer is not None else None


def _same_history(source: str) -> tuple[str, ...]:
    """Sources whose deliveries report changes of the same subjects (a webhook and the poll)."""
    base = source.split("-")[0]
    return (base, f"{base}-poll")


def settle(conn: Connection, delivery: Delivery, now: datetime, ignored: str | None = None) -> None:
    """Mark a taken delivery with what applying it did: processed, or ignored and why."""
    inbox.mark(
        conn,
        delivery.source,
        delivery.id,
        "ignored" if ignored else "processed",
        now,
        safe_text(ignored) if ignored else None,
    )
    _describe(conn, delivery)


def park(conn: Connection, delivery: Delivery, reason: str, now: datetime) -> bool:
    """Set a delivery aside with why it cannot be applied, so the ones behind it go on; False
    when it was settled meanwhile. A delivery not stored before (the poll's) is stored now."""
    inbox.claim(conn, delivery.source, delivery.id, safe_text(delivery.payload, 10**7), now)
    parked_now = conn.execute(
        update(_INBOX)
        .where(
            _INBOX.c.source == delivery.source,
            _INBOX.c.delivery_id == delivery.id,
            _INBOX.c.status.in_(("received", "processing")),
        )
        .values(status="parked", processed_at=now, error=safe_text(reason), **_about(delivery))
    )
    return parked_now.rowcount == 1


def parked(conn: Connection, *, run_id: str | None = None, limit: int = 100) -> list[Parked]:
    """Parked deliveries, newest first; those concerning ``run_id`` when given."""
    query = select(_INBOX).where(_INBOX.c.status == "parked")
    if run_id is not None:
        query = query.where(_INBOX.c.run_id == run_id)
    rows = conn.execute(query.order_by(_INBOX.c.id.desc()).limit(limit)).all()
    return [
        Parked(r.source, r.delivery_id, r.run_id, r.received_at, r.processed_at, r.error or "")
        for r in rows
    ]


def parked_counts(conn: Connection) -> dict[str, int]:
    """How many deliveries are parked, by source."""
    rows = conn.execute(
        select(_INBOX.c.source, func.count())
        .where(_INBOX.c.status == "parked")
        .group_by(_INBOX.c.source)
    ).all()
    return {str(source): int(count) for source, count in rows}


def stored(conn: Connection, source: str, limit: int) -> list[Delivery]:
    """Deliveries of ``source`` that were stored and not applied yet, oldest first."""
    rows = conn.execute(
        select(_INBOX.c.delivery_id, _INBOX.c.payload)
        .where(_INBOX.c.source == source, _INBOX.c.status == "received")
        .order_by(_INBOX.c.id)
        .limit(limit)
    ).all()
    return [Delivery(source, row.delivery_id, row.payload) for row in rows]


CLAIM_LEASE = timedelta(minutes=2)
"""How long a worker holds the deliveries it took before another worker may take them."""


def claim_stored(
    conn: Connection,
    source: str,
    owner: str,
    now: datetime,
    *,
    limit: int,
    lease: timedelta = CLAIM_LEASE,
) -> list[Delivery]:
    """Take up to ``limit`` stored deliveries of ``source`` for ``owner`` until ``now +
    lease``, oldest first, passing over those another worker holds. On PostgreSQL the rows are
    read ``FOR UPDATE SKIP LOCKED``, so workers claiming at the same moment take different
    deliveries instead of queueing on each other's locks; on SQLite the write transaction
    (BEGIN IMMEDIATE) lets one claimer in at a time. Claiming is what keeps two workers from
    doing the same work; applying a delivery twice is prevented anyway (:func:`take`)."""
    # not what this owner holds either: a pass does not take again what it could not settle
    free = or_(_INBOX.c.claimed_until.is_(None), _INBOX.c.claimed_until <= now)
    # a subject's deliveries are applied in the order received: none while another worker
    # holds an earlier one of the same subject (an earlier one nobody holds is older, so it is
    # taken first, by the same claim)
    earlier = _INBOX.alias("earlier")
    held_before = (
        select(earlier.c.id)
        .where(
            earlier.c.source == _INBOX.c.source,
            earlier.c.subject == _INBOX.c.subject,
            earlier.c.id < _INBOX.c.id,
            earlier.c.status == "received",
            earlier.c.claimed_until > now,
        )
        .exists()
    )
    if conn.dialect.name == "postgresql":
        # claims of one source one at a time, so that each sees what the one before held
        # (the rows themselves are still read SKIP LOCKED: a delivery being applied is passed)
        conn.execute(
            text(
                "SELECT pg_advisory_xact_lock(hashtext(current_schema()), "
                "hashtext('aims.inbox.claim:' || :source))"
            ),
            {"source": source},
        )
    ids = list(
        conn.scalars(
            select(_INBOX.c.id)
            .where(_INBOX.c.source == source, _INBOX.c.status == "received", free, ~held_before)
            .order_by(_INBOX.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)  # nothing on SQLite: see above
        )
    )
    if not ids:
        return []
    conn.execute(
        update(_INBOX)
        .where(_INBOX.c.id.in_(ids))
        .values(claimed_by=owner[:100], claimed_until=now + lease)
    )
    rows = conn.execute(
        select(_INBOX.c.delivery_id, _INBOX.c.payload)
        .where(_INBOX.c.id.in_(ids))
        .order_by(_INBOX.c.id)
    ).all()
    return [Delivery(source, row.delivery_id, row.payload) for row in rows]


def release(conn: Connection, source: str, owner: str) -> int:
    """Give back what ``owner`` holds of ``source`` and did not settle (another worker may take
    it at once); how many."""
    released = conn.execute(
        update(_INBOX)
        .where(
            _INBOX.c.source == source,
            _INBOX.c.claimed_by == owner[:100],
            _INBOX.c.status == "received",
        )
        .values(claimed_by=None, claimed_until=None)
    )
    return int(released.rowcount or 0)


def retry_parked(
    conn: Connection, *, source: str | None = None, delivery_id: str | None = None
) -> list[Parked]:
    """Put parked deliveries back in the queue (all, or one ``source``/``delivery_id``), their
    reason cleared; what was put back, with the reason it had."""
    query = select(_INBOX).where(_INBOX.c.status == "parked")
    if source is not None:
        query = query.where(_INBOX.c.source == source)
    if delivery_id is not None:
        query = query.where(_INBOX.c.delivery_id == delivery_id)
    rows = conn.execute(query.order_by(_INBOX.c.id).with_for_update()).all()
    if rows:
        conn.execute(
            update(_INBOX)
            .where(_INBOX.c.id.in_([r.id for r in rows]), _INBOX.c.status == "parked")
            .values(
                status="received",
                processed_at=None,
                error=None,
                claimed_by=None,
                claimed_until=None,
            )
        )
    return [
        Parked(r.source, r.delivery_id, r.run_id, r.received_at, r.processed_at, r.error or "")
        for r in rows
    ]


def backlog(conn: Connection) -> dict[str, int]:
    """How many stored deliveries wait to be applied, by source."""
    rows = conn.execute(
        select(_INBOX.c.source, func.count())
        .where(_INBOX.c.status == "received")
        .group_by(_INBOX.c.source)
    ).all()
    return {str(source): int(count) for source, count in rows}
