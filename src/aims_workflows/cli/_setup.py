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
    db_app = command_group("Database schema commands, copies and backups.")
    app.add_typer(db_app, name="db")
    from ._db_copy import register_db

    register_db(db_app)

    @app.command(short_help="Write aims.yaml and create or upgrade the database.")
    def init(
        force: bool = typer.Option(False, "--force", help="overwrite an existing aims.yaml"),
        copy_workflows: bool = typer.Option(
            False,
            "--copy-workflows",
            help="copy the shipped workflows to workflows/ beside aims.yaml, to edit them, and "
            "use those",
        ),
    ) -> None:
        """Write aims.yaml (roles, KPI targets) if missing and create or upgrade the database.

        The workflows in use are the ones shipped with aims-workflows (`workflows: shipped` in
        aims.yaml) unless --copy-workflows copies them out for editing."""
        from ..config import DEFAULT_CONFIG_TEXT, SHIPPED, Settings, load_config
        from ..store import Database, redact_url
        from ._init_workflows import copy_shipped_workflows, use_copies
        from ._output import console, ok

        settings = Settings()
        path = settings.config
        folder = path.parent / "workflows"
        if copy_workflows:
            copied = copy_shipped_workflows(folder)
            ok(f"copied {copied} shipped workflow file(s) to {folder}/ (edit them there)")
        if path.exists() and not force:
            ok(f"{path} exists (kept; --force rewrites it)")
            if copy_workflows and load_config(path).workflows == SHIPPED:
                console().print(
                    f"to use the copies, write `workflows: [workflows]` in {path} "
                    "(it says `workflows: shipped`)",
                    markup=False,
                    soft_wrap=True,
                )
        else:
            text = use_copies(DEFAULT_CONFIG_TEXT) if copy_workflows else DEFAULT_CONFIG_TEXT
            path.write_text(text, encoding="utf-8")
            ok(f"wrote {path}: map the roles to your people's e-mail addresses")
        config = load_config(path)
        console().print(
            "workflows: "
            + (
                "the ones shipped with aims-workflows (`aims init --copy-workflows` copies them "
                "out for editing)"
                if config.workflows == SHIPPED
                else ", ".join(config.workflows) + f" (relative to {path})"
            ),
            markup=False,
            soft_wrap=True,
        )
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
        database: str | None = typer.Option(
            None,
            "--database",
            help="database URL for the demo (default sqlite:///aims-demo.db; "
            "AIMS_DATABASE_URL is never used)",
        ),
        db_file: Path | None = typer.Option(
            None, "--db", help="SQLite file for the demo (short for --database sqlite:///FILE)"
        ),
        force: bool = typer.Option(
            False, "--force", help="replace the aims data of a database that is not a demo's"
        ),
        quiet: bool = typer.Option(False, "--quiet", help="print only the summary"),
    ) -> None:
        """Take three AI systems through the shipped workflows with simulated people.

        The demo writes only to its own database (aims-demo.db here, or --database) and its own
        aims-demo.yaml; it refuses a database that holds anything but an earlier demo (unless
        --force) and never overwrites a configuration file it did not write."""
        from ..demo import run_demo

        run_demo(database, db_file=db_file, force=force, quiet=quiet)

    @app.command(short_help="Carry out due work: schedules, timers, outbox, Jira poll.")
    def worker(
        once: bool = typer.Option(False, "--once", help="do one pass and exit"),
        interval: float = typer.Option(5.0, "--interval", min=0.1, help="seconds between passes"),
    ) -> None:
        """Carry out due work: schedules, timers (reminders, due dates, waits) and the outbox.

        It first says what it runs and where: the database, the workflows, Jira and Slack (or
        the command line in their place), when each schedule is next due, and how to stop it.
        Short database problems (a lock held by another process, a server restarting) are
        waited out with back-off, not an exit."""
        from ..runtime.worker_loop import WorkerLoop
        from ._context import open_cli_app
        from ._output import console, err_console
        from ._worker_banner import banner, started_line

        app_ = open_cli_app()
        for line in banner(app_, interval=interval, once=once):
            console().print(line, markup=False, soft_wrap=True)

        def pump():
            # the schedules first, to say which runs they started; then what App.pump does on
            # a schedule: the ledger checkpoint when due, and after the outbox, the review
            # records for Confluence when it is configured
            for run_id in app_.runtime.run_schedules():
                console().print(started_line(app_, run_id), markup=False, soft_wrap=True)
            app_.checkpoint_if_due()
            report = app_.pump(schedules=False)
            app_.publish_review_records()
            return report

        def passed(report) -> None:
            if report.done or report.retried or report.dead:
                console().print(f"done {report.done}, retried {report.retried}, dead {report.dead}")

        def waiting(problem: str, seconds: float) -> None:
            err_console().print(
                f"database unavailable ({problem}); trying again in {seconds:.0f} s",
                markup=False,
                highlight=False,
            )

        WorkerLoop(pump, interval=interval, on_pass=passed, on_wait=waiting).run(once=once)
