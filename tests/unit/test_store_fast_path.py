"""The storage fast path (``store/_fast.py``) writes exactly what plain SQLAlchemy writes.

The same workload (two AI systems assessed, a rejection and its rework, reminders and overdue
tasks fired by the clock, an internal audit whose finding spawns a corrective action that waits
30 days) runs twice from empty databases of the same backend: once as shipped, once with every
prepared statement and ``BEGIN`` sent through ``Connection.execute`` (``plain_sqlalchemy``).
Every table must then hold the same rows, compared one by one."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import pytest
from export_world import assessed_world, audit_with_a_finding
from sqlalchemy import select, text

from aims_workflows.store import Database, _fast
from aims_workflows.store.models import Base
from aims_workflows.testing import ManualClock

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.fixture
def second_db_url(db_url: str, tmp_path: Path, request) -> Iterator[str]:
    """Another empty database on the backend of ``db_url``."""
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'plain.db'}"
        return
    admin = request.getfixturevalue("pg_admin")
    schema = f"aims_t_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = admin.url.render_as_string(hide_password=False)
    options = quote(f"-csearch_path={schema} -capplication_name={schema}", safe="")
    yield f"{url}{'&' if '?' in url else '?'}options={options}"
    with admin.connect() as conn:
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE pid <> pg_backend_pid() AND application_name = :name"
            ),
            {"name": schema},
        )
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


def _workload(
    make_harness: Callable, db_url: str, directory: Path, answers: dict
) -> dict[str, list[tuple]]:
    directory.mkdir()
    database = Database(db_url)
    database.upgrade()
    database.dispose()
    h = make_harness(db_url, directory, ManualClock(T0))
    # run ids are random by default; both databases must get the same ones
    numbers = itertools.count(1)
    h.app.runtime._new_id = lambda: f"R{next(numbers):04d}"
    try:
        world = assessed_world(h, answers)
        h.complete("identify", answers["risk.identify"], run_id=world.risk2)
        h.complete("treat", answers["risk.treat"], run_id=world.risk2)
        h.decide("rita@example.com", "reject", "the residual risk is too high", run_id=world.risk2)
        for _ in range(3):  # reminders, then the due dates and escalations of the open tasks
            h.clock.advance(days=6)
            h.rt.tick()
            h.pump()
        audit_with_a_finding(h, answers)
        return _every_row(h.db)
    finally:
        h.app.db.dispose()


def _every_row(db: Database) -> dict[str, list[tuple]]:
    """Each table's rows as the driver returns them: what is stored, before any SQLAlchemy type
    reads it back (a timestamp stored as different text on SQLite must not compare equal)."""
    rows = {}
    with db.connect() as conn:
        for table in Base.metadata.sorted_tables:
            order = list(table.primary_key.columns) or list(table.columns)
            query = select(table).order_by(*order).compile(conn)
            rows[table.name] = [
                tuple(r) for r in conn.exec_driver_sql(query.string, query.params).fetchall()
            ]
    return rows


def test_the_fast_path_writes_what_plain_sqlalchemy_writes(
    make_harness: Callable, db_url: str, second_db_url: str, tmp_path: Path, answers: dict
):
    fast = _workload(make_harness, db_url, tmp_path / "fast", answers)
    with _fast.plain_sqlalchemy():
        plain = _workload(make_harness, second_db_url, tmp_path / "plain", answers)

    assert fast.keys() == plain.keys()
    # the directory's version token is a new random value with every change, by design: both
    # workloads hold one, and only its presence is compared
    assert len(fast.pop("directory_version")) == len(plain.pop("directory_version")) == 1
    for table, rows in fast.items():
        assert len(rows) == len(plain[table]), table
        for row, same in zip(rows, plain[table], strict=True):
            assert row == same, table
    # the workload reached the statements the fast path runs
    for table in ("runs", "evidence", "outbox", "steps", "approvals", "kpi_counters", "findings"):
        assert fast[table], f"the workload wrote no {table} rows"
    assert {row[-1] for row in fast["ledger_head"]}  # the chain has a head


def test_plain_sqlalchemy_restores_the_fast_path():
    fast = (_fast.Prepared.execute, _fast.Prepared.executemany, _fast.Prepared.first)
    with _fast.plain_sqlalchemy():
        assert _fast.Prepared.execute is not fast[0]
    assert (_fast.Prepared.execute, _fast.Prepared.executemany, _fast.Prepared.first) == fast
