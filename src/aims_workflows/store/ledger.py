"""The evidence ledger: append (numbered and hash-chained) and verify. Append-only by design:
this module has no update or delete, and the database triggers refuse them too."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import NoResultFound

from ..engine.chain_walk import ChainWalk
from ..engine.evidence import ChainedEvidence, EvidenceRecord, Unlinked, link, unlinked
from ._fast import Prepared
from .models import Evidence, LedgerHead

__all__ = [
    "append",
    "append_unlinked",
    "verify",
    "VerifyReport",
    "iter_rows",
    "rows_between",
    "head",
]

_EVIDENCE = Evidence.__table__
_HEAD = LedgerHead.__table__
_COLUMNS = [c for c in ChainedEvidence.__dataclass_fields__]


# Statements compiled once per dialect (appending runs on every event; see _fast).
_HEAD_QUERY = select(_HEAD.c.seq, _HEAD.c.hash).where(_HEAD.c.id == 1)
_HEAD_READ = Prepared(_HEAD_QUERY, ())
# PostgreSQL: appends are serialised by the row lock; SQLite holds the database lock.
_HEAD_READ_LOCKED = Prepared(_HEAD_QUERY.with_for_update(), ())
_INSERT_ROWS = Prepared(insert(_EVIDENCE), _COLUMNS)
_MOVE_HEAD = Prepared(update(_HEAD).where(_HEAD.c.id == 1), ("seq", "hash"))


def head(conn: Connection, *, lock: bool = False) -> tuple[int, str]:
    row = (_HEAD_READ_LOCKED if lock else _HEAD_READ).first(conn, {})
    if row is None:
        raise NoResultFound("the ledger has no head row")
    return row[0], row[1]


def append(
    conn: Connection, records: Iterable[EvidenceRecord], *, recorded_at: datetime
) -> list[ChainedEvidence]:
    """Append records after the current head, in the caller's transaction."""
    return append_unlinked(conn, unlinked(records, recorded_at=recorded_at))


def append_unlinked(conn: Connection, items: Sequence[Unlinked]) -> list[ChainedEvidence]:
    """Append records serialised beforehand (:func:`~aims_workflows.engine.evidence.unlinked`)
    after the current head. The head's row lock (PostgreSQL) is taken here and held to the
    commit, and every writer waits for it: between the lock and the insert there is only the
    numbering and SHA-256 of each row."""
    if not items:
        return []
    seq, prev = head(conn, lock=True)
    rows = link(items, start_seq=seq + 1, prev_hash=prev)
    if len(rows) == 1:
        _INSERT_ROWS.execute(conn, rows[0].__dict__)
    else:
        _INSERT_ROWS.executemany(conn, [r.__dict__ for r in rows])
    _MOVE_HEAD.execute(conn, {"seq": rows[-1].seq, "hash": rows[-1].hash})
    return rows


def rows_between(conn: Connection, first: int, last: int) -> list[ChainedEvidence]:
    """Ledger rows ``first`` to ``last`` (sequence numbers, both included), in order."""
    query = (
        select(*[_EVIDENCE.c[c] for c in _COLUMNS])
        .where(_EVIDENCE.c.seq.between(first, last))
        .order_by(_EVIDENCE.c.seq)
    )
    return [ChainedEvidence(*row) for row in conn.execute(query)]


def iter_rows(
    conn: Connection,
    *,
    run_id: str | None = None,
    kind: str | None = None,
    batch: int = 5000,
    after: int | None = 0,
) -> Iterator[ChainedEvidence]:
    """Ledger rows in sequence order, fetched in batches (the ledger can be millions of rows).

    ``after=None`` starts at the lowest number stored, rows numbered below 1 included (which
    only someone writing to the database directly can add; the verifier must see them)."""
    last = after
    while True:
        query = select(*[_EVIDENCE.c[c] for c in _COLUMNS]).order_by(_EVIDENCE.c.seq).limit(batch)
        if last is not None:
            query = query.where(_EVIDENCE.c.seq > last)
        if run_id is not None:
            query = query.where(_EVIDENCE.c.run_id == run_id)
        if kind is not None:
            query = query.where(_EVIDENCE.c.kind == kind)
        rows = conn.execute(query).all()
        if not rows:
            return
        for row in rows:
            yield ChainedEvidence(*row)
        last = rows[-1].seq


@dataclass(frozen=True)
class VerifyReport:
    """Result of recomputing the chain. ``first_bad_seq`` names the first row that fails."""

    rows: int
    head_seq: int
    first_bad_seq: int | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def verify(conn: Connection) -> VerifyReport:
    """Recompute every hash in order and compare with the stored chain and head.

    The checks and their words are :class:`~aims_workflows.engine.chain_walk.ChainWalk`'s, which
    the audit pack's standalone verifier runs too, so the two agree on every case."""
    head_seq, head_hash = head(conn)
    walk = ChainWalk()
    for row in iter_rows(conn, after=None):
        if row.seq > head_seq and row.seq == walk.last_seq + 1 and head(conn)[0] >= row.seq:
            break  # appended by a unit of work committed while this ran (PostgreSQL reads see it)
        if walk.feed(row.__dict__) is not None:
            return VerifyReport(walk.rows, head_seq, walk.first_bad_seq, walk.problem)
    if walk.head_problem(head_seq, head_hash) is not None:
        return VerifyReport(walk.rows, head_seq, walk.first_bad_seq, walk.problem)
    return VerifyReport(walk.rows, head_seq)
