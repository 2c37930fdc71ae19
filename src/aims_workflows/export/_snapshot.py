"""One consistent, read-only view of the database for the length of an export.

An audit pack must not mix two moments (a run in runs.csv whose evidence is missing from the
ledger file, a verification of rows the file does not hold). The store's read connection is one
snapshot on SQLite without the write lock (WAL), so the worker carries on meanwhile; on
PostgreSQL the same needs a REPEATABLE READ transaction, asked for here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection

from ..store import Database

__all__ = ["snapshot"]


@contextmanager
def snapshot(db: Database) -> Iterator[Connection]:
    """A connection whose every read sees the database as it was at the first one."""
    with db.connect() as conn:
        if db.dialect == "postgresql":
            conn = conn.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
        yield conn
