"""The dashboard's cached chain status on a real ledger: an unchanged head is not verified again,
appended rows are checked on their own and linked to the verified head, a break among them is
named, and a result older than its age limit is replaced by a full pass that finds an old row
edited in place."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from aims_workflows.engine.evidence import EvidenceRecord
from aims_workflows.kpi.chain_status import ChainStatusCache
from aims_workflows.store import Database, ledger
from aims_workflows.testing import ManualClock, utc

T0 = utc(2026, 1, 5, 9)


def append(db: Database, first: int, count: int) -> None:
    rows = [
        EvidenceRecord("test.recorded", "R1", "step", "eve@example.com", "cli", T0, {"n": n})
        for n in range(first, first + count)
    ]
    with db.begin() as conn:
        ledger.append(conn, rows, recorded_at=T0)


def tamper(db: Database, statement: str) -> None:
    """What someone with database rights does: drop the append-only triggers, then edit."""
    with db.begin() as conn:
        if db.dialect == "sqlite":
            conn.execute(text("DROP TRIGGER IF EXISTS evidence_no_update"))
            conn.execute(text("DROP TRIGGER IF EXISTS evidence_no_delete"))
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS evidence_no_update_delete ON evidence"))
        conn.execute(text(statement))


def head(db: Database) -> tuple[int, str]:
    with db.connect() as conn:
        return ledger.head(conn)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


def test_an_empty_ledger_then_its_first_rows(database, clock):
    cache = ChainStatusCache(clock)
    empty = cache.status(database)
    assert empty.ok and empty.rows == 0 and empty.head_seq == 0
    append(database, 1, 3)
    status = cache.status(database)
    assert status.ok and status.rows == 3 and (status.head_seq, status.head_hash) == head(database)


def test_an_unchanged_head_keeps_the_result_until_it_is_too_old(database, clock):
    append(database, 1, 5)
    cache = ChainStatusCache(clock, max_age=timedelta(hours=1))
    first = cache.status(database)
    assert (
        first.ok
        and first.rows == 5
        and first.verified_at == first.fully_verified_at == T0
        and not first.appended_only
    )
    # an edit in place moves no head: the cached result
    # stands (proof that nothing was re-verified) ...
    tamper(database, "UPDATE evidence SET actor = 'mallory@example.com' WHERE seq = 2")
    clock.advance(minutes=59)
    assert cache.status(database) is first
    # ... until it is an hour old: the full pass then names the edited row
    clock.advance(minutes=1)
    broken = cache.status(database)
    assert (
        not broken.ok
        and broken.first_bad_seq == 2
        and "row 2 (test.recorded) was altered" in broken.problem
    )
    assert broken.fully_verified_at == T0 + timedelta(hours=1)
    assert cache.status(database) is broken  # a broken result is cached too while the head stays


def test_appended_rows_are_checked_without_a_full_pass(database, clock):
    append(database, 1, 4)
    cache = ChainStatusCache(clock, batch=2)  # batches smaller than the tail: the loop is exercised
    cache.status(database)
    tamper(
        database, "UPDATE evidence SET actor = 'mallory@example.com' WHERE seq = 1"
    )  # before the verified head
    clock.advance(minutes=5)
    append(database, 5, 5)
    extended = cache.status(database)
    # only rows 5-9 were checked: the edit of row 1 waits for the next full pass
    assert (
        extended.ok
        and extended.rows == 9
        and (extended.head_seq, extended.head_hash) == head(database)
    )
    assert (
        extended.fully_verified_at == T0
        and extended.verified_at == T0 + timedelta(minutes=5)
        and extended.appended_only
    )


def test_a_break_among_the_appended_rows_is_named(database, clock):
    append(database, 1, 4)
    cache = ChainStatusCache(clock)
    assert cache.status(database).ok
    append(database, 5, 3)
    tamper(database, "UPDATE evidence SET via = 'slack' WHERE seq = 6")
    status = cache.status(database)
    assert (
        not status.ok
        and status.first_bad_seq == 6
        and "row 6 (test.recorded) was altered" in status.problem
    )
    assert status.head_seq == 7


def test_a_deleted_appended_row_is_named(database, clock):
    append(database, 1, 2)
    cache = ChainStatusCache(clock)
    assert cache.status(database).ok
    append(database, 3, 3)
    tamper(database, "DELETE FROM evidence WHERE seq = 4")
    status = cache.status(database)
    assert not status.ok and status.first_bad_seq == 4 and "row 4 missing" in status.problem


def test_a_request_during_a_check_gets_the_previous_result_marked_stale(database, clock):
    append(database, 1, 2)
    cache = ChainStatusCache(clock)
    first = cache.status(database)
    append(database, 3, 1)
    with cache._lock:  # another request is checking
        stale = cache.status(database)
    assert stale.stale and stale.rows == first.rows == 2
    fresh = cache.status(database)
    assert not fresh.stale and fresh.rows == 3


# -- the walk and ledger.verify agree --------------------------------------------------------------
TAMPERING = {
    "an edited row": "UPDATE evidence SET actor = 'mallory@example.com' WHERE seq = 3",
    "a deleted row": "DELETE FROM evidence WHERE seq = 3",
    "deleted rows": "DELETE FROM evidence WHERE seq IN (3, 4)",
    "rows deleted from the end": "DELETE FROM evidence WHERE seq >= 5",
    "a replaced row": (
        "UPDATE evidence SET prev_hash = (SELECT hash FROM evidence WHERE seq = 1) WHERE seq = 3"
    ),
}


@pytest.mark.parametrize("how", list(TAMPERING))
def test_the_walk_names_the_same_row_in_the_same_words_as_ledger_verify(database, clock, how):
    append(database, 1, 6)
    tamper(database, TAMPERING[how])
    with database.connect() as conn:
        report = ledger.verify(conn)
    status = ChainStatusCache(clock, batch=2).status(database)
    assert not report.ok
    assert (status.first_bad_seq, status.problem) == (report.first_bad_seq, report.problem)


def test_a_row_slipped_in_beyond_the_head_is_named(database, clock):
    append(database, 1, 3)
    with database.begin() as conn:
        row = conn.execute(text("SELECT * FROM evidence WHERE seq = 3")).mappings().one()
        conn.execute(
            text(
                "INSERT INTO evidence (seq, run_id, step_id, kind, actor, via, effective_at, "
                "recorded_at, payload, ref, prev_hash, hash) VALUES (4, :run_id, :step_id, "
                ":kind, :actor, :via, :effective_at, :recorded_at, :payload, :ref, :hash, :hash)"
            ),
            dict(row),
        )
    status = ChainStatusCache(clock).status(database)
    assert (
        not status.ok
        and status.first_bad_seq == 4
        and "row 4 lies beyond the head" in status.problem
    )
