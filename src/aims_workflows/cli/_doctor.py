"""``aims doctor``: is this installation ready? One line per check, with the fix."""

from __future__ import annotations

import typer

__all__ = ["register"]

_MARKS = {"ok": "ok  ", "warn": "warn", "fail": "FAIL", "skip": "skip"}


def register(app: typer.Typer) -> None:
    @app.command("doctor", short_help="Check the database, Jira, Slack and Confluence set-up.")
    def doctor() -> None:
        """Check a configured installation end to end: the database (reachable, migrated), Jira
        (reachable, token, expiry, project, permissions, fields, webhook secret, clock), Slack
        (token, scopes, signing secret, channel) and Confluence (space visible and writable).

        Prints one line per check and, for each problem, what fixes it. Changes nothing.
        Exits 1 if any check failed."""
        from datetime import UTC, datetime

        from rich.markup import escape

        from ..adapters.jira import workflow_forms
        from ..config import Settings
        from ..doctor import run_doctor
        from ._context import open_cli_app
        from ._output import console

        settings = Settings()
        app_ = open_cli_app(require_db=False)
        checks = run_doctor(settings, forms=workflow_forms(app_.workflows), now=datetime.now(UTC))
        out = console()
        for check in checks:
            line = f"{_MARKS[check.status]}  {check.area:<10} {check.name:<18} {check.detail}"
            out.print(escape(line), soft_wrap=True, highlight=False)
            if check.fix and check.status in ("fail", "warn"):
                out.print(escape(f"      fix: {check.fix}"), soft_wrap=True, highlight=False)
        failed = sum(1 for c in checks if c.failed)
        summary = f"{len(checks)} checks: {failed} failed"
        out.print(summary, highlight=False)
        if failed:
            raise typer.Exit(1)
