"""Runs end to end through the runtime with the in-memory stand-ins, one transaction per event,
and the inbox that makes a repeated delivery a no-op."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from aims_workflows.errors import NotFound
from aims_workflows.store import outbox, projections


def snapshot(h) -> dict:
    """Every row an event can write, to compare before and after a failed unit of work."""
    tables = {
        "runs": (
            "SELECT id, status, current_step, lock_version, state, next_wake_at"
            " FROM runs ORDER BY id"
        ),
        "evidence": "SELECT seq, hash FROM evidence ORDER BY seq",
        "ledger_head": "SELECT seq, hash FROM ledger_head",
        "outbox": "SELECT key, status, attempts FROM outbox ORDER BY id",
        "steps": "SELECT run_id, step_id, attempt, status, external_ref FROM steps ORDER BY id",
        "approvals": "SELECT approval_id, status FROM approvals ORDER BY approval_id",
        "inbox": "SELECT source, delivery_id, status FROM inbox ORDER BY id",
        "ai_systems": "SELECT id, name, version, risk_valid_until FROM ai_systems ORDER BY id",
        "risk_register": "SELECT run_id FROM risk_register ORDER BY id",
        "kpi_counters": "SELECT name, value FROM kpi_counters ORDER BY name",
    }
    with h.db.connect() as conn:
        return {
            name: [tuple(r) for r in conn.execute(text(query))] for name, query in tables.items()
        }


def risk_run(h) -> str:
    _, started = h.add_system("Chatbot")
    (run_id,) = [r for r in started if h.run_row(r).workflow_id == "ai-risk-assessment"]
    return run_id


# -- end to end ------------------------------------------------------------------------------
def test_a_registered_system_is_assessed_end_to_end(harness, answers):
    h = harness
    row, started = h.add_system("Chatbot", risk_tier="limited", model_type="llm")
    assert {h.run_row(r).workflow_id for r in started} == {
        "ai-risk-assessment",
        "ai-impact-assessment",
    }
    risk = next(r for r in started if h.run_row(r).workflow_id == "ai-risk-assessment")
    impact = next(r for r in started if r != risk)

    # the tasks reached the issue tracker, assigned by role from aims.yaml
    assert sorted((t.step_id, t.assignee) for t in h.tracker.open_tasks()) == [
        ("context", "eve@example.com"),
        ("identify", "eve@example.com"),
    ]
    identify = h.open_task("identify", risk)
    assert identify.title == "Risk assessment: identify and analyse a risk of Chatbot"
    assert identify.due_at.startswith("2026-01-15")

    h.complete("identify", answers["risk.identify"], run_id=risk)
    assert h.open_task("treat", risk).assignee == "rita@example.com"
    h.complete("treat", answers["risk.treat"], run_id=risk)
    request = h.pending_approval(risk)
    assert request.people == ["rita@example.com"]
    assert request.show == {
        "Risk": "Biased answers",
        "Inherent": "6 (low)",
        "Treatment": "accept",
        "Residual": "2 (low)",
    }

    h.clock.advance(hours=5)
    outcome = h.decide("rita@example.com", run_id=risk)
    assert outcome.transition.run.status == "completed"
    assert h.approvals.requests[request.approval_id].status == "approved"

    h.complete("context", answers["impact.context"], run_id=impact)
    h.complete("impacts", answers["impact.impacts"], run_id=impact)
    assert h.open_task("mitigate", impact).assignee == "olga@example.com"  # the system owner
    h.complete("mitigate", answers["impact.mitigate"], run_id=impact)
    h.decide("amy@example.com", run_id=impact)

    assert h.run_row(risk).status == h.run_row(impact).status == "completed"
    assert h.kinds(risk) == [
        "run.started",
        "task.requested",
        "task.issued",
        "task.completed",
        "artefact.recorded",
        "task.requested",
        "task.issued",
        "task.completed",
        "artefact.recorded",
        "decision.taken",
        "approval.requested",
        "approval.decided",
        "approval.closed",
        "artefact.recorded",
        "run.spawned",  # no treatment action: the risk is accepted as it is
        "artefact.recorded",  # the register review: what changed
        "run.spawned",  # no further risk to analyse
        "notification.sent",
        "run.completed",
    ]
    # the risk register, coverage dates, approval latency and notifications all moved
    with h.db.connect() as conn:
        entry = conn.execute(
            text(
                "SELECT system_name, risk, score, residual_score, "
                "treatment, owner FROM risk_register"
            )
        ).one()
        system = conn.execute(
            text("SELECT risk_assessed_at, risk_valid_until, impact_valid_until FROM ai_systems")
        ).one()
        latency = conn.execute(
            text(
                f"SELECT latency_seconds FROM approvals WHERE approval_id = '{request.approval_id}'"
            )
        ).scalar()
    assert tuple(entry) == ("Chatbot", "Biased answers", 6.0, 2.0, "accept", "rita@example.com")
    assert system.risk_valid_until is not None and system.impact_valid_until is not None
    assert latency == 5 * 3600
    # each sign-off's outcome reaches the people whose work it covers, then the closing notes
    assert [sorted(n["people"]) for n in h.notifier.sent] == [
        ["eve@example.com", "rita@example.com"],
        ["amy@example.com", "rita@example.com"],
        ["eve@example.com", "olga@example.com"],
        ["amy@example.com", "olga@example.com"],
    ]
    assert "was approved" in h.notifier.sent[0]["message"]
    assert h.count("outbox", "WHERE status <> 'done'") == 0
    report = h.verify()
    assert report.ok and report.rows == report.head_seq


def test_a_run_survives_a_second_app_on_the_same_database(
    harness, make_harness, db_url, tmp_path, answers
):
    """State lives in the database: a new process (here a new app) picks the run up."""
    run_id = risk_run(harness)
    harness.complete("identify", answers["risk.identify"], run_id=run_id)
    other_dir = tmp_path / "other"
    other_dir.mkdir()
    second = make_harness(
        db_url,
        other_dir,
        harness.clock,
        tracker=harness.tracker,
        approvals=harness.approvals,
        notifier=harness.notifier,
    )
    try:
        second.complete("treat", answers["risk.treat"], run_id=run_id)
        second.decide("rita@example.com", run_id=run_id)
        assert second.run_row(run_id).status == "completed"
    finally:
        second.db.dispose()


def test_starting_by_hand_needs_an_existing_system_with_a_suggestion(harness):
    harness.add_system("Chatbot")
    with pytest.raises(NotFound) as caught:
        harness.rt.start("ai-risk-assessment", system="Chatbott")
    assert "Chatbot" in (caught.value.hint or "")


def test_bad_answers_keep_the_task_open_and_are_sent_back(harness, answers):
    h = harness
    run_id = risk_run(h)
    bad = {**answers["risk.identify"], "likelihood": 9}
    outcome = h.complete("identify", bad, run_id=run_id)
    assert [e.kind for e in outcome.transition.evidence] == ["task.answers_refused"]
    assert h.run_row(run_id).current_step == "identify"
    task = h.open_task("identify", run_id)
    assert task.comments == [
        "Please fix: Likelihood (1 rare - 5 almost certain): must be at most 5, not 9."
    ]


# -- one transaction per event -------------------------------------------------------------------
def _raise_after(monkeypatch, module, name: str):
    real = getattr(module, name)

    def failing(*args, **kwargs):
        real(*args, **kwargs)
        raise RuntimeError(f"{name} failed midway")

    monkeypatch.setattr(module, name, failing)


@pytest.mark.parametrize("where", ["projection", "outbox"])
def test_a_failed_task_completion_writes_nothing(harness, answers, monkeypatch, where):
    h = harness
    run_id = risk_run(h)
    before = snapshot(h)
    _raise_after(
        monkeypatch,
        projections if where == "projection" else outbox,
        "apply" if where == "projection" else "insert_rows",
    )
    task = h.open_task("identify", run_id)
    with pytest.raises(RuntimeError, match="failed midway"):
        h.rt.complete_task(
            run_id,
            "identify",
            answers["risk.identify"],
            person=task.assignee,
            attempt=task.attempt,
            ref=task.ref,
            delivery=("jira", "webhook-1"),
        )
    assert snapshot(h) == before
    monkeypatch.undo()
    # the delivery was not recorded as seen: Jira's retry of it is processed
    outcome = h.rt.complete_task(
        run_id,
        "identify",
        answers["risk.identify"],
        person=task.assignee,
        attempt=task.attempt,
        ref=task.ref,
        delivery=("jira", "webhook-1"),
    )
    assert not outcome.duplicate and outcome.transition.run.current == "treat"
    assert h.verify().ok


def test_a_failed_decision_writes_nothing(harness, answers, monkeypatch):
    h = harness
    run_id = risk_run(h)
    h.complete("identify", answers["risk.identify"], run_id=run_id)
    h.complete("treat", answers["risk.treat"], run_id=run_id)
    before = snapshot(h)
    _raise_after(monkeypatch, projections, "apply")
    with pytest.raises(RuntimeError):
        h.decide("rita@example.com", run_id=run_id)
    assert snapshot(h) == before
    assert h.approvals.pending()  # nothing was sent either


def test_a_failed_registration_writes_no_system_and_starts_no_run(harness, monkeypatch):
    h = harness
    h.add_system("Existing")
    before = snapshot(h)
    _raise_after(monkeypatch, outbox, "insert_rows")
    with pytest.raises(RuntimeError):
        h.add_system("Chatbot")
    assert snapshot(h) == before
    assert h.count("ai_system_history") == 1


def test_a_stand_in_failing_changes_no_run_state(harness):
    """An outage of the tracker is the dispatcher's business: the run and its evidence stay put."""
    h = harness
    h.tracker.fail_next(1)
    _, started = h.add_system("Chatbot")
    runs_before = {r: h.run_row(r).lock_version for r in started}
    assert h.count("outbox", "WHERE status = 'pending' AND last_error IS NOT NULL") == 1
    assert {r: h.run_row(r).lock_version for r in started} == runs_before
    assert "task.issued" not in h.kinds() or h.kinds().count("task.issued") == 1


