"""The workload of ``_aims_workload`` applied as queued events with group commit: the runs are
started first (not timed), then every event of every run is applied through
``Runtime.receive_batch`` in batches of ``batch`` events (one transaction each, a savepoint per
event), in the same order as the one-transaction-per-event run."""

from __future__ import annotations

import time
from pathlib import Path

import _aims_workload as aims


def run_batched(n: int, workdir: Path, *, batch: int = 100) -> tuple[float, int]:
    """Seconds spent applying the events, and how many events were applied."""
    from peers import EVENTS, EXPECTED_SCORE

    from aims_workflows.engine import Actor, ApprovalDecided, TaskCompleted
    from aims_workflows.runtime import Queued

    rt = aims.make_runtime(workdir, "aims_group_commit.db")
    payload = dict(EVENTS)
    assess = {k: payload["complete_task"][k] for k in ("likelihood", "impact")}
    request = {"approver": payload["request_approval"]["approver"]}
    approve = payload["approve"]
    create = payload["create"]
    run_ids = [
        rt.start(
            aims.WORKFLOW_ID,
            system=aims.SYSTEM_NAME,
            inputs={"instance": i, "title": create["title"], "control": create["control"]},
            again=True,  # many instances on one subject on purpose
        ).run.run_id
        for i in range(1, n + 1)
    ]
    analyst = rt.actor(aims.ANALYST, "jira")
    approver = Actor(approve["approver"], "slack", tuple(rt.config.roles_of(approve["approver"])))
    queued: list[Queued] = []
    for step, answers in (("assess", assess), ("request", request)):
        queued += [
            Queued(TaskCompleted(actor=analyst, step_id=step, answers=answers), run_id=r)
            for r in run_ids
        ]
    queued += [
        Queued(
            ApprovalDecided(
                actor=approver,
                approval_id=f"{r}.approve.1.1",
                decision="approve",
                reason=approve["reason"],
            )
        )
        for r in run_ids
    ]
    queued += [
        Queued(
            TaskCompleted(actor=analyst, step_id="record", answers={"confirmed": True}), run_id=r
        )
        for r in run_ids
    ]
    started = time.perf_counter()
    for at in range(0, len(queued), batch):
        results = rt.receive_batch(queued[at : at + batch])
        failed = [r for r in results if isinstance(r, Exception)]
        if failed:
            raise RuntimeError(f"an event failed in a batch: {failed[0]!r}")
    elapsed = time.perf_counter() - started
    aims.check_aims(rt, run_ids, EXPECTED_SCORE)
    rt.db.dispose()
    return elapsed, len(queued)
