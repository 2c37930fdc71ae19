"""The ledger's chain status for the dashboard, without re-hashing a million rows per page load.

A result is kept with the head it was computed at (sequence number and hash):

* head unchanged: the ledger had no append, the result stands;
* head moved on from a verified head: only the appended rows are checked, each against its own
  hash and linked to the verified head's hash, so a busy ledger costs a page load the rows
  written since the last one;
* otherwise, or when the last full pass is older than ``max_age`` (by the injected clock), the
  whole chain is walked again. The age limit is there because someone who edits an old row in
  place with database rights moves no head: only a full pass notices that.

The walk makes the same checks as :func:`aims_workflows.store.ledger.verify`, in the same words
(a test holds the two together), but reads the rows in batches on short connections, up to the
head read when it started: on SQLite every connection holds the write lock while it is open,
and one ten-second pass over a million rows must not stall the webhooks and the worker.

>>> cache = ChainStatusCache(clock, max_age=timedelta(hours=1))   # doctest: +SKIP
>>> status = cache.status(db)                                     # doctest: +SKIP
>>> status.ok, status.rows, status.head_hash[:12], status.verified_at  # doctest: +SKIP
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from ..engine.chain_walk import ChainWalk
from ..engine.evidence import GENESIS_HASH, ChainedEvidence
from ..store import ledger
from ..store.models import Evidence, LedgerHead

__all__ = ["ChainStatus", "ChainStatusCache", "walk"]

_EVIDENCE = Evidence.__table__
_HEAD = LedgerHead.__table__
_FIELDS = list(ChainedEvidence.__dataclass_fields__)


@dataclass(frozen=True)
class ChainStatus:
    """What the last check found, the head it was made at, and when."""

    head_seq: int
    head_hash: str
    rows: int
    first_bad_seq: int | None
    problem: str | None
    verified_at: datetime  # the last check (full, or of the appended rows)
    fully_verified_at: datetime  # the last pass over the whole chain
    seconds: float = 0.0  # how long the last check took
    appended_only: bool = False  # the last check read only the rows appended since the one before
    stale: bool = False  # shown while a newer check is still running in another request

    @property
    def ok(self) -> bool:
        return self.problem is None


@dataclass(frozen=True)
class _Walk:
    rows: int  # rows read, up to and including a bad one
    first_bad_seq: int | None = None
    problem: str | None = None


def walk(
    db: Any, head: tuple[int, str], *, after: tuple[int, str] = (0, GENESIS_HASH), batch: int = 5000
) -> _Walk:
    """Check rows ``after[0] + 1 .. head[0]`` as the continuation of the row ``after``, then that
    the last one is the head. Each batch is read on its own connection and hashed after it
    closes."""
    (expected, head_seq) = after[0] + 1, head[0]
    chain = ChainWalk(anchored=after[0] == 0)
    if after[0] == 0:
        with db.connect() as conn:
            lowest = conn.scalar(select(func.min(_EVIDENCE.c.seq)))
        if lowest is not None and lowest < 1:  # written behind aims' back: the walk names it
            expected = lowest
    else:
        chain.last_seq, chain.last_hash, chain.first_seq = after[0], after[1], after[0]
    while expected <= head_seq:
        with db.connect() as conn:
            rows = conn.execute(
                select(*[_EVIDENCE.c[f] for f in _FIELDS])
                .where(_EVIDENCE.c.seq >= expected, _EVIDENCE.c.seq <= head_seq)
                .order_by(_EVIDENCE.c.seq)
                .limit(batch)
            ).all()
        if not rows:
            break
        for values in rows:
            if chain.feed(dict(zip(_FIELDS, values, strict=True))) is not None:
                return _Walk(chain.rows, chain.first_bad_seq, chain.problem)
            expected = values[0] + 1
    if chain.head_problem(*head) is not None:
        return _Walk(chain.rows, chain.first_bad_seq, chain.problem)
    count = chain.rows
    with db.connect() as conn:
        # one statement, so an append committing meanwhile cannot look like a row past the head
        beyond = conn.scalar(
            select(func.min(_EVIDENCE.c.seq)).where(
                _EVIDENCE.c.seq > select(_HEAD.c.seq).where(_HEAD.c.id == 1).scalar_subquery()
            )
        )
    if beyond is not None:
        return _Walk(
            count,
            beyond,
            f"row {beyond} lies beyond the head: added to the ledger without moving its head",
        )
    return _Walk(count)


class ChainStatusCache:
    """Thread-safe: one check runs at a time. A request that arrives while one is running gets
    the previous result marked ``stale`` rather than waiting (it waits only when there is no
    previous result)."""

    def __init__(
        self, clock: Any, *, max_age: timedelta = timedelta(hours=1), batch: int = 5000
    ) -> None:
        self.clock, self.max_age, self.batch = clock, max_age, batch
        self._last: ChainStatus | None = None
        self._lock = threading.Lock()

    def status(self, db: Any) -> ChainStatus:
        with db.connect() as conn:
            head = ledger.head(conn)
        last = self._last
        if last is not None and self._current(last, head):
            return last
        if last is None:
            self._lock.acquire()  # nothing to show yet: wait for the check under way
        elif not self._lock.acquire(blocking=False):
            return replace(last, stale=True)
        try:
            last = self._last  # another request may have checked while this one waited
            if last is not None and self._current(last, head):
                return last
            started = time.perf_counter()
            # a sound, recently fully verified chain that only grew: check the new rows alone
            base = (
                last
                if last is not None and last.ok and self._young(last) and head[0] > last.head_seq
                else None
            )
            if base is not None:
                found = walk(db, head, after=(base.head_seq, base.head_hash), batch=self.batch)
            else:
                found = walk(db, head, batch=self.batch)
            now = self.clock.now()
            rows, fully_verified_at = (
                (base.rows + found.rows, base.fully_verified_at)
                if base is not None
                else (found.rows, now)
            )
            self._last = ChainStatus(
                head[0],
                head[1],
                rows,
                found.first_bad_seq,
                found.problem,
                now,
                fully_verified_at,
                time.perf_counter() - started,
                appended_only=base is not None,
            )
            return self._last
        finally:
            self._lock.release()

    def _young(self, last: ChainStatus) -> bool:
        return self.clock.now() - last.fully_verified_at < self.max_age

    def _current(self, last: ChainStatus, head: tuple[int, str]) -> bool:
        return (last.head_seq, last.head_hash) == head and self._young(last)
