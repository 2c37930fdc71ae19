"""One walk over the hash chain, in one set of words, for every checker.

``aims evidence verify`` (over the database), the dashboard's chain status and the audit pack's
standalone verifier (over ``ledger.jsonl``) all feed rows to :class:`ChainWalk` and finish with
:meth:`ChainWalk.head_problem`, so they agree on every case and name it the same way: an edited
row, a deleted one, rows reordered, rows numbered below 1, a numbering moved forward (the head's
sequence number raised outside aims: nothing is missing, but the gap stays), rows past the head.

Standard library only, and Python 3.8 syntax: the audit pack ships this file as
``evidence/aims_chain.py`` next to its verifier, for auditors who do not install aims.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

__all__ = ["FIELDS", "GENESIS", "ChainWalk", "row_hash"]

FIELDS = (
    "seq",
    "kind",
    "run_id",
    "step_id",
    "actor",
    "via",
    "effective_at",
    "recorded_at",
    "payload",
    "ref",
    "prev_hash",
    "hash",
)
"""Every column of a ledger row, in the order the hash covers them, then the hash."""

GENESIS = "0" * 64

# the canonical form: sorted keys, no spaces, UTF-8 kept (what engine.evidence.canonical_json
# writes for a list of plain values)
_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode


def row_hash(row: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON array of every field of ``row`` but its hash."""
    return hashlib.sha256(_ENCODE([row[name] for name in FIELDS[:-1]]).encode("utf-8")).hexdigest()


def _span(first: int, last: int, one: str, many: str) -> str:
    return f"row {first} {one}" if first == last else f"rows {first}-{last} {many}"


class ChainWalk:
    """Feed rows in ``seq`` order with :meth:`feed`; the first problem stops the walk.

    ``anchored``: the walk starts at row 1 from the genesis hash (the whole ledger). Otherwise
    the first row fed is taken as it is (a period's slice continues the chain from the row
    before it) and only the links after it are checked. ``in_file``: the rows come from an
    exported file, whose lines may also have been moved (the database returns rows sorted).
    """

    def __init__(self, *, anchored: bool = True, in_file: bool = False) -> None:
        self.anchored = anchored
        self.in_file = in_file
        self.rows = 0
        self.first_seq: int | None = None
        self.last_seq = 0
        self.last_hash = GENESIS
        self.first_prev_hash: str | None = None
        self.first_bad_seq: int | None = None
        self.problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None

    def _fail(self, seq: int, problem: str) -> str:
        self.first_bad_seq, self.problem = seq, problem
        return problem

    def feed(self, row: Mapping[str, Any]) -> str | None:
        """Check one row against the rows before it; the problem found, or None."""
        if self.problem is not None:
            return self.problem
        seq = row["seq"]
        self.rows += 1
        if seq < 1:
            return self._fail(
                seq,
                f"row {seq} is numbered below 1: the ledger numbers rows from 1, so it was "
                "inserted outside aims-workflows",
            )
        if self.first_seq is None:
            self.first_seq, self.first_prev_hash = seq, row["prev_hash"]
            if self.anchored or seq == 1:
                expected, prev_hash = 1, GENESIS
            else:
                expected, prev_hash = seq, row["prev_hash"]
        else:
            expected, prev_hash = self.last_seq + 1, self.last_hash
        if seq < expected:
            return self._fail(
                seq,
                f"row {seq} follows row {self.last_seq}: rows are out of order or repeated",
            )
        intact = row_hash(row) == row["hash"]
        if seq > expected:
            if intact and row["prev_hash"] == prev_hash:
                gap = _span(expected, seq - 1, "was", "were")
                return self._fail(
                    expected,
                    f"{gap} never written: row {seq} links straight to row "
                    f"{expected - 1}, so the numbering was moved forward outside aims-workflows "
                    "(no row's content is missing)",
                )
            missing = f"row {expected}" if seq == expected + 1 else f"rows {expected}-{seq - 1}"
            moved = ", or moved within this file" if self.in_file else ""
            return self._fail(expected, f"{missing} missing: deleted from the ledger{moved}")
        if not intact:
            return self._fail(
                seq,
                f"row {seq} ({row['kind']}) was altered: its content no longer matches its hash",
            )
        if row["prev_hash"] != prev_hash:
            if seq == 1:
                return self._fail(seq, "row 1 does not start from the genesis hash")
            return self._fail(
                seq,
                f"row {seq} does not follow row {seq - 1}: rows were reordered or replaced",
            )
        self.last_seq, self.last_hash = seq, row["hash"]
        return None

    def head_problem(self, head_seq: int, head_hash: str) -> str | None:
        """After the last row: does the ledger end where its head says, with the head's hash?"""
        if self.problem is not None:
            return self.problem
        last, expected = self.last_seq, self.last_seq + 1
        if last > head_seq:
            return self._fail(
                head_seq + 1,
                f"row {head_seq + 1} and after are past the ledger head (row {head_seq}): "
                "they were added outside aims-workflows",
            )
        if last < head_seq:
            if head_hash == self.last_hash:
                return self._fail(
                    expected,
                    f"the ledger head says row {head_seq} but the ledger ends at row {last}, "
                    "whose hash the head holds: the head's sequence number was moved forward "
                    "outside aims-workflows (no row is missing)",
                )
            return self._fail(
                expected,
                f"the ledger ends at row {last} but its head says {head_seq}: "
                "rows were removed from the end",
            )
        if head_hash != self.last_hash:
            return self._fail(
                head_seq,
                f"the ledger head's hash is not the hash of row {head_seq}: the head was "
                f"changed outside aims-workflows, or row {head_seq} was replaced",
            )
        return None
