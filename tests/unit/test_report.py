"""``aims report --html`` in-process on a database the runtime filled (SQLite and PostgreSQL), and
the SVG charts on their own: one self-contained file whose figures are the KPIs', clear refusals
for bad options, nothing half written; charts that escape what they draw and carry their numbers.
"""

from __future__ import annotations

import html
import json
import re
from datetime import timedelta

import pytest
from export_world import use_soa

from aims_workflows.cli import _output
from aims_workflows.report.svg import (
    Bar,
    Cell,
    Column,
    HeatRow,
    Series,
    bar_chart,
    column_chart,
    heat_map,
    line_chart,
    nice_ticks,
    number,
)
from aims_workflows.testing import utc
from conftest import CliResult, cli_environment, run_aims


@pytest.fixture
def aims(monkeypatch, capsys, tmp_path, harness, db_url, answers):
    """``aims(...)`` against the harness's database: a system assessed, a task left overdue."""
    monkeypatch.chdir(tmp_path)
    cli_environment(monkeypatch)
    monkeypatch.setenv("AIMS_DATABASE_URL", db_url)
    monkeypatch.setenv("AIMS_CONFIG", str(harness.config_path))
    h = harness
    _, started = h.add_system("Chatbot <b>")
    risk = next(r for r in started if h.run_row(r).workflow_id == "ai-risk-assessment")
    h.complete("identify", answers["risk.identify"], run_id=risk)
    h.complete("treat", answers["risk.treat"], run_id=risk)
    h.decide("rita@example.com", run_id=risk)

    def run(*args: str) -> CliResult:
        return run_aims(capsys, *args)

    yield run
    _output.console.cache_clear()
    _output.err_console.cache_clear()


def data_values(page: str, attribute: str, value: str) -> list[str]:
    return re.findall(rf'{attribute}="{re.escape(value)}" data-value="([^"]*)"', page)


def test_the_report_is_one_file_with_the_kpis_of_aims_kpi(aims, tmp_path):
    done = aims("report", "--html", "report.html")
    assert done.code == 0 and "wrote report.html" in done.out, done
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    kpis = json.loads(aims("kpi", "--format", "json").out)["kpis"]
    for k in kpis:
        shown = data_values(page, "data-kpi", k["key"])
        assert shown == ["" if k["value"] is None else repr(k["value"])], k["key"]
    # self-contained: nothing loaded from anywhere, no script
    for needle in ("<script", " src=", "http://", "https://", "url(", "@import"):
        assert needle not in page, needle
    assert page.count("<svg") >= 8 and 'data-chart="soa"' in page
    assert page.count('class="cell"') == 38
    assert "Chatbot &lt;b&gt;" in page and "Chatbot <b>" not in page


def test_with_a_control_excluded_in_the_soa_the_report_still_shows_aims_kpi(
    aims, harness, tmp_path
):
    use_soa(harness)  # A.10.4 not applicable: 37 controls apply, not 38
    assert aims("report", "--html", "report.html").code == 0
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    (controls,) = [
        k
        for k in json.loads(aims("kpi", "--format", "json").out)["kpis"]
        if k["key"] == "controls_with_current_evidence"
    ]
    assert "of 37 applicable" in controls["detail"], controls
    assert html.escape(controls["detail"]) in page  # the same count of applicable controls
    assert data_values(page, "data-kpi", controls["key"]) == [repr(controls["value"])], controls


def test_bad_options_are_refused_before_any_work(aims, tmp_path):
    (tmp_path / "there.html").write_text("keep me")
    exists = aims("report", "--html", "there.html")
    assert exists.code == 1 and "exists already" in exists.err and "--force" in exists.err
    assert (tmp_path / "there.html").read_text() == "keep me"
    assert aims("report", "--html", "there.html", "--force").code == 0
    assert "<svg" in (tmp_path / "there.html").read_text()

    bad_day = aims("report", "--html", "x.html", "--since", "31/12/2025")
    assert bad_day.code == 2 and "YYYY-MM-DD" in bad_day.err
    later = aims("report", "--html", "x.html", "--since", "2999-01-01")
    assert later.code == 2 and "before today" in later.err
    nowhere = aims("report", "--html", "missing/dir/x.html")
    assert nowhere.code == 1 and "does not exist" in nowhere.err
    assert aims("report").code == 2  # --html is required
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".html") == ["there.html"]
    assert not list(tmp_path.glob(".*.part"))


