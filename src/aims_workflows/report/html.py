"""The report page and the dashboard's charts, from an opened application.

The report is one HTML file with its styles inline and its charts as inline SVG: no script, no
link to anything, so it opens the same offline, from a mail attachment or on paper.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from ..kpi.history import PastKpis
from ..kpi.html import render_page
from .charts import Charts, draw
from .data import ChartData, gather_charts

__all__ = ["build_report", "dashboard_charts", "render_report", "soa_report"]


def soa_report(app: Any, conn: Connection, now: datetime) -> Any:
    """The SoA over everything recorded (what ``aims export soa`` prints without a period)."""
    from ..catalog import load_catalog
    from ..engine.evidence import iso
    from ..export.period import Period
    from ..export.soa import build_coverage

    return build_coverage(
        conn,
        catalog=load_catalog(),
        workflows=app.workflows,
        soa=app.config.soa,
        period=Period(),
        generated_at=iso(now),
        organisation=app.config.organisation,
    )


def _gather(
    app: Any,
    conn: Connection,
    now: datetime,
    since: datetime | None,
    kept: PastKpis | None = None,
) -> ChartData:
    return gather_charts(
        conn,
        now,
        organisation=app.config.organisation,
        targets=app.config.kpi_targets,
        specs=app.runtime.specs,
        workflows=app.workflows,
        soa=soa_report(app, conn, now),
        since=since,
        kept=kept,
    )


def dashboard_charts(
    app: Any, conn: Connection, now: datetime, kept: PastKpis | None = None
) -> tuple[ChartData, Charts]:
    """The dashboard's charts and the data behind them (its SoA in ``data.soa``); ``kept`` holds
    the trends' past points between requests."""
    data = _gather(app, conn, now, None, kept)
    return data, draw(data)


def render_report(data: ChartData, charts: Charts) -> str:
    return render_page(
        "report.html",
        d=data,
        charts=charts,
        organisation=data.organisation,
        since=data.history[0].at if data.history else None,
    )


def build_report(app: Any, *, now: datetime, since: datetime | None = None) -> str:
    """The whole report as of ``now``, read from one consistent snapshot of the database."""
    from ..export._snapshot import snapshot

    with snapshot(app.db) as conn:
        data = _gather(app, conn, now, since)
    return render_report(data, draw(data))