def test_a_stale_event_for_an_earlier_step_is_ignored_and_writes_nothing(harness, answers):
    h = harness
    run_id = risk_run(h)
    task = h.open_task("identify", run_id)
    h.complete("identify", answers["risk.identify"], run_id=run_id)
    before = snapshot(h)
    late = h.rt.complete_task(
        run_id,
        "identify",
        answers["risk.identify"],
        person=task.assignee,
        attempt=task.attempt,
        ref=task.ref,
    )
    assert late.ignored
    assert snapshot(h) == before


# -- the inbox -----------------------------------------------------------------------------------
def test_a_delivery_sent_twice_is_applied_once(harness, answers):
    h = harness
    run_id = risk_run(h)
    task = h.open_task("identify", run_id)
    args = dict(
        person=task.assignee,
        via="jira",
        attempt=task.attempt,
        ref=task.ref,
        delivery=("jira", "evt-42"),
    )
    first = h.rt.complete_task(run_id, "identify", answers["risk.identify"], **args)
    evidence_after_first = h.count("evidence")
    second = h.rt.complete_task(run_id, "identify", answers["risk.identify"], **args)
    assert not first.duplicate and second.duplicate
    assert second.transition is None
    assert h.count("evidence") == evidence_after_first
    assert h.kinds(run_id).count("task.completed") == 1
    with h.db.connect() as conn:
        assert (
            conn.execute(text("SELECT status FROM inbox WHERE delivery_id = 'evt-42'")).scalar()
            == "processed"
        )


