"""The runtime's one way in: ``Runtime.receive`` applies an event with the inbox delivery that
carried it (stored first or not), ``ignore`` records a delivery that carries nothing, and the
read-only questions integrations may ask come from the run's state."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from aims_workflows.engine import ApprovalDecided, TaskCompleted, TimerTick
from aims_workflows.engine.commands import RecordAttachments
from aims_workflows.errors import NotFound
from aims_workflows.runtime import Delivery
from aims_workflows.store import runs as run_store


def risk_run(h) -> str:
    _, started = h.add_system("Chatbot")
    (run_id,) = [r for r in started if h.run_row(r).workflow_id == "ai-risk-assessment"]
    return run_id


def inbox(h) -> list[tuple[str, str, str, str | None]]:
    with h.db.connect() as conn:
        query = "SELECT source, delivery_id, status, error FROM inbox ORDER BY id"
        return [tuple(r) for r in conn.execute(text(query))]


def completion(h, run_id: str, answers: dict) -> TaskCompleted:
    task = h.open_task("identify", run_id)
    return TaskCompleted(
        actor=h.rt.actor(task.assignee, "jira"),
        step_id="identify",
        attempt=task.attempt,
        answers=answers,
        ref=task.ref,
    )


def test_a_stored_delivery_is_applied_once_when_received(harness, answers):
    h = harness
    run_id = risk_run(h)
    delivery = Delivery("jira", "hook-1", '{"webhookEvent": "jira:issue_updated"}')
    assert h.rt.store_delivery(delivery) and not h.rt.store_delivery(delivery)
    assert h.rt.stored_deliveries("jira") == [delivery]
    assert h.rt.inbox_backlog() == {"jira": 1}

    event = completion(h, run_id, answers["risk.identify"])
    outcome = h.rt.receive(event, run_id=run_id, delivery=Delivery("jira", "hook-1"))
    assert outcome.run_id == run_id and outcome.ignored is None
    assert "task.completed" in h.kinds(run_id)
    again = h.rt.receive(event, run_id=run_id, delivery=Delivery("jira", "hook-1"))
    assert again.duplicate and h.kinds(run_id).count("task.completed") == 1
    assert inbox(h) == [("jira", "hook-1", "processed", None)]
    assert h.rt.stored_deliveries("jira") == [] and h.rt.inbox_backlog() == {}


def test_a_failed_unit_of_work_leaves_the_stored_delivery_to_be_applied_again(
    harness, answers, monkeypatch
):
    h = harness
    run_id = risk_run(h)
    h.rt.store_delivery(Delivery("jira", "hook-2", "{}"))
    event = completion(h, run_id, answers["risk.identify"])

    def down(*args, **kwargs):
        raise RuntimeError("the database went away mid-transaction")

    monkeypatch.setattr(run_store, "save", down)
    with pytest.raises(RuntimeError):
        h.rt.receive(event, run_id=run_id, delivery=Delivery("jira", "hook-2"))
    assert inbox(h) == [("jira", "hook-2", "received", None)]
    monkeypatch.undo()
    assert not h.rt.receive(event, run_id=run_id, delivery=Delivery("jira", "hook-2")).duplicate
    assert inbox(h) == [("jira", "hook-2", "processed", None)]


def test_a_delivery_for_no_run_is_recorded_as_ignored_and_its_follow_up_queued(harness):
    h = harness
    follow_up = RecordAttachments(key="R9/jira-attachments/x", run_id="R9", ref="K-1")
    outcome = h.rt.receive(
        TimerTick(), run_id="R9", delivery=Delivery("jira", "x"), follow_up=[follow_up]
    )
    assert outcome.run_id == "R9" and outcome.ignored.startswith("no run 'R9'")
    assert inbox(h) == [("jira", "x", "ignored", outcome.ignored)]
    assert h.count("outbox", "WHERE key = 'R9/jira-attachments/x'") == 1
    with pytest.raises(NotFound):  # from the CLI, an unknown run is an error
        h.rt.receive(TimerTick(), run_id="R9")


def test_a_delivery_with_nothing_for_the_engine_is_ignored_once_with_why(harness):
    h = harness
    delivery = Delivery("jira", "comment-1", json.dumps({"webhookEvent": "comment_created"}))
    assert h.rt.ignore(delivery, "no change the engine acts on")
    assert not h.rt.ignore(delivery, "no change the engine acts on")
    assert inbox(h) == [("jira", "comment-1", "ignored", "no change the engine acts on")]


def test_a_decision_names_its_approval_and_the_runtime_finds_the_run(harness, answers):
    h = harness
    run_id = risk_run(h)
    identify = h.open_task("identify", run_id)
    assert h.rt.task_status(run_id, "identify", identify.attempt) == "open"
    h.complete("identify", answers["risk.identify"], run_id=run_id)
    assert h.rt.task_status(run_id, "identify", identify.attempt) == "completed"
    assert h.rt.task_status(run_id, "identify", identify.attempt + 1) == "completed"
    assert h.rt.task_status("R-none", "identify", 1) is None
    h.complete("treat", answers["risk.treat"], run_id=run_id)
    request = h.pending_approval(run_id)
    assert h.rt.deciders(run_id, request.approval_id) == set()

    decided = ApprovalDecided(
        actor=h.rt.actor("rita@example.com", "slack"),
        approval_id=request.approval_id,
        decision="approve",
        reason="residual risk acceptable",
        content_hash=None,  # the tool did not say what was shown: the current content
        ref="slack:view:V1",
    )
    outcome = h.rt.receive(decided, delivery=Delivery("slack", "view:V1"))
    assert outcome.run_id == run_id and outcome.transition.run.status == "completed"
    assert h.rt.receive(decided, delivery=Delivery("slack", "view:V1")).duplicate

    missing = ApprovalDecided(approval_id="R0.x.1.1", decision="approve")
    gone = h.rt.receive(missing, delivery=Delivery("slack", "view:V2"))
    assert gone.run_id is None and gone.ignored.startswith("no approval 'R0.x.1.1'")


def test_a_cancelled_run_says_its_task_is_cancelled(harness):
    h = harness
    run_id = risk_run(h)
    attempt = h.open_task("identify", run_id).attempt
    h.rt.cancel(run_id, "the system was retired")
    assert h.rt.task_status(run_id, "identify", attempt) == "cancelled"
