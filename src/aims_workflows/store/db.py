"""Opening the database and bringing its schema up to date."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, inspect
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from ..errors import DatabaseUnavailable, StoreError
from . import _fast
from .write_gate import NoGate, WriteGate, gate_for

__all__ = ["Database", "ReadThenWrite", "redact_url"]

_MIGRATIONS = Path(__file__).parent / "migrations"


def redact_url(url: str) -> str:
    """The URL without its password, for messages and logs."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a URL too broken to parse is shown as a placeholder
        return "<unparseable database URL>"


_READS_ONLY = "aims_reads_only"
"""Execution option marking a connection opened for reads (see Database.connect)."""


_BUSY_TIMEOUT_MS = 10000
"""How long a SQLite writer waits for another process's write lock before giving up, unless the
URL says otherwise (``?timeout=SECONDS``, as Python's sqlite3 takes it)."""


def _busy_timeout_ms(engine: Engine) -> int:
    raw = engine.url.query.get("timeout")
    try:
        return int(float(raw) * 1000) if isinstance(raw, str) else _BUSY_TIMEOUT_MS
    except ValueError:
        return _BUSY_TIMEOUT_MS


def _sqlite_setup(engine: Engine) -> None:
    busy_timeout = _busy_timeout_ms(engine)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record) -> None:
        # We issue BEGIN ourselves (below), so the driver must not open transactions on its own.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout:d}")
        # Checkpoint the WAL every ~40 MB instead of every ~4 MB (1,000 pages). An event writes a
        # dozen or so pages, mostly the same hot ones (ledger head, index tails, the run row);
        # checkpointing less often copies each of them to the database file once per checkpoint
        # rather than many times over: ~20% more events/s on a 10,000-event workload, and it grows
        # with the database. Measured and left at the defaults: mmap_size, cache_size, temp_store
        # (no gain). Durability is unchanged (synchronous=NORMAL in WAL either way).
        cursor.execute("PRAGMA wal_autocheckpoint=10000")
        # ... and truncate the WAL file back to 64 MB after a checkpoint, so it stays bounded on
        # disk.
        cursor.execute("PRAGMA journal_size_limit=67108864")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin_immediate(conn) -> None:
        # Take the write lock at the start: a unit of work reads then writes, and a deferred
        # transaction that must upgrade its lock can fail with SQLITE_BUSY under concurrency.
        # Reads (Database.connect) take no lock: in WAL they see a snapshot and never hold up
        # a writer, however long they take (a chain verification, an export, the dashboard).
        _fast.execute_driver_sql(
            conn, "BEGIN" if conn.get_execution_options().get(_READS_ONLY) else "BEGIN IMMEDIATE"
        )


