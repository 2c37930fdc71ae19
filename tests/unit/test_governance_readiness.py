"""The governance workflows through the real runtime (SQLite and PostgreSQL): completed runs of
aims-scope, ai-policy, ai-objectives and roles-and-competence turn their lines of `aims
readiness` to met and are listed in the register with the people of 7.5.2; training reaches each
learner as a task only they can complete."""

from __future__ import annotations

from datetime import timedelta

from test_export_cli import cli  # noqa: F401 - the fixture that runs `aims` in-process
from test_governance_workflows import (
    ASSIGN,
    BOUNDARIES,
    COMPETENT,
    COMPLETION,
    DRAFT,
    OBJECTIVE,
    PLAN,
    REVIEW,
    SCOPE_CONTEXT,
    SCOPE_PARTIES,
)

from aims_workflows.documents.derived import produced_records
from aims_workflows.documents.readiness import readiness_of

GOVERNANCE = ("scope", "policy", "objectives", "competence")


def _lines(h) -> dict:
    report = readiness_of(h.app, 1, h.clock.now())
    return {line.key: line for line in report.lines}


def _scope(h) -> str:
    run = h.rt.start("aims-scope").run.run_id
    h.pump()
    h.complete("context", SCOPE_CONTEXT, run_id=run)
    h.complete("parties", SCOPE_PARTIES, run_id=run)
    h.complete("boundaries", {**BOUNDARIES, "exclusion_justification": "Drafts only"}, run_id=run)
    h.decide("tom@example.com", reason="Right size", run_id=run)
    h.decide("tina@example.com", reason="Agreed", run_id=run)
    return run


def _policy(h) -> str:
    run = h.rt.start("ai-policy").run.run_id
    h.pump()
    h.complete("draft", DRAFT, run_id=run)
    h.complete("review", REVIEW, run_id=run)
    h.decide("tom@example.com", reason="Clear", run_id=run)
    h.decide("tina@example.com", reason="Clear too", run_id=run)
    return run


def test_governance_runs_turn_their_readiness_lines_to_met(harness, roles):
    h = harness
    before = _lines(h)
    assert {k: before[k].status for k in GOVERNANCE} == dict.fromkeys(GOVERNANCE, "missing")
    assert before["objectives"].fix == "aims start ai-objectives"
    assert before["competence"].fix == (
        "aims start roles-and-competence or aims start training or aims start training-record"
    )

    scope = _scope(h)
    policy = _policy(h)
    # approved, not yet acknowledged by everyone: the policy is not in force
    assert _lines(h)["policy"].status == "partial"
    request = h.pending_approval(policy)
    holders = sorted(request.people)
    assert holders == sorted({p for people in roles.values() for p in people}), (
        "every holder of every AIMS role acknowledges"
    )
    for person in holders[:-1]:
        h.decide(person, reason="Read and understood", run_id=policy)
    assert h.run_row(policy).status == "running"
    h.decide(holders[-1], reason="Read and understood", run_id=policy)
    assert h.run_row(policy).status == "completed"

    objective = h.rt.start("ai-objectives").run.run_id
    h.pump()
    h.complete("objective", {**OBJECTIVE, "kpi": "happiness"}, run_id=objective)
    assert "KPI measuring it: must be one of" in h.open_task("objective", objective).comments[-1]
    h.complete("objective", OBJECTIVE, run_id=objective)
    h.decide("tom@example.com", reason="Realistic", run_id=objective)

    role = h.rt.start("roles-and-competence").run.run_id
    h.pump()
    h.complete("assign", ASSIGN, run_id=role)
    h.complete("competence", COMPETENT, run_id=role)
    h.decide("tina@example.com", reason="Competent", run_id=role)

    after = _lines(h)
    assert {k: after[k].status for k in GOVERNANCE} == dict.fromkeys(GOVERNANCE, "met")
    assert (
        after["scope"].reason.startswith("aims-scope completed ") and scope in after["scope"].reason
    )

    with h.db.connect() as conn:
        listed = {
            d.snapshot.requirement: d.snapshot
            for d in produced_records(conn, workflow_ids=h.app.workflows.ids())
        }
    assert listed["policy"].reference == policy
    # the policy's approver is top management, not the last person who acknowledged it
    assert listed["policy"].approver == "tina@example.com"
    assert listed["policy"].author == "amy@example.com"
    assert listed["scope"].next_review is not None
    assert listed["objectives"].reference == objective
    h.verify()


