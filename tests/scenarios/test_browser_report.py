"""The report and the dashboard as a person sees them: opened in a real headless Chromium over the
demo's database, at 800 and 1400 px wide.

Each page must load with no console error, exception or blocked resource; the report must load
nothing at all; every KPI a card or a chart shows must equal what `aims kpi --format json` prints
(read from the pages' data attributes, and as the cards write them); the SoA heat map must hold the
controls `aims export soa --format json` lists, with their statuses; nothing may be wider than the
window, and no table may need scrolling at 800 px. Screenshots are kept (AIMS_TEST_ARTEFACTS, else
the test's tmp_path; the path is printed).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import httpx
import pytest

from aims_workflows.kpi import Kpi, format_value
from browser import artefacts, browser  # noqa: F401 - fixtures

WIDTHS = (800, 1400)
AIMS = str(Path(sys.executable).with_name("aims"))


def aims(env: dict[str, str], *args: str) -> str:
    """Run the installed ``aims`` command as a person would; its standard output."""
    done = subprocess.run(
        [AIMS, *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> dict[str, str]:
    """The demo's database and configuration, and the environment that points `aims` at them."""
    folder = tmp_path_factory.mktemp("demo")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIMS_")}
    env.update(COLUMNS="200", NO_COLOR="1")
    aims(env, "demo", "--db", str(folder / "aims-demo.db"), "--quiet")
    env.update(
        AIMS_DATABASE_URL=f"sqlite:///{folder / 'aims-demo.db'}",
        AIMS_CONFIG=str(folder / "aims-demo.yaml"),
    )
    return env


@pytest.fixture(scope="module")
def kpi_json(demo) -> dict[str, Kpi]:
    printed = json.loads(aims(demo, "kpi", "--format", "json"))
    return {k["key"]: Kpi(**k) for k in printed["kpis"]}


@pytest.fixture(scope="module")
def soa_json(demo) -> dict[str, dict]:
    printed = json.loads(aims(demo, "export", "soa", "--format", "json"))
    return {c["id"]: c for c in printed["controls"]}


# What the pages hold, read in the browser: each entry is a JavaScript expression.
READ = {
    "cards": """Object.fromEntries(Array.from(document.querySelectorAll('.card .value[data-kpi]'))
        .map(e => [e.dataset.kpi, [e.dataset.value, e.textContent.trim()]]))""",
    "last_points": """(() => { const last = {};
        for (const svg of document.querySelectorAll('svg.chart-svg')) {
          for (const p of svg.querySelectorAll('circle.point')) {
            const key = svg.dataset.chart + ' ' + p.dataset.series;
            if (!(key in last) || p.dataset.at > last[key][0])
              last[key] = [p.dataset.at, p.dataset.value];
          } }
        return last; })()""",
    "totals": """Object.fromEntries(
        Array.from(document.querySelectorAll('svg.chart-svg[data-total]'))
        .map(s => [s.dataset.chart, Number(s.dataset.total)]))""",
    "cells": """Object.fromEntries(
        Array.from(document.querySelectorAll('svg[data-chart=soa] g.cell'))
        .map(c => [c.dataset.id, [c.dataset.status, c.dataset.marked === 'true']]))""",
    "charts": """Array.from(document.querySelectorAll('svg.chart-svg')).map(s => {
        const r = s.getBoundingClientRect(), f = s.closest('figure').getBoundingClientRect();
        return [s.dataset.chart, r.width, r.height, r.right <= f.right + 0.5]; })""",
    "page_width": "[document.documentElement.scrollWidth, document.documentElement.clientWidth]",
    "table_scroll": """Array.from(document.querySelectorAll('.table-wrap'))
        .map(w => [w.scrollWidth, w.clientWidth])""",
    "resources": "performance.getEntriesByType('resource').map(r => r.name)",
}


def read(page) -> dict:
    return {name: page.evaluate(expression) for name, expression in READ.items()}


def check_numbers(seen: dict, kpis: dict[str, Kpi]) -> None:
    """Every KPI shown equals the KPI JSON: cards (value and words), the trends' and the coverage
    chart's last points, and the totals of the breakdowns that explain a KPI."""
    assert set(seen["cards"]) == set(kpis)
    for key, (value, words) in seen["cards"].items():
        expected = kpis[key].value
        assert (float(value) if value else None) == expected, key
        assert words == format_value(kpis[key]), key
    last = seen["last_points"]
    for key, kpi in kpis.items():
        if kpi.value is not None:
            assert float(last[f"trend-{key} {key}"][1]) == kpi.value, key
    for key in ("risk_assessment_coverage", "impact_assessment_coverage"):
        assert float(last[f"coverage {key}"][1]) == kpis[key].value
    totals = seen["totals"]
    assert totals["overdue-by-who"] == kpis["overdue_tasks"].value
    assert totals["overdue-by-owner"] == kpis["overdue_tasks"].value
    assert totals["overdue-by-system"] == kpis["overdue_tasks"].value
    # "over 12 closed approvals"
    assert totals["latency"] == int(kpis["median_approval_latency_hours"].detail.split()[1])
    # the ageing chart counts every nonconformity not closed: open ones and those whose action
    # is done and awaits its effectiveness check
    parts = kpis["mean_days_to_close_nonconformity"].breakdown or {}
    assert totals["ageing"] == int(parts.get("open", 0) + parts.get("awaiting_check", 0))