class Database:
    """One database (SQLite file or PostgreSQL), its engine, and its migrations."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.gate: WriteGate | NoGate = NoGate()
        """Every write transaction passes through it (see write_gate): one writer at a time on
        SQLite, queued in this process; nothing on PostgreSQL."""
        try:
            if url.startswith("sqlite"):
                self.engine = create_engine(url, connect_args={"check_same_thread": False})
                _sqlite_setup(self.engine)
                self.gate = gate_for(self.engine.url.database)
            else:
                self.engine = create_engine(url, pool_pre_ping=True)
        except (SQLAlchemyError, ImportError, ValueError) as err:
            raise StoreError(
                f"cannot open database {redact_url(url)}: {err.__class__.__name__}",
                hint="check AIMS_DATABASE_URL, e.g. sqlite:///aims.db or postgresql+psycopg://user@host/db",
            ) from None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def begin(self, *, urgent: bool = False) -> Iterator[Connection]:
        """One write transaction: committed when the block ends, rolled back on any exception.
        ``urgent``: someone is waiting on this write (a webhook's answer); on SQLite it goes
        before the writes nobody waits on."""
        gate = self.gate.urgent() if urgent else self.gate.background()
        try:
            with gate, self.engine.begin() as conn:
                yield conn
        except OperationalError as err:
            raise self.unavailable(err) from None

    def unavailable(self, err: OperationalError) -> DatabaseUnavailable:
        """What a write that failed with ``err`` tells its caller."""
        return DatabaseUnavailable(
            f"database {redact_url(self.url)} is not reachable or refused the operation: "
            f"{err.orig}",
            hint="is the server running and the URL right? for SQLite, is the directory writable?",
        )

    @contextmanager
    def read_then_write(self) -> Iterator[ReadThenWrite]:
        """One pooled connection for a unit of work that reads a snapshot (``read()``, as
        :meth:`connect`), then writes (``write()``, as :meth:`begin`): the runtime's
        engine works between the two, outside the write lock. One checkout from the pool
        instead of two, on every event."""
        try:
            with self.engine.connect() as conn:
                yield ReadThenWrite(self, conn)
        except OperationalError as err:
            raise DatabaseUnavailable(
                f"database {redact_url(self.url)} is not reachable: {err.orig}"
            ) from None

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A connection for reads: one consistent snapshot on SQLite, without the write lock;
        nothing written through it is kept (it is never committed)."""
        try:
            with self.engine.connect() as conn:
                yield conn.execution_options(**{_READS_ONLY: True})
        except OperationalError as err:
            raise DatabaseUnavailable(
                f"database {redact_url(self.url)} is not reachable: {err.orig}"
            ) from None

    def _alembic_config(self, conn: Connection):
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(_MIGRATIONS))
        config.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        config.attributes["connection"] = conn
        return config

    def upgrade(self, revision: str = "head") -> int:
        """Apply migrations up to ``revision`` (``aims init`` and ``aims db upgrade``); at the
        head, also rewrite stored run state of an older schema version as the current version
        stores it. One transaction: all of it is kept, or none. Returns the runs rewritten."""
        from alembic import command

        from . import runs

        with self.begin() as conn:
            command.upgrade(self._alembic_config(conn), revision)
            return runs.upgrade_states(conn) if revision == "head" else 0

    def current_revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        with self.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def head_revision(self) -> str:
        from alembic.script import ScriptDirectory

        with self.connect() as conn:
            head = ScriptDirectory.from_config(self._alembic_config(conn)).get_current_head()
        if head is None:  # the package's migrations folder is missing or empty: a broken install
            raise StoreError(
                "the database migrations are missing from this installation",
                hint="reinstall aims-workflows",
            )
        return head

    def require_ready(self) -> None:
        """Raise a clear error when the database was never initialised or is behind."""
        with self.connect() as conn:
            if not inspect(conn).has_table("evidence"):
                raise StoreError(
                    f"database {redact_url(self.url)} has no aims tables",
                    hint="run `aims init` (or `aims db upgrade`) first",
                )
        current, head = self.current_revision(), self.head_revision()
        if current != head:
            raise StoreError(
                f"database schema is at revision {current}, this version needs {head}",
                hint="run `aims db upgrade`",
            )

    def dispose(self) -> None:
        self.engine.dispose()


class ReadThenWrite:
    """A connection taken for one unit of work: a read snapshot first, then a write transaction
    (:meth:`Database.read_then_write`)."""

    def __init__(self, db: Database, conn: Connection) -> None:
        self._db, self._conn = db, conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """Reads on one snapshot, without the write lock; nothing written here is kept."""
        conn = self._conn.execution_options(**{_READS_ONLY: True})
        # a transaction of its own (a deferred BEGIN on SQLite), rolled back: the reads see one
        # snapshot, and on PostgreSQL the write does not go on in the driver's read transaction
        transaction = conn.begin()
        try:
            yield conn
        finally:
            transaction.rollback()

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """The write transaction, as :meth:`Database.begin` opens it (through the write gate)."""
        conn = self._conn.execution_options(**{_READS_ONLY: False})
        try:
            with self._db.gate.background(), conn.begin():
                yield conn
        except OperationalError as err:
            raise self._db.unavailable(err) from None
