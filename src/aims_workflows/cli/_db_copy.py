"""``aims db copy | backup | restore``: every row of the database, with the ledger chain
verified in the copy before it is committed (store/copy.py)."""

from __future__ import annotations

from pathlib import Path

import typer

__all__ = ["register_db"]


def _done(report, where: str) -> None:
    from ._output import ok

    ok(
        f"{where}: {report.total:,} rows copied; ledger verified, {report.ledger_rows:,} rows, "
        f"head {report.head_seq} {report.head_hash[:16]}"
    )


def register_db(db_app: typer.Typer) -> None:
    @db_app.command("copy")
    def db_copy(
        to: str = typer.Option(..., "--to", help="the database to copy into (a URL)"),
        from_: str | None = typer.Option(
            None, "--from", help="the database to copy (default: AIMS_DATABASE_URL)"
        ),
        force: bool = typer.Option(
            False, "--force", help="replace the aims data the target holds (nothing else)"
        ),
    ) -> None:
        """Copy every row into another database (e.g. SQLite to PostgreSQL) and prove the
        ledger chain verifies there; nothing is written unless all of it is."""
        from ..config import Settings
        from ..store import redact_url
        from ..store.copy import copy_database

        source = from_ or Settings().database_url
        report = copy_database(source, to, force=force)
        _done(report, f"copied {redact_url(source)} to {redact_url(to)}")

    @db_app.command("backup")
    def db_backup(
        file: Path = typer.Argument(..., help="the backup file to write (SQLite)"),
        force: bool = typer.Option(False, "--force", help="overwrite an existing file"),
    ) -> None:
        """Write the whole database to one SQLite file, verified before it is kept."""
        from ..config import Settings
        from ..store.copy import backup

        report = backup(Settings().database_url, file, force=force)
        _done(report, f"backup written to {file}")

    @db_app.command("restore")
    def db_restore(
        file: Path = typer.Argument(..., help="a file `aims db backup` wrote"),
        force: bool = typer.Option(
            False, "--force", help="replace the aims data the database holds (nothing else)"
        ),
    ) -> None:
        """Restore a backup into the database (AIMS_DATABASE_URL), refused over aims data
        unless --force; stop `aims worker` and `aims serve` first."""
        from ..config import Settings
        from ..store import redact_url
        from ..store.copy import restore

        url = Settings().database_url
        report = restore(file, url, force=force)
        _done(report, f"restored {file} into {redact_url(url)}")
