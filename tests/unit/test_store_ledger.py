"""The evidence ledger on a real database: append and verify, tampering by someone with database
access, the append-only triggers, and concurrent appends on PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta
from itertools import pairwise

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from aims_workflows.engine.evidence import GENESIS_HASH, EvidenceRecord
from aims_workflows.store import Database, ledger
from aims_workflows.testing import utc

T0 = utc(2026, 1, 5, 9)


def record(n: int, run_id: str = "R1") -> EvidenceRecord:
    return EvidenceRecord(
        "test.recorded",
        run_id,
        "step",
        "eve@example.com",
        "cli",
        T0 + timedelta(minutes=n),
        {"n": n, "note": f"row {n} é"},
    )


def fill(db: Database, count: int = 6) -> None:
    """``count`` rows written in a few separate transactions, as the runtime would."""
    n = 0
    while n < count:
        batch = [record(i) for i in range(n + 1, min(n + 3, count) + 1)]
        with db.begin() as conn:
            ledger.append(conn, batch, recorded_at=T0 + timedelta(hours=n))
        n += len(batch)


def verify(db: Database) -> ledger.VerifyReport:
    with db.connect() as conn:
        return ledger.verify(conn)


def drop_triggers(db: Database) -> None:
    """What an attacker with database access does first: the triggers refuse UPDATE and DELETE."""
    with db.begin() as conn:
        if db.dialect == "sqlite":
            conn.execute(text("DROP TRIGGER evidence_no_update"))
            conn.execute(text("DROP TRIGGER evidence_no_delete"))
        else:
            conn.execute(text("DROP TRIGGER evidence_no_update_delete ON evidence"))
            conn.execute(text("DROP TRIGGER evidence_no_truncate ON evidence"))


def tamper(db: Database, *statements: str, **params) -> None:
    drop_triggers(db)
    with db.begin() as conn:
        for statement in statements:
            conn.execute(text(statement), params)


# -- append and verify -------------------------------------------------------------------------
def test_an_empty_ledger_verifies(database: Database):
    report = verify(database)
    assert report.ok and report.rows == 0 and report.head_seq == 0


def test_append_numbers_and_chains_rows_and_moves_the_head(database: Database):
    fill(database, 5)
    with database.connect() as conn:
        rows = list(ledger.iter_rows(conn))
        head = ledger.head(conn)
    assert [r.seq for r in rows] == [1, 2, 3, 4, 5]
    assert rows[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in pairwise(rows))
    assert head == (5, rows[-1].hash)
    assert rows[2].payload == '{"n":3,"note":"row 3 é"}'
    report = verify(database)
    assert report.ok and report.rows == 5 and report.head_seq == 5


def test_append_of_nothing_changes_nothing(database: Database):
    with database.begin() as conn:
        assert ledger.append(conn, [], recorded_at=T0) == []
    assert verify(database).head_seq == 0


def test_a_rolled_back_append_leaves_no_row_and_no_head_move(database: Database):
    fill(database, 2)
    with pytest.raises(RuntimeError):
        with database.begin() as conn:
            ledger.append(conn, [record(3)], recorded_at=T0)
            raise RuntimeError("the unit of work failed after the append")
    report = verify(database)
    assert report.ok and report.rows == 2 and report.head_seq == 2


def test_iter_rows_filters_and_pages(database: Database):
    with database.begin() as conn:
        ledger.append(
            conn, [record(i, run_id="A" if i % 2 else "B") for i in range(1, 12)], recorded_at=T0
        )
    with database.connect() as conn:
        assert [r.seq for r in ledger.iter_rows(conn, run_id="B", batch=2)] == [2, 4, 6, 8, 10]
        assert [r.seq for r in ledger.iter_rows(conn, batch=3)] == list(range(1, 12))
        assert list(ledger.iter_rows(conn, kind="nothing.like.this")) == []


# -- the append-only triggers --------------------------------------------------------------------
def test_update_of_evidence_is_refused_by_the_database(database: Database):
    fill(database, 3)
    with pytest.raises(DBAPIError, match="append-only"):
        with database.begin() as conn:
            conn.execute(text("UPDATE evidence SET payload = '{}' WHERE seq = 2"))
    assert verify(database).ok


def test_delete_of_evidence_is_refused_by_the_database(database: Database):
    fill(database, 3)
    with pytest.raises(DBAPIError, match="append-only"):
        with database.begin() as conn:
            conn.execute(text("DELETE FROM evidence WHERE seq = 3"))
    assert verify(database).rows == 3


@pytest.mark.postgres
def test_truncate_of_evidence_is_refused_on_postgres(pg_url: str):
    database = Database(pg_url)
    database.upgrade()
    try:
        fill(database, 3)
        with pytest.raises(DBAPIError, match="append-only: TRUNCATE refused"):
            with database.begin() as conn:
                conn.execute(text("TRUNCATE evidence"))
        assert verify(database).rows == 3
    finally:
        database.dispose()


# -- tampering by someone who dropped the triggers -------------------------------------------------
def test_an_edited_payload_is_named_by_its_row(database: Database):
    fill(database, 6)
    tamper(
        database,
        "UPDATE evidence SET payload = :p WHERE seq = 4",
        p='{"n":4,"note":"approved after all"}',
    )
    report = verify(database)
    assert not report.ok
    assert report.first_bad_seq == 4
    assert "row 4" in report.problem and "altered" in report.problem


def test_an_edit_with_a_recomputed_hash_is_caught_at_the_next_row(database: Database):
    from aims_workflows.engine.evidence import chain_hash

    fill(database, 6)
    with database.connect() as conn:
        row = next(r for r in ledger.iter_rows(conn) if r.seq == 3)
    fields = {k: getattr(row, k) for k in row.__dataclass_fields__ if k != "hash"}
    fields["actor"] = "mallory@example.com"
    tamper(
        database,
        "UPDATE evidence SET actor = :a, hash = :h WHERE seq = 3",
        a="mallory@example.com",
        h=chain_hash(**fields),
    )
    report = verify(database)
    assert report.first_bad_seq == 4
    assert "does not follow row 3" in report.problem


def test_a_deleted_middle_row_is_named(database: Database):
    fill(database, 6)
    tamper(database, "DELETE FROM evidence WHERE seq = 3")
    report = verify(database)
    assert report.first_bad_seq == 3
    assert "row 3 missing" in report.problem


def test_deleted_tail_rows_are_detected_through_the_head(database: Database):
    fill(database, 6)
    tamper(database, "DELETE FROM evidence WHERE seq >= 5")
    report = verify(database)
    assert not report.ok
    assert report.head_seq == 6 and report.rows == 4
    assert report.first_bad_seq == 5
    assert "ends at row 4 but its head says 6" in report.problem


def test_every_row_deleted_is_detected_through_the_head(database: Database):
    fill(database, 3)
    tamper(database, "DELETE FROM evidence")
    report = verify(database)
    assert not report.ok and report.first_bad_seq == 1


def test_two_rows_with_swapped_contents_are_detected(database: Database):
    fill(database, 6)
    columns = [
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
    ]
    with database.connect() as conn:
        a, b = (
            conn.execute(
                text(f"SELECT {', '.join(columns)} FROM evidence WHERE seq = :s"), {"s": s}
            )
            .one()
            ._mapping
            for s in (2, 5)
        )
    sets = ", ".join(f"{c} = :{c}" for c in columns)
    drop_triggers(database)
    with database.begin() as conn:
        conn.execute(text(f"UPDATE evidence SET {sets} WHERE seq = 2"), dict(b))
        conn.execute(text(f"UPDATE evidence SET {sets} WHERE seq = 5"), dict(a))
    report = verify(database)
    assert not report.ok
    assert report.first_bad_seq == 2


def test_two_rows_with_swapped_sequence_numbers_are_detected(database: Database):
    fill(database, 6)
    tamper(
        database,
        "UPDATE evidence SET seq = 100 WHERE seq = 2",
        "UPDATE evidence SET seq = 2 WHERE seq = 3",
        "UPDATE evidence SET seq = 3 WHERE seq = 100",
    )
    report = verify(database)
    assert report.first_bad_seq == 2


def test_triggers_dropped_but_nothing_changed_still_verifies(database: Database):
    fill(database, 4)
    drop_triggers(database)
    assert verify(database).ok


# -- concurrency -----------------------------------------------------------------------------------
def test_two_threads_appending_keep_one_valid_chain(database: Database):
    """Appends from two connections at once serialise on the head row (SQLite: the write lock)."""
    per_thread, batch = 40, 3
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def writer(name: str) -> None:
        try:
            barrier.wait()
            for i in range(per_thread):
                with database.begin() as conn:
                    ledger.append(
                        conn,
                        [record(i, run_id=f"{name}-{i}") for _ in range(batch)],
                        recorded_at=T0,
                    )
        except BaseException as err:  # noqa: BLE001 - reported by the assertion below
            errors.append(err)

    threads = [threading.Thread(target=writer, args=(n,)) for n in ("left", "right")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    report = verify(database)
    assert report.ok, report.problem
    assert report.rows == report.head_seq == 2 * per_thread * batch
    with database.connect() as conn:
        rows = list(ledger.iter_rows(conn))
    # each transaction's rows stay together in the chain
    for start in range(0, len(rows), batch):
        assert len({r.run_id for r in rows[start : start + batch]}) == 1


def test_rows_serialised_before_the_head_is_locked_hash_as_the_verifier_does() -> None:
    """The append serialises records before it locks the head and only numbers and hashes them
    after (engine.evidence.unlinked / link): the rows must be exactly what chain_hash, which
    the verifier uses, computes for every field, whatever the payload holds."""
    from datetime import UTC, datetime, timedelta

    from aims_workflows.engine.evidence import (
        GENESIS_HASH,
        EvidenceRecord,
        chain_hash,
        link,
        unlinked,
        verify_chain,
    )

    now = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
    records = [
        EvidenceRecord("task.completed", "R1", "assess", "ana@example.org", "jira", now,
                       {"answers": {"z": 1, "a": [None, True, 2.5]}, "note": "é \u2028 \"q\""}),
        EvidenceRecord("run.started", None, None, "aims", "engine", now - timedelta(days=1),
                       {}, ref="PROJ-1"),
    ]  # fmt: skip
    rows = link(unlinked(records, recorded_at=now), start_seq=41, prev_hash="ab" * 32)
    prev = "ab" * 32
    for row in rows:
        fields = {k: v for k, v in row.__dict__.items() if k != "hash"}
        assert row.prev_hash == prev and row.hash == chain_hash(**fields)
        prev = row.hash
    assert [r.seq for r in rows] == [41, 42]
    fresh = link(unlinked(records, recorded_at=now), start_seq=1, prev_hash=GENESIS_HASH)
    assert verify_chain(fresh) is None
