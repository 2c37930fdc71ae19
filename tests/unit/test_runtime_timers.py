"""Timers on an injected clock: reminders, due dates and the overdue KPI, escalation, and the
corrective action's 30-day wait; nothing fires early and nothing fires twice."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import insert, select

from aims_workflows.kpi import compute_kpis
from aims_workflows.store.models import Finding, StepRecord


def kpis(h) -> dict[str, float | None]:
    with h.db.connect() as conn:
        return {k.key: k.value for k in compute_kpis(conn, h.clock.now(), h.app.config.kpi_targets)}


@pytest.fixture
def h(harness):
    harness.add_system("Chatbot", in_scope=False)
    return harness


def start_risk(h) -> str:
    run_id = h.rt.start("ai-risk-assessment", system="Chatbot").run.run_id
    h.pump()
    return run_id


def tick(h, **delta) -> int:
    h.clock.advance(**delta)
    ticked = h.rt.tick()
    h.pump()
    return ticked


# identify: due 10d, reminders at 5d and 9d, escalation to the AIMS owner 3d after the due date
def test_reminders_fire_on_time_and_once(h):
    run_id = start_risk(h)
    task = h.open_task("identify", run_id)
    assert tick(h, days=5, seconds=-1) == 0
    assert task.comments == []
    assert tick(h, seconds=1) == 1
    # a reminder goes to the person the task is assigned to, on their issue
    assert task.comments == ["task.remind to eve@example.com"]
    assert tick(h, hours=1) == 0  # the same reminder does not fire again
    assert tick(h, days=4) == 1
    assert task.comments == ["task.remind to eve@example.com"] * 2
    assert h.kinds(run_id).count("task.reminded") == 2


def test_a_missed_due_date_marks_the_task_overdue_and_moves_the_kpi(h, answers):
    run_id = start_risk(h)
    assert kpis(h)["open_tasks"] == 1 and kpis(h)["overdue_tasks"] == 0
    h.clock.advance(days=10, seconds=-1)
    assert kpis(h)["overdue_tasks"] == 0
    tick(h, seconds=1)
    h.clock.advance(seconds=1)
    assert "task.overdue" in h.kinds(run_id)
    assert kpis(h)["overdue_tasks"] == 1
    with h.db.connect() as conn:
        assert conn.execute(select(StepRecord.__table__.c.overdue)).scalar() is True
    outcome = h.complete("identify", answers["risk.identify"], run_id=run_id)
    completed = next(e for e in outcome.transition.evidence if e.kind == "task.completed")
    assert completed.payload["overdue"] is True
    assert (
        kpis(h)["overdue_tasks"] == 0 and kpis(h)["open_tasks"] == 1
    )  # the treat task is open now


def test_an_overdue_task_is_escalated_to_the_aims_owner(h):
    run_id = start_risk(h)
    task = h.open_task("identify", run_id)
    tick(h, days=12)  # reminders and the due date, not yet the escalation
    assert not any("escalate" in c for c in task.comments)
    tick(h, days=1)
    assert task.comments[-1] == "task.escalate to amy@example.com"
    assert h.kinds(run_id).count("task.escalated") == 1
    assert h.run_row(run_id).next_wake_at is None  # every timer of the step has fired
    assert tick(h, days=30) == 0


def test_all_due_timers_fire_in_one_tick_after_a_long_outage(h):
    run_id = start_risk(h)
    tick(h, days=40)
    kinds = h.kinds(run_id)
    assert [
        k for k in kinds if k.startswith("task.") and k not in ("task.requested", "task.issued")
    ] == ["task.reminded", "task.reminded", "task.overdue", "task.escalated"]


def test_completing_a_task_cancels_its_timers(h, answers):
    run_id = start_risk(h)
    h.complete("identify", answers["risk.identify"], run_id=run_id)
    tick(h, days=6)
    # only the treat task's clock runs now (due 14d, reminder at 7d)
    assert h.kinds(run_id).count("task.reminded") == 0
    tick(h, days=1)
    assert h.kinds(run_id).count("task.reminded") == 1
    assert h.open_task("treat", run_id).comments == ["task.remind to rita@example.com"]


def test_an_approval_reminder_reaches_the_approvers(h, answers):
    run_id = start_risk(h)
    h.complete("identify", answers["risk.identify"], run_id=run_id)
    h.complete("treat", answers["risk.treat"], run_id=run_id)
    request = h.pending_approval(run_id)
    tick(h, days=2)
    assert request.notices == ["approval.remind"]
    assert h.kinds(run_id).count("approval.reminded") == 1


# -- the corrective action's wait -----------------------------------------------------------------
def raise_finding(h, finding_id: str = "F-1", severity: str = "minor") -> None:
    with h.db.begin() as conn:
        conn.execute(
            insert(Finding.__table__).values(
                id=finding_id,
                title="Risk register stale",
                severity=severity,
                source="incident",
                status="open",
                raised_at=h.clock.now(),
            )
        )


def test_the_corrective_action_waits_thirty_days_before_the_effectiveness_check(h, answers):
    raise_finding(h)
    run_id = h.rt.start("corrective-action", finding="F-1").run.run_id
    h.pump()
    for step in ("correct", "root_cause", "plan"):
        h.complete(step, answers["ca." + step], run_id=run_id)
    h.decide("amy@example.com", run_id=run_id)
    h.clock.advance(days=3)
    h.complete("implement", answers["ca.implement"], run_id=run_id)

    row = h.run_row(run_id)
    assert row.current_step == "settle"
    implemented_at = h.clock.now()
    assert row.next_wake_at == implemented_at + timedelta(days=30)
    assert "wait.started" in h.kinds(run_id)

    assert tick(h, days=30, seconds=-1) == 0
    assert h.run_row(run_id).current_step == "settle"
    assert tick(h, seconds=1) == 1
    assert h.run_row(run_id).current_step == "verify"
    assert h.kinds(run_id).count("wait.ended") == 1
    assert h.open_task("verify", run_id).assignee == "amy@example.com"

    h.clock.advance(days=2)
    h.complete("verify", answers["ca.verify"], run_id=run_id)
    assert h.run_row(run_id).status == "completed"
    with h.db.connect() as conn:
        finding = conn.execute(
            select(Finding.__table__).where(Finding.__table__.c.id == "F-1")
        ).one()
    assert finding.status == "closed"
    # to the corrective action, 3 days after the finding: not the wait nor the check after it
    assert kpis(h)["mean_days_to_close_nonconformity"] == pytest.approx(3)
    assert h.verify().ok
