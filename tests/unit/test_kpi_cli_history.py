"""``aims kpi --at`` against what ``aims kpi`` printed: the CLI driven over several days with an
injected clock; at each day's close the KPIs are printed and kept, for the whole AIMS and cut by
system, tier and workflow; later, ``--at`` each of those days prints the same values. Also
``--explain``, and bad input named with how to fix it."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from aims_workflows.kpi.queries import definitions
from aims_workflows.kpi.snapshots import day_close
from aims_workflows.store import Database
from aims_workflows.testing import ManualClock

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
RISK = [
    "risk_title=Biased answers",
    "risk_description=Skewed training data",
    "risk_sources=bias_fairness,data_quality",
    "affected_parties=customers",
    "likelihood=2",
    "impact=3",
    "rating_rationale=complaints",
]
TREAT = ["treatment=accept", "residual_likelihood=1", "residual_impact=2", "rationale=low"]
CUTS = [(), ("--system", "Chatbot"), ("--tier", "high"), ("--workflow", "ai-risk-assessment")]


@pytest.fixture
def clock(monkeypatch) -> ManualClock:
    """The CLI's clock: every command opens the application on this one."""
    clock = ManualClock(START)
    monkeypatch.setattr("aims_workflows.app.SystemClock", lambda: clock)
    return clock


def _answers(items: list[str]) -> list[str]:
    return [arg for item in items for arg in ("--answer", item)]


def _kpis(aims, *args: str) -> list[dict]:
    result = aims("kpi", "--format", "json", *args)
    assert result.code == 0, result
    return json.loads(result.out)["kpis"]


def _risk_run(aims, system: str) -> str:
    listed = aims("runs", "list", "--workflow", "ai-risk-assessment")
    line = next(line for line in listed.out.splitlines() if system in line)
    found = re.search(r"\bR[0-9A-F]{10}\b", line)
    assert found, listed
    return found.group(0)


def test_kpi_at_a_past_day_prints_what_kpi_printed_as_that_day_closed(ready, clock, tmp_path):
    aims = ready
    printed: dict[str, dict[tuple[str, ...], list[dict]]] = {}

    def close_the_day() -> None:
        day = clock.now().date()
        clock.set(day_close(day))
        printed[day.isoformat()] = {cut: _kpis(aims, *cut) for cut in CUTS}
        clock.set(datetime.combine(day + timedelta(days=1), START.timetz()))

    # day 1: two systems registered; their assessments start
    assert (
        aims(
            "systems", "add", "Chatbot", "--owner", "olga@example.com", "--set", "risk_tier=high"
        ).code
        == 0
    )
    assert (
        aims(
            "systems", "add", "Scorer", "--owner", "olga@example.com", "--set", "risk_tier=limited"
        ).code
        == 0
    )
    close_the_day()
    # day 2: the Chatbot's risk identified
    chatbot = _risk_run(aims, "Chatbot")
    done = aims(
        "tasks", "complete", chatbot, "identify", "--as", "eve@example.com", *_answers(RISK)
    )
    assert done.code == 0, done
    close_the_day()
    # day 3: nothing happens (its values are stored by day 4's first command)
    close_the_day()
    # day 4: treated, and approved by the risk owner: the Chatbot's risk coverage is current
    assert (
        aims(
            "tasks", "complete", chatbot, "treat", "--as", "rita@example.com", *_answers(TREAT)
        ).code
        == 0
    )
    decided = aims(
        "approvals",
        "decide",
        f"{chatbot}.accept_owner.1.1",
        "approve",
        "--as",
        "rita@example.com",
        "--reason",
        "acceptable",
    )
    assert decided.code == 0, decided
    close_the_day()
    # days 5 to 14: quiet; the first tasks fall overdue on day 11 (due 10 days after issue)
    for _ in range(10):
        close_the_day()
    # day 15: a command again, then every past day is asked for
    scorer = _risk_run(aims, "Scorer")
    assert (
        aims(
            "tasks", "complete", scorer, "identify", "--as", "eve@example.com", *_answers(RISK)
        ).code
        == 0
    )

    days = sorted(printed)
    assert len(days) == 14
    for day in days:
        for cut in CUTS:
            asked = aims("kpi", "--format", "json", "--at", day, *cut)
            assert asked.code == 0, asked
            answer = json.loads(asked.out)
            assert answer["kpis"] == printed[day][cut], (day, cut)
            assert answer["source"] == "history" and answer["at"].startswith(day + "T23:59:59")

    # the values did move over those days, so the equality above says something
    def value(day: str, key: str, cut: tuple[str, ...] = ()) -> float | None:
        return next(k["value"] for k in printed[day][cut] if k["key"] == key)

    assert value(days[0], "risk_assessment_coverage") == 0.0
    assert value(days[3], "risk_assessment_coverage") == 0.5
    assert value(days[3], "risk_assessment_coverage", ("--system", "Chatbot")) == 1.0
    assert value(days[3], "risk_assessment_coverage", ("--tier", "high")) == 1.0
    assert value(days[0], "overdue_tasks") == 0 and value(days[-1], "overdue_tasks") > 0
    assert value(days[3], "median_approval_latency_hours") is not None
    assert (
        value(days[0], "median_approval_latency_hours", ("--workflow", "ai-risk-assessment"))
        is None
    )

    # the history is stored: one row per day for the AIMS, each system, tier and workflow
    db = Database(f"sqlite:///{tmp_path / 'aims.db'}")
    with db.connect() as conn:
        stored_days = (
            conn.execute(
                text("SELECT DISTINCT day FROM kpi_snapshots WHERE scope = '' ORDER BY day")
            )
            .scalars()
            .all()
        )
        scopes = set(conn.execute(text("SELECT scope FROM kpi_snapshots")).scalars())
    db.dispose()
    assert stored_days == days
    assert {
        "",
        "system:Chatbot",
        "system:Scorer",
        "tier:high",
        "tier:limited",
        "workflow:ai-risk-assessment",
        "workflow:ai-impact-assessment",
    } <= scopes

    # today: --at today is what `aims kpi` prints now
    today = clock.now().date().isoformat()
    now_answer = json.loads(aims("kpi", "--format", "json", "--at", today).out)
    assert now_answer["source"] == "live" and now_answer["kpis"] == _kpis(aims)
    # and the table says which day it shows
    table = aims("kpi", "--at", days[1], "--system", "Chatbot")
    assert table.code == 0 and f"for AI system Chatbot as {days[1]} closed" in table.out


