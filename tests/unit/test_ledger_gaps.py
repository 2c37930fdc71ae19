"""Ledger gaps made with write access to the database (no trigger change needed): rows numbered
0 or -1, the head's number moved forward (with and without rows appended after), a correctly
hashed row slipped in past the head. ``aims evidence verify`` (``ledger.verify``), the dashboard's
chain status and the audit pack's standalone verifier must agree on each, in the same words."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from export_world import Pack, assessed_world, use_soa
from sqlalchemy import text

from aims_workflows.engine.evidence import chain_hash
from aims_workflows.export.pack import write_audit_pack
from aims_workflows.kpi.chain_status import ChainStatusCache
from aims_workflows.store import ledger

FIELDS = [
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
]


@pytest.fixture
def world(harness, answers):
    use_soa(harness)
    return assessed_world(harness, answers)


def head(h) -> tuple[int, str]:
    with h.db.connect() as conn:
        return ledger.head(conn)


def insert_row(h, **values) -> None:
    """A row, correctly hashed, written with plain SQL (the evidence triggers allow inserts)."""
    with h.db.connect() as conn:
        row = dict(conn.execute(text("SELECT * FROM evidence WHERE seq = 1")).mappings().one())
    row.pop("id", None)
    row.update(values)
    row["hash"] = chain_hash(**{k: row[k] for k in FIELDS})
    columns = [*FIELDS, "hash"]
    with h.db.begin() as conn:
        conn.execute(
            text(
                f"INSERT INTO evidence ({', '.join(columns)}) "
                f"VALUES ({', '.join(':' + c for c in columns)})"
            ),
            {c: row[c] for c in columns},
        )


def verify(h):
    with h.db.connect() as conn:
        return ledger.verify(conn)


def pack_check(h, tmp_path: Path) -> subprocess.CompletedProcess:
    tmp_path.mkdir(parents=True, exist_ok=True)
    result = write_audit_pack(h.app, tmp_path / "pack.zip")
    directory = Pack(tmp_path / "pack.zip").extract(tmp_path / "unpacked")
    check = subprocess.run(
        [sys.executable, "-I", "-S", str(directory / "evidence" / "verify_ledger.py")],
        capture_output=True,
        text=True,
        cwd=directory,
        timeout=60,
    )
    assert not result.chain.ok  # the pack says what the verifier says
    return check


def agree(h, tmp_path: Path, expected: str, first_bad: int, clock) -> None:
    report = verify(h)
    assert not report.ok and report.first_bad_seq == first_bad, report
    assert report.problem == expected
    status = ChainStatusCache(clock).status(h.db)
    assert (status.first_bad_seq, status.problem) == (first_bad, expected)
    check = pack_check(h, tmp_path)
    assert check.returncode == 1, check.stdout + check.stderr
    assert f"FAILED: {expected}" in check.stdout, check.stdout


@pytest.mark.parametrize("seq", [0, -1])
def test_rows_numbered_below_one_are_named_by_every_checker(harness, world, tmp_path, seq):
    insert_row(harness, seq=seq, prev_hash="0" * 64)
    agree(
        harness,
        tmp_path,
        f"row {seq} is numbered below 1: the ledger numbers rows from 1, so it was inserted "
        "outside aims-workflows",
        seq,
        harness.clock,
    )


def test_a_head_moved_forward_is_named_as_such_not_as_deleted_rows(harness, world, tmp_path):
    h = harness
    last, last_hash = head(h)
    with h.db.begin() as conn:
        conn.execute(text("UPDATE ledger_head SET seq = seq + 2 WHERE id = 1"))
    agree(
        h,
        tmp_path / "before",
        f"the ledger head says row {last + 2} but the ledger ends at row {last}, whose hash the "
        "head holds: the head's sequence number was moved forward outside aims-workflows (no "
        "row is missing)",
        last + 1,
        h.clock,
    )
    # aims goes on appending after the moved head: the gap stays, and is named precisely
    h.clock.advance(days=1)
    h.add_system("Later")
    agree(
        h,
        tmp_path / "after",
        f"rows {last + 1}-{last + 2} were never written: row {last + 3} links straight to row "
        f"{last}, so the numbering was moved forward outside aims-workflows (no row's content "
        "is missing)",
        last + 1,
        h.clock,
    )


def test_rows_deleted_from_the_middle_are_still_called_deleted(harness, world, tmp_path):
    from export_world import tamper

    tamper(harness.db, "DELETE FROM evidence WHERE seq IN (5, 6)")
    agree(harness, tmp_path, "rows 5-6 missing: deleted from the ledger", 5, harness.clock)


def test_a_row_past_the_head_is_named_by_the_store_and_the_pack(harness, world, tmp_path):
    h = harness
    last, last_hash = head(h)
    insert_row(h, seq=last + 1, prev_hash=last_hash)
    expected = (
        f"row {last + 1} and after are past the ledger head (row {last}): they were added "
        "outside aims-workflows"
    )
    report = verify(h)
    assert (report.first_bad_seq, report.problem) == (last + 1, expected)
    check = pack_check(h, tmp_path)
    assert check.returncode == 1 and f"FAILED: {expected}" in check.stdout, check.stdout
