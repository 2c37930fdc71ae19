"""The engine's templates and conditions are never evaluated while the database's write lock
is held: the event is applied to a snapshot of the run first, and the write transaction only
stores the result (a run changed meanwhile is redone). On SQLite the lock is this process's
write gate (store/write_gate.py) plus SQLite's own; the test watches the gate."""

from __future__ import annotations

import re
import threading

import pytest

from aims_workflows.engine import TaskCompleted
from aims_workflows.spec import _bounds
from aims_workflows.store import runs as run_store

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


class GateWatch:
    """Counts evaluation steps, and those taken while this thread held the write gate."""

    def __init__(self, gate, original) -> None:
        self.gate, self.original = gate, original
        self.steps = self.under_lock = 0

    def __call__(self, cost: int = 1) -> None:
        self.steps += 1
        if getattr(self.gate, "_holder", None) == threading.get_ident():
            self.under_lock += 1
        self.original(cost)


def test_templates_and_conditions_run_outside_the_write_lock(harness, answers, monkeypatch):
    watch = GateWatch(harness.db.gate, _bounds.step)
    monkeypatch.setattr(_bounds, "step", watch)
    _, started = harness.add_system("Chatbot")
    [run_id] = [r for r in started if harness.run_row(r).workflow_id == "ai-risk-assessment"]
    watch.steps = watch.under_lock = 0  # the start above went through the inventory's path

    task = harness.open_task("identify", run_id)
    harness.rt.receive(
        TaskCompleted(
            actor=harness.rt.actor(task.assignee, "jira"),
            step_id="identify",
            attempt=task.attempt,
            answers=answers["risk.identify"],
            ref=task.ref,
        ),
        run_id=run_id,
    )
    assert watch.steps > 0, "the completion evaluated no template or condition"
    assert watch.under_lock == 0

    harness.rt.start("management-review")
    assert watch.under_lock == 0


def test_group_commit_also_runs_templates_outside_the_write_lock(harness, answers, monkeypatch):
    from aims_workflows.runtime import Queued

    _, started = harness.add_system("Chatbot")
    [run_id] = [r for r in started if harness.run_row(r).workflow_id == "ai-risk-assessment"]
    again = harness.rt.start("ai-risk-assessment", system="Chatbot", again=True).run.run_id
    harness.pump()
    watch = GateWatch(harness.db.gate, _bounds.step)
    monkeypatch.setattr(_bounds, "step", watch)
    events = []
    for run in (run_id, again):
        task = harness.open_task("identify", run)
        actor = harness.rt.actor(task.assignee, "jira")
        events.append(
            Queued(
                TaskCompleted(actor=actor, step_id="identify", answers=answers["risk.identify"]),
                run_id=run,
            )
        )
    results = harness.rt.receive_batch(events)
    assert all(r.transition and r.transition.ignored is None for r in results)
    assert watch.steps > 0 and watch.under_lock == 0


def test_a_run_changed_while_the_engine_worked_is_redone_not_overwritten(harness, answers):
    _, started = harness.add_system("Chatbot")
    [run_id] = [r for r in started if harness.run_row(r).workflow_id == "ai-risk-assessment"]
    task = harness.open_task("identify", run_id)
    event = TaskCompleted(
        actor=harness.rt.actor(task.assignee, "jira"),
        step_id="identify",
        attempt=task.attempt,
        answers=answers["risk.identify"],
        ref=task.ref,
    )
    prepared = harness.rt._prepare(event, run_id, harness.clock.now())
    # another writer moves the run on before this one stores its result
    harness.rt.receive(event, run_id=run_id)
    with harness.db.begin() as conn, pytest.raises(run_store.ConcurrentUpdate):
        harness.rt._commit_transition(
            conn, prepared.spec, prepared.transition, prepared.lock_version, harness.clock.now()
        )


def test_a_pinned_workflow_text_changed_in_the_database_stops_its_runs_clearly(
    db_url, tmp_path, clock, make_harness, answers
):
    import shutil

    from sqlalchemy import text

    from aims_workflows.app import shipped_workflows_dir
    from aims_workflows.errors import SpecTampered
    from aims_workflows.store import Database

    Database(db_url).upgrade()
    folder = tmp_path / "wf"
    folder.mkdir()
    for name in (
        "ai-risk-assessment",
        "ai-risk",
        "risk-treatment",
        "ai-impact-assessment",
        "ai-system-change-review",
    ):
        shutil.copy(shipped_workflows_dir() / f"{name}.yaml", folder)
    first = make_harness(db_url, tmp_path, clock, workflows=folder)
    _, started = first.add_system("Chatbot")
    [run_id] = [r for r in started if first.run_row(r).workflow_id == "ai-risk-assessment"]
    task = first.open_task("identify", run_id)
    first.app.db.dispose()
    # the file moves on to the next version, so the pinned one is read from the database from
    # now on
    path = folder / "ai-risk-assessment.yaml"
    path.write_text(
        re.sub(
            r"^version: (\d+)$",
            lambda m: f"version: {int(m.group(1)) + 1}",
            path.read_text(),
            count=1,
            flags=re.MULTILINE,
        )
    )
    # ... and someone with write access edits the pinned text
    with Database(db_url).begin() as conn:
        conn.execute(
            text(
                "UPDATE spec_versions SET text = replace(text, 'title: AI risk assessment', "
                "'title: Something else') WHERE workflow_id = 'ai-risk-assessment'"
            )
        )
    second = make_harness(db_url, tmp_path, clock, workflows=folder)
    event = TaskCompleted(
        actor=second.rt.actor(task.assignee, "jira"),
        step_id="identify",
        attempt=task.attempt,
        answers=answers["risk.identify"],
        ref=task.ref,
    )
    with pytest.raises(SpecTampered) as caught:
        second.rt.receive(event, run_id=run_id)
    assert "ai-risk-assessment" in str(caught.value) and "pinned" in str(caught.value)
    assert "task.completed" not in second.kinds(run_id)
    second.app.db.dispose()
