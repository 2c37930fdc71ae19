"""What ``aims demo`` may write to: only a database it created and a configuration file it wrote.

The demo plays four months of made-up work, so it must never land in someone's real AIMS:

- its database is its own ``aims-demo.db`` unless ``--database URL`` names another, whatever
  ``AIMS_DATABASE_URL`` says (that variable points at the real database);
- a database holding anything but an earlier demo is refused, unless ``--force``; an earlier
  demo is recognised by what only the demo writes (runs numbered ``RUN-001``..., the demo's AI
  systems);
- its configuration file is written only where no file exists or where the file says, on its
  first line, that ``aims demo`` wrote it.

Everything is checked before anything is written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import inspect, select

from ..errors import ConfigError
from ..store import Database, redact_url
from ..store.models import AISystem, Base, Run
from .cast import SYSTEMS

__all__ = ["CONFIG_MARK", "DEFAULT_FILE", "DemoTarget", "demo_target", "prepare"]

DEFAULT_FILE = "aims-demo.db"
CONFIG_MARK = "# Written by `aims demo`"
"""The first line of every configuration file the demo writes: the proof that it may rewrite it."""

_DEMO_RUN = re.compile(r"RUN-\d{3,}(?:\..+)?")  # spawned runs: RUN-009.raise_findings1.1
_OURS = {table.name for table in Base.metadata.sorted_tables} | {"alembic_version"}


@dataclass(frozen=True)
class DemoTarget:
    url: str
    config: Path


def demo_target(database: str | None, db_file: Path | None) -> DemoTarget:
    """The database URL and configuration path the demo is to use (``AIMS_DATABASE_URL`` is not
    read: it names the real database)."""
    if database and db_file:
        raise ConfigError("give --database or --db, not both")
    url = database or f"sqlite:///{db_file or DEFAULT_FILE}"
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        config = path.with_suffix(".yaml")
        if config.name == "aims.yaml":  # the name the real configuration has by default
            config = path.with_name("aims-demo.yaml")
    else:
        config = Path("aims-demo.yaml")
    return DemoTarget(url, config)


def _sqlite_path(url: str) -> Path | None:
    return Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None


def _what_it_holds(db: Database) -> str | None:
    """``None`` when the database is empty or holds an earlier demo; else what else it holds."""
    with db.connect() as conn:
        tables = set(inspect(conn).get_table_names())
        others = sorted(tables - _OURS)
        if others:
            shown = ", ".join(others[:5]) + (" ..." if len(others) > 5 else "")
            return f"tables that are not aims's ({shown})"
        if "runs" not in tables or "ai_systems" not in tables:
            return None if not tables - {"alembic_version"} else "an incomplete aims schema"
        runs = conn.scalars(select(Run.__table__.c.id)).all()
        systems = conn.scalars(select(AISystem.__table__.c.name)).all()
        evidence = conn.scalar(select(_count()).select_from(Base.metadata.tables["evidence"]))
    strangers = [r for r in runs if not _DEMO_RUN.fullmatch(r)]
    unknown = sorted(set(systems) - {s.name for s in SYSTEMS})
    if strangers or unknown:
        parts = []
        if strangers:
            parts.append(f"{len(strangers)} run(s) the demo did not start (e.g. {strangers[0]})")
        if unknown:
            parts.append(f"AI system(s) the demo does not register (e.g. '{unknown[0]}')")
        return " and ".join(parts)
    if evidence and not runs and not systems:
        return f"{evidence} ledger row(s) but no demo runs"
    return None


def _count():
    from sqlalchemy import func

    return func.count()


def _check_config(path: Path) -> None:
    if not path.exists():
        return
    if path.is_dir():
        raise ConfigError(f"{path} is a directory", hint="pass --database with another file name")
    try:
        first = path.read_text(encoding="utf-8").splitlines()[:1]
    except (OSError, UnicodeDecodeError):
        first = []
    if not first or not first[0].startswith(CONFIG_MARK):
        raise ConfigError(
            f"{path} exists and was not written by `aims demo`: the demo never overwrites it",
            hint="run the demo in another directory, or pass --database sqlite:///OTHER.db "
            "(its configuration is written beside it as OTHER.yaml)",
        )


def prepare(target: DemoTarget, *, force: bool = False) -> Database:
    """Check that the demo may use ``target``, then empty it: a migrated, empty database.

    Raises :class:`ConfigError` (and changes nothing) when the database holds real data and
    ``force`` is not given, or when the configuration file is not the demo's.
    """
    _check_config(target.config)
    path = _sqlite_path(target.url)
    if path is not None and path.is_dir():
        raise ConfigError(f"{path} is a directory", hint="pass --database sqlite:///FILE.db")
    if path is not None and path.exists() and path.stat().st_size and not _is_sqlite(path):
        raise ConfigError(
            f"{path} exists and is not a database: the demo does not replace it",
            hint="pass --database sqlite:///OTHER.db",
        )
    db = Database(target.url)
    try:
        holds = _what_it_holds(db)
        if holds and not force:
            raise ConfigError(
                f"database {redact_url(target.url)} holds {holds}: the demo writes only to a "
                "database of its own, and does not touch this one",
                hint="run `aims demo` without --database (it uses aims-demo.db), "
                "or pass --force to replace the aims data in it",
            )
        if path is not None:
            db.dispose()
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            db = Database(target.url)
        else:
            _drop_aims_tables(db)
        db.upgrade()
    except BaseException:
        db.dispose()
        raise
    return db


def _is_sqlite(path: Path) -> bool:
    with path.open("rb") as f:
        return f.read(16) == b"SQLite format 3\x00"


def _drop_aims_tables(db: Database) -> None:
    """An earlier demo's tables on a server database (``--force``: aims's tables only, never
    anything else in the schema)."""
    from sqlalchemy import text

    with db.begin() as conn:
        present = set(inspect(conn).get_table_names())
        for name in sorted(present & _OURS):
            conn.execute(text(f'DROP TABLE IF EXISTS "{name}" CASCADE'))
        if conn.dialect.name == "postgresql":
            conn.execute(text("DROP FUNCTION IF EXISTS evidence_append_only() CASCADE"))
