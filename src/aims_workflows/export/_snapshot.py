"""One consistent, read-only view of the database for the length of an export.

An audit pack must not mix two moments (a run in runs.csv whose evidence is missing from the
ledger file, a verification of rows the file does not hold). PostgreSQL gives that with a
REPEATABLE READ read-only transaction. On SQLite the store's connections begin with
``BEGIN IMMEDIATE`` (they take the write lock), which would stall the worker for as long as a big
export takes; a deferred transaction on a connection of our own reads a WAL snapshot instead and
never blocks writers.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import Connection, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from ..errors import StoreError
from ..store import Database, redact_url

__all__ = ["snapshot"]


@contextmanager
def snapshot(db: Database) -> Iterator[Connection]:
    """A connection whose every read sees the database as it was at the first one."""
    try:
        if db.dialect == "sqlite" and _is_file(db.url):
            engine = create_engine(db.url, poolclass=NullPool)
            _deferred_reads(engine)
            try:
                with engine.connect() as conn:
                    yield conn
            finally:
                engine.dispose()
        elif db.dialect == "postgresql":
            with db.engine.connect() as conn:
                yield conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        else:  # an in-memory SQLite database exists only on the store's own connections
            with db.engine.connect() as conn:
                yield conn
    except OperationalError as err:
        raise StoreError(f"database {redact_url(db.url)} is not reachable: {err.orig}") from None


def _is_file(url: str) -> bool:
    database = make_url(url).database
    return bool(database) and database != ":memory:" and not database.startswith("file::memory:")


def _deferred_reads(engine) -> None:
    @event.listens_for(engine, "connect")
    def _setup(dbapi_conn, _record) -> None:
        dbapi_conn.isolation_level = None  # we say BEGIN ourselves, below
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA query_only=ON")  # an export never writes
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn) -> None:
        # deferred: the first SELECT fixes the snapshot; writers carry on in the WAL
        conn.exec_driver_sql("BEGIN")
