"""The KPIs measured on a world driven through the runtime with an injected clock, on SQLite and
PostgreSQL: a nonconformity's time to corrective action (open ones by their age, the 30-day
effectiveness wait not counted) with the effectiveness checks beside it, findings repeated in
an area, controls with current, stale or no evidence, the daily history stored in the unit of
work's transaction, and KPI definitions refused without a target."""

from __future__ import annotations

import inspect
from datetime import timedelta

import pytest
from kpi_world import add_finding, kpis
from sqlalchemy import select

from aims_workflows.catalog import load_catalog, normalise
from aims_workflows.kpi import compute_kpis
from aims_workflows.kpi.definitions import KpiDefinition, KpiDefinitionError, check_definition
from aims_workflows.kpi.queries import KpiContext, Scope
from aims_workflows.kpi.snapshots import day_close, day_of, scopes_at, stored
from aims_workflows.store.models import Run
from aims_workflows.store.models_kpi import KpiSnapshot


def raise_finding(h, answers) -> str:
    """An internal audit whose risk area has a minor nonconformity against 6.1.2; returns the
    corrective-action run it spawns."""
    audit = h.start_audit(again=True)
    h.pump()
    h.complete("programme", answers["audit.programme"], run_id=audit)
    h.decide("amy@example.com", run_id=audit)
    h.audit_areas(audit, answers, check_risk=answers["audit.minor"])
    h.decide("amy@example.com", run_id=audit)
    return f"{audit}.raise_findings1.1"


def test_time_to_close_counts_open_ones_and_stops_at_the_corrective_action(harness, answers):
    h = harness
    run = raise_finding(h, answers)
    days = "mean_days_to_close_nonconformity"
    h.clock.advance(days=3)
    open_one = kpis(h)
    assert open_one[days].value == pytest.approx(3)  # its age so far, not left out
    assert (
        open_one[days].detail
        == "0 actioned, 1 open (oldest 3 days); 0 awaiting the effectiveness check"
    )

    for step in ("correct", "root_cause", "plan"):
        h.complete(step, answers["ca." + step], run_id=run)
    h.decide("amy@example.com", run_id=run)
    h.clock.advance(days=2)
    h.complete("implement", answers["ca.implement"], run_id=run)
    actioned = kpis(h)
    assert actioned[days].value == pytest.approx(5) and actioned[days].met is True
    assert actioned[days].breakdown == {"actioned": 1, "open": 0, "awaiting_check": 1}
    assert actioned["nonconformity_action_effectiveness"].value is None

    h.clock.advance(days=30)  # the wait before the effectiveness check does not count
    h.rt.tick()
    h.pump()
    h.clock.advance(days=1)
    waiting = kpis(h)
    assert waiting[days].value == pytest.approx(5)
    assert "1 awaiting the effectiveness check" in waiting[days].detail

    h.complete("verify", {"effective": False, "observations": "recurred"}, run_id=run)
    h.clock.advance(days=4)
    reopened = kpis(h)  # back to the root cause: open again, aged from when it was raised
    assert reopened[days].value == pytest.approx(3 + 2 + 30 + 1 + 4)
    assert reopened["nonconformity_action_effectiveness"].value == 0.0
    assert reopened["nonconformity_action_effectiveness"].detail == (
        "0 of 1 checks found the action effective; 0 awaiting a check"
    )

    for step in ("root_cause", "plan"):
        h.complete(step, answers["ca." + step], run_id=run)
    h.decide("amy@example.com", run_id=run)
    h.complete("implement", answers["ca.implement"], run_id=run)
    h.clock.advance(days=30)
    h.rt.tick()
    h.pump()
    h.complete("verify", answers["ca.verify"], run_id=run)
    closed = kpis(h)
    assert h.run_row(run).status == "completed"
    assert closed[days].value == pytest.approx(40)  # to the second, effective, action
    assert closed["nonconformity_action_effectiveness"].value == 0.5
    assert closed["nonconformity_action_effectiveness"].met is False  # target 80%


def test_findings_repeated_in_the_same_area_are_counted_by_area(harness, answers):
    h = harness
    raise_finding(h, answers)
    first = kpis(h)["repeated_audit_findings"]
    assert (first.value, first.met, first.breakdown) == (0, True, {"6.1.2": 1.0})
    h.clock.advance(days=90)
    raise_finding(h, answers)
    again = kpis(h)["repeated_audit_findings"]
    assert (again.value, again.met) == (1, False)
    assert again.breakdown == {"6.1.2": 2.0}
    assert again.detail == "2 findings in 1 area; repeated in 6.1.2 (2)"
    h.clock.advance(days=3 * 365)  # out of the certification cycle
    assert kpis(h)["repeated_audit_findings"].value == 0


