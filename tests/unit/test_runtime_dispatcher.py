"""The outbox dispatcher: back-off on retryable failures, Retry-After, dead letters with their
reason, permanent errors, and exactly-once effects across a crash between the call and the
bookkeeping."""

from __future__ import annotations

import json
import random
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from aims_workflows.runtime import Backoff
from aims_workflows.runtime import dispatcher as dispatcher_module
from aims_workflows.store import ledger
from aims_workflows.store.models import OutboxItem
from aims_workflows.store.outbox import LEASE


class FixedJitter(random.Random):
    """A jitter source that always gives factor 1.0, so delays are exactly base * 2**(n-1)."""

    def random(self) -> float:
        return 0.5


@pytest.fixture
def backoff() -> Backoff:
    return Backoff(
        base=timedelta(seconds=10), cap=timedelta(minutes=10), max_attempts=3, rng=FixedJitter()
    )


@pytest.fixture
def h(harness, backoff):
    harness.app.dispatcher.backoff = backoff
    harness.add_system("Chatbot", in_scope=False)  # out of scope: registration starts nothing
    return harness


def start_risk(h) -> str:
    transition = h.rt.start("ai-risk-assessment", system="Chatbot")
    return transition.run.run_id


def create_row(h, run_id: str):
    t = OutboxItem.__table__
    with h.db.connect() as conn:
        return conn.execute(
            select(t.c.status, t.c.attempts, t.c.next_attempt_at, t.c.last_error).where(
                t.c.kind == "task.create", t.c.run_id == run_id
            )
        ).one()


def dead_evidence(h) -> list[dict]:
    with h.db.connect() as conn:
        return [json.loads(r.payload) for r in ledger.iter_rows(conn, kind="command.dead")]


# -- back-off ------------------------------------------------------------------------------------
def test_backoff_doubles_caps_and_jitters():
    b = Backoff(base=timedelta(seconds=5), cap=timedelta(seconds=60), rng=FixedJitter())
    assert [b.delay(n).total_seconds() for n in (1, 2, 3, 4, 5, 6)] == [5, 10, 20, 40, 60, 60]
    assert b.delay(1, retry_after=300).total_seconds() == 300
    assert b.delay(4, retry_after=1).total_seconds() == 40  # Retry-After is a floor, not a ceiling
    jittered = Backoff(base=timedelta(seconds=100), rng=random.Random(7))
    delays = [jittered.delay(1).total_seconds() for _ in range(200)]
    assert all(50 <= d < 150 for d in delays) and len(set(delays)) > 100


def test_a_retryable_failure_is_retried_after_the_backoff_and_not_before(h):
    h.tracker.fail_next(1, message="503 service unavailable")
    run_id = start_risk(h)
    report = h.pump()
    assert (report.done, report.retried, report.dead) == (0, 1, 0)
    row = create_row(h, run_id)
    assert row.status == "pending" and row.attempts == 1
    assert row.next_attempt_at == h.clock.now() + timedelta(seconds=10)
    assert row.last_error == "RetryableError: 503 service unavailable"
    assert h.tracker.tasks == {}

    h.clock.advance(seconds=9)
    assert h.pump().done == 0
    assert h.tracker.tasks == {}

    h.clock.advance(seconds=1)
    assert h.pump().done == 1
    assert [t.step_id for t in h.tracker.open_tasks()] == ["identify"]
    row = create_row(h, run_id)
    assert row.status == "done" and row.attempts == 2 and row.last_error is None
    assert "task.issued" in h.kinds(run_id)


def test_the_second_retry_waits_twice_as_long(h):
    h.tracker.fail_next(2)
    run_id = start_risk(h)
    h.pump()
    h.clock.advance(seconds=10)
    assert h.pump().retried == 1
    assert create_row(h, run_id).next_attempt_at == h.clock.now() + timedelta(seconds=20)
    h.clock.advance(seconds=19)
    assert h.pump().done == 0
    h.clock.advance(seconds=1)
    assert h.pump().done == 1


def test_retry_after_is_honoured(h):
    h.tracker.fail_next(1, retry_after=600, message="429 too many requests")
    run_id = start_risk(h)
    h.pump()
    assert create_row(h, run_id).next_attempt_at == h.clock.now() + timedelta(seconds=600)
    h.clock.advance(seconds=599)
    assert h.pump().done == 0 and not h.tracker.tasks
    h.clock.advance(seconds=1)
    assert h.pump().done == 1 and len(h.tracker.tasks) == 1