def test_a_delivery_sent_a_hundred_times_is_applied_once(harness, answers):
    h = harness
    run_id = risk_run(h)
    h.complete("identify", answers["risk.identify"], run_id=run_id)
    h.complete("treat", answers["risk.treat"], run_id=run_id)
    request = h.pending_approval(run_id)
    outcomes = [
        h.rt.decide(
            request.approval_id,
            person="rita@example.com",
            decision="approve",
            reason="fine",
            content_hash=request.content_hash,
            via="slack",
            delivery=("slack", "click-7"),
        )
        for _ in range(100)
    ]
    assert [o.duplicate for o in outcomes] == [False] + [True] * 99
    assert h.kinds(run_id).count("approval.decided") == 1
    assert h.count("inbox") == 1
    h.pump()
    assert h.run_row(run_id).status == "completed"
    assert h.verify().ok


def test_the_same_delivery_id_from_another_source_is_a_different_delivery(harness, answers):
    h = harness
    run_id = risk_run(h)
    task = h.open_task("identify", run_id)
    common = dict(person=task.assignee, attempt=task.attempt, ref=task.ref)
    assert not h.rt.complete_task(
        run_id, "identify", {"likelihood": 1}, delivery=("jira", "1"), **common
    ).duplicate
    assert not h.rt.complete_task(
        run_id, "identify", {"likelihood": 1}, delivery=("slack", "1"), **common
    ).duplicate


def test_an_ignored_delivery_is_recorded_as_ignored_with_the_reason(harness):
    h = harness
    run_id = risk_run(h)
    outcome = h.rt.complete_task(
        run_id, "treat", {}, person="rita@example.com", delivery=("jira", "early")
    )
    assert outcome.ignored
    with h.db.connect() as conn:
        status, error = conn.execute(
            text("SELECT status, error FROM inbox WHERE delivery_id = 'early'")
        ).one()
    assert status == "ignored" and error == outcome.ignored
