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
    from aims_workflows.inventory import AISystemRecord, Inventory
    from aims_workflows.ports import SystemClock
    from aims_workflows.runtime import Runtime
    from aims_workflows.spec import load_workflows
    from aims_workflows.store import Database

    workdir = Path(workdir)
    path = workdir / name
    _fresh(path)
    spec_path = workdir / "five-step-approval.yaml"
    spec_path.write_text(WORKFLOW_YAML, encoding="utf-8")
    config = AimsConfig(
        roles={"engineer": [ANALYST], "risk_owner": [APPROVER], "aims_owner": [SYSTEM_OWNER]}
    )
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
        # many instances on one subject on purpose: `--again` past the second-open-run guard
        transition = rt.start(WORKFLOW_ID, system=SYSTEM_NAME, inputs=inputs, again=True)
        run_ids.append(transition.run.run_id)
    for run_id in run_ids:
        rt.complete_task(run_id, "assess", assess, person=ANALYST, via="jira")
    for run_id in run_ids:
        rt.complete_task(run_id, "request", request, person=ANALYST, via="jira")
    for run_id in run_ids:
        rt.decide(
            f"{run_id}.approve.1.1",
            person=approve["approver"],
            decision="approve",
            reason=approve["reason"],
            via="slack",
        )
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
                raise RuntimeError(
                    f"aims: run {run_id} is {run.status} ({run.failure or run.current})"
                )
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


# --------------------------------------------------------------------------
# The KPI data set
# --------------------------------------------------------------------------

KPI_DATA_VERSION = "kpi-data-3"
"""Bump when the generator changes: cached databases carry it in their file name."""

KPI_NOW_ISO = "2026-06-30T12:00:00+00:00"
"""The 'now' the data set is generated around and the KPIs are computed at."""

_WORKFLOWS = (("ai-risk-assessment", "risk"), ("ai-impact-assessment", "impact"))
_ENGINEERS = tuple(f"engineer{i}@example.org" for i in range(1, 41))
_APPROVERS = tuple(f"risk.owner{i}@example.org" for i in range(1, 9))
_OWNERS = tuple(f"owner{i}@example.org" for i in range(1, 201))
_TIERS = ("minimal", "limited", "high")
_STAGES = ("development", "validation", "deployed", "monitoring")
_KINDS = ("classifier", "llm", "recommender", "regression", "vision")


def kpi_database_path(out_dir: Path, systems: int, evidence_rows: int) -> Path:
    """Cache file for a data set of this size, generator version and schema revision."""
    from aims_workflows.store import Database

    revision = Database("sqlite://").head_revision()
    return Path(out_dir) / f"{KPI_DATA_VERSION}-{revision}-{systems}s-{evidence_rows}e.db"


def kpi_database(
    out_dir: Path, systems: int, evidence_rows: int, *, log=print
) -> tuple[Path, bool]:
    """The path of a database holding ``systems`` AI systems and exactly ``evidence_rows`` ledger
    rows with the projections they imply; (path, reused). Built once, then reused from ``out_dir``.
    """
    path = kpi_database_path(out_dir, systems, evidence_rows)
    if path.exists():
        return path, True
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    _fresh(partial)
    started = time.perf_counter()
    _generate(partial, systems, evidence_rows, log=log)
    log(
        f"  generated {evidence_rows:,} evidence rows for {systems:,} AI systems in "
        f"{time.perf_counter() - started:.1f} s"
    )
    partial.rename(path)
    return path, False