def test_after_max_attempts_the_command_is_dead_with_its_reason(h):
    h.tracker.fail_next(100, message="503 service unavailable")
    run_id = start_risk(h)
    assert h.pump().retried == 1
    h.clock.advance(seconds=10)
    assert h.pump().retried == 1
    h.clock.advance(seconds=20)
    report = h.pump()
    assert (report.retried, report.dead) == (0, 1)
    row = create_row(h, run_id)
    assert row.status == "dead" and row.attempts == 3
    assert (
        row.last_error
        == "gave up after 3 attempts; last error RetryableError: 503 service unavailable"
    )
    (dead,) = dead_evidence(h)
    assert dead == {
        "key": f"{run_id}/identify/1/task",
        "kind": "task.create",
        "attempts": 3,
        "reason": "gave up after 3 attempts; last error RetryableError: 503 service unavailable",
    }
    # a dead command is never tried again
    h.clock.advance(days=30)
    h.tracker.fail_next(0)
    assert h.pump().done == 0 and not h.tracker.tasks
    assert h.run_row(run_id).status == "running"
    assert h.verify().ok


def test_a_permanent_error_is_dead_at_once(h):
    h.tracker.fail_next(1, retryable=False, message="404 project AIMS does not exist")
    run_id = start_risk(h)
    report = h.pump()
    assert (report.done, report.retried, report.dead) == (0, 0, 1)
    row = create_row(h, run_id)
    assert row.status == "dead" and row.attempts == 1
    assert row.last_error == "404 project AIMS does not exist"
    assert dead_evidence(h)[0]["reason"] == "404 project AIMS does not exist"
    with h.db.connect() as conn:
        dead_row = next(ledger.iter_rows(conn, kind="command.dead"))
    assert dead_row.run_id == run_id and dead_row.actor == "aims" and dead_row.via == "dispatcher"


def test_an_adapter_bug_is_retried_and_does_not_stop_other_commands(h, monkeypatch):
    real = h.tracker.perform
    calls = {"n": 0}

    def buggy(command):
        calls["n"] += 1
        if calls["n"] == 1:
            raise KeyError("fields")
        return real(command)

    monkeypatch.setattr(h.tracker, "perform", buggy)
    first = start_risk(h)
    second = h.rt.start("ai-impact-assessment", system="Chatbot").run.run_id
    report = h.pump()
    assert (report.done, report.retried) == (1, 1)
    assert create_row(h, first).last_error == "KeyError: 'fields'"
    assert create_row(h, second).status == "done"


# -- exactly once across a crash -----------------------------------------------------------------
def test_a_crash_after_the_call_before_the_bookkeeping_does_not_create_a_second_task(
    h, monkeypatch
):
    run_id = start_risk(h)
    real_complete = dispatcher_module.outbox.complete

    def crash(*args, **kwargs):
        real_complete(*args, **kwargs)
        raise RuntimeError("process died before commit")

    monkeypatch.setattr(dispatcher_module.outbox, "complete", crash)
    with pytest.raises(RuntimeError, match="process died"):
        h.pump()
    monkeypatch.undo()
    assert len(h.tracker.performed) == 1  # the issue exists in the tracker ...
    row = create_row(h, run_id)
    assert row.status == "inflight"  # ... but the outbox never heard back
    assert "task.issued" not in h.kinds(run_id)

    # within its lease the command belongs to the worker that died: nobody takes it
    h.clock.advance(LEASE - timedelta(seconds=1))
    assert h.pump().done == 0
    h.clock.advance(seconds=1)
    assert h.pump().done == 1
    assert len(h.tracker.performed) == 1
    assert [t.ref for t in h.tracker.tasks.values()] == ["TASK-1"]
    assert h.kinds(run_id).count("task.issued") == 1
    with h.db.connect() as conn:
        assert (
            conn.execute(
                text("SELECT external_ref FROM steps WHERE run_id = :r"), {"r": run_id}
            ).scalar()
            == "TASK-1"
        )
    assert create_row(h, run_id).status == "done"


