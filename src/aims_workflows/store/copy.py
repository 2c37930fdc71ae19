"""Copying every row of one aims database into another (``aims db copy | backup | restore``):
SQLite to PostgreSQL, PostgreSQL to a SQLite file, or either to itself elsewhere.

The source is read as one snapshot (a REPEATABLE READ transaction on PostgreSQL, the read
connection's snapshot on SQLite), so a worker may carry on meanwhile. The target is written in
one transaction: its rows are counted against the source's, the ledger chain is verified in it
and its head compared with the source's, and only then is it committed. Anything wrong rolls the
whole copy back: nothing half written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Connection, Table, func, insert, select, text, update

from ..errors import StoreError
from . import ledger
from .db import Database, redact_url
from .models import Base

__all__ = ["CopyReport", "backup", "copy_database", "copy_rows", "restore", "what_it_holds"]

_BATCH = 2000
_SEEDED = {"ledger_head", "directory_version"}
"""Tables whose one row the migrations write: updated in the target, not inserted."""


@dataclass
class CopyReport:
    """What a copy wrote: rows per table, and the ledger it verified."""

    rows: dict[str, int] = field(default_factory=dict)
    ledger_rows: int = 0
    head_seq: int = 0
    head_hash: str = ""

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def _tables() -> list[Table]:
    return list(Base.metadata.sorted_tables)


def what_it_holds(conn: Connection) -> str | None:
    """None for a database with no aims data (a fresh ``aims db upgrade``), else what it holds
    (e.g. "1,204 ledger rows, 12 runs")."""
    found = []
    for table in _tables():
        if table.name in _SEEDED:
            continue
        count = conn.scalar(select(func.count()).select_from(table)) or 0
        if count:
            found.append(f"{count:,} {table.name.replace('_', ' ')} rows")
    head_seq, _ = ledger.head(conn)
    if head_seq and not found:
        found.append(f"a ledger head at row {head_seq}")
    return ", ".join(found[:4]) + (" ..." if len(found) > 4 else "") if found else None


def copy_rows(
    source: Connection, target: Connection, *, log: Callable[[str], object] = lambda _: None
) -> CopyReport:
    """Copy every aims row from ``source`` (one snapshot) into ``target`` (an empty, migrated
    database, in its open transaction), then prove it: the same rows per table, and a ledger
    chain that verifies to the source's head. Raises :class:`StoreError` when it does not; the
    caller's transaction then rolls back."""
    report = CopyReport()
    for table in _tables():
        if table.name in _SEEDED:
            continue
        copied = 0
        result = source.execution_options(yield_per=_BATCH).execute(select(table))
        for rows in result.partitions():
            target.execute(insert(table), [dict(row._mapping) for row in rows])
            copied += len(rows)
        report.rows[table.name] = copied
        log(f"{table.name}: {copied:,} rows")
    _copy_seeded(source, target)
    if target.dialect.name == "postgresql":
        _move_sequences(target)
    for table in _tables():
        if table.name in _SEEDED:
            continue
        there = target.scalar(select(func.count()).select_from(table)) or 0
        if there != report.rows[table.name]:
            raise StoreError(
                f"the copy of {table.name} holds {there} rows, the source {report.rows[table.name]}"
            )
    head = ledger.head(source)
    verified = ledger.verify(target)
    if not verified.ok:
        raise StoreError(
            f"the copied ledger does not verify: {verified.problem}",
            hint="run `aims evidence verify` on the source: the copy is exactly what it holds",
        )
    if ledger.head(target) != head:
        raise StoreError("the copied ledger head differs from the source's")
    report.ledger_rows, (report.head_seq, report.head_hash) = verified.rows, head
    return report


def _copy_seeded(source: Connection, target: Connection) -> None:
    for table in _tables():
        if table.name not in _SEEDED:
            continue
        for row in source.execute(select(table)).all():
            values = dict(row._mapping)
            key = values.pop("id")
            target.execute(update(table).where(table.c.id == key).values(**values))


def _move_sequences(target: Connection) -> None:
    """PostgreSQL hands out ids from sequences, which the copied ids did not use: move each on
    past the highest id copied, so the next row does not collide."""
    for table in _tables():
        for column in table.primary_key.columns:
            if column.autoincrement is True or (
                column.autoincrement == "auto" and column.type.python_type is int
            ):
                sequence = target.scalar(
                    text("SELECT pg_get_serial_sequence(:t, :c)"),
                    {"t": table.name, "c": column.name},
                )
                if sequence:
                    target.execute(
                        text(
                            f"SELECT setval('{sequence}', "
                            f'COALESCE((SELECT max("{column.name}") FROM "{table.name}"), 0) + 1, '
                            "false)"
                        )
                    )


