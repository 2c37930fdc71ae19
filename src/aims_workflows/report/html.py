"""The report page and the dashboard's charts, from an opened application.

The report is one HTML file with its styles inline and its charts as inline SVG: no script, no
link to anything, so it opens the same offline, from a mail attachment or on paper.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from ..kpi.history import PastKpis
from ..kpi.html import render_page
from .charts import Charts, draw
from .data import ChartData, gather_charts

__all__ = ["ChartCache", "build_report", "dashboard_charts", "render_report", "soa_report"]


class ChartCache:
    """What the dashboard keeps between requests: the trends' past points (:class:`PastKpis`)
    and the SoA for ``soa_keep`` (it groups the whole ledger by workflow step: 0.65 s on a
    million rows, too much for every page view; the panel says when it was computed)."""

    def __init__(self, soa_keep: timedelta = timedelta(minutes=2)) -> None:
        self.kpis = PastKpis()
        self.soa_keep = soa_keep
        self._soa: tuple[datetime, Any] | None = None

    def soa(self, app: Any, conn: Connection, now: datetime) -> Any:
        if self._soa is None or not timedelta(0) <= now - self._soa[0] <= self.soa_keep:
            self._soa = (now, soa_report(app, conn, now))
        return self._soa[1]


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
    cache: ChartCache | None = None,
) -> ChartData:
    return gather_charts(
        conn,
        now,
        organisation=app.config.organisation,
        targets=app.config.kpi_targets,
        specs=app.runtime.specs,
        workflows=app.workflows,
        soa=cache.soa(app, conn, now) if cache else soa_report(app, conn, now),
        since=since,
        kept=cache.kpis if cache else None,
        configured_soa=app.config.soa,
    )


def dashboard_charts(
    app: Any, conn: Connection, now: datetime, cache: ChartCache | None = None
) -> tuple[ChartData, Charts]:
    """The dashboard's charts and the data behind them (its SoA in ``data.soa``); ``cache``
    keeps the slow parts between requests."""
    data = _gather(app, conn, now, None, cache)
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