def _controls_named_by(h, workflow_id: str) -> set[str]:
    spec = h.app.workflows.get(workflow_id).spec
    named = set(spec.evidences) | {i for step in spec.steps for i in step.evidences}
    controls = {c.id for c in load_catalog().controls()}
    return {normalise(i) for i in named} & controls


def test_controls_are_current_stale_or_without_evidence(harness, answers):
    h = harness
    applicable = len(load_catalog().controls())
    empty = kpis(h)["controls_with_current_evidence"]
    assert empty.value == 0.0
    assert empty.breakdown == {"current": 0, "stale": 0, "no_evidence": applicable}

    _, started = h.add_system("Chatbot")
    impact = next(r for r in started if h.run_row(r).workflow_id == "ai-impact-assessment")
    for step in ("context", "impacts", "mitigate"):
        h.complete(step, answers["impact." + step], run_id=impact)
    h.decide("amy@example.com", run_id=impact)
    assert h.run_row(impact).status == "completed"
    named = _controls_named_by(h, "ai-impact-assessment")
    assert named  # the impact assessment evidences Annex A controls
    after = kpis(h)["controls_with_current_evidence"]
    assert after.breakdown == {
        "current": len(named),
        "stale": 0,
        "no_evidence": applicable - len(named),
    }
    assert after.value == pytest.approx(len(named) / applicable)
    assert kpis(h, Scope(system="Chatbot"))["controls_with_current_evidence"].detail == (
        "not measured per system"
    )

    h.clock.advance(days=366)
    stale = kpis(h)["controls_with_current_evidence"]
    assert stale.breakdown["stale"] == len(named) and stale.breakdown["current"] == 0
    assert "stale: " + sorted(named)[0] in stale.detail


def test_a_closed_day_is_stored_by_the_next_unit_of_work_in_its_transaction(harness, answers):
    h = harness
    _, started = h.add_system("Chatbot", risk_tier="high")
    risk = next(r for r in started if h.run_row(r).workflow_id == "ai-risk-assessment")
    first_day = day_of(h.clock.now())
    h.clock.set(day_close(first_day))
    at_close = {
        scope.key: [k.as_dict() for k in kpis(h, scope).values()]
        for scope in (Scope(), Scope(system="Chatbot"), Scope(tier="high"))
    }
    h.clock.advance(hours=9)

    # a transaction that stores and then fails leaves nothing behind
    with pytest.raises(RuntimeError):
        with h.db.begin() as conn:
            assert h.rt.kpi_days.before_evidence(conn, h.clock.now()) > 0
            raise RuntimeError("the unit of work failed")
    assert h.count("kpi_snapshots") == 0

    h.complete("identify", answers["risk.identify"], run_id=risk)
    with h.db.connect() as conn:
        expected_scopes = {s.key for s in scopes_at(conn, day_close(first_day))}
        rows = conn.execute(select(KpiSnapshot.__table__)).all()
        for key, values in at_close.items():
            assert [k.as_dict() for k in stored(conn, first_day, Scope.from_key(key))] == values
    assert {r.scope for r in rows} == expected_scopes
    assert {"", "system:Chatbot", "tier:high", "workflow:ai-risk-assessment"} <= expected_scopes
    assert {r.day for r in rows} == {first_day.isoformat()}
    taken = {r.scope: r.taken_at for r in rows}

    h.clock.advance(hours=2)  # later units of work the same day store nothing more
    h.complete("treat", answers["risk.treat"], run_id=risk)
    with h.db.connect() as conn:
        again = {r.scope: r.taken_at for r in conn.execute(select(KpiSnapshot.__table__))}
    assert again == taken


def test_a_ledger_begun_today_has_no_closed_day_and_its_head_is_locked_only_to_append(
    harness, monkeypatch
):
    """Every process's first unit of work checks for closed days; on a ledger whose evidence
    began today there is none, and locking the head at the start of the transaction held it,
    on PostgreSQL, through the whole unit of work (a group commit's every event)."""
    from aims_workflows.store import ledger

    h = harness
    h.add_system("Chatbot")  # the ledger begins today
    locked_by: list[str] = []
    head = ledger.head

    def watched(conn, *, lock=False):
        if lock:
            appending = any(f.function == "append_unlinked" for f in inspect.stack()[1:3])
            locked_by.append("append" if appending else "early")
        return head(conn, lock=lock)

    monkeypatch.setattr(ledger, "head", watched)
    h.rt.kpi_days = type(h.rt.kpi_days)(  # a process that has not checked the days yet
        h.rt.kpi_days.targets, h.rt.kpi_days.workflows, h.rt.kpi_days.soa
    )
    h.add_system("Hiring screener")
    assert locked_by and set(locked_by) == {"append"}
    assert h.count("kpi_snapshots") == 0


