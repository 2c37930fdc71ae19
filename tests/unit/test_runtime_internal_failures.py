"""An internal command that cannot be carried out is parked with its reason; the others go on."""

from __future__ import annotations

from sqlalchemy import select

from aims_workflows.config import AimsConfig
from aims_workflows.runtime import Dispatcher, Runtime
from aims_workflows.spec import load_workflows
from aims_workflows.store import Database, ledger
from aims_workflows.store.models import OutboxItem, Run
from aims_workflows.testing import (
    InMemoryApprovalChannel,
    InMemoryIssueTracker,
    InMemoryNotifier,
    ManualClock,
    utc,
)

PARENT = """id: parent
version: 1
title: Parent
subject: organisation
steps:
  - {id: good, kind: spawn, workflow: child, inputs: {count: "3"}}
  - {id: bad, kind: spawn, workflow: child, inputs: {count: "'lots'"}}
  - {id: tell, kind: notify, to: [aims_owner], message: "spawned"}
"""
CHILD = """id: child
version: 1
title: Child
subject: organisation
trigger: {manual: false}
inputs: [{id: count, type: number, required: true}]
steps:
  - {id: note, kind: record, artefact: note, fields: {count: "inputs.count"}}
"""


def test_a_spawned_run_with_a_bad_input_is_dead_and_the_rest_carries_on(tmp_path):
    (tmp_path / "parent.yaml").write_text(PARENT)
    (tmp_path / "child.yaml").write_text(CHILD)
    db = Database(f"sqlite:///{tmp_path / 'aims.db'}")
    db.upgrade()
    runtime = Runtime(
        db,
        load_workflows([tmp_path]),
        AimsConfig(roles={"aims_owner": ["ana@example.com"]}),
        ManualClock(utc(2026, 5, 4, 9)),
    )
    dispatcher = Dispatcher(
        runtime,
        tracker=InMemoryIssueTracker(),
        approvals=InMemoryApprovalChannel(),
        notifier=InMemoryNotifier(),
    )
    parent = runtime.start("parent").run
    assert parent.status == "completed"  # spawns without waiting, then notifies

    report = dispatcher.pump()

    assert report.dead == 1 and "input 'count' must be a number, not 'lots'" in report.errors[0]
    runs, items = Run.__table__, OutboxItem.__table__
    with db.connect() as conn:
        children = conn.execute(
            select(runs.c.id, runs.c.status).where(runs.c.workflow_id == "child")
        ).all()
        dead = conn.execute(
            select(items.c.key, items.c.last_error).where(items.c.status == "dead")
        ).all()
        report_ok = ledger.verify(conn)
    assert [c.status for c in children] == ["completed"]  # the good child ran
    assert len(dead) == 1 and "/bad/" in dead[0].key and "must be a number" in dead[0].last_error
    assert report_ok.ok
    db.dispose()