def test_a_crash_after_the_call_with_a_failing_projection_is_also_safe(h, monkeypatch):
    """The bookkeeping transaction (outbox done + task.created on the run) fails as a whole."""
    from aims_workflows.store import projections

    run_id = start_risk(h)
    real_apply = projections.apply

    def failing(conn, run, evidence, now, coverage=None):
        if any(e.kind == "task.issued" for e in evidence):
            raise RuntimeError("projection failed")
        return real_apply(conn, run, evidence, now, coverage)

    monkeypatch.setattr(projections, "apply", failing)
    with pytest.raises(RuntimeError):
        h.pump()
    monkeypatch.undo()
    assert create_row(h, run_id).status == "inflight"
    h.clock.advance(LEASE)
    h.pump()
    assert len(h.tracker.tasks) == 1 and h.kinds(run_id).count("task.issued") == 1


def test_the_same_command_pumped_again_is_not_performed_again(h):
    run_id = start_risk(h)
    h.pump()
    h.clock.advance(days=1)
    assert h.pump().done == 0
    assert len(h.tracker.performed) == 1
    assert create_row(h, run_id).attempts == 1


# -- people missing from aims.yaml ----------------------------------------------------------------
def _without(roles: dict, *names: str) -> dict:
    return {k: v for k, v in roles.items() if k not in names}


def test_a_role_with_nobody_parks_the_task_as_dead_with_a_clear_reason(
    make_harness, database, db_url, tmp_path, clock, roles
):
    h = make_harness(db_url, tmp_path, clock, roles=_without(roles, "engineer"))
    try:
        _, started = h.add_system("Chatbot")
        assert len(started) == 2
        with h.db.connect() as conn:
            rows = conn.execute(
                text("SELECT status, attempts, last_error FROM outbox WHERE kind = 'task.create'")
            ).all()
        reason = "role 'engineer' has nobody in aims.yaml (add a person under roles.engineer)"
        assert [tuple(r) for r in rows] == [("dead", 1, reason)] * 2
        assert [d["reason"] for d in dead_evidence(h)] == [reason] * 2
        assert not h.tracker.tasks
    finally:
        h.db.dispose()


def test_no_eligible_approver_after_segregation_of_duties_is_dead(
    make_harness, database, db_url, tmp_path, clock, roles, answers
):
    # the only risk owner is also the engineer who identified the risk: nobody may accept it
    people = {**roles, "engineer": ["rita@example.com"], "risk_owner": ["rita@example.com"]}
    h = make_harness(db_url, tmp_path, clock, roles=people)
    try:
        h.add_system("Chatbot", in_scope=False)
        run_id = h.rt.start("ai-risk-assessment", system="Chatbot").run.run_id
        h.pump()
        h.complete("identify", answers["risk.identify"], run_id=run_id)
        h.complete("treat", answers["risk.treat"], run_id=run_id)
        (dead,) = dead_evidence(h)
        assert dead["kind"] == "approval.request"
        assert dead["reason"] == (
            "no eligible approver for roles risk_owner (after segregation of duties) "
            "(add people to those roles in aims.yaml)"
        )
        assert h.approvals.pending() == []
    finally:
        h.db.dispose()


def test_dead_commands_can_be_queued_again_once_the_cause_is_fixed(h):
    from aims_workflows.engine import Actor

    h.tracker.fail_next(1, retryable=False, message="Jira has no custom field for 'Likelihood'")
    run_id = start_risk(h)
    assert h.pump().dead == 1
    assert create_row(h, run_id).status == "dead"
    # the admin fixes Jira, then queues the run's dead commands again
    revived = h.app.dispatcher.revive(run_id, actor=Actor("ana@example.com", "cli"))
    assert [kind for kind, _ in revived] == ["task.create"]
    row = create_row(h, run_id)
    assert row.status == "pending" and row.attempts == 0
    assert h.pump().done >= 1
    assert create_row(h, run_id).status == "done"
    assert len(h.tracker.open_tasks()) == 1  # carried out once
    kinds = h.kinds(run_id)
    assert kinds.index("command.dead") < kinds.index("command.revived") < kinds.index("task.issued")
    assert h.verify().ok
    # nothing left to revive
    assert h.app.dispatcher.revive(run_id, actor=Actor("ana@example.com", "cli")) == []
