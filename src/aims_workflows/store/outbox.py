"""The outbox: commands written in the same transaction as the state that asked for them,
carried out afterwards, retried with back-off, parked as dead after too many attempts."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import ColumnElement, Connection, and_, func, insert, or_, select, update

from ..engine.commands import Command, command_from_dict, command_from_json, command_to_json
from ._fast import Prepared
from .models import OutboxItem

__all__ = [
    "LEASE",
    "Claimed",
    "bury",
    "claim_due",
    "complete",
    "enqueue",
    "insert_rows",
    "row_of",
    "read_stored",
    "renew",
    "retry_later",
    "revive",
    "waiting",
]

_OUTBOX = OutboxItem.__table__
LEASE = timedelta(minutes=2)
"""How long a claim lasts unless renewed; a worker that dies mid-command loses it after this.
A live dispatcher renews its claims while it works on them (runtime.dispatcher)."""


@dataclass(frozen=True)
class Claimed:
    """A command taken by ``owner`` on its ``attempts``-th attempt."""

    id: int
    command: Command
    attempts: int
    owner: str = "-"


# compiled once per dialect: enqueueing runs on every event (see _fast)
_ENQUEUE = Prepared(
    insert(_OUTBOX),
    ("key", "run_id", "kind", "payload", "status", "attempts", "next_attempt_at", "created_at"),
)


def row_of(command: Command, now: datetime) -> dict[str, Any]:
    """The outbox row of ``command`` enqueued at ``now`` (for :func:`insert_rows`)."""
    return dict(
        key=command.key,
        run_id=command.run_id,
        kind=command.kind,
        payload=command_to_json(command),
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )


def enqueue(conn: Connection, commands: Iterable[Command], now: datetime) -> None:
    insert_rows(conn, [row_of(c, now) for c in commands])


def insert_rows(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert rows made by :func:`row_of`, in order."""
    if len(rows) == 1:
        _ENQUEUE.execute(conn, rows[0])
    elif rows:
        _ENQUEUE.executemany(conn, rows)


def claim_due(
    conn: Connection,
    now: datetime,
    *,
    owner: str = "-",
    kinds: Iterable[str] | None = None,
    exclude: Iterable[str] | None = None,
    limit: int = 10,
    lease: timedelta = LEASE,
) -> list[Claimed]:
    """Take up to ``limit`` due commands (pending, or in flight past their lease), oldest first,
    for ``owner`` until ``now + lease``.

    Keep ``limit`` small and the lease renewed (:func:`renew`) while the work is in flight: a
    command is someone else's to take as soon as its lease runs out. On PostgreSQL the rows are
    read ``FOR UPDATE SKIP LOCKED``, so dispatchers claiming at the same moment take different
    commands instead of queueing behind each other's locks.
    """
    query = (
        select(
            _OUTBOX.c.id,
            _OUTBOX.c.key,
            _OUTBOX.c.run_id,
            _OUTBOX.c.kind,
            _OUTBOX.c.payload,
            _OUTBOX.c.attempts,
        )
        .where(
            or_(_OUTBOX.c.status == "pending", _OUTBOX.c.status == "inflight"),
            _OUTBOX.c.next_attempt_at <= now,
        )
        .order_by(_OUTBOX.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)  # nothing on SQLite: BEGIN IMMEDIATE serialises
    )
    if kinds is not None:
        query = query.where(_OUTBOX.c.kind.in_(list(kinds)))
    if exclude is not None:
        query = query.where(_OUTBOX.c.kind.not_in(list(exclude)))
    claimed: list[Claimed] = []
    for row in conn.execute(query).all():
        try:
            command = read_stored(row.kind, row.key, row.run_id, row.payload)
        except ValueError as err:  # pydantic's ValidationError, or text that is not JSON
            # a row this version cannot read would otherwise be claimed again on every pump
            _park(conn, row.id, now, f"the stored command cannot be read: {_problem(err)}")
            continue
        claimed.append(Claimed(row.id, command, row.attempts + 1, owner))
    if claimed:
        # the rows are locked (PostgreSQL) or the database is (SQLite): nobody took them since
        conn.execute(
            update(_OUTBOX)
            .where(_OUTBOX.c.id.in_([c.id for c in claimed]))
            .values(
                status="inflight",
                claimed_by=owner,
                next_attempt_at=now + lease,
                attempts=_OUTBOX.c.attempts + 1,
            )
        )
    return claimed


def _held(item: Claimed) -> ColumnElement[bool]:
    """The row is still ``item``'s claim: in flight, held by its owner, on the same attempt (a
    later claim by the same owner counts another attempt)."""
    return and_(
        _OUTBOX.c.id == item.id,
        _OUTBOX.c.status == "inflight",
        _OUTBOX.c.claimed_by == item.owner,
        _OUTBOX.c.attempts == item.attempts,
    )