class _Generator:
    """Writes runs' worth of ledger rows (chained exactly as the runtime does) and the projection
    rows the same events would have moved, in large transactions on a bare sqlite3 connection."""

    BATCH = 20_000

    def __init__(self, conn, rng, now) -> None:
        from sqlalchemy.dialects import sqlite

        from aims_workflows.engine.evidence import GENESIS_HASH
        from aims_workflows.store.models import AISystem, Approval, StepRecord

        self.conn, self.rng, self.now = conn, rng, now
        dialect = sqlite.dialect()
        # the column types' own converters, so stored values are exactly what the store writes
        self.dt = AISystem.__table__.c.created_at.type.dialect_impl(dialect).bind_processor(dialect)
        self.json = Approval.__table__.c.approvers.type.dialect_impl(dialect).bind_processor(
            dialect
        )
        self.bool = StepRecord.__table__.c.overdue.type.dialect_impl(dialect).bind_processor(
            dialect
        ) or (lambda v: v)
        self.seq, self.prev = 0, GENESIS_HASH
        self.rows = 0
        self.pending: list[tuple] = []
        self.steps: list[tuple] = []
        self.approvals: list[tuple] = []
        self.histogram: dict[int, int] = {}

    # -- ledger -----------------------------------------------------------------------------
    def tx(self, records, at) -> None:
        """One unit of work's evidence: numbered and hashed after the current head."""
        from aims_workflows.engine.evidence import chain

        rows = chain(records, start_seq=self.seq + 1, prev_hash=self.prev, recorded_at=at)
        self.seq, self.prev = rows[-1].seq, rows[-1].hash
        self.rows += len(rows)
        self.pending.extend(
            (
                r.seq,
                r.run_id,
                r.step_id,
                r.kind,
                r.actor,
                r.via,
                r.effective_at,
                r.recorded_at,
                r.payload,
                r.ref,
                r.prev_hash,
                r.hash,
            )
            for r in rows
        )
        if len(self.pending) >= self.BATCH:
            self.flush()

    def flush(self) -> None:
        c = self.conn
        if self.pending:
            c.executemany(
                "INSERT INTO evidence (seq, run_id, step_id, kind, actor, via, effective_at, "
                "recorded_at, payload, ref, prev_hash, hash)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                self.pending,
            )
        if self.steps:
            c.executemany(
                "INSERT INTO steps (run_id, step_id, attempt, kind, title, role, assignee, "
                "external_ref, status, overdue, created_at, due_at, completed_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                self.steps,
            )
        if self.approvals:
            c.executemany(
                "INSERT INTO approvals (approval_id, run_id, step_id, content_hash, approvers, "
                "status, requested_at, closed_at, latency_seconds, external_ref)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                self.approvals,
            )
        c.commit()
        self.pending, self.steps, self.approvals = [], [], []