def test_since_sets_where_the_trends_start(aims, tmp_path):
    assert aims("report", "--html", "r.html", "--since", "2025-12-01").code == 0
    page = (tmp_path / "r.html").read_text()
    firsts = set(re.findall(r'data-chart="trend-[a-z_]+" data-first="([^"]+)"', page))
    assert firsts == {"2025-12-01T00:00:00+00:00"}


# -- the charts on their own ------------------------------------------------------------------
T = utc(2026, 3, 1)


def test_a_line_chart_carries_its_values_and_breaks_at_missing_ones():
    svg = line_chart(
        "c",
        "Coverage <x>",
        [
            Series(
                "k",
                "risk & <b>",
                "#000",
                [(T, 0.5), (T + timedelta(days=1), None), (T + timedelta(days=2), 2 / 3)],
                target=0.95,
            )
        ],
        fmt=lambda v: f"{v:.0%}",
        top=1.0,
    )
    assert re.findall(
        r'class="point" data-series="k" data-at="[^"]+" data-value="([^"]*)"', svg
    ) == [
        "0.5",
        repr(2 / 3),
    ]
    assert "<polyline" not in svg  # two single points: no segment crosses the missing value
    assert 'class="target" data-series="k" data-value="0.95"' in svg
    assert "risk &amp; &lt;b&gt;" in svg and "Coverage &lt;x&gt;" in svg and "<b>" not in svg
    empty = line_chart("e", "Nothing", [], fmt=str)
    assert "no data yet" in empty


def test_bars_columns_and_cells_add_up_and_escape():
    bars = bar_chart("b", "Overdue", [Bar("<i>eve</i>", 3, "#c00"), Bar("x" * 80, 1, "#c00")])
    assert 'data-total="4"' in bars and "&lt;i&gt;eve&lt;/i&gt;" in bars
    assert f'data-label="{"x" * 80}"' in bars and "x" * 80 + "<" not in bars  # cut on screen
    assert "no task" in bar_chart("b", "Overdue", [], empty="no task")
    columns = column_chart(
        "a",
        "Age",
        [Column("0–30 d", [("major", 1), ("minor", 2)]), Column("> 180 d", [("minor", 1)], True)],
        colours={"major": "#c00", "minor": "#ca0"},
        marker=(0.5, "median"),
    )
    assert 'data-total="4"' in columns and 'data-label="0–30 d" data-value="3"' in columns
    assert "median" in columns
    assert "none open" in column_chart("a", "Age", [], colours={}, empty="none open")
    cells = heat_map(
        "h",
        "SoA",
        [
            HeatRow(
                "A.2 Policies",
                [Cell("A.2.2", "implemented", "tip <&>"), Cell("A.2.3", "gap", "t", True)],
            )
        ],
        colours={"implemented": "#0a0"},
        labels={"implemented": "implemented"},
    )
    assert (
        'data-cells="2"' in cells and 'data-marked="true"' in cells and "tip &lt;&amp;&gt;" in cells
    )
    assert "implemented (1)" in cells


def test_numbers_and_ticks():
    assert number(None) == "" and number(2 / 3) == repr(2 / 3) and number(3) == "3"
    assert nice_ticks(0) == [0.0, 1.0]
    assert nice_ticks(7) == [0, 2, 4, 6, 8]
    assert nice_ticks(1, integer=True) == [0, 1]
    assert nice_ticks(0.3)[-1] >= 0.3


def test_answers_read_as_people_write_them_in_the_forms_order():
    from aims_workflows.kpi.html import _answers

    given = (("b", True), ("a", [1.0, "x"]), ("extra", None), ("c", 2.5))
    labels = {"a": "First", "b": "Second", "c": "Third"}
    assert _answers(given, labels) == [
        ("First", "1, x"),
        ("Second", "yes"),
        ("Third", "2.5"),
        ("extra", "–"),  # not in the form (a later version dropped it): named by its id
    ]
    assert _answers(given, {}) == [("b", "yes"), ("a", "1, x"), ("extra", "–"), ("c", "2.5")]


def test_a_long_breakdown_draws_its_top_rows_and_counts_the_rest_together():
    from aims_workflows.report.charts import _bars

    rows = [(f"person{i}@example.com", 20 - i) for i in range(15)]
    svg = _bars("who", "Overdue", rows, "none")
    labels = re.findall(r'class="bar" data-label="([^"]+)" data-value="([^"]+)"', svg)
    assert len(labels) == 13 and labels[0] == ("person0@example.com", "20")
    assert labels[-1] == ("3 others", repr(8 + 7 + 6))
    assert 'data-total="' + repr(sum(c for _, c in rows)) + '"' in svg
