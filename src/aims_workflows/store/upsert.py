"""INSERT statements that can say ON CONFLICT, for the backend in use.

SQLite and PostgreSQL both support ``ON CONFLICT``, but SQLAlchemy exposes it only on each
dialect's own ``insert``; this picks the right one so callers write the statement once.
"""

from __future__ import annotations

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite

__all__ = ["insert_for"]


def insert_for(dialect_name: str, table: Table):
    """``insert(table)`` of the named dialect (``"postgresql"``, else SQLite's)."""
    return (postgresql if dialect_name == "postgresql" else sqlite).insert(table)