def _generate(path: Path, systems: int, evidence_rows: int, *, log) -> None:
    import hashlib
    import random
    import sqlite3
    from datetime import datetime, timedelta

    from aims_workflows.engine.evidence import EvidenceRecord, iso
    from aims_workflows.store import Database

    db = Database(f"sqlite:///{path}")
    db.upgrade()
    db.dispose()

    now = datetime.fromisoformat(KPI_NOW_ISO)
    rng = random.Random(42001)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-200000")
    g = _Generator(conn, rng, now)
    R = EvidenceRecord
    scheduler, engine, system_actor = (
        ("scheduler", "scheduler"),
        ("aims", "engine"),
        ("aims", "system"),
    )

    # -- the inventory ------------------------------------------------------------------------
    earliest = now - timedelta(days=3 * 365)
    system_rows, subjects = [], []
    for sid in range(1, systems + 1):
        created = earliest + timedelta(days=rng.uniform(0, 365))
        name = f"AI system {sid:05d}"
        owner = _OWNERS[sid % len(_OWNERS)]
        attributes = {
            "name": name,
            "owner": owner,
            "business_purpose": f"Purpose of system {sid}",
            "model_type": _KINDS[sid % len(_KINDS)],
            "data_sources": ["crm"],
            "outputs": "scores",
            "users": "staff",
            "deployment_scale": "internal",
            "dependencies": [],
            "lifecycle_stage": _STAGES[sid % len(_STAGES)],
            "risk_tier": _TIERS[sid % len(_TIERS)],
            "in_scope": sid % 20 != 0,
            "jurisdictions": ["EU"],
        }
        subjects.append(
            {
                "type": "ai_system",
                "id": str(sid),
                "name": name,
                "owner": owner,
                "attributes": attributes,
            }
        )
        system_rows.append(
            [
                sid,
                name,
                owner,
                attributes["business_purpose"],
                attributes["model_type"],
                g.json(["crm"]),
                "scores",
                "staff",
                "internal",
                g.json([]),
                attributes["lifecycle_stage"],
                attributes["risk_tier"],
                attributes["in_scope"],
                g.json(["EU"]),
                1,
                g.dt(created),
                g.dt(created),
                None,
                None,
                None,
                None,
                created,
            ]
        )
        g.tx(
            [
                R(
                    "ai_system.registered",
                    None,
                    None,
                    owner,
                    "cli",
                    created,
                    {"system_id": sid, "record": attributes},
                    f"ai_system:{sid}",
                )
            ],
            created,
        )
    coverage: dict[tuple[int, str], datetime] = {}

    # -- runs, round-robin over the systems until the ledger is nearly full -------------------
    budget = evidence_rows - max(200, evidence_rows // 100)  # room for the findings, then padding
    findings = []
    issue = 0
    k = 0
    while g.rows + 10 <= budget:
        sid = 1 + k % systems
        lap = k // systems
        k += 1
        subject = subjects[sid - 1]
        created_at = system_rows[sid - 1][-1]
        workflow, prefix = _WORKFLOWS[(sid + lap) % 2]
        run_id = f"G{sid:05d}.{lap:03d}"
        span = (now - created_at).total_seconds()
        if sid % 8 == 3 or (sid % 10 == 7 and prefix == "impact"):
            span *= 0.45  # assessed early and not since: coverage expired
        laps = max(1, budget // (10 * systems))
        start = created_at + timedelta(seconds=span * (lap + rng.uniform(0.05, 0.9)) / (laps + 1))
        last_lap = g.rows + 10 * systems > budget
        stop = (
            10 if not (last_lap and sid % 12 == 0) else (2, 3, 6)[sid % 3]
        )  # a few runs still open at the end
        if stop < 10:
            start = now - timedelta(days=rng.uniform(0.5, 25))
        engineer = _ENGINEERS[rng.randrange(len(_ENGINEERS))]
        approver = _APPROVERS[rng.randrange(len(_APPROVERS))]
        due = start + timedelta(days=10)
        issue += 1
        ref = f"AIMS-{issue}"
        t_issue = start + timedelta(seconds=rng.uniform(2, 30))
        t_done = start + timedelta(hours=rng.uniform(2, 24 * 12))
        latency = rng.lognormvariate(8.5, 1.2)
        t_decide = t_done + timedelta(seconds=latency)
        likelihood, impact = rng.randint(1, 5), rng.randint(1, 5)
        score = likelihood * impact
        step = "identify" if prefix == "risk" else "describe"
        approval_id = f"{run_id}.accept.1.1"
        content_hash = hashlib.sha256(f"{run_id}/{score}".encode()).hexdigest()

        g.tx(
            [
                R(
                    "run.started",
                    run_id,
                    None,
                    *scheduler,
                    start,
                    {
                        "workflow": workflow,
                        "version": 1,
                        "spec_hash": "b" * 64,
                        "subject": subject,
                        "inputs": {},
                        "parent_run_id": None,
                        "evidences": ["6.1.2", "8.2"],
                        "trigger": "schedule (every 365d)",
                    },
                ),
                R(
                    "task.requested",
                    run_id,
                    step,
                    *system_actor,
                    start,
                    {
                        "title": f"Assessment of {subject['name']}",
                        "role": "engineer",
                        "attempt": 1,
                        "due_at": iso(due),
                    },
                ),
            ],
            start,
        )
        if stop == 2:
            g.steps.append(
                (
                    run_id,
                    step,
                    1,
                    "task",
                    f"Assessment of {subject['name']}",
                    "engineer",
                    None,
                    None,
                    "open",
                    g.bool(False),
                    g.dt(start),
                    g.dt(due),
                    None,
                )
            )
            continue
        g.tx(
            [
                R(
                    "task.issued",
                    run_id,
                    step,
                    *engine,
                    t_issue,
                    {"ref": ref, "assignee": engineer, "attempt": 1},
                    ref,
                )
            ],
            t_issue,
        )
        if stop == 3:
            g.steps.append(
                (
                    run_id,
                    step,
                    1,
                    "task",
                    f"Assessment of {subject['name']}",
                    "engineer",
                    engineer,
                    ref,
                    "open",
                    g.bool(False),
                    g.dt(start),
                    g.dt(due),
                    None,
                )
            )
            continue
        g.steps.append(
            (
                run_id,
                step,
                1,
                "task",
                f"Assessment of {subject['name']}",
                "engineer",
                engineer,
                ref,
                "done",
                g.bool(t_done > due),
                g.dt(start),
                g.dt(due),
                g.dt(t_done),
            )
        )
        g.tx(
            [
                R(
                    "task.completed",
                    run_id,
                    step,
                    engineer,
                    "jira",
                    t_done,
                    {
                        "answers": {
                            "likelihood": likelihood,
                            "impact": impact,
                            "rationale": "Observed in testing",
                        },
                        "by": engineer,
                        "attempt": 1,
                        "overdue": t_done > due,
                    },
                    ref,
                ),
                R(
                    "artefact.recorded",
                    run_id,
                    "evaluate",
                    *system_actor,
                    t_done,
                    {
                        "artefact": f"{prefix}_evaluation",
                        "fields": {"score": score, "level": "high" if score >= 15 else "low"},
                        "subject": subject["id"],
                    },
                ),
                R(
                    "approval.requested",
                    run_id,
                    "accept",
                    *system_actor,
                    t_done,
                    {
                        "approval_id": approval_id,
                        "approvers": ["risk_owner"],
                        "quorum": "any",
                        "content_hash": content_hash,
                        "round": 1,
                        "shown": {"Score": score},
                    },
                ),
            ],
            t_done,
        )
        if stop == 6:
            g.approvals.append(
                (
                    approval_id,
                    run_id,
                    "accept",
                    content_hash,
                    g.json(["risk_owner"]),
                    "open",
                    g.dt(t_done),
                    None,
                    None,
                    None,
                )
            )
            continue
        seconds = (t_decide - t_done).total_seconds()
        g.approvals.append(
            (
                approval_id,
                run_id,
                "accept",
                content_hash,
                g.json(["risk_owner"]),
                "approved",
                g.dt(t_done),
                g.dt(t_decide),
                seconds,
                None,
            )
        )
        g.histogram[int(seconds // 60)] = g.histogram.get(int(seconds // 60), 0) + 1
        g.tx(
            [
                R(
                    "approval.decided",
                    run_id,
                    "accept",
                    approver,
                    "slack",
                    t_decide,
                    {
                        "approval_id": approval_id,
                        "person": approver,
                        "decision": "approve",
                        "reason": "Within appetite",
                        "content_hash": content_hash,
                        "checks": [
                            "approver_role",
                            "segregation_of_duties",
                            "content_hash",
                            "single_decision",
                            "reason",
                        ],
                    },
                ),
                R(
                    "approval.closed",
                    run_id,
                    "accept",
                    *system_actor,
                    t_decide,
                    {
                        "approval_id": approval_id,
                        "outcome": "approved",
                        "latency_seconds": seconds,
                        "requested_at": iso(t_done),
                    },
                ),
                R(
                    "artefact.recorded",
                    run_id,
                    "summary",
                    *system_actor,
                    t_decide,
                    {
                        "artefact": f"{prefix}_summary",
                        "fields": {"score": score, "accepted_by": [approver]},
                        "subject": subject["id"],
                    },
                ),
                R(
                    "run.completed",
                    run_id,
                    None,
                    *system_actor,
                    t_decide,
                    {"workflow": workflow, "version": 1},
                ),
            ],
            t_decide,
        )
        if (sid, prefix) not in coverage or t_decide > coverage[(sid, prefix)]:
            coverage[(sid, prefix)] = t_decide
            index = 17 if prefix == "risk" else 19
            system_rows[sid - 1][index] = g.dt(t_decide)
            system_rows[sid - 1][index + 1] = g.dt(t_decide + timedelta(days=365))
        if rng.random() < 0.02:
            findings.append((sid, run_id, t_decide))

    # -- nonconformities: raised from a few runs, most closed by a corrective action ----------
    closed_count, closed_seconds, finding_rows = 0, 0.0, []
    for n, (sid, source_run, raised) in enumerate(findings, start=1):
        if g.rows + 3 > evidence_rows:
            break
        fid = f"F-{source_run}.{n}"
        corrective = f"C{n:06d}"
        title = f"Nonconformity {n}"
        g.tx(
            [
                R(
                    "finding.raised",
                    source_run,
                    None,
                    *engine,
                    raised,
                    {
                        "id": fid,
                        "title": title,
                        "severity": "minor",
                        "clause": "8.2",
                        "description": None,
                        "source": source_run,
                        "system": subjects[sid - 1]["name"],
                    },
                    fid,
                )
            ],
            raised,
        )
        closed_at = None
        if n % 5 and raised + timedelta(days=40) < now:
            closed_at = raised + timedelta(days=rng.uniform(3, 40))
            g.tx(
                [
                    R(
                        "run.started",
                        corrective,
                        None,
                        *engine,
                        raised,
                        {"workflow": "corrective-action", "version": 1},
                    ),
                    R(
                        "run.completed",
                        corrective,
                        None,
                        *system_actor,
                        closed_at,
                        {"workflow": "corrective-action", "version": 1},
                    ),
                ],
                closed_at,
            )
            closed_count += 1
            closed_seconds += (closed_at - raised).total_seconds()
        finding_rows.append(
            (
                fid,
                title,
                "minor",
                source_run,
                "8.2",
                None,
                subjects[sid - 1]["name"],
                "closed" if closed_at else "open",
                g.dt(raised),
                g.dt(closed_at) if closed_at else None,
                corrective,
            )
        )

    # -- pad to the exact size with notifications (one row per unit of work) ------------------
    moment = now - timedelta(days=1)
    while g.rows < evidence_rows:
        moment += timedelta(seconds=1)
        g.tx(
            [
                R(
                    "notification.sent",
                    None,
                    None,
                    *system_actor,
                    moment,
                    {"to": ["aims_owner"], "message": "Weekly AIMS digest"},
                )
            ],
            moment,
        )
    g.flush()

    # -- projections and the ledger head -------------------------------------------------------
    c = conn
    c.executemany(
        "INSERT INTO ai_systems (id, name, owner, business_purpose, model_type, "
        "data_sources, outputs, users, deployment_scale, dependencies, lifecycle_stage, "
        "risk_tier, in_scope, jurisdictions, version, created_at, updated_at, "
        "risk_assessed_at, risk_valid_until, impact_assessed_at, impact_valid_until) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [tuple(row[:-1]) for row in system_rows],
    )
    c.executemany(
        "INSERT INTO findings (id, title, severity, source, clause, description, system_name, "
        "status, raised_at, closed_at, corrective_run_id)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        finding_rows,
    )
    c.executemany(
        "INSERT INTO approval_latency_histogram (bucket_minutes, count) VALUES (?, ?)",
        sorted(g.histogram.items()),
    )
    c.executemany(
        "INSERT INTO kpi_counters (name, value) VALUES (?, ?)",
        [
            ("nonconformities_closed", float(closed_count)),
            ("nonconformity_close_seconds", closed_seconds),
        ],
    )
    c.execute("UPDATE ledger_head SET seq = ?, hash = ? WHERE id = 1", (g.seq, g.prev))
    c.commit()
    c.close()
    if g.rows != evidence_rows:
        raise RuntimeError(f"generator wrote {g.rows} evidence rows, meant {evidence_rows}")


# --------------------------------------------------------------------------
# The storage floor: the runtime's own statements replayed on bare sqlite3
# --------------------------------------------------------------------------


def replay_storage_floor(n: int, workdir: Path) -> float:
    """Seconds bare sqlite3 needs to execute exactly the statements the runtime issued for the
    workload (reads, writes, BEGIN IMMEDIATE / COMMIT, same parameters, same file settings).

    The runtime's throughput divided by this rate is the share of an event spent in SQLite
    itself; the rest is Python (engine, serialisation, SQLAlchemy).
    """
    import shutil
    import sqlite3

    from sqlalchemy import event

    workdir = Path(workdir)
    rt = make_runtime(workdir, "floor_capture.db")
    rt.db.dispose()  # checkpoints and removes the WAL, so the file alone is the starting state
    start_copy = workdir / "floor_replay.db"
    _fresh(start_copy)
    shutil.copyfile(workdir / "floor_capture.db", start_copy)

    log: list[tuple[str, Any, bool]] = []

    @event.listens_for(rt.db.engine, "before_cursor_execute")
    def _statement(conn, cursor, statement, parameters, context, executemany):  # noqa: ARG001
        log.append((statement, parameters, executemany))

    @event.listens_for(rt.db.engine, "commit")
    def _commit(conn):  # noqa: ARG001
        log.append(("COMMIT", (), False))

    @event.listens_for(rt.db.engine, "rollback")
    def _rollback(conn):  # noqa: ARG001
        log.append(("ROLLBACK", (), False))

    run_aims(n, workdir, runtime=rt)
    rt.db.dispose()
    # the final check's reads are not part of the workload: cut the log after the last event
    last = max(i for i, (sql, _, _) in enumerate(log) if sql == "COMMIT")
    work = log[: last + 1]
    work = [item for item in work if not item[0].startswith("PRAGMA")]

    conn = sqlite3.connect(start_copy, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    try:
        started = time.perf_counter()
        for sql, params, many in work:
            if sql.startswith("BEGIN") and conn.in_transaction:
                # the one replay connection stands for the pool's: a read snapshot (which the
                # pool ends by resetting it, unlogged) ends where the next unit of work begins
                conn.execute("ROLLBACK")
            if sql == "ROLLBACK" and not conn.in_transaction:
                continue  # that snapshot was already ended above
            if many:
                conn.executemany(sql, params)
            else:
                conn.execute(sql, params).fetchall()
        elapsed = time.perf_counter() - started
        (rows,) = conn.execute("SELECT count(*) FROM evidence").fetchone()
    finally:
        conn.close()
    if rows < 5 * n:
        raise RuntimeError(f"replay wrote {rows} evidence rows for {n} instances")
    return elapsed