def check_soa(seen: dict, controls: dict[str, dict]) -> None:
    assert seen["cells"] == {cid: [c["status"], c["gap"]] for cid, c in controls.items()}, (
        "the heat map differs from `aims export soa`"
    )
    assert len(controls) == 38


def check_layout(seen: dict, width: int) -> None:
    scroll, client = seen["page_width"]
    assert scroll <= client, f"the page is {scroll} px wide in a {client} px window"
    for name, w, h, inside in seen["charts"]:
        assert w > 100 and h > 20 and inside, f"chart {name} is {w}x{h} px (inside: {inside})"
    if width <= 800:
        wide = [(s, c) for s, c in seen["table_scroll"] if s > c]
        assert not wide, f"tables that need scrolling at {width} px: {wide}"


def test_the_report_opens_in_chromium_with_the_kpis_of_aims_kpi(
    demo, kpi_json, soa_json, browser, artefacts, tmp_path
):
    report = tmp_path / "report.html"
    aims(demo, "report", "--html", str(report))
    for width in WIDTHS:
        with browser.page(width=width) as page:
            page.goto(report.as_uri())
            seen = read(page)
            shot = page.screenshot(artefacts / f"report-{width}.png")
            assert page.errors == [], page.errors
        assert seen["resources"] == [], "the report loaded something"
        check_numbers(seen, kpi_json)
        check_soa(seen, soa_json)
        check_layout(seen, width)
        assert shot.stat().st_size > 10_000


@pytest.fixture(scope="module")
def served(demo):
    """The real web app over the demo database, on loopback."""
    from aims_workflows.sandbox._server import BackgroundServer
    from aims_workflows.web import create_app

    with pytest.MonkeyPatch.context() as patch:
        for key, value in demo.items():
            if key.startswith("AIMS_"):
                patch.setenv(key, value)
        from aims_workflows.cli._context import open_cli_app

        app = open_cli_app()
        server = BackgroundServer(create_app(app, process_in_background=False)).start()
    yield server.url
    server.stop()
    app.db.dispose()


def test_the_dashboard_opens_in_chromium_with_the_kpis_of_aims_kpi(
    served, kpi_json, soa_json, browser, artefacts
):
    for width in WIDTHS:
        with browser.page(width=width) as page:
            page.goto(f"{served}/dashboard")
            seen = read(page)
            page.screenshot(artefacts / f"dashboard-{width}.png")
            assert page.errors == [], page.errors
        check_numbers(seen, kpi_json)
        check_soa(seen, soa_json)
        check_layout(seen, width)
    assert Counter(s for s, _ in seen["cells"].values())["implemented"] >= 1


def test_a_run_page_shows_answers_under_their_labels_in_chromium(demo, served, browser, artefacts):
    # the chatbot's first risk assessment, as `aims runs list` names it
    listed = json.loads(aims(demo, "runs", "list", "--format", "json"))
    [run_id, *_] = sorted(
        (r["run"] for r in listed
         if r["workflow"].startswith("ai-risk-assessment ") and r["subject"] == "Support chatbot"),
        key=lambda run: int(run.split("-")[1].split(".")[0]),
    )  # fmt: skip
    assert httpx.get(f"{served}/dashboard/runs/{run_id}").status_code == 200
    with browser.page(width=800) as page:
        page.goto(f"{served}/dashboard/runs/{run_id}")
        answers = page.evaluate(
            """Array.from(document.querySelectorAll('dl.answers')).map(dl =>
                Array.from(dl.querySelectorAll('dt')).map(dt =>
                    [dt.textContent.trim(), dt.nextElementSibling.textContent.trim()]))"""
        )
        seen = read(page)
        page.screenshot(artefacts / "run-800.png")
        assert page.errors == [], page.errors
    check_layout(seen, 800)
    identify = dict(answers[0])
    assert identify["Risk title"] == "Confidently wrong answers about fees and card blocking"
    assert identify["Likelihood (1 rare - 5 almost certain)"] == "3"
