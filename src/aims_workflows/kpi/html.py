"""The dashboard's HTML: Jinja2 templates in ``templates/``, autoescaped, no scripts, no external
assets (the page works offline and prints)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from markupsafe import Markup, escape

from .render import format_target, format_value

__all__ = [
    "render_dashboard",
    "render_run",
    "render_error",
    "render_page",
    "format_age",
    "is_run_id",
    "RUN_ID",
]

RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,199}")
"""What a run id may look like in a URL: ``R`` and ten hex digits, or a spawned run's
``<parent>.<step><attempt>.<n>``."""

_JIRA_KEY = re.compile(r"[A-Z][A-Z0-9_]+-[0-9]+")


def is_run_id(text: str | None) -> bool:
    return text is not None and RUN_ID.fullmatch(text) is not None


def format_age(delta: timedelta) -> str:
    """``3 days``, ``5 h``, ``12 min``: precise enough to act on, short enough for a table."""
    seconds = max(int(delta.total_seconds()), 0)
    if seconds >= 2 * 86400:
        return f"{seconds // 86400} days"
    if seconds >= 86400:
        return "1 day"
    if seconds >= 3600:
        return f"{seconds // 3600} h"
    return f"{seconds // 60} min"


def _when(moment: datetime | None) -> str:
    return "" if moment is None else moment.strftime("%Y-%m-%d %H:%M")


def _when_cell(moment: datetime | None) -> Markup:
    """A date and time for a table cell: it may wrap between the two, never inside either."""
    if moment is None:
        return Markup("")
    return Markup('<span class="nowrap">{}</span> <span class="nowrap">{}</span>').format(
        moment.strftime("%Y-%m-%d"), moment.strftime("%H:%M")
    )


def _day(moment: datetime | None) -> str:
    return "" if moment is None else moment.strftime("%Y-%m-%d")


def _number(value: float | None) -> str:
    """A figure for a ``data-value`` attribute: as ``json`` writes it, empty for none."""
    return "" if value is None else repr(value)


def _breakable(text: str | None) -> Markup:
    """An e-mail address (or any text) that may wrap before its ``@`` in a narrow column, where
    a browser would otherwise keep it on one line and widen the table."""
    if not text:
        return Markup("")
    return Markup("<wbr>@").join(escape(part) for part in str(text).split("@"))


def _breakable_id(text: str | None) -> Markup:
    """A run id that may wrap after a dot (``RUN-004.action1.1``, a spawned run's), so a narrow
    table keeps to the window; copying it still gives the id, as ``<wbr>`` adds no text."""
    if not text:
        return Markup("")
    return Markup("<wbr>.").join(escape(part) for part in str(text).split("."))


def _segment(text: str) -> str:
    """One URL path segment: everything but unreserved characters percent-encoded."""
    return quote(text, safe="")


@lru_cache(maxsize=1)
def _environment():
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,  # every value is escaped, whatever the template's file name
        # a misspelt name fails the test suite instead of printing nothing
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        when=_when,
        when_cell=_when_cell,
        day=_day,
        age=format_age,
        segment=_segment,
        kpi_value=format_value,
        kpi_target=format_target,
        num=_number,
        breakable=_breakable,
        breakable_id=_breakable_id,
        answers=_answers,
    )
    env.globals.update(kpi_definition=_kpi_definition)
    env.tests.update(
        run_id=is_run_id, jira_key=lambda s: bool(s) and _JIRA_KEY.fullmatch(s) is not None
    )
    return env


def _kpi_definition(key: str) -> Any:
    """The written definition of KPI ``key`` (None for a KPI no longer defined, as an old
    snapshot may name)."""
    from .queries import definitions

    return next((d for d in definitions() if d.key == key), None)


def _render(template: str, **context: Any) -> str:
    return _environment().get_template(template).render(**context)


def render_dashboard(
    data: Any,
    *,
    jira_url: str | None = None,
    charts: Any = None,
    soa: Any = None,
    since: datetime | None = None,
) -> str:
    """The dashboard page for a :class:`~aims_workflows.kpi.dashboard.DashboardData`, with the
    charts of :func:`aims_workflows.report.charts.draw` and the SoA panel when given."""
    return _render(
        "dashboard.html",
        d=data,
        organisation=data.organisation,
        jira_url=(jira_url or "").rstrip("/") or None,
        charts=charts,
        soa=soa,
        since=since,
    )


def render_page(template: str, **context: Any) -> str:
    """Any page of ``templates/`` (the report's), with the dashboard's filters and escaping."""
    return _render(template, **context)


def render_run(
    timeline: Any,
    *,
    organisation: str,
    generated_at: datetime,
    jira_url: str | None = None,
    labels: dict[str, dict[str, str]] | None = None,
) -> str:
    """The page of one run, for a :class:`~aims_workflows.kpi.timeline.RunTimeline`. ``labels``
    (:func:`~aims_workflows.kpi.timeline.form_labels` of the run's workflow version) names the
    answers of completed tasks as their forms do; without it they are named by field id."""
    return _render(
        "run.html",
        t=timeline,
        run=timeline.run,
        organisation=organisation,
        generated_at=generated_at,
        jira_url=(jira_url or "").rstrip("/") or None,
        labels=labels or {},
    )


def _answer(value: Any) -> str:
    """An answer as a person reads it: yes/no, lists joined, numbers without a trailing .0."""
    if value is None or value == "" or value == []:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return ", ".join(_answer(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_answer(v)}" for k, v in value.items())
    return str(value)


def _answers(answers: tuple[tuple[str, Any], ...], labels: dict[str, str]) -> list[tuple[str, str]]:
    """(label, value) of each answer, in the form's order, then any the form does not name."""
    given = dict(answers)
    ordered = [(labels[k], _answer(given[k])) for k in labels if k in given]
    return ordered + [(k, _answer(v)) for k, v in answers if k not in labels]


def render_error(status: int, title: str, message: str, *, organisation: str = "") -> str:
    return _render(
        "error.html", status=status, title=title, message=message, organisation=organisation
    )
