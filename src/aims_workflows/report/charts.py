"""The charts of the report and the dashboard, drawn from :class:`~.data.ChartData`.

:func:`draw` returns each chart as SVG markup, ready to be put in a page; both pages lay them
out their own way but draw the same pictures from the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup

from ..kpi import Kpi, format_target, format_value
from .data import AGE_BINS, LATENCY_BINS, TOP, ChartData
from .svg import Bar, Cell, Column, HeatRow, Series, bar_chart, column_chart, heat_map, line_chart

__all__ = ["Charts", "KpiTrend", "draw", "STATUS_COLOURS", "STATUS_WORDS"]

RISK, IMPACT, BAD, OK, NEUTRAL = "#0550ae", "#8250df", "#cf222e", "#1a7f37", "#57606a"

STATUS_COLOURS = {
    "implemented": "#4ac26b",
    "in_progress": "#eac54f",
    "described": "#80ccff",
    "no_evidence": "#ff8182",
    "excluded": "#d0d7de",
}
STATUS_TEXT = {"no_evidence": "#5c0a0a"}
STATUS_WORDS = {
    "implemented": "implemented, with evidence",
    "in_progress": "in progress",
    "described": "described, evidence outside aims",
    "no_evidence": "no evidence yet",
    "excluded": "excluded",
}
SEVERITY_COLOURS = {"major": "#cf222e", "minor": "#d4a72c", "observation": "#54aeff"}


@dataclass(frozen=True)
class KpiTrend:
    kpi: Kpi
    state: str  # "ok", "bad" or "none", as the KPI cards colour it
    chart: Markup


@dataclass(frozen=True)
class Charts:
    coverage: Markup
    trends: list[KpiTrend]
    overdue_by_who: Markup
    overdue_by_owner: Markup
    overdue_by_system: Markup
    latency: Markup
    ageing: Markup
    soa: Markup | None


def _percent(value: float) -> str:
    return f"{value:.0%}"


def _fmt_for(kpi: Kpi):
    if kpi.unit == "ratio":
        return _percent
    if kpi.unit == "count":
        return lambda v: f"{v:g}"
    return lambda v: f"{v:.1f} {'h' if kpi.unit == 'hours' else 'd'}"


def _coverage(data: ChartData) -> Markup:
    series = []
    for key, colour, dash, label in (
        ("risk_assessment_coverage", RISK, "", "risk assessed"),
        ("impact_assessment_coverage", IMPACT, "", "impact assessed"),
    ):
        series.append(
            Series(
                key,
                label,
                colour,
                [(p.at, p.value(key)) for p in data.history],
                target=data.kpi(key).target,
                dash=dash,
            )
        )
    return line_chart(
        "coverage",
        "In-scope AI systems with a current assessment, against the targets",
        series,
        fmt=_percent,
        top=1.0,
        width=760,
        height=260,
    )


def _trend(data: ChartData, kpi: Kpi) -> KpiTrend:
    colour = NEUTRAL if kpi.met is None else (OK if kpi.met else BAD)
    chart = line_chart(
        f"trend-{kpi.key}",
        f"{kpi.label}: trend",
        [
            Series(
                kpi.key,
                kpi.label,
                colour,
                [(p.at, p.value(kpi.key)) for p in data.history],
                target=kpi.target,
            )
        ],
        fmt=_fmt_for(kpi),
        tick_fmt=_percent if kpi.unit == "ratio" else (lambda v: f"{v:g}"),
        top=1.0 if kpi.unit == "ratio" else None,
        integer=kpi.unit == "count",
        width=320,
        height=150,
        legend=False,
    )
    state = "none" if kpi.met is None else ("ok" if kpi.met else "bad")
    return KpiTrend(kpi, state, chart)


def _bars(chart: str, title: str, rows: list[tuple[str, int]], empty: str) -> Markup:
    shown, rest = rows[:TOP], rows[TOP:]
    bars = [Bar(label, count, BAD) for label, count in shown]
    if rest:
        bars.append(Bar(f"{len(rest)} others", sum(c for _, c in rest), NEUTRAL))
    return bar_chart(chart, title, bars, empty=empty)


def _latency(data: ChartData) -> Markup:
    target_minutes = data.targets.median_approval_latency_hours * 60
    lower = [0, *(upper for _, upper in LATENCY_BINS[:-1])]
    columns = [
        Column(label, [("approvals", count)], highlight=low >= target_minutes)
        for (label, count), low in zip(data.latency, lower, strict=True)
    ]
    median = data.kpi("median_approval_latency_hours").value
    marker = None
    if median is not None:
        minutes = median * 60
        index = next(i for i, (_, upper) in enumerate(LATENCY_BINS) if minutes < upper)
        upper = LATENCY_BINS[index][1]
        fraction = (
            0.5
            if index == len(LATENCY_BINS) - 1
            else (minutes - lower[index]) / (upper - lower[index])
        )
        marker = (index + fraction, f"median {median:.1f} h")
    return column_chart(
        "latency",
        "Closed approvals by time from request to decision",
        columns,
        colours={"approvals": RISK},
        marker=marker,
        legend=False,
        empty="no approval decided yet",
    )


def _ageing(data: ChartData) -> Markup:
    target_days = data.targets.mean_days_to_close_nonconformity
    lower = [0, *(upper for _, upper in AGE_BINS[:-1])]
    severities = sorted(
        {s for _, counts in data.ageing for s in counts},
        key=lambda s: (list(SEVERITY_COLOURS).index(s) if s in SEVERITY_COLOURS else 9, s),
    )
    colours = {s: SEVERITY_COLOURS.get(s, NEUTRAL) for s in severities}
    columns = [
        Column(label, [(s, counts.get(s, 0)) for s in severities], highlight=low >= target_days)
        for (label, counts), low in zip(data.ageing, lower, strict=True)
    ]
    return column_chart(
        "ageing",
        "Open nonconformities by age",
        columns,
        colours=colours or {"open": BAD},
        empty="no open nonconformity",
    )


def _soa(data: ChartData) -> Markup | None:
    report = data.soa
    if report is None:
        return None
    rows: dict[str, list[Cell]] = {}
    for c in report.controls:
        words = STATUS_WORDS[c.status]
        tip = f"{c.id} {c.title}: " + ("GAP, " if c.gap else "") + words
        if not c.applicable and c.justification:
            tip += f" ({c.justification})"
        elif c.workflows:
            tip += f"; workflows: {c.workflows_text()}; {c.evidence_rows} ledger rows"
        rows.setdefault(c.group or "", []).append(Cell(c.id, c.status, tip, marked=c.gap))
    heat_rows = [
        HeatRow(f"{group} {report.group_titles.get(group, '')}".strip(), cells)
        for group, cells in rows.items()
    ]
    return heat_map(
        "soa",
        "Annex A controls by evidence status",
        heat_rows,
        colours=STATUS_COLOURS,
        labels=STATUS_WORDS,
        text_colours=STATUS_TEXT,
    )


def draw(data: ChartData) -> Charts:
    """Every chart, as SVG markup."""
    return Charts(
        coverage=_coverage(data),
        trends=[_trend(data, k) for k in data.kpis],
        overdue_by_who=_bars(
            "overdue-by-who",
            "Overdue tasks by who holds them",
            data.overdue_by_who,
            "no task is overdue",
        ),
        overdue_by_owner=_bars(
            "overdue-by-owner",
            "Overdue tasks by AI system owner",
            data.overdue_by_owner,
            "no task is overdue",
        ),
        overdue_by_system=_bars(
            "overdue-by-system",
            "Overdue tasks by AI system",
            data.overdue_by_system,
            "no task is overdue",
        ),
        latency=_latency(data),
        ageing=_ageing(data),
        soa=_soa(data),
    )


def kpi_words(kpi: Kpi) -> tuple[str, str]:
    """The value and the target as the KPI cards write them."""
    return format_value(kpi), format_target(kpi)