def test_a_definition_without_a_target_is_refused_with_what_to_add():
    definition = KpiDefinition(
        key="supplier_reviews_on_time",
        label="Supplier reviews on time",
        information_need="Are role holders competent?",
        base_measures=("role holders", "role holders trained"),
        formula="trained / role holders",
        indicator="below target: chase by role",
        target=None,
        direction="at_least",
        unit="ratio",
        frequency="daily",
        owner="aims_owner",
    )
    with pytest.raises(KpiDefinitionError) as refused:
        check_definition(definition)
    assert "KPI 'supplier_reviews_on_time' has no target" in str(refused.value)
    assert "KpiTargets" in str(refused.value) and "kpi_targets.supplier_reviews_on_time" in str(
        refused.value
    )
    from dataclasses import replace

    with pytest.raises(KpiDefinitionError, match="which KpiTargets does not have"):
        check_definition(replace(definition, target="supplier_reviews_on_time"))
    with pytest.raises(KpiDefinitionError, match="incomplete definition: no formula"):
        check_definition(replace(definition, target="overdue_tasks", formula=" "))
    assert check_definition(replace(definition, target="overdue_tasks")).key == (
        "supplier_reviews_on_time"
    )


def test_history_per_scope_is_only_what_existed_that_day(harness):
    h = harness
    h.add_system("Chatbot")
    h.clock.advance(days=1)
    h.add_system("Scorer")
    with h.db.connect() as conn:
        first = stored(conn, day_of(h.clock.now() - timedelta(days=1)), Scope(system="Scorer"))
        chatbot = stored(conn, day_of(h.clock.now() - timedelta(days=1)), Scope(system="Chatbot"))
    assert first is None and chatbot is not None


def test_every_system_at_once_equals_each_system_alone(harness, answers):
    from aims_workflows.kpi.queries import compute_kpis_by_system

    h = harness
    _, started = h.add_system("Chatbot", risk_tier="high")
    h.add_system("Scorer")
    h.add_system("Idle", in_scope=False)
    risk = next(r for r in started if h.run_row(r).workflow_id == "ai-risk-assessment")
    h.complete("identify", answers["risk.identify"], run_id=risk)
    h.complete("treat", answers["risk.treat"], run_id=risk)
    h.clock.advance(hours=7)
    h.decide("rita@example.com", run_id=risk)
    raise_finding(h, answers)
    h.clock.advance(days=12)  # overdue tasks for the Scorer's assessments
    names = ["Chatbot", "Scorer", "Idle", "Gone"]
    context = KpiContext(h.app.workflows, h.app.config.soa)
    targets, now = h.app.config.kpi_targets, h.clock.now()
    with h.db.connect() as conn:
        together = compute_kpis_by_system(conn, now, targets, names, context=context)
        alone = {
            name: compute_kpis(conn, now, targets, scope=Scope(system=name), context=context)
            for name in names
        }
    assert together == alone
    chatbot = {k.key: k for k in together["Chatbot"]}
    assert chatbot["risk_assessment_coverage"].value == 1.0
    assert 6.9 < chatbot["median_approval_latency_hours"].value < 7.1
    assert {k.key: k for k in together["Scorer"]}["overdue_tasks"].value == 2


def test_every_workflow_at_once_equals_each_workflow_alone(harness, answers):
    from aims_workflows.kpi.queries import compute_kpis_by_workflow

    h = harness
    _, started = h.add_system("Chatbot", risk_tier="high")
    h.add_system("Scorer")
    risk = next(r for r in started if h.run_row(r).workflow_id == "ai-risk-assessment")
    h.complete("identify", answers["risk.identify"], run_id=risk)
    h.complete("treat", answers["risk.treat"], run_id=risk)
    h.clock.advance(hours=7)
    h.decide("rita@example.com", run_id=risk)
    raise_finding(h, answers)  # its corrective action: the one workflow with findings
    h.clock.advance(days=12)  # overdue tasks
    with h.db.connect() as conn:
        workflows = sorted(set(conn.scalars(select(Run.__table__.c.workflow_id))))
    assert "corrective-action" in workflows and "ai-risk-assessment" in workflows
    names = [*workflows, "ai-incident", "no-such-workflow"]
    context = KpiContext(h.app.workflows, h.app.config.soa)
    targets = h.app.config.kpi_targets
    # now, and at an earlier moment with rows written after it (as the history measures)
    for now, bounded in ((h.clock.now(), False), (h.clock.now() - timedelta(days=11), True)):
        with h.db.connect() as conn:
            together = compute_kpis_by_workflow(
                conn, now, targets, names, context=context, bounded=bounded
            )
            alone = {
                name: compute_kpis(
                    conn,
                    now,
                    targets,
                    scope=Scope(workflow=name),
                    context=context,
                    bounded=bounded,
                )
                for name in names
            }
        assert together == alone
    corrective = {k.key: k for k in together["corrective-action"]}
    assert corrective["open_findings"].value == 1
    assessed = {k.key: k for k in together["ai-risk-assessment"]}
    assert 6.9 < assessed["median_approval_latency_hours"].value < 7.1


