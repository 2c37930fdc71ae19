"""Timers and schedules, like events, evaluate the engine's templates and conditions before
the write transaction: the reminders and escalations a timer fires, and the scope and first
step of a scheduled start, are computed on a snapshot; the write lock is held only to store
them. On SQLite the lock is this process's write gate; the test watches it (see
test_runtime_outside_lock.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from test_runtime_outside_lock import GateWatch

from aims_workflows.spec import _bounds

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


WAITING = """\
id: settle-then-check
version: 1
title: Settle, then check
subject: organisation
trigger:
  manual: true
steps:
  - id: settle
    kind: wait
    duration: 3d
  - id: check
    kind: task
    role: aims_owner
    title: "Check {{ subject.name }} after {{ 'three days' | upper }}"
"""


def harness_with(make_harness, db_url, tmp_path, clock, workflows: dict[str, str]):
    """A harness on an upgraded database running only ``workflows`` (id -> YAML text)."""
    from aims_workflows.store import Database

    Database(db_url).upgrade()
    folder = tmp_path / "wf"
    folder.mkdir()
    for workflow_id, text in workflows.items():
        (folder / f"{workflow_id}.yaml").write_text(text, encoding="utf-8")
    return make_harness(db_url, tmp_path, clock, workflows=folder)


def test_a_timer_enters_the_next_step_without_evaluating_under_the_write_lock(
    db_url, tmp_path, clock, make_harness, monkeypatch
):
    h = harness_with(make_harness, db_url, tmp_path, clock, {"settle-then-check": WAITING})
    run_id = h.rt.start("settle-then-check").run.run_id
    watch = GateWatch(h.db.gate, _bounds.step)
    monkeypatch.setattr(_bounds, "step", watch)
    h.clock.advance(timedelta(days=3, minutes=1))  # the wait ends: the task's title is rendered
    assert h.rt.tick() == 1
    assert h.run_row(run_id).current_step == "check"
    assert watch.steps > 0, "entering the task evaluated no template"
    assert watch.under_lock == 0
    h.app.db.dispose()


def test_scheduled_starts_evaluate_scope_and_templates_before_the_write(harness, monkeypatch):
    harness.add_system("Chatbot")
    watch = GateWatch(harness.db.gate, _bounds.step)
    monkeypatch.setattr(_bounds, "step", watch)
    harness.clock.advance(timedelta(days=400))  # every yearly schedule is due
    started = harness.rt.run_schedules()
    assert started
    assert watch.steps > 0, "the scheduled starts evaluated no template or condition"
    assert watch.under_lock == 0
    assert harness.rt.run_schedules() == []  # started once: the next pass finds them open


FOLLOW_UP = """\
id: follow-up
version: 1
title: Follow up
subject: organisation
trigger:
  on:
    - event: run.completed
      workflow: settle-then-check
steps:
  - id: follow
    kind: task
    role: aims_owner
    title: "Follow up {{ subject.name }} ({{ 'after the check' | upper }})"
"""


def test_a_completion_starts_the_triggered_run_without_evaluating_under_the_write_lock(
    db_url, tmp_path, clock, make_harness, monkeypatch
):
    h = harness_with(
        make_harness,
        db_url,
        tmp_path,
        clock,
        {"settle-then-check": WAITING, "follow-up": FOLLOW_UP},
    )
    run_id = h.rt.start("settle-then-check").run.run_id
    h.clock.advance(timedelta(days=3, minutes=1))
    h.rt.tick()
    h.pump()
    task = h.open_task("check", run_id)
    h.rt.complete_task(
        run_id, "check", {}, person=task.assignee, via="jira", attempt=task.attempt, ref=task.ref
    )
    watch = GateWatch(h.db.gate, _bounds.step)
    monkeypatch.setattr(_bounds, "step", watch)
    h.pump()  # the completion is reported: the follow-up starts, its title rendered
    with h.db.connect() as conn:
        from sqlalchemy import text

        follow_ups = conn.execute(
            text("SELECT count(*) FROM runs WHERE workflow_id = 'follow-up'")
        ).scalar()
    assert follow_ups == 1
    assert watch.steps > 0, "the triggered start evaluated no template"
    assert watch.under_lock == 0
    h.app.db.dispose()
