"""The benchmark workload on aims-workflows itself, and the KPI data set.

``run_aims(n, workdir)`` runs the five-step approval of ``peers.py`` through the runtime: every
event is one unit of work (load the run, advance it, save it, append its evidence to the hash
chain, enqueue its commands in the outbox, move the KPI projections) in one SQLite transaction,
WAL, synchronous=NORMAL. Events are round-robin across instances, as for the peers, so no run
state is kept in memory between two of its events.

The five events, in aims terms:

    create            Runtime.start(...)              run.started, task 'assess' requested
    complete_task     Runtime.complete_task('assess') likelihood and impact
    request_approval  Runtime.complete_task('request') names the approver; approval requested
    approve           Runtime.decide(...)             approver + reason; approval closed
    record            Runtime.complete_task('record') the 'artefact' record step computes
                                                      score = likelihood * impact; run completed

``kpi_database(path, systems, evidence_rows)`` builds (or reuses) a database of that size for the
KPI timing: see its docstring.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

WORKFLOW_ID = "five-step-approval"

WORKFLOW_YAML = """\
id: five-step-approval
version: 1
title: Five-step approval
description: The benchmark workload; the same five events as the peer implementations.
subject: ai_system
evidences: ["6.1.2"]
trigger:
  manual: true
coverage:
  kpi: risk_assessment
  valid_for: 365d
inputs:
  - id: instance
    type: number
  - id: title
  - id: control
steps:
  - id: assess
    kind: task
    role: engineer
    title: "{{ inputs.title }}"
    due: 14d
    form:
      - {id: likelihood, type: number, label: Likelihood, integer: true, min: 1, max: 5}
      - {id: impact, type: number, label: Impact, integer: true, min: 1, max: 5}
  - id: request
    kind: task
    role: engineer
    title: "Request approval: {{ inputs.title }}"
    form:
      - {id: approver, type: user, label: Approver}
  - id: approve
    kind: approval
    approvers: [risk_owner]
    approves: [assess]
    on_reject: assess
    separation:
      not_assignee_of: [assess]
  - id: record
    kind: task
    role: engineer
    title: "Record: {{ inputs.title }}"
    form:
      - {id: confirmed, type: bool, label: Record the assessment}
  - id: artefact
    kind: record
    artefact: risk_assessment
    fields:
      kind: '"risk_assessment"'
      score: assess.likelihood * assess.impact
      approved_by: approve.decided_by[0]
"""

ANALYST = "analyst@example.org"
APPROVER = "ciso@example.org"
SYSTEM_NAME = "credit scoring model v3"
SYSTEM_OWNER = "risk-office@example.org"


def _fresh(path: Path) -> None:
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if p.exists():
            p.unlink()


def make_runtime(workdir: Path, name: str = "aims_workload.db"):
    """A migrated database, the benchmark workflow and a runtime over them (not timed)."""
    from aims_workflows.config import AimsConfig
    from aims_workflows.inventory import AISystemRecord
    from aims_workflows.ports import SystemClock
    from aims_workflows.runtime import Inventory, Runtime
    from aims_workflows.spec import load_workflows
    from aims_workflows.store import Database

    workdir = Path(workdir)
    path = workdir / name
    _fresh(path)
    spec_path = workdir / "five-step-approval.yaml"
    spec_path.write_text(WORKFLOW_YAML, encoding="utf-8")
    config = AimsConfig(roles={"engineer": [ANALYST], "risk_owner": [APPROVER], "aims_owner": [SYSTEM_OWNER]})
    db = Database(f"sqlite:///{path}")
    db.upgrade()
    workflows = load_workflows([spec_path], roles=config.role_names())
    runtime = Runtime(db, workflows, config, SystemClock())
    Inventory(runtime).add(AISystemRecord(name=SYSTEM_NAME, owner=SYSTEM_OWNER))
    return runtime


def run_aims(n: int, workdir: Path, *, runtime=None) -> float:
    """Run the workload through the runtime; return the seconds spent on the events.

    Not timed: migrating the database, loading the workflow, registering the AI system, and the
    final check (every run completed with the right score, the ledger verifying).
    """
    from peers import EVENTS, EXPECTED_SCORE

    rt = runtime or make_runtime(workdir)
    payload = dict(EVENTS)
    assess = {k: payload["complete_task"][k] for k in ("likelihood", "impact")}
    request = {"approver": payload["request_approval"]["approver"]}
    approve = payload["approve"]
    create = payload["create"]

    run_ids: list[str] = []
    started = time.perf_counter()
    for instance in range(1, n + 1):
        inputs = {"instance": instance, "title": create["title"], "control": create["control"]}
        run_ids.append(rt.start(WORKFLOW_ID, system=SYSTEM_NAME, inputs=inputs).run.run_id)
    for run_id in run_ids:
        rt.complete_task(run_id, "assess", assess, person=ANALYST, via="jira")
    for run_id in run_ids:
        rt.complete_task(run_id, "request", request, person=ANALYST, via="jira")
    for run_id in run_ids:
        rt.decide(f"{run_id}.approve.1.1", person=approve["approver"], decision="approve",
                  reason=approve["reason"], via="slack")
    for run_id in run_ids:
        rt.complete_task(run_id, "record", {"confirmed": True}, person=ANALYST, via="jira")
    elapsed = time.perf_counter() - started

    check_aims(rt, run_ids, EXPECTED_SCORE)
    return elapsed


def check_aims(rt, run_ids: list[str], expected_score: int) -> None:
    from aims_workflows.store import ledger
    from aims_workflows.store import runs as run_store

    with rt.db.connect() as conn:
        for run_id in run_ids:
            run, _ = run_store.load(conn, run_id)
            if run.status != "completed":
                raise RuntimeError(f"aims: run {run_id} is {run.status} ({run.failure or run.current})")
            artefact = run.data.get("artefact") or {}
            if artefact.get("score") != expected_score or artefact.get("approved_by") != APPROVER:
                raise RuntimeError(f"aims: run {run_id} has wrong data {run.data!r}")
        report = ledger.verify(conn)
    if not report.ok:
        raise RuntimeError(f"aims: ledger does not verify: {report.problem}")


if __name__ == "__main__":
    import sys
    import tempfile

    sys.path.insert(0, str(Path(__file__).parent))
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    with tempfile.TemporaryDirectory(prefix="aims-bench-") as tmp:
        seconds = run_aims(n, Path(tmp))
    print(f"aims-workflows: {n / seconds:,.1f} instances/s ({5 * n / seconds:,.1f} events/s)")
