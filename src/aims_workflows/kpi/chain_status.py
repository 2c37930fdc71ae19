"""The ledger's chain status for the dashboard, without re-hashing a million rows per page load.

A result is kept with the head it was computed at (sequence number and hash):

* head unchanged: the ledger had no append, the result stands;
* head moved on from a verified head: only the appended rows are checked, each against its own
  hash and linked to the verified head's hash, so a busy ledger costs a page load the rows
  written since the last one;
* otherwise, or when the last full verification is older than ``max_age`` (by the injected
  clock), the whole chain is verified again with :func:`aims_workflows.store.ledger.verify`.
  The age limit is there because someone who edits an old row in place with database rights
  moves no head: only a full pass notices that.

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

from sqlalchemy import Connection, select

from ..engine.evidence import GENESIS_HASH, ChainedEvidence, chain_hash
from ..store import ledger
from ..store.models import Evidence

__all__ = ["ChainStatus", "ChainStatusCache"]

_EVIDENCE = Evidence.__table__
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
    seconds: float  # how long the last check took
    stale: bool = False  # shown while a newer check is still running in another request

    @property
    def ok(self) -> bool:
        return self.problem is None


class ChainStatusCache:
    """Thread-safe: one check runs at a time. A request that arrives while one is running gets
    the previous result marked ``stale`` rather than waiting (it waits only when there is no
    previous result)."""

    def __init__(self, clock: Any, *, max_age: timedelta = timedelta(hours=1), batch: int = 5000) -> None:
        self.clock, self.max_age, self.batch = clock, max_age, batch
        self._last: ChainStatus | None = None
        self._lock = threading.Lock()

    def status(self, db: Any) -> ChainStatus:
        with db.connect() as conn:
            head = ledger.head(conn)
        last = self._last
        if last is not None and self._current(last, head):
            return last
        if not self._lock.acquire(blocking=last is None):
            return replace(last, stale=True)
        try:
            last = self._last  # another request may have checked while this one waited
            if last is not None and self._current(last, head):
                return last
            started = time.perf_counter()
            with db.connect() as conn:
                result = (self._check_appended(conn, last, head) if self._can_extend(last, head) else None) \
                    or self._verify_all(conn)
            result = replace(result, seconds=time.perf_counter() - started)
            self._last = result
            return result
        finally:
            self._lock.release()

    def _young(self, last: ChainStatus) -> bool:
        return self.clock.now() - last.fully_verified_at < self.max_age

    def _current(self, last: ChainStatus, head: tuple[int, str]) -> bool:
        return (last.head_seq, last.head_hash) == head and self._young(last)

    def _can_extend(self, last: ChainStatus | None, head: tuple[int, str]) -> bool:
        return last is not None and last.ok and self._young(last) and head[0] > last.head_seq

    def _verify_all(self, conn: Connection) -> ChainStatus:
        if conn.dialect.name == "postgresql":
            # one snapshot for the whole pass: rows appended meanwhile are neither half-seen nor
            # mistaken for rows beyond the head
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        report = ledger.verify(conn)
        # the hash of the head row the report ends at, so the next check can start from it
        head_hash = (conn.scalar(select(_EVIDENCE.c.hash).where(_EVIDENCE.c.seq == report.head_seq)) or ""
                     if report.head_seq else GENESIS_HASH)
        now = self.clock.now()
        return ChainStatus(report.head_seq, head_hash, report.rows, report.first_bad_seq, report.problem, now, now, 0.0)

    def _check_appended(self, conn: Connection, last: ChainStatus, head: tuple[int, str]) -> ChainStatus | None:
        """Rows ``last.head_seq + 1 .. head`` checked as a continuation of the verified chain;
        None when the rows do not end at the head (then the whole chain is verified)."""
        prev_hash, expected = last.head_hash, last.head_seq + 1
        target_seq, target_hash = head
        while expected <= target_seq:
            rows = conn.execute(select(*[_EVIDENCE.c[f] for f in _FIELDS])
                                .where(_EVIDENCE.c.seq >= expected, _EVIDENCE.c.seq <= target_seq)
                                .order_by(_EVIDENCE.c.seq).limit(self.batch)).all()
            if not rows:
                break
            for values in rows:
                row = ChainedEvidence(*values)
                problem = _problem(row, expected, prev_hash)
                if problem:
                    now = self.clock.now()
                    return ChainStatus(target_seq, target_hash, last.rows + (row.seq - last.head_seq), expected, problem, now,
                                       last.fully_verified_at, 0.0)
                prev_hash, expected = row.hash, expected + 1
        if expected - 1 != target_seq or prev_hash != target_hash:
            return None
        return ChainStatus(target_seq, target_hash, last.rows + (target_seq - last.head_seq), None, None, self.clock.now(),
                           last.fully_verified_at, 0.0)


def _problem(row: ChainedEvidence, expected: int, prev_hash: str) -> str | None:
    """The same three checks as :func:`ledger.verify`, worded the same way."""
    if row.seq != expected:
        missing = f"row {expected}" if row.seq == expected + 1 else f"rows {expected}-{row.seq - 1}"
        return f"{missing} missing: deleted from the ledger"
    if chain_hash(**{f: getattr(row, f) for f in _FIELDS if f != "hash"}) != row.hash:
        return f"row {row.seq} ({row.kind}) was altered: its content no longer matches its hash"
    if row.prev_hash != prev_hash:
        return f"row {row.seq} does not follow row {row.seq - 1}: rows were reordered or replaced"
    return None