def test_training_reaches_each_learner_and_completes_when_all_have(harness):
    h = harness
    run = h.rt.start("training").run.run_id
    h.pump()
    h.complete("plan", PLAN, run_id=run)
    tasks = {t.assignee: t for t in h.tracker.open_tasks() if t.step_id == "complete"}
    assert set(tasks) == {"eve@example.com", "ed@example.com"}
    # the AIMS owner may not complete a learner's own task
    h.complete(
        "complete", COMPLETION, run_id=tasks["ed@example.com"].run_id, person="amy@example.com"
    )
    assert "only they may complete it" in tasks["ed@example.com"].comments[-1]
    for person, task in tasks.items():
        h.complete("complete", COMPLETION, run_id=task.run_id, person=person)
    assert h.run_row(run).status == "completed"
    lines = _lines(h)
    assert lines["competence"].status == "met"


GAP_ANSWERS = {
    "plan": {
        "reference": "GA-2026-1",
        "scope": "Support and Credit",
        "assessors": "Amy: clauses and A.2-A.5; Eve: A.6-A.10",
        "method": "workshop",
    },
    "clauses": {
        "exists": ["4.1", "9.2.2"],
        "partial": ["5.2"],
        "owner": "amy@example.com",
        "evidence_seen": "ISMS manual",
    },
    "controls_governance": {
        "partial": ["A.2.2"],
        "not_applicable": ["A.4.5"],
        "not_applicable_reasons": "All compute is bought as a managed service",
        "owner": "amy@example.com",
        "evidence_seen": "Policy set",
    },
    "controls_lifecycle": {
        "exists": ["A.6.2.4"],
        "owner": "eve@example.com",
        "evidence_seen": "CI pipeline",
    },
}


def test_the_gap_analysis_result_is_read_back_beside_each_requirement_not_met(harness):
    from aims_workflows.documents.gap_analysis import latest_gap_analysis

    h = harness
    with h.db.connect() as conn:
        assert latest_gap_analysis(conn) is None
    run = h.rt.start("gap-analysis").run.run_id
    h.pump()
    for step, answers in GAP_ANSWERS.items():
        h.complete(step, answers, run_id=run)
    h.decide("tom@example.com", reason="Fund the gaps", run_id=run)
    assert h.run_row(run).status == "completed"

    with h.db.connect() as conn:
        result = latest_gap_analysis(conn)
    assert result.run_id == run and result.reference == "GA-2026-1"
    assert (result.status["4.1"], result.status["5.2"], result.status["4.3"]) == (
        "in place",
        "partial",
        "missing",
    )
    assert (
        result.status["A.6.2.4"] == "in place" and result.owner_of("A.6.2.4") == "eve@example.com"
    )
    assert result.proposed_exclusions() == {"A.4.5": "All compute is bought as a managed service"}
    assert len(result.status) == 32 + 38, "every clause and control has a status"

    lines = _lines(h)
    assert lines["scope"].status == "missing"
    assert lines["scope"].reason == (
        "no aims-scope run yet; gap analysis GA-2026-1: missing, owner amy@example.com"
    )
    assert lines["policy"].reason.endswith("gap analysis GA-2026-1: partial, owner amy@example.com")
    # as of a day before it completed, there was no gap analysis
    with h.db.connect() as conn:
        assert latest_gap_analysis(conn, at=h.clock.now() - timedelta(days=30)) is None


def test_the_register_lists_the_gap_analysis_finding_for_each_requirement(
    cli,  # noqa: F811
    harness,
    db_url,
):
    import json

    h = harness
    run = h.rt.start("gap-analysis").run.run_id
    h.pump()
    for step, answers in GAP_ANSWERS.items():
        h.complete(step, answers, run_id=run)
    h.decide("tom@example.com", reason="Fund the gaps", run_id=run)
    aims = cli(db_url, h.config_path)
    listed = {
        r["requirement"]: r for r in json.loads(aims("documents", "list", "--format", "json").out)
    }
    assert (
        listed["scope"]["gap_analysis"] == "gap analysis GA-2026-1: missing, owner amy@example.com"
    )
    assert listed["audit-results"]["gap_analysis"] == (
        "gap analysis GA-2026-1: in place, owner amy@example.com"
    )
    table = aims("documents", "list")
    assert table.code == 0, table
    assert "gap analysis GA-2026-1: partial" in " ".join(table.out.split())
