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
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["FIELDS", "GENESIS", "LINE_FORMAT", "ChainWalk", "row_hash", "row_line"]

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


LINE_FORMAT = "aims-ledger-line/2"
"""How the audit pack writes a row (``evidence/ledger.jsonl``): :func:`row_line`."""

_HASH_TAIL = 68
"""Bytes of a line after the part the hash covers: ``,"<64 hex digits>"]``."""


def row_line(row: Mapping[str, Any]) -> str:
    """A row as the audit pack writes it: the canonical JSON array the hash covers, with the
    hash appended as a twelfth element. Dropping that last element (``,"<hash>"``) leaves
    exactly the bytes that were hashed, so a checker hashes the line's bytes as they are,
    without parsing or encoding JSON."""
    return _ENCODE([row[name] for name in FIELDS])


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

    def feed_lines(
        self,
        lines: Iterable[bytes],
        parse: Callable[[bytes, int], Mapping[str, Any] | None],
        line_no: int = 0,
    ) -> int | None:
        """Feed the lines of a ledger file (without their line ends), numbered from
        ``line_no + 1``; returns the number of the line where the first problem is, or None.

        A line written by :func:`row_line` that continues the chain is checked on its bytes
        alone: it starts with the next sequence number, its hashed part (the line less its last
        element) hashes to the hash it ends with, and its ``prev_hash`` (fixed positions from the
        end) is the hash of the row before. Any other line (an earlier pack's JSON object, a
        blank line, an edited row) goes to ``parse`` (a row, None to skip it, or raise) and
        :meth:`feed`, which names the problem in the usual words. A line accepted on its bytes
        is one :meth:`feed` accepts too, so the outcome is the same either way."""
        sha256 = hashlib.sha256
        lines = iter(lines)
        while self.problem is None:
            if self.first_seq is not None:
                # the hot loop: a handful of C calls a row, no Python function call
                start_seq, start_no = self.last_seq, line_no
                to_seq = start_seq - start_no
                last = self.last_hash.encode("ascii")
                line = None
                for line_no, line in enumerate(lines, start_no + 1):  # noqa: B007
                    if (
                        line.startswith(b"[%d," % (line_no + to_seq))
                        and line[-133:-69] == last
                        and line[-135:-133] == b',"'
                        and line[-69:-66] == b'","'
                        and line[-2:] == b'"]'
                        and sha256(line[:-_HASH_TAIL] + b"]").hexdigest().encode() == line[-66:-2]
                    ):
                        last = line[-66:-2]
                        continue
                    break
                else:
                    line = None  # every line read was accepted on its bytes
                accepted = line_no - start_no - (line is not None)
                if accepted:
                    self.rows += accepted
                    self.last_seq = start_seq + accepted
                    self.last_hash = last.decode("ascii")
                if line is None:
                    return None
            else:
                line = next(lines, None)
                if line is None:
                    return None
                line_no += 1
            row = parse(line, line_no)
            if row is not None and self.feed(row) is not None:
                return line_no
        return line_no

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
