"""The KPIs of the operational workflows measured on runs driven through the runtime with an
injected clock, on SQLite and PostgreSQL: training completion by role (the directory's role
holders against their acknowledged, current training-records), AI incident response times
(median from detection, open incidents by their age), findings by source and nonconformities
raised in the period; and each kept in the daily history as it was measured live."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from kpi_world import add_finding, kpis

from aims_workflows.findings import count_by_source
from aims_workflows.kpi.history import values_on
from aims_workflows.kpi.queries import Scope
from aims_workflows.kpi.snapshots import day_close, day_of, stored
from aims_workflows.store.models_kpi import KpiSnapshot

OPERATIONAL = (
    "training_completion",
    "incident_median_hours_to_triage",
    "incident_median_hours_to_contain",
    "incident_median_days_to_close",
    "open_findings",
    "nonconformities_raised",
)


# -- training --------------------------------------------------------------------------------


def train(h, learner: str, role: str, *, completed_on: str, acknowledged: bool = True) -> str:
    run = h.rt.start(
        "training-record",
        inputs={"learner": learner, "course": "Working under the AI policy", "role": role},
        again=True,
    ).run.run_id
    h.pump()
    answers = {
        "completed_on": completed_on,
        "result": "passed",
        "evidence": "LMS record 7781",
        "acknowledged": acknowledged,
    }
    if not acknowledged:
        answers["concerns"] = "Nothing on model retraining"
    h.complete("complete", answers, run_id=run, person=learner)
    return run


def test_training_completion_is_the_share_of_role_holders_trained_per_role(harness):
    h = harness  # 11 holders: engineers eve and ed, auditors ida and ian, one of each other role
    assert kpis(h)["training_completion"].value == 0.0
    today = h.clock.now().date()
    train(h, "eve@example.com", "engineer", completed_on=today.isoformat())
    # not acknowledged: the task is issued again, nothing counts yet
    train(h, "ed@example.com", "engineer", completed_on=today.isoformat(), acknowledged=False)
    # trained for another role than the one held: does not count
    train(h, "ida@example.com", "engineer", completed_on=today.isoformat())
    old = (today - timedelta(days=400)).isoformat()  # more than a year ago: not current
    train(h, "ian@example.com", "internal_auditor", completed_on=old)
    train(h, "amy@example.com", "all_roles", completed_on=today.isoformat())

    found = kpis(h)["training_completion"]
    assert found.value == pytest.approx(2 / 11) and found.met is False  # target 90%
    assert found.breakdown["engineer"] == 0.5
    assert found.breakdown["aims_owner"] == 1.0
    assert found.breakdown["internal_auditor"] == 0.0
    assert found.breakdown["top_management"] == 0.0
    assert found.detail.startswith("2 of 11 role holders trained; short in ")
    assert "engineer (1/2)" in found.detail and "aims_owner" not in found.detail

    h.clock.advance(days=366)  # eve's and amy's training runs out a year later
    assert kpis(h)["training_completion"].value == 0.0
    assert kpis(h, Scope(system="Chatbot"))["training_completion"].detail == (
        "not measured per system"
    )


# -- incidents -------------------------------------------------------------------------------


def utc(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%MZ")


def report_incident(h, system: str, detected: datetime) -> str:
    run = h.rt.start("ai-incident", system=system, again=True).run.run_id
    h.pump()
    h.complete(
        "report",
        {
            "title": "Chatbot disclosed another customer's order",
            "detected_at": utc(detected),
            "what_happened": "Asked for order status, the bot quoted another address.",
            "detection_source": "customer_complaint",
            "reporter": "Support ticket 88213",
            "harm_types": ["privacy_breach"],
            "people_affected": "Two customers",
            "ongoing": True,
        },
        run_id=run,
    )
    return run


def triage(h, run: str, at: datetime) -> None:
    h.complete(
        "triage",
        {
            "severity": "sev3",
            "severity_rationale": "Few people, reversible.",
            "triaged_at": utc(at),
            "personal_data_breach": False,
            "notification_duty": False,
        },
        run_id=run,
    )


def contain(h, run: str, at: datetime) -> None:
    h.complete(
        "contain",
        {
            "actions": "Order tool disabled.",
            "system_state": "running_with_safeguards",
            "contained_at": utc(at),
        },
        run_id=run,
    )


def close(h, run: str, resolved: datetime) -> None:
    h.complete(
        "communicate",
        {
            "parties_informed": ["affected_users"],
            "what_was_said": "What was disclosed and what we did.",
            "channels": "E-mail",
            "communicated_at": utc(resolved),
        },
        run_id=run,
    )
    h.complete(
        "root_cause",
        {
            "method": "five_whys",
            "root_cause": "The order tool trusted the order number from the chat.",
            "resolved_at": utc(resolved),
            "lessons_learned": "Tools check authorisation themselves.",
            "nonconformity": False,
        },
        run_id=run,
    )
    h.decide("amy@example.com", run_id=run)
    assert h.run_row(run).status == "completed"


def test_incident_response_is_the_median_from_detection_open_ones_by_age(harness):
    h = harness
    h.add_system("Chatbot", owner="olga@example.com", risk_tier="high")
    h.add_system("Scorer", owner="olga@example.com")
    assert kpis(h)["incident_median_hours_to_triage"].value is None

    t0 = h.clock.now()
    first = report_incident(h, "Chatbot", t0 - timedelta(hours=2))
    triage(h, first, t0 - timedelta(hours=1))  # typed times, not when the task was completed
    contain(h, first, t0 + timedelta(hours=4))
    second = report_incident(h, "Chatbot", t0 - timedelta(hours=10))
    triage(h, second, t0 - timedelta(hours=4))
    third = report_incident(h, "Scorer", t0)  # not triaged yet: counts by its age
    mistake = report_incident(h, "Scorer", t0 - timedelta(hours=30))
    h.rt.cancel(mistake, "reported twice")  # a cancelled run is no incident
    h.clock.advance(hours=20)

    found = kpis(h)
    to_triage = found["incident_median_hours_to_triage"]
    assert to_triage.value == pytest.approx(6)  # median of 1, 6 and 20 (open)
    assert to_triage.breakdown == {"done": 2, "open": 1}
    assert (
        to_triage.detail == "over 3 incidents: 2 done, 1 not yet (oldest 20 hours, counted by age)"
    )
    assert to_triage.met is True  # target 48 hours
    to_contain = found["incident_median_hours_to_contain"]
    assert to_contain.value == pytest.approx(20)  # median of 6, 30 (open) and 20 (open)
    assert found["incident_median_days_to_close"].value == pytest.approx(22 / 24)  # 22, 30, 20

    close(h, first, t0 + timedelta(hours=8))
    closed_at = h.clock.now()
    h.clock.advance(days=2)
    found = kpis(h)
    ages = sorted(
        [
            (closed_at - (t0 - timedelta(hours=2))).total_seconds() / 86400,
            (h.clock.now() - (t0 - timedelta(hours=10))).total_seconds() / 86400,
            (h.clock.now() - t0).total_seconds() / 86400,
        ]
    )
    assert found["incident_median_days_to_close"].value == pytest.approx(ages[1])
    assert found["incident_median_days_to_close"].breakdown == {"done": 1, "open": 2}

    chatbot = kpis(h, Scope(system="Chatbot"))["incident_median_hours_to_triage"]
    assert chatbot.value == pytest.approx(3.5) and chatbot.breakdown == {"done": 2, "open": 0}
    assert kpis(h, Scope(tier="high"))["incident_median_hours_to_triage"].value == (
        pytest.approx(3.5)
    )
    scorer = kpis(h, Scope(system="Scorer"))["incident_median_hours_to_triage"]
    assert scorer.value == pytest.approx(20 + 48)
    assert third and kpis(h, Scope(workflow="ai-risk-assessment"))[
        "incident_median_hours_to_triage"
    ].detail == ("no AI incidents")


# -- findings by source ----------------------------------------------------------------------


def test_findings_by_source_open_and_raised_in_the_period(harness):
    h = harness
    h.add_system("Chatbot")
    now = h.clock.now()
    add_finding(h, "F-1", "incident", now - timedelta(days=40), system_name="Chatbot")
    add_finding(h, "F-2", "complaint", now - timedelta(days=5))
    add_finding(
        h,
        "F-3",
        "external-audit",
        now - timedelta(days=3),
        status="closed",
        closed_at=now - timedelta(days=1),
    )
    add_finding(h, "F-4", None, now - timedelta(days=2))  # from before sources were kept
    add_finding(h, "F-5", "monitoring", now + timedelta(days=1))  # not raised yet

    found = kpis(h)
    open_ = found["open_findings"]
    assert open_.value == 3 and open_.met is True
    assert open_.breakdown == {
        "incident": 1,
        "complaint": 1,
        "monitoring": 0,
        "external-audit": 0,
        "certification-audit": 0,
        "internal": 1,
    }
    assert open_.detail == (
        "3 open of 4 raised: incident 1 of 1, complaint 1 of 1, external-audit 0 of 1, "
        "internal 1 of 1"
    )
    raised = found["nonconformities_raised"]
    assert raised.value == 3  # F-1 is older than the 30 days
    assert raised.detail == "3 in the last 30 days: complaint 1, external-audit 1, internal 1"
    with h.db.connect() as conn:  # what `aims findings` counts by source, on each database
        assert count_by_source(conn, at=h.clock.now(), open_only=True) == {
            source: int(n) for source, n in open_.breakdown.items()
        }
        assert sum(count_by_source(conn, at=h.clock.now()).values()) == 4
    chatbot = kpis(h, Scope(system="Chatbot"))
    assert chatbot["open_findings"].value == 1 and chatbot["nonconformities_raised"].value == 0

    h.clock.advance(days=2)  # F-5 raised; F-3 closed a day before the first measurement
    later = kpis(h)
    assert later["open_findings"].breakdown["monitoring"] == 1
    assert later["nonconformities_raised"].value == 4


# -- history ---------------------------------------------------------------------------------


def test_the_history_keeps_what_was_measured_live_at_the_days_close(harness):
    h = harness
    h.add_system("Chatbot", owner="olga@example.com", risk_tier="high")
    t0 = h.clock.now()
    run = report_incident(h, "Chatbot", t0 - timedelta(hours=3))
    triage(h, run, t0 - timedelta(hours=1))
    train(h, "eve@example.com", "engineer", completed_on=t0.date().isoformat())
    add_finding(h, "F-1", "incident", t0, system_name="Chatbot")
    day = day_of(h.clock.now())
    h.clock.set(day_close(day))
    scopes = (Scope(), Scope(system="Chatbot"), Scope(tier="high"), Scope(workflow="ai-incident"))
    live = {
        scope.key: {key: k.as_dict() for key, k in kpis(h, scope).items() if key in OPERATIONAL}
        for scope in scopes
    }
    assert live[""]["training_completion"]["value"] == pytest.approx(1 / 11)
    assert live["system:Chatbot"]["incident_median_hours_to_triage"]["value"] == 2

    h.clock.advance(hours=9)  # the next day's first unit of work stores the closed day
    contain(h, run, h.clock.now())
    train(h, "ed@example.com", "engineer", completed_on=h.clock.now().date().isoformat())
    with h.db.connect() as conn:
        for scope in scopes:
            kept = stored(conn, day, scope)
            assert kept is not None, scope
            assert {k.key: k.as_dict() for k in kept if k.key in OPERATIONAL} == live[scope.key]
    # what `aims kpi --at DAY` prints: the kept day, and the same when rebuilt from dated rows
    # for a database whose history began later
    args = dict(
        now=h.clock.now(), specs=h.rt.specs, workflows=h.app.workflows, soa=h.app.config.soa
    )
    targets = h.app.config.kpi_targets
    with h.db.connect() as conn:
        kept = values_on(conn, day, targets, **args)
    with h.db.begin() as conn:
        conn.execute(KpiSnapshot.__table__.delete())
    with h.db.connect() as conn:
        rebuilt = values_on(conn, day, targets, **args)
    assert (kept.source, rebuilt.source) == ("history", "rebuilt")
    for values in (kept, rebuilt):
        assert {k.key: k.as_dict() for k in values.kpis if k.key in OPERATIONAL} == live[""]

    now = kpis(h)
    assert now["training_completion"].value == pytest.approx(2 / 11)
    assert now["incident_median_hours_to_contain"].breakdown == {"done": 1, "open": 0}
