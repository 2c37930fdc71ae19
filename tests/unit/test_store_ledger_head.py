"""The ledger head only moves forward, so deleting the newest rows cannot be hidden by
rewinding it without first dropping the database's triggers."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from aims_workflows.engine.evidence import EvidenceRecord
from aims_workflows.store import Database, ledger
from aims_workflows.testing import utc

T0 = utc(2026, 3, 1, 9)


def _append(db: Database, count: int) -> None:
    records = [
        EvidenceRecord("note", "run-1", None, "ana@example.com", "cli", T0, {"n": n})
        for n in range(count)
    ]
    with db.begin() as conn:
        ledger.append(conn, records, recorded_at=T0)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_head SET seq = 2, hash = 'x' WHERE id = 1",
        "DELETE FROM ledger_head",
    ],
)
def test_rewinding_or_removing_the_head_is_refused(database: Database, statement: str):
    _append(database, 4)
    with pytest.raises(DBAPIError):
        with database.begin() as conn:
            conn.execute(text(statement))
    with database.connect() as conn:
        assert ledger.head(conn)[0] == 4
        assert ledger.verify(conn).ok


def test_appends_still_move_the_head_forward(database: Database):
    _append(database, 2)
    _append(database, 3)
    with database.connect() as conn:
        report = ledger.verify(conn)
    assert report.ok and report.head_seq == 5 and report.rows == 5


def test_a_row_added_past_the_head_is_named(database: Database):
    """Appending a well-chained row straight into the table (the triggers do not refuse INSERT)
    leaves the head behind: verification says so, instead of taking the row as genuine."""
    from aims_workflows.engine.evidence import chain

    _append(database, 3)
    with database.connect() as conn:
        seq, prev = ledger.head(conn)
    [forged] = chain(
        [EvidenceRecord("note", "run-1", None, "mallory@example.com", "sql", T0, {"n": 99})],
        start_seq=seq + 1,
        prev_hash=prev,
        recorded_at=T0,
    )
    with database.begin() as conn:
        conn.execute(ledger._EVIDENCE.insert().values(**forged.__dict__))
    with database.connect() as conn:
        report = ledger.verify(conn)
    assert not report.ok and report.first_bad_seq == 4
    assert report.problem == (
        "row 4 and after are past the ledger head (row 3): they were added outside aims-workflows"
    )


def test_rows_appended_while_verifying_are_not_a_break(database: Database, monkeypatch):
    """A verification running beside the worker: units of work commit rows after it read the
    head (PostgreSQL's reads see them as they come). It checks up to that head and stops."""
    _append(database, 3)
    real_head = ledger.head
    calls = []

    def head_then_append(conn, **kw):
        found = real_head(conn, **kw)
        calls.append(found)
        if len(calls) == 1:
            _append(database, 2)  # committed by someone else just after the head was read
        return found

    monkeypatch.setattr(ledger, "head", head_then_append)
    with database.connect() as conn:
        report = ledger.verify(conn)
    assert calls[0] == (3, calls[0][1])
    if database.dialect == "sqlite":
        assert report.ok and report.rows == 3  # a snapshot: the new rows are not seen at all
    else:
        assert report.ok and report.rows == 3 and report.head_seq == 3


def test_a_long_read_does_not_hold_up_a_writer(database: Database):
    """Reads take no write lock: a unit of work commits while a read connection is open."""
    if database.dialect != "sqlite":
        pytest.skip("PostgreSQL readers never block writers; the lock in question is SQLite's")
    _append(database, 1)
    count = "SELECT count(*) FROM evidence"
    with database.connect() as reader:
        assert reader.exec_driver_sql(count).scalar() == 1  # the read transaction is open from here
        with database.begin() as writer:
            writer.exec_driver_sql("PRAGMA busy_timeout=200")  # fail fast instead of waiting 10 s
        _append(database, 1)
        assert reader.exec_driver_sql(count).scalar() == 1  # still its own snapshot
    with database.connect() as conn:
        assert ledger.head(conn)[0] == 2