def test_a_day_before_the_history_began_is_rebuilt_from_dated_records(harness, answers):
    from aims_workflows.kpi.history import values_on

    h = harness
    _, started = h.add_system("Chatbot")
    risk = next(r for r in started if h.run_row(r).workflow_id == "ai-risk-assessment")
    day = day_of(h.clock.now())
    h.clock.advance(days=1)
    h.complete("identify", answers["risk.identify"], run_id=risk)  # stores the day before
    targets, now = h.app.config.kpi_targets, h.clock.now()
    args = dict(now=now, specs=h.rt.specs, workflows=h.app.workflows, soa=h.app.config.soa)
    with h.db.connect() as conn:
        kept = values_on(conn, day, targets, **args)
    with h.db.begin() as conn:  # as a database upgraded from before the history has it
        conn.execute(KpiSnapshot.__table__.delete())
    with h.db.connect() as conn:
        rebuilt = values_on(conn, day, targets, **args)
        with pytest.raises(Exception, match="no KPI values kept for AI system Chatbot"):
            values_on(conn, day, targets, scope=Scope(system="Chatbot"), **args)
    assert (kept.source, rebuilt.source) == ("history", "rebuilt")
    assert rebuilt.at == kept.at == day_close(day)
    assert [k.as_dict() for k in rebuilt.kpis] == [k.as_dict() for k in kept.kpis]


def test_the_building_blocks_for_other_workflows_kpis(harness, answers):
    from aims_workflows.kpi.queries import (
        KpiContext,
        Measure,
        overdue_tasks_of,
        step_durations,
        tasks_by_role,
    )

    h = harness
    _, started = h.add_system("Chatbot")
    risk = next(r for r in started if h.run_row(r).workflow_id == "ai-risk-assessment")
    h.clock.advance(hours=30)
    h.complete("identify", answers["risk.identify"], run_id=risk)
    h.clock.advance(days=20)
    targets = h.app.config.kpi_targets

    def measure(scope: Scope | None = None) -> Measure:
        return Measure(conn, h.clock.now(), targets, scope or Scope(), KpiContext())

    with h.db.connect() as conn:
        assert step_durations(measure(), "ai-risk-assessment", "identify") == [30.0]
        assert step_durations(measure(), "ai-risk-assessment", "treat") == []
        assert (
            step_durations(measure(Scope(system="Other")), "ai-risk-assessment", "identify") == []
        )
        assert tasks_by_role(measure(), "ai-risk-assessment") == {
            "engineer": (1, 1),
            "risk_owner": (0, 1),
        }
        assert overdue_tasks_of(measure(), "ai-risk-assessment") == 1  # treat, due in 14 days
        assert overdue_tasks_of(measure(), "ai-impact-assessment") == 1


def test_corrective_actions_started_by_hand_are_found_for_their_own_finding(harness, answers):
    h = harness
    runs = {}
    for finding_id in ("F-1", "F-2"):
        add_finding(h, finding_id, None, h.clock.now(), source="incident")
        runs[finding_id] = h.rt.start("corrective-action", finding=finding_id).run.run_id
        h.pump()
    h.clock.advance(days=4)
    run = runs["F-2"]
    for step in ("correct", "root_cause", "plan"):
        h.complete(step, answers["ca." + step], run_id=run)
    h.decide("amy@example.com", run_id=run)
    h.complete("implement", answers["ca.implement"], run_id=run)
    h.clock.advance(days=2)
    found = kpis(h)["mean_days_to_close_nonconformity"]
    assert found.breakdown == {"actioned": 1, "open": 1, "awaiting_check": 1}
    assert found.value == pytest.approx((4 + 6) / 2)  # F-2 actioned at 4 days, F-1 open for 6
    repeated = kpis(h)["repeated_audit_findings"]
    assert (repeated.value, repeated.breakdown) == (1, {"6.1.3": 2.0})
