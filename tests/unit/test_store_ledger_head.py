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
    records = [EvidenceRecord("note", "run-1", None, "ana@example.com", "cli", T0, {"n": n}) for n in range(count)]
    with db.begin() as conn:
        ledger.append(conn, records, recorded_at=T0)


@pytest.mark.parametrize("statement", [
    "UPDATE ledger_head SET seq = 2, hash = 'x' WHERE id = 1",
    "DELETE FROM ledger_head",
])
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