def renew(
    conn: Connection,
    owner: str,
    now: datetime,
    *,
    lease: timedelta = LEASE,
    item: Claimed | None = None,
) -> int:
    """Extend the lease of every command ``owner`` holds (or of ``item`` alone) to
    ``now + lease``. Returns how many it still held: 0 for ``item`` means it was lost (its lease
    ran out and another dispatcher took it, or it was settled)."""
    where = (
        _held(item)
        if item is not None
        else and_(_OUTBOX.c.claimed_by == owner, _OUTBOX.c.status == "inflight")
    )
    return conn.execute(update(_OUTBOX).where(where).values(next_attempt_at=now + lease)).rowcount


# Rows written before commands were models hold only the payload, without kind, key and run id;
# the two run commands named the other run 'run_id' there.
_LEGACY_RENAMES = {"run.start": "child_run_id", "run.cancel": "child_run_id"}


def read_stored(kind: str, key: str, run_id: str, payload: str) -> Command:
    """The command an outbox row holds (its columns as stored). Raises ``ValueError`` (pydantic's
    ``ValidationError``, or a JSON error) for a row that does not hold one."""
    try:
        return command_from_json(payload)
    except ValidationError:
        data = json.loads(payload)
        if not isinstance(data, dict) or "kind" in data:
            raise
    if kind in _LEGACY_RENAMES and "run_id" in data:
        data[_LEGACY_RENAMES[kind]] = data.pop("run_id")
    return command_from_dict({**data, "kind": kind, "key": key, "run_id": run_id})


def _problem(err: ValueError) -> str:
    if not isinstance(err, ValidationError):
        return str(err)
    first = err.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"{where}: {first['msg']}" if where else str(first["msg"])


def complete(conn: Connection, item: Claimed, now: datetime, result: dict[str, Any] | None) -> bool:
    """Mark ``item`` done with its result, if it is still its claimant's. False when the claim
    was lost: then nothing is written and the caller records nothing of its own either (the
    command's current holder records the outcome)."""
    return (
        conn.execute(
            update(_OUTBOX)
            .where(_held(item))
            .values(
                status="done",
                done_at=now,
                result=json.dumps(result or {}, default=str),
                last_error=None,
                claimed_by=None,
            )
        ).rowcount
        == 1
    )


def retry_later(conn: Connection, item: Claimed, at: datetime, error: str) -> bool:
    """Put ``item`` back in the queue, due ``at``; False when the claim was lost."""
    return (
        conn.execute(
            update(_OUTBOX)
            .where(_held(item))
            .values(status="pending", next_attempt_at=at, last_error=error, claimed_by=None)
        ).rowcount
        == 1
    )


def bury(conn: Connection, item: Claimed, now: datetime, error: str) -> bool:
    """Park a command that cannot succeed; `aims runs show` lists it with its reason. False
    when the claim was lost."""
    return (
        conn.execute(
            update(_OUTBOX)
            .where(_held(item))
            .values(status="dead", done_at=now, last_error=error, claimed_by=None)
        ).rowcount
        == 1
    )


def _park(conn: Connection, item_id: int, now: datetime, error: str) -> None:
    conn.execute(
        update(_OUTBOX)
        .where(_OUTBOX.c.id == item_id)
        .values(status="dead", done_at=now, last_error=error, claimed_by=None)
    )


def waiting(conn: Connection) -> int:
    """How many commands are queued or in flight (not done, not dead)."""
    return int(
        conn.execute(
            select(func.count())
            .select_from(_OUTBOX)
            .where(_OUTBOX.c.status.in_(("pending", "inflight")))
        ).scalar_one()
    )


def revive(conn: Connection, run_id: str, now: datetime) -> list[tuple[str, str]]:
    """Put a run's dead commands back in the queue, due now, with a fresh attempt count (after
    the cause was fixed, e.g. ``aims jira setup``). Returns their (kind, key)."""
    rows = conn.execute(
        select(_OUTBOX.c.id, _OUTBOX.c.kind, _OUTBOX.c.key)
        .where(_OUTBOX.c.run_id == run_id, _OUTBOX.c.status == "dead")
        .order_by(_OUTBOX.c.id)
    ).all()
    if rows:
        conn.execute(
            update(_OUTBOX)
            .where(_OUTBOX.c.id.in_([r.id for r in rows]))
            .values(
                status="pending", attempts=0, next_attempt_at=now, done_at=None, claimed_by=None
            )
        )
    return [(r.kind, r.key) for r in rows]
