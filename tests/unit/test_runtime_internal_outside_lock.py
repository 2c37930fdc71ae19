"""The dispatcher's own commands evaluate the engine's templates and conditions before their
write transaction, as events do: a spawned run's first step (``run.start``) and the parent's
next step when a child it waits for ends (``run.completed``) are computed on a snapshot; the
write lock is held only to store them (a run changed meanwhile is redone). A template that
takes long therefore never holds up the other writers. On SQLite the lock is this process's
write gate; the test watches it (see test_runtime_outside_lock.py)."""

from __future__ import annotations

import pytest
from test_runtime_outside_lock import GateWatch
from test_runtime_timers_schedules_outside_lock import harness_with

from aims_workflows.spec import _bounds

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

PARENT = """\
id: parent-flow
version: 1
title: Parent
subject: organisation
trigger:
  manual: true
steps:
  - id: child
    kind: spawn
    workflow: child-flow
    inputs:
      topic: '"the " ~ subject.name ~ " review"'
    wait: true
  - id: after
    kind: task
    role: aims_owner
    title: "Close {{ subject.name }} after {{ child.runs | length }} child run(s)"
"""

CHILD = """\
id: child-flow
version: 1
title: Child
subject: organisation
trigger:
  manual: true
inputs:
  - id: topic
steps:
  - id: work
    kind: task
    role: aims_owner
    title: "Work on {{ inputs.topic | upper }}"
"""


def _child_of(h, parent_id: str) -> str:
    from sqlalchemy import select

    from aims_workflows.store.models import Run

    runs = Run.__table__
    with h.db.connect() as conn:
        return conn.scalar(select(runs.c.id).where(runs.c.parent_run_id == parent_id))


def test_a_spawned_run_and_the_parent_notice_evaluate_outside_the_write_lock(
    db_url, tmp_path, clock, make_harness, monkeypatch
):
    h = harness_with(
        make_harness, db_url, tmp_path, clock, {"parent-flow": PARENT, "child-flow": CHILD}
    )
    parent = h.rt.start("parent-flow").run.run_id
    watch = GateWatch(h.db.gate, _bounds.step)
    monkeypatch.setattr(_bounds, "step", watch)

    h.pump()  # run.start: the child's first task title is rendered
    child = _child_of(h, parent)
    assert child is not None, "the spawn step started no child run"
    assert h.open_task("work", child).title == "Work on THE EXAMPLE LTD REVIEW"
    assert watch.steps > 0, "starting the child evaluated no template"
    assert watch.under_lock == 0

    watch.steps = 0
    h.complete("work", {}, run_id=child)  # the child ends; run.completed notifies the parent
    assert h.run_row(child).status == "completed"
    assert h.run_row(parent).current_step == "after"
    assert h.open_task("after", parent).title == "Close Example Ltd after 1 child run(s)"
    assert watch.steps > 0, "the parent's next step evaluated no template"
    assert watch.under_lock == 0
    h.verify()


def test_raising_a_finding_plans_its_corrective_action_outside_the_write_lock(harness, monkeypatch):
    from aims_workflows.findings.report import FindingReport
    from aims_workflows.findings.service import Findings

    findings = Findings(harness.rt)
    report = FindingReport.checked(
        source="complaint", title="Refused a loan with no reason", severity="major", clause="8.2"
    )
    first = findings.raise_finding(report)  # numbered NC-<year>-001
    watch = GateWatch(harness.db.gate, _bounds.step)
    monkeypatch.setattr(_bounds, "step", watch)
    raised = findings.raise_finding(report)
    assert raised.finding_id.endswith("-002") and first.finding_id.endswith("-001")
    [run_id] = raised.started
    assert harness.run_row(run_id).workflow_id == "corrective-action"
    assert watch.steps > 0, "starting the corrective action evaluated no template"
    assert watch.under_lock == 0
    harness.verify()
