"""``aims init``, ``aims db``, ``aims serve``-less set-up commands and ``aims demo``."""

from __future__ import annotations

from pathlib import Path

import typer

from ._group import command_group

__all__ = ["register"]


def _witness_key(settings) -> None:
    """Create the key that signs ledger checkpoints, unless its file exists (``aims init``)."""
    from ..runtime.witness import WitnessKey
    from ._output import ok

    path = settings.witness_key_path()
    if path.exists():
        ok(f"witness key {path} exists (kept)")
        return
    key = WitnessKey.create(path)
    ok(
        f"wrote the witness key {path} (keep it private and backed up); its public half, for "
        f"your auditor:\n{key.public_text()}"
    )


def register(app: typer.Typer) -> None:
    db_app = command_group("Database schema commands.")
    app.add_typer(db_app, name="db")

    @app.command(short_help="Write aims.yaml and create or upgrade the database.")
    def init(
        force: bool = typer.Option(False, "--force", help="overwrite an existing aims.yaml"),
    ) -> None:
        """Write aims.yaml (roles, KPI targets) if missing and create or upgrade the database."""
        from ..config import DEFAULT_CONFIG_TEXT, Settings
        from ..store import Database, redact_url
        from ._output import ok

        settings = Settings()
        path = settings.config
        if path.exists() and not force:
            ok(f"{path} exists (kept; --force rewrites it)")
        else:
            path.write_text(DEFAULT_CONFIG_TEXT, encoding="utf-8")
            ok(f"wrote {path}: map the roles to your people's e-mail addresses")
        db = Database(settings.database_url)
        db.upgrade()
        ok(
            f"database {redact_url(settings.database_url)} is at schema revision "
            f"{db.current_revision()}"
        )
        _witness_key(settings)

    @db_app.command("upgrade")
    def db_upgrade() -> None:
        """Apply database migrations up to the latest revision."""
        from ..config import Settings
        from ..store import Database, redact_url
        from ._output import ok

        settings = Settings()
        db = Database(settings.database_url)
        db.upgrade()
        ok(
            f"database {redact_url(settings.database_url)} is at schema revision "
            f"{db.current_revision()}"
        )

    @db_app.command("current")
    def db_current() -> None:
        """Show the database's schema revision and the latest one."""
        from ..config import Settings
        from ..store import Database
        from ._output import write

        db = Database(Settings().database_url)
        write(
            f"current: {db.current_revision() or '(empty database)'}\nlatest:  {db.head_revision()}"
        )

    @app.command(short_help="Play four months of an AIMS on loopback Jira and Slack.")
    def demo(
        database: Path = typer.Option(
            None,
            "--db",
            help="SQLite file to (re)create; default aims-demo.db or AIMS_DATABASE_URL",
        ),
        quiet: bool = typer.Option(False, "--quiet", help="print only the summary"),
    ) -> None:
        """Take three AI systems through the shipped workflows with simulated people."""
        from ..demo import run_demo

        run_demo(database, quiet=quiet)

    @app.command(short_help="Carry out due work: schedules, timers, outbox, Jira poll.")
    def worker(
        once: bool = typer.Option(False, "--once", help="do one pass and exit"),
        interval: float = typer.Option(5.0, "--interval", min=0.1, help="seconds between passes"),
    ) -> None:
        """Carry out due work: schedules, timers (reminders, due dates, waits) and the outbox.
        Short database problems (a lock held by another process, a server restarting) are
        waited out with back-off, not an exit."""
        from ..runtime.worker_loop import WorkerLoop
        from ._context import open_cli_app
        from ._output import console, err_console

        app_ = open_cli_app()

        def passed(report) -> None:
            if report.done or report.retried or report.dead:
                console().print(f"done {report.done}, retried {report.retried}, dead {report.dead}")

        def waiting(problem: str, seconds: float) -> None:
            err_console().print(
                f"database unavailable ({problem}); trying again in {seconds:.0f} s",
                markup=False,
                highlight=False,
            )

        WorkerLoop(app_.pump, interval=interval, on_pass=passed, on_wait=waiting).run(once=once)
