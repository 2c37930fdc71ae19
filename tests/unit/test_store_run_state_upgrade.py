"""``aims db upgrade`` rewrites runs stored by an older run-state schema version, in one
transaction, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, update

from aims_workflows.engine import SCHEMA_VERSION, dump_run, load_run
from aims_workflows.errors import EngineError
from aims_workflows.store import Database, runs
from aims_workflows.store.models import Run

RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "run_state"
NOW = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)
RUNS = Run.__table__


def _v1(name: str, run_id: str) -> str:
    state = json.loads((RECORDED / "v1" / f"{name}.json").read_text())["state"]
    state["run_id"] = run_id
    return json.dumps(state, separators=(",", ":"))


def _store_as_version_1(db: Database, run_id: str, stored: str) -> None:
    """A run as an older release left it: inserted, then its state text replaced."""
    with db.begin() as conn:
        runs.insert_run(conn, load_run(stored), NOW)
        conn.execute(update(RUNS).where(RUNS.c.id == run_id).values(state=stored))


def _rows(db: Database) -> dict[str, tuple[str, int]]:
    with db.connect() as conn:
        return {r.id: (r.state, r.lock_version) for r in conn.execute(select(RUNS))}


def test_upgrade_rewrites_old_run_state_as_the_current_version_stores_it(database: Database):
    old = {
        f"run-{n}": _v1(name, f"run-{n}")
        for n, name in enumerate(("task-rework", "approval-quorum", "children", "completed"))
    }
    for run_id, stored in old.items():
        _store_as_version_1(database, run_id, stored)
    with database.begin() as conn:  # a run already current stays as it is
        runs.insert_run(conn, load_run(_v1("wait-timer", "run-current")), NOW)
    current_before = _rows(database)["run-current"]

    assert database.upgrade() == len(old)

    rows = _rows(database)
    for run_id, stored in old.items():
        state, lock_version = rows[run_id]
        assert state == dump_run(load_run(stored))
        assert json.loads(state)["schema_version"] == SCHEMA_VERSION
        assert "completed_by" not in json.loads(state)
        assert lock_version == 1
    assert rows["run-current"] == current_before
    assert database.upgrade() == 0
    assert _rows(database) == rows


def test_one_run_that_cannot_be_migrated_keeps_every_run_as_it_was(database: Database):
    _store_as_version_1(database, "run-a", _v1("task-rework", "run-a"))
    edited = json.loads(_v1("approval-round-2", "run-b"))
    edited["completed_by"]["assess"] = "mallory@example.com"
    _store_as_version_1(database, "run-b", _v1("approval-round-2", "run-b"))
    with database.begin() as conn:
        conn.execute(update(RUNS).where(RUNS.c.id == "run-b").values(state=json.dumps(edited)))
    before = _rows(database)

    with pytest.raises(EngineError) as caught:
        database.upgrade()

    assert str(caught.value).startswith(
        "run run-b: stored state says task step 'assess' was completed by 'mallory@example.com'"
    )
    assert _rows(database) == before


def test_a_run_stored_by_a_newer_version_stops_the_upgrade(database: Database):
    newer = json.loads(_v1("task-open", "run-new"))
    _store_as_version_1(database, "run-new", _v1("task-open", "run-new"))
    newer["schema_version"] = SCHEMA_VERSION + 1
    with database.begin() as conn:
        conn.execute(update(RUNS).where(RUNS.c.id == "run-new").values(state=json.dumps(newer)))

    with pytest.raises(EngineError, match="upgrade aims-workflows to the release that stored it"):
        database.upgrade()
