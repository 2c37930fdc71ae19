"""Reading and writing run rows (state as JSON, plus the columns queries filter on)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, bindparam, insert, select, update

from ..engine.state import SCHEMA_VERSION, RunState, dump_run, load_run
from ..errors import NotFound, StoreError
from ._fast import Prepared
from .models import Run

__all__ = [
    "insert_run",
    "load",
    "save",
    "due_for_tick",
    "take_due",
    "set_spawned_by",
    "upgrade_states",
    "ConcurrentUpdate",
]

_RUNS = Run.__table__


class ConcurrentUpdate(StoreError):
    """Another writer saved the run first; the unit of work is retried."""


def _columns(run: RunState, now: datetime) -> dict:
    return dict(
        status=run.status,
        current_step=run.current,
        state=dump_run(run),
        updated_at=now,
        completed_at=run.completed_at,
        next_wake_at=run.next_wake_at if run.is_open else None,
    )


# Statements compiled once per dialect (every event runs them; see _fast). Parameters are bound per
# call (``b_*`` names, so they never clash with the column names in SET).
_STATE_COLUMNS = ("status", "current_step", "state", "updated_at", "completed_at", "next_wake_at")
_INSERT = Prepared(
    insert(_RUNS),
    (
        "id",
        "workflow_id",
        "spec_version",
        "spec_hash",
        "subject_type",
        "subject_id",
        "subject_name",
        "parent_run_id",
        "started_at",
        "lock_version",
        *_STATE_COLUMNS,
    ),
)
_LOAD_QUERY = select(_RUNS.c.state, _RUNS.c.lock_version).where(_RUNS.c.id == bindparam("b_id"))
_LOAD = Prepared(_LOAD_QUERY, ("b_id",))
_LOAD_LOCKED = Prepared(_LOAD_QUERY.with_for_update(), ("b_id",))  # FOR UPDATE on PostgreSQL
_SAVE = Prepared(
    update(_RUNS).where(
        _RUNS.c.id == bindparam("b_id"), _RUNS.c.lock_version == bindparam("b_lock_version")
    ),
    ("b_id", "b_lock_version", "lock_version", *_STATE_COLUMNS),
)


def insert_run(conn: Connection, run: RunState, now: datetime) -> None:
    _INSERT.execute(
        conn,
        dict(
            id=run.run_id,
            workflow_id=run.spec_id,
            spec_version=run.spec_version,
            spec_hash=run.spec_hash,
            subject_type=run.subject.type,
            subject_id=run.subject.id,
            subject_name=run.subject.name,
            parent_run_id=run.parent_run_id,
            started_at=now,
            lock_version=0,
            **_columns(run, now),
        ),
    )


def load(conn: Connection, run_id: str, *, lock: bool = False) -> tuple[RunState, int]:
    """(state, lock_version). ``lock`` takes a row lock on PostgreSQL."""
    row = (_LOAD_LOCKED if lock else _LOAD).first(conn, {"b_id": run_id})
    if row is None:
        raise NotFound(f"no run '{run_id}'", hint="see `aims runs list`")
    return load_run(row[0]), row[1]


def save(conn: Connection, run: RunState, lock_version: int, now: datetime) -> None:
    changed = _SAVE.execute(
        conn,
        dict(
            b_id=run.run_id,
            b_lock_version=lock_version,
            lock_version=lock_version + 1,
            **_columns(run, now),
        ),
    )
    if changed != 1:
        raise ConcurrentUpdate(f"run {run.run_id} was changed by another writer")


def set_spawned_by(conn: Connection, run_id: str, spawner: str) -> None:
    """Name the run that started this one (spawned runs; waiting or not)."""
    conn.execute(update(_RUNS).where(_RUNS.c.id == run_id).values(spawned_by=spawner))


def due_for_tick(conn: Connection, now: datetime, limit: int = 500) -> list[str]:
    query = (
        select(_RUNS.c.id)
        .where(_RUNS.c.next_wake_at.is_not(None), _RUNS.c.next_wake_at <= now)
        .order_by(_RUNS.c.next_wake_at)
        .limit(limit)
    )
    return list(conn.scalars(query))


def take_due(conn: Connection, run_id: str, now: datetime) -> bool:
    """Lock a run whose timer is due, for this transaction. False when it is not due any more
    (another worker ticked it since it was listed) or, on PostgreSQL, when another worker holds
    it now (``SKIP LOCKED``): then this worker leaves it to that one instead of waiting."""
    query = (
        select(_RUNS.c.id)
        .where(_RUNS.c.id == run_id, _RUNS.c.next_wake_at <= now)
        .with_for_update(skip_locked=True)
    )
    return conn.execute(query).first() is not None


_UPGRADE_BATCH = 500


def upgrade_states(conn: Connection) -> int:
    """Rewrite every run whose stored state is of an older ``schema_version`` as the current
    version stores it (``aims db upgrade``, inside its transaction); returns how many changed.

    Loading migrates old state anyway; rewriting it once means every stored run reads back as
    the current version after the upgrade, and one run that cannot be migrated fails the whole
    upgrade before anything is kept. ``lock_version`` moves on, as for any other save."""
    # dump_run writes schema_version first, so state already current is skipped in SQL
    current = f'{{"schema_version":{SCHEMA_VERSION},%'
    rewritten, after = 0, ""
    while True:
        rows = conn.execute(
            select(_RUNS.c.id, _RUNS.c.state, _RUNS.c.lock_version)
            .where(_RUNS.c.id > after, _RUNS.c.state.not_like(current))
            .order_by(_RUNS.c.id)
            .limit(_UPGRADE_BATCH)
        ).all()
        if not rows:
            return rewritten
        for run_id, state, lock_version in rows:
            conn.execute(
                update(_RUNS)
                .where(_RUNS.c.id == run_id)
                .values(state=dump_run(load_run(state)), lock_version=lock_version + 1)
            )
        rewritten += len(rows)
        after = rows[-1][0]
