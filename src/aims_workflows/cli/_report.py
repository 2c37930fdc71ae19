"""``aims report --html FILE``: the KPIs, their trends and the SoA as charts, in one file."""

from __future__ import annotations

from datetime import UTC, datetime, time
from pathlib import Path

import typer

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    @app.command(short_help="A report with charts: KPIs, trends, overdue work, SoA (HTML).")
    def report(
        html: Path = typer.Option(
            ..., "--html", help="the HTML file to write (one self-contained file)"
        ),
        since: str | None = typer.Option(
            None,
            "--since",
            help="first day of the trends, YYYY-MM-DD (default: first record, a year back at most)",
        ),
        force: bool = typer.Option(False, "--force", help="replace the file if it exists"),
    ) -> None:
        """One self-contained HTML file (inline charts, no script, nothing loaded from
        elsewhere): the KPIs against their targets, their trends, coverage over time, overdue
        work by person and AI system, approval latency, nonconformity ageing and the Statement
        of Applicability as a heat map of the Annex A controls.

        The numbers are those of `aims kpi`; past values are rebuilt from the dated records."""
        from rich.markup import escape

        from ..export._files import atomic_output, check_target
        from ..export.period import parse_day
        from ._context import open_cli_app
        from ._output import ok

        start = None
        try:
            day = parse_day(since, "--since")
        except ValueError as err:
            raise typer.BadParameter(str(err), param_hint="--since") from None
        if day is not None:
            start = datetime.combine(day, time(), UTC)
        check_target(html, force=force)  # before any work: a wrong path fails fast
        app_ = open_cli_app()
        now = app_.runtime.clock.now()
        if start is not None and start >= now:
            raise typer.BadParameter("must be a day before today", param_hint="--since")

        from ..report import build_report

        page = build_report(app_, now=now, since=start)
        with atomic_output(html, force=force) as handle:
            handle.write(page.encode("utf-8"))
        ok(f"wrote {escape(str(html))} ({len(page) // 1024 + 1} KiB)")
