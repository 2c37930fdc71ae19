"""KPIs at past moments, rebuilt from the dated records, on SQLite and PostgreSQL: a world driven
through the runtime with an injected clock, read back at moments before, between and after what
happened; at the present the rebuild equals the live KPIs (`aims kpi`)."""

from __future__ import annotations

from datetime import timedelta

from aims_workflows.kpi import compute_kpis
from aims_workflows.kpi.history import (
    KpiHistory,
    PastKpis,
    first_activity,
    kpi_series,
    kpis_at,
    moments,
)
from aims_workflows.kpi.queries import KpiContext
from aims_workflows.testing import utc


def values(kpis) -> dict:
    return {k.key: k.value for k in kpis}


def test_past_kpis_follow_what_happened_and_end_on_the_live_ones(harness, answers):
    h = harness
    targets = h.app.config.kpi_targets
    start = h.clock.now()
    _, started = h.add_system("Chatbot")
    risk = next(r for r in started if h.run_row(r).workflow_id == "ai-risk-assessment")
    h.clock.advance(days=2)
    h.complete("identify", answers["risk.identify"], run_id=risk)
    h.complete("treat", answers["risk.treat"], run_id=risk)
    h.clock.advance(hours=5)
    h.decide("rita@example.com", run_id=risk)  # closes the approval after 5 hours
    assessed = h.clock.now()
    h.clock.advance(days=20)  # the impact assessment's first task is overdue by now
    now = h.clock.now()

    with h.db.connect() as conn:
        history = KpiHistory(
            conn,
            targets,
            specs=h.rt.specs,
            workflows=h.app.workflows,
            now=now,
            earliest=start,
        )
        before = values(history.at(start + timedelta(hours=1)).kpis)
        between = values(history.at(assessed - timedelta(minutes=1)).kpis)
        after = values(history.at(assessed + timedelta(minutes=1)).kpis)
        rebuilt_now = history.rebuilt(now)
        live = compute_kpis(conn, now, targets, context=KpiContext(h.app.workflows))
        single = kpis_at(
            conn,
            start + timedelta(hours=1),
            targets,
            specs=h.rt.specs,
            workflows=h.app.workflows,
            now=now,
        )
        first = first_activity(conn)

    assert before["risk_assessment_coverage"] == 0.0 and before["overdue_tasks"] == 0
    assert before["open_tasks"] == 2  # risk identify and impact context, both just issued
    assert before["median_approval_latency_hours"] is None
    assert between["risk_assessment_coverage"] == 0.0
    assert after["risk_assessment_coverage"] == 1.0
    assert after["median_approval_latency_hours"] == values(live)["median_approval_latency_hours"]
    assert 4.9 < after["median_approval_latency_hours"] < 5.1
    assert values(live)["overdue_tasks"] >= 1 and values(rebuilt_now) == values(live)
    assert rebuilt_now == live  # labels, targets, met and details too
    assert values(single) == before
    assert first == start


def test_the_last_point_of_a_series_is_the_live_kpis(harness):
    h = harness
    h.add_system("Chatbot")
    h.clock.advance(days=40)
    now = h.clock.now()
    with h.db.connect() as conn:
        history = KpiHistory(
            conn, h.app.config.kpi_targets, specs=h.rt.specs, workflows=h.app.workflows, now=now
        )
        series = history.series(moments(first_activity(conn), now))
        live = compute_kpis(
            conn, now, h.app.config.kpi_targets, context=KpiContext(h.app.workflows)
        )
    assert series[-1].at == now and series[-1].kpis == live
    assert [p.at for p in series] == sorted(p.at for p in series)
    assert series[0].value("open_tasks") == 2 and series[-1].value("overdue_tasks") == 2


def test_moments_pick_days_weeks_or_months_by_the_span():
    now = utc(2026, 6, 10, 15)
    assert moments(None, now) == [now]
    assert moments(now, now) == [now]
    days = moments(utc(2026, 6, 1, 9), now)
    assert days[0] == utc(2026, 6, 1, 9) and days[-1] == now
    assert days[1:-1] == [utc(2026, 6, d) for d in range(2, 11)]
    weeks = moments(utc(2026, 3, 1), now)
    assert all(m.weekday() == 0 and m.hour == 0 for m in weeks[1:-1])
    assert all((b - a) == timedelta(days=7) for a, b in zip(weeks[1:-2], weeks[2:-1], strict=True))
    months = moments(utc(2024, 1, 1), now)
    # at most a year (and a day) back by default, from a midnight: the same moments all day
    assert (
        months[0] == utc(2025, 6, 9)
        and moments(utc(2024, 1, 1), now + timedelta(hours=3))[:-1] == months[:-1]
    )
    assert all(m.day == 1 for m in months[1:-1]) and len(months) == 14
    longer = moments(utc(2024, 1, 1), now, longest=timedelta(days=10_000))
    assert longer[0] == utc(2024, 1, 1) and len(longer) == 31


def test_kept_past_points_are_reused_for_a_while_and_the_present_is_always_live(harness):
    h = harness
    h.add_system("Chatbot")
    start = h.clock.now()
    h.clock.advance(days=3)
    kept = PastKpis(keep=timedelta(minutes=10))
    targets = h.app.config.kpi_targets

    def series(now):
        with h.db.connect() as conn:
            at = [start + timedelta(hours=1), start + timedelta(days=1), now]
            return kpi_series(
                conn, at, targets, specs=h.rt.specs, workflows=h.app.workflows, now=now, kept=kept
            )[0]

    first = series(h.clock.now())
    # a system added now does not change the past; the live point sees it at once
    h.add_system("Scorer")
    h.clock.advance(minutes=5)
    second = series(h.clock.now())
    assert [p.kpis for p in second[:2]] == [p.kpis for p in first[:2]]
    assert second[0] is first[0]  # reused, not rebuilt
    assert "of 2" in second[-1].kpi("risk_assessment_coverage").detail
    h.clock.advance(minutes=10)  # past the keep: rebuilt (same values: the past did not change)
    third = series(h.clock.now())
    assert third[0] is not first[0] and third[0].kpis == first[0].kpis