def require_same_schema(source: Database, target: Database) -> None:
    """Both databases at this version's schema revision."""
    source.require_ready()
    head = target.head_revision()
    if target.current_revision() != head:
        raise StoreError(
            f"database {redact_url(target.url)} is not at schema revision {head}",
            hint="run `aims db upgrade` with AIMS_DATABASE_URL set to it",
        )


_OURS = {table.name for table in Base.metadata.sorted_tables} | {"alembic_version"}
_PG_FUNCTIONS = ("evidence_append_only", "ledger_head_forward_only")


def copy_database(
    source_url: str,
    target_url: str,
    *,
    force: bool = False,
    log: Callable[[str], object] = lambda _: None,
) -> CopyReport:
    """Copy the aims database at ``source_url`` into ``target_url``, creating its tables if it
    has none. A target holding aims data is refused unless ``force``, which replaces aims's
    tables (and only those) in the same transaction as the copy."""
    from ..export._snapshot import snapshot

    if redact_url(source_url) == redact_url(target_url):
        raise StoreError(
            "the source and the target are the same database",
            hint="name another database with --to",
        )
    source = Database(source_url)
    target = Database(target_url)
    try:
        source.require_ready()
        with target.begin() as dst:
            from alembic import command

            command.upgrade(target._alembic_config(dst), "head")
            holds = what_it_holds(dst)
            if holds and not force:
                raise StoreError(
                    f"database {redact_url(target_url)} is not empty: it holds {holds}",
                    hint="copy into an empty database, or pass --force to replace the aims data "
                    "in it (nothing else is touched)",
                )
            if holds:
                _drop_aims_tables(dst)
                command.upgrade(target._alembic_config(dst), "head")
            with snapshot(source) as src:
                return copy_rows(src, dst, log=log)
    finally:
        source.dispose()
        target.dispose()


def _drop_aims_tables(conn: Connection) -> None:
    from sqlalchemy import inspect

    present = set(inspect(conn).get_table_names())
    postgres = conn.dialect.name == "postgresql"
    for name in sorted(present & _OURS):
        conn.execute(text(f'DROP TABLE IF EXISTS "{name}"' + (" CASCADE" if postgres else "")))
    if postgres:
        for function in _PG_FUNCTIONS:
            conn.execute(text(f"DROP FUNCTION IF EXISTS {function}() CASCADE"))


def backup(source_url: str, path, *, force: bool = False, log=lambda _: None) -> CopyReport:
    """Write the whole database to the SQLite file ``path`` (a file of its own, no WAL beside
    it). Written under a temporary name and renamed when the copy has verified, so ``path`` is
    either the complete backup or untouched."""
    import os
    import sqlite3
    from pathlib import Path

    path = Path(path)
    if path.exists() and not force:
        raise StoreError(f"{path} exists", hint="choose another file name, or pass --force")
    if path.is_dir():
        raise StoreError(f"{path} is a directory", hint="name a file, e.g. aims-backup.db")
    partial = path.with_name(path.name + ".partial")
    for leftover in _sqlite_files(partial):
        leftover.unlink(missing_ok=True)
    try:
        report = copy_database(source_url, f"sqlite:///{partial}", log=log)
        with sqlite3.connect(partial) as conn:  # fold the WAL into the file: one file to keep
            conn.execute("PRAGMA journal_mode=DELETE")
        os.replace(partial, path)
    finally:
        for leftover in _sqlite_files(partial):
            leftover.unlink(missing_ok=True)
    return report


def restore(path, target_url: str, *, force: bool = False, log=lambda _: None) -> CopyReport:
    """Copy the backup file ``path`` into the database at ``target_url`` (refused over aims
    data unless ``force``)."""
    from pathlib import Path

    path = Path(path)
    if not path.is_file():
        raise StoreError(f"no backup file {path}", hint="name a file `aims db backup` wrote")
    with path.open("rb") as f:
        if f.read(16) != b"SQLite format 3\x00":
            raise StoreError(
                f"{path} is not a backup: not a SQLite database",
                hint="name a file `aims db backup` wrote",
            )
    return copy_database(f"sqlite:///{path}", target_url, force=force, log=log)


def _sqlite_files(path):
    from pathlib import Path

    return [Path(f"{path}{suffix}") for suffix in ("", "-wal", "-shm", "-journal")]
