"""The part of the ledger an export covers, streamed in ``seq`` order, and its verification.

A period selects a *contiguous* run of rows: from the first row recorded on or after the start to
the last row recorded before the end. Every exported row after the first then links to the one
before it, so the file verifies as a chain on its own; the first row's ``prev_hash`` anchors it to
the row before the period.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any, TextIO

from sqlalchemy import Connection, func, select

from ..engine.chain_walk import row_line
from ..engine.evidence import ChainedEvidence, iso
from ..store import ledger
from ..store.models import Evidence
from .period import Period

__all__ = [
    "FIELDS",
    "SliceSummary",
    "ChainCheck",
    "seq_range",
    "iter_slice",
    "write_jsonl",
    "check_chain",
]

FIELDS: tuple[str, ...] = tuple(ChainedEvidence.__dataclass_fields__)
"""Every column of a ledger row, in the order the hash covers them, then the hash."""

_EVIDENCE = Evidence.__table__


def seq_range(conn: Connection, period: Period) -> tuple[int, int] | None:
    """``(first seq, last seq)`` of the rows in the period, or None when it holds none."""
    first = select(func.min(_EVIDENCE.c.seq))
    last = select(func.max(_EVIDENCE.c.seq))
    # recorded_at is canonical ISO text (fixed width, UTC), so text order is time order
    if period.start is not None:
        first = first.where(_EVIDENCE.c.recorded_at >= iso(period.start))
    if period.end is not None:
        last = last.where(_EVIDENCE.c.recorded_at < iso(period.end))
    lo, hi = conn.scalar(first), conn.scalar(last)
    if lo is None or hi is None or lo > hi:
        return None
    return lo, hi


def iter_slice(
    conn: Connection, lo: int, hi: int, *, batch: int = 5000
) -> Iterator[tuple[Any, ...]]:
    """Rows ``lo..hi`` as tuples in :data:`FIELDS` order, a batch at a time (keyset on seq), so a
    ledger of millions of rows is never held in memory."""
    columns = [_EVIDENCE.c[name] for name in FIELDS]
    after = lo - 1
    while after < hi:
        query = (
            select(*columns)
            .where(_EVIDENCE.c.seq > after, _EVIDENCE.c.seq <= hi)
            .order_by(_EVIDENCE.c.seq)
            .limit(batch)
        )
        rows = conn.execute(query).all()
        if not rows:
            return
        for row in rows:
            yield tuple(row)
        after = rows[-1][0]


@dataclass(frozen=True)
class SliceSummary:
    rows: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    first_prev_hash: str | None = None
    last_hash: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def write_jsonl(out: TextIO, rows: Iterator[tuple[Any, ...]]) -> SliceSummary:
    """One row per line, exactly the stored values (``payload`` stays the JSON text the hash
    covers), as :func:`~aims_workflows.engine.chain_walk.row_line` writes them: the canonical
    JSON array the hash covers with the hash appended, so a checker hashes the line's bytes
    (less the last element) as they are."""
    count, first, first_prev, last, last_hash = 0, None, None, None, None
    for row in rows:
        out.write(row_line(dict(zip(FIELDS, row, strict=True))))
        out.write("\n")
        if first is None:
            first, first_prev = row[0], row[FIELDS.index("prev_hash")]
        count, last, last_hash = count + 1, row[0], row[-1]
    return SliceSummary(count, first, last, first_prev, last_hash)


@dataclass(frozen=True)
class ChainCheck:
    """The whole chain's verification at export time (not only the exported period)."""

    ok: bool
    rows_checked: int
    head_seq: int
    head_hash: str
    first_bad_seq: int | None
    problem: str | None
    checked_at: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_chain(conn: Connection, checked_at: str) -> ChainCheck:
    """Recompute every hash from row 1 to the head with the store's own verifier."""
    report = ledger.verify(conn)
    _, head_hash = ledger.head(conn)
    return ChainCheck(
        report.ok,
        report.rows,
        report.head_seq,
        head_hash,
        report.first_bad_seq,
        report.problem,
        checked_at,
    )
