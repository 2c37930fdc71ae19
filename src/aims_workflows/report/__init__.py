"""Reports people would rather look at than read: the KPIs, their trends, overdue work,
approval latency, nonconformity ageing and the Statement of Applicability as SVG charts drawn on
the server (:mod:`.svg`, :mod:`.charts`) from the KPI code's numbers (:mod:`.data`), for the
dashboard and for ``aims report --html`` (:mod:`.html`), one self-contained file.

>>> html = build_report(app, now=clock.now())            # doctest: +SKIP
"""

from __future__ import annotations

from .charts import Charts, draw
from .data import ChartData, gather_charts
from .html import ChartCache, build_report, dashboard_charts, render_report

__all__ = [
    "ChartCache",
    "ChartData",
    "Charts",
    "build_report",
    "dashboard_charts",
    "draw",
    "gather_charts",
    "render_report",
]