def test_a_day_after_the_last_command_is_measured_at_its_close(ready, clock):
    aims = ready
    assert aims("systems", "add", "Chatbot", "--owner", "olga@example.com").code == 0
    day = clock.now().date()
    clock.set(day_close(day + timedelta(days=10)))
    printed = _kpis(aims)
    clock.advance(days=3)
    answer = json.loads(
        aims("kpi", "--format", "json", "--at", (day + timedelta(days=10)).isoformat()).out
    )
    assert answer["source"] == "unchanged" and answer["kpis"] == printed
    assert next(k for k in printed if k["key"] == "overdue_tasks")["value"] == 2


def test_bad_kpi_questions_say_what_is_wrong(ready, clock):
    aims = ready
    assert (
        aims(
            "systems", "add", "Chatbot", "--owner", "olga@example.com", "--set", "risk_tier=high"
        ).code
        == 0
    )
    not_a_day = aims("kpi", "--at", "31/03/2026")
    assert not_a_day.code == 1 and "not a date" in not_a_day.err and "YYYY-MM-DD" in not_a_day.err
    future = aims("kpi", "--at", "2026-04-30")
    assert future.code == 1 and "after today (2026-03-02)" in future.err
    nobody = aims("kpi", "--system", "Chatbox")
    assert nobody.code == 1 and "no AI system 'Chatbox'" in nobody.err and "Chatbot" in nobody.err
    tier = aims("kpi", "--tier", "extreme")
    assert tier.code == 1 and "the tiers in use are: high" in tier.err
    workflow = aims("kpi", "--workflow", "nope")
    assert workflow.code == 1 and "no workflow 'nope'" in workflow.err
    both = aims("kpi", "--system", "Chatbot", "--tier", "high")
    assert both.code == 1 and "one of --system, --tier, --workflow" in both.err
    unknown = aims("kpi", "--explain", "speed")
    assert unknown.code == 1 and "no KPI 'speed'" in unknown.err and "overdue_tasks" in unknown.err
    # a system registered after the day asked for has no history for it
    clock.advance(days=2)
    assert aims("systems", "add", "Scorer", "--owner", "olga@example.com").code == 0
    clock.advance(days=1)
    assert aims("systems", "set", "Scorer", "users=staff").code == 0
    before = aims("kpi", "--at", "2026-03-02", "--system", "Scorer")
    assert (
        before.code == 1 and "no KPI values kept for AI system Scorer on 2026-03-02" in before.err
    )
    assert "begins on 2026-03-04" in before.err


def test_explain_prints_every_definition(ready, clock):
    aims = ready
    every = aims("kpi", "--explain")
    assert every.code == 0, every
    for definition in definitions():
        assert f"{definition.key}: {definition.label}" in every.out
    for heading in ("base measures", "formula", "indicator", "target", "frequency", "owner"):
        assert every.out.count(f"  {heading}") == len(definitions())
    one = aims("kpi", "--explain", "mean_days_to_close_nonconformity")
    assert "<= 60 days (kpi_targets.mean_days_to_close_nonconformity in aims.yaml)" in one.out
    assert "overdue_tasks" not in one.out
    as_json = json.loads(aims("kpi", "--explain", "--format", "json").out)
    assert [d["key"] for d in as_json] == [d.key for d in definitions()]
    assert all(d["target"] and d["owner"] and d["base_measures"] for d in as_json)


def test_targets_from_aims_yaml_are_explained_and_an_empty_one_is_refused(ready, clock, tmp_path):
    aims = ready
    config = tmp_path / "aims.yaml"
    base = config.read_text(encoding="utf-8")
    config.write_text(base + "kpi_targets:\n  overdue_tasks: 3\n", encoding="utf-8")
    shown = aims("kpi", "--explain", "overdue_tasks")
    assert shown.code == 0 and "target            <= 3 " in shown.out
    config.write_text(base + "kpi_targets:\n  overdue_tasks:\n", encoding="utf-8")
    refused = aims("kpi")
    assert refused.code == 1
    assert "kpi_targets.overdue_tasks has no value: give a number (the default is 0)" in refused.err
