"""Approved role assignments take effect, in the real runtime on each database: the holder
top management approved holds the role in the directory (with a ledger row naming the run and
the approval), gets the role's tasks, approvals and training, is kept apart by the segregation
of duties rules like any holder, and is reported while aims.yaml does not name them."""

from __future__ import annotations

import json

from sqlalchemy import select
from test_governance_workflows import ASSIGN, COMPETENT, PLAN
from test_risk_register import HALLUCINATION, MITIGATE, _assessment, _run_of

from aims_workflows.store.models import Evidence, Run

NINA = {**ASSIGN, "role": "engineer", "holder": "nina@example.com"}


def assign_role(h, answers: dict, *, approver: str = "tom@example.com") -> str:
    """A roles-and-competence run for ``answers``, approved by ``approver``."""
    run = h.rt.start("roles-and-competence").run.run_id
    h.pump()
    h.complete("assign", answers, run_id=run)
    h.complete("competence", COMPETENT, run_id=run)
    h.decide(approver, reason="Right person for it.", run_id=run)
    assert h.run_row(run).status == "completed"
    return run


def rows(h, kind: str) -> list:
    t = Evidence.__table__
    with h.db.connect() as conn:
        return conn.execute(select(t).where(t.c.kind == kind).order_by(t.c.seq)).all()


def test_an_approved_assignment_grants_the_role_once_naming_the_run_and_approval(harness):
    h = harness
    assert h.rt.people_in("engineer", None) == ["eve@example.com", "ed@example.com"]
    before = len(rows(h, "role.granted"))
    run = assign_role(h, NINA)
    (granted,) = rows(h, "role.granted")[before:]
    payload = json.loads(granted.payload)
    (approval,) = [a for a in h.approvals.requests.values() if a.run_id == run]
    assert (payload["person_id"], payload["role"]) == ("nina@example.com", "engineer")
    assert payload["decided_in"] == run and payload["approval_id"] == approval.approval_id
    assert payload["source"] == f"roles-and-competence run {run}"
    assert (granted.actor, granted.via) == ("tom@example.com", "engine")
    # tasks and notifications of the role now reach her too; aims.yaml's first holder stays first
    assert h.rt.people_in("engineer", None) == [
        "eve@example.com",
        "ed@example.com",
        "nina@example.com",
    ]
    assert "engineer" in h.rt.people.show("nina@example.com").roles
    (differs,) = h.rt.role_holders.disagreements()
    assert differs.startswith("nina@example.com holds engineer by an approved role assignment")
    assert "add them there" in differs
    # the completion reported again grants nothing more
    with h.db.begin() as conn:
        assert h.rt.completion_effects["roles-and-competence"](conn, run) == {"role_granted": []}
    assert len(rows(h, "role.granted")) == before + 1
    assert h.verify().ok


def test_a_rejected_assignment_grants_nothing(harness):
    h = harness
    before = len(rows(h, "role.granted"))
    run = h.rt.start("roles-and-competence").run.run_id
    h.pump()
    h.complete("assign", NINA, run_id=run)
    h.complete("competence", COMPETENT, run_id=run)
    h.decide("tom@example.com", "reject", reason="Not before her probation ends.", run_id=run)
    assert h.run_row(run).current_step == "assign"
    assert len(rows(h, "role.granted")) == before
    assert h.rt.people_in("engineer", None) == ["eve@example.com", "ed@example.com"]


def test_training_for_a_role_reaches_every_holder_including_the_newly_approved(harness):
    h = harness
    assign_role(h, NINA)
    training = h.rt.start("training").run.run_id
    h.pump()
    # nobody typed: the learners are the role's holders; one named by hand joins them
    h.complete("plan", {**PLAN, "learners": " Zoe@example.com \n"}, run_id=training)
    r = Run.__table__
    with h.db.connect() as conn:
        learners = conn.scalars(
            select(r.c.id).where(r.c.workflow_id == "training-record", r.c.spawned_by == training)
        ).all()
    tasks = sorted(h.open_task("complete", run).assignee for run in learners)
    assert tasks == [
        "ed@example.com",
        "eve@example.com",
        "nina@example.com",
        "zoe@example.com",
    ]


def test_a_role_nobody_holds_and_no_learner_named_asks_for_the_plan_again(
    make_harness, database, db_url, tmp_path, clock, roles
):
    del roles["legal_counsel"]
    h = make_harness(db_url, tmp_path, clock, roles=roles)
    try:
        training = h.rt.start("training").run.run_id
        h.pump()
        plan = {**PLAN, "role": "legal_counsel", "learners": ""}
        h.complete("plan", plan, run_id=training)
        (told,) = [
            m for m in h.notifier.sent if "Nobody holds the role legal_counsel" in m["message"]
        ]
        assert told["people"] == ["amy@example.com"]
        assert h.open_task("plan", training).attempt == 2
        h.complete("plan", {**plan, "learners": "leo@example.com"}, run_id=training)
        assert h.open_task("complete").assignee == "leo@example.com"
    finally:
        h.app.db.dispose()


def test_a_newly_approved_holder_decides_the_roles_approvals_within_segregation(
    make_harness, database, db_url, tmp_path, clock
):
    h = make_harness(
        db_url,
        tmp_path,
        clock,
        more_config="segregation:\n  conflicting_roles: [[risk_owner, internal_auditor]]\n",
    )
    try:
        assign_role(h, {**ASSIGN, "role": "risk_owner", "holder": "rob@example.com"})
        run = _assessment(h)
        h.complete("identify", {**HALLUCINATION, "further_risks": ""}, run_id=run)
        h.complete("treat", MITIGATE, run_id=run)
        request = h.pending_approval(run)
        assert sorted(request.people) == ["rita@example.com", "rob@example.com"]
        # ida audits; given risk_owner too, she holds two roles aims.yaml keeps apart
        assign_role(h, {**ASSIGN, "role": "risk_owner", "holder": "ida@example.com"})
        refused = h.decide("ida@example.com", run_id=run)
        assert "you hold both risk_owner and internal_auditor" in str(refused.transition.evidence)
        h.decide("rob@example.com", run_id=run)
        assert h.run_row(run).status == "completed"
        assert _run_of(h, "risk-treatment", run)
    finally:
        h.app.db.dispose()
