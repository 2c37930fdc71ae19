"""The governance workflows (scope, policy, objectives, roles and competence, training, gap
analysis, scope change of one AI system) driven event by event through the pure engine: what
each asks, what it refuses and with what words, who may decide, and the record it ends with."""

from __future__ import annotations

import pytest
from test_shipped_workflows import WORKFLOWS, Drive

from aims_workflows.engine import Subject
from aims_workflows.kpi.queries import definitions
from aims_workflows.spec import load_workflows

ORG = Subject(type="organisation", id="org", name="Example Ltd")
TOP = ("top_management",)
OWNER = ("aims_owner",)


@pytest.fixture(scope="module")
def shipped():
    return load_workflows([WORKFLOWS])


# -- aims-scope ----------------------------------------------------------------------------------
SCOPE_CONTEXT = {
    "external_issues": "EU AI Act duties as a deployer; two bank customers audit our models",
    "internal_issues": "Support and credit teams use AI; one ML engineer per product",
    "ai_roles": ["ai_developer", "ai_user"],
    "climate_change_relevant": False,
}
SCOPE_PARTIES = {
    "interested_parties": "Customers: explanations of declined loans\nRegulator: registration",
    "addressed_requirements": "Explanations through the decision letter; registration by Q2",
    "legal_requirements": "EU AI Act, GDPR Art. 22",
}
BOUNDARIES = {
    "scope_statement": "Design and operation of the support chatbot and the credit scorer.",
    "organisational_units": "Support, Credit, ML platform (Berlin office)",
    "ai_systems": "Support chatbot, Credit scorer",
    "interfaces": "HR tools run by the group, outside the scope",
    "has_exclusions": True,
    "exclusions": "The marketing copy assistant",
    "version": "1.0",
}


def test_scope_needs_a_justified_exclusion_and_two_of_top_management(shipped):
    drive = Drive(shipped, "aims-scope", ORG)
    drive.start()
    drive.complete("context", SCOPE_CONTEXT, "amy@example.com")
    drive.complete("parties", SCOPE_PARTIES, "amy@example.com")
    drive.complete("boundaries", BOUNDARIES, "amy@example.com")
    refused = drive.kinds("task.refuse_answers")[-1].problems
    assert refused == (
        "Why each exclusion does not affect the AIMS's ability to meet its results: "
        "an answer is required.",
    )
    justified = {**BOUNDARIES, "exclusion_justification": "Drafts only, reviewed by staff"}
    drive.complete("boundaries", justified, "amy@example.com")
    request = drive.kinds("approval.request")[-1]
    assert request.approvers == TOP and request.show["Exclusions"] == "The marketing copy assistant"
    drive.decide("tom@example.com", TOP, "approve", reason="Right size for a first cycle.")
    assert drive.run.current == "approve", "two members of top management approve the scope"
    drive.decide("tina@example.com", TOP, "approve", reason="Agreed.")
    statement = drive.artefact("aims_scope_statement")
    assert statement["exclusion_justification"] == "Drafts only, reviewed by staff"
    assert statement["approved_by"] == ["tom@example.com", "tina@example.com"]
    assert statement["interested_parties"].startswith("Customers")
    assert statement["version"] == "1.0" and drive.run.status == "completed"


def test_scope_rejection_sends_the_boundaries_back(shipped):
    drive = Drive(shipped, "aims-scope", ORG)
    drive.start()
    drive.complete("context", SCOPE_CONTEXT, "amy@example.com")
    drive.complete("parties", SCOPE_PARTIES, "amy@example.com")
    drive.complete("boundaries", {**BOUNDARIES, "has_exclusions": False}, "amy@example.com")
    drive.decide("amy@example.com", TOP + OWNER, "approve")
    assert "you completed 'boundaries'" in drive.kinds("approval.refuse")[-1].reason
    drive.decide("tom@example.com", TOP, "reject", reason="The credit scorer's vendor is missing.")
    assert drive.run.current == "boundaries" and drive.run.task.attempt == 2


# -- ai-policy -----------------------------------------------------------------------------------
DRAFT = {
    "version": "1.0",
    "reason": "first_issue",
    "purpose": "How we build and buy AI that customers can trust",
    "objectives_framework": "Objectives are set yearly from these principles, each with a KPI",
    "commitments": "Meet the EU AI Act and customer contracts; improve the AIMS every year",
    "principles": "A person can overrule every automated decision about a customer",
    "document_link": "https://wiki.example.com/aims/ai-policy",
}
REVIEW = {"policies_checked": ["information_security", "privacy_data_protection"], "aligned": True}
EVERY_ROLE = (
    "top_management",
    "aims_owner",
    "risk_owner",
    "ciso",
    "engineer",
    "internal_auditor",
    "data_protection_officer",
    "legal_counsel",
)
HOLDERS = ("tom@example.com", "tina@example.com", "amy@example.com", "eve@example.com")


def _approved_policy(shipped):
    drive = Drive(shipped, "ai-policy", ORG)
    drive.start()
    drive.complete("draft", DRAFT, "amy@example.com")
    drive.complete("review", REVIEW, "carl@example.com")
    drive.decide("tom@example.com", TOP, "approve", reason="Clear commitments.")
    drive.decide("tina@example.com", TOP, "approve", reason="Agreed.")
    return drive


def test_policy_misaligned_draft_goes_back_and_a_revision_needs_its_changes(shipped):
    drive = Drive(shipped, "ai-policy", ORG)
    drive.start()
    drive.complete("draft", {**DRAFT, "reason": "yearly_review"}, "amy@example.com")
    assert drive.kinds("task.refuse_answers")[-1].problems == (
        "What changed since the last version: an answer is required.",
    )
    drive.complete("draft", DRAFT, "amy@example.com")
    drive.complete(
        "review",
        {**REVIEW, "aligned": False, "conflicts": "Retention differs from the privacy policy"},
        "carl@example.com",
    )
    assert drive.run.current == "draft" and drive.run.task.attempt == 2
    assert "Retention differs" in drive.kinds("task.create")[-1].description


def test_policy_is_acknowledged_by_every_role_holder_against_the_approved_text(shipped):
    drive = _approved_policy(shipped)
    policy = drive.artefact("ai_policy")
    assert policy["approved_by"] == ["tom@example.com", "tina@example.com"]
    assert policy["aligned_with"] == ["information_security", "privacy_data_protection"]
    request = drive.kinds("approval.request")[-1]
    assert request.step_id == "acknowledge" and request.approvers == EVERY_ROLE
    assert drive.kinds("notify")[-1].to == EVERY_ROLE

    # everyone eligible must acknowledge: three of four is not enough
    for person, roles in zip(HOLDERS[:3], (TOP, TOP, OWNER), strict=True):
        drive.decide(person, roles, "approve", reason="Read it.", eligible=HOLDERS)
    assert drive.run.current == "acknowledge"
    drive.decide("eve@example.com", ("engineer",), "approve", reason="Read it.", eligible=HOLDERS)
    record = drive.artefact("ai_policy_acknowledgements")
    assert record["acknowledged_by"] == list(HOLDERS) and record["count"] == 4
    assert record["policy_hash"] == request.content_hash
    assert drive.run.status == "completed"


def test_a_question_instead_of_an_acknowledgement_is_answered_then_asked_again(shipped):
    drive = _approved_policy(shipped)
    drive.decide(
        "eve@example.com",
        ("engineer",),
        "reject",
        reason="Does 'overrule' cover the batch scoring jobs?",
        eligible=HOLDERS,
    )
    assert drive.run.current == "clarify"
    assert "batch scoring jobs" in drive.kinds("task.create")[-1].description
    drive.complete(
        "clarify", {"answer": "Yes: the batch results are reviewed.", "revise": False}, "amy@x.com"
    )
    assert drive.run.current == "acknowledge"
    assert drive.kinds("approval.request")[-1].step_id == "acknowledge"
    # a revision sends the policy back to its draft
    drive.decide(
        "eve@example.com", ("engineer",), "reject", reason="Still unclear", eligible=HOLDERS
    )
    drive.complete("clarify", {"answer": "Reworded.", "revise": True}, "amy@example.com")
    assert drive.run.current == "draft"


# -- ai-objectives -------------------------------------------------------------------------------
OBJECTIVE = {
    "objective": "Every AI system in scope has a current impact assessment",
    "policy_link": "Commitment to assess the effects of AI on people",
    "kpi": "impact_assessment_coverage",
    "target": 0.95,
    "direction": "at_least_target",
    "baseline": 0.5,
    "plan": "Assess the two remaining systems; add the assessment to the release checklist",
    "owner": "rita@example.com",
    "resources": "Two days of the risk owner per month",
    "due_date": "2026-09-30",
    "evaluation": "aims kpi, read at each quarterly AIMS meeting by the AIMS owner",
    "evaluation_frequency": "quarterly",
}


def test_the_objective_kpis_are_every_kpi_aims_computes_and_its_shares_are_checked():
    import ast
    import re

    spec = load_workflows([WORKFLOWS]).get("ai-objectives").spec
    field = {f.id: f for f in spec.step("objective").form}["kpi"]
    # a KPI added to the registry without its choice here (or the other way) fails this test
    assert list(field.choices) == [d.key for d in definitions()]
    (case,) = spec.step("target_check").cases
    listed = re.search(r"objective\.kpi in (\[[^]]*\])", case.when)
    assert listed, case.when
    shares = {d.key for d in definitions() if d.unit == "ratio"}
    assert set(ast.literal_eval(listed.group(1))) == shares


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (
            {"kpi": "customer_happiness"},
            "KPI measuring it: must be one of "
            + ", ".join(d.key for d in definitions())
            + ", not 'customer_happiness'.",
        ),
        ({"target": None}, "Target value of the KPI: an answer is required."),
        ({"kpi": None}, "KPI measuring it: an answer is required."),
    ],
)
def test_an_objective_without_a_known_kpi_or_a_target_is_refused(shipped, change, problem):
    drive = Drive(shipped, "ai-objectives", ORG)
    drive.start()
    drive.complete("objective", {**OBJECTIVE, **change}, "amy@example.com")
    assert drive.kinds("task.refuse_answers")[-1].problems == (problem,)
    assert drive.run.current == "objective" and drive.kinds("approval.request") == []


def test_an_objective_with_a_share_above_one_is_asked_again(shipped):
    drive = Drive(shipped, "ai-objectives", ORG)
    drive.start()
    drive.complete("objective", {**OBJECTIVE, "target": 95}, "amy@example.com")
    assert drive.run.current == "objective" and drive.run.task.attempt == 2
    assert "can never be\nmet" in drive.kinds("task.create")[-1].description.replace(
        "be met", "be\nmet"
    )
    drive.complete("objective", OBJECTIVE, "amy@example.com")
    request = drive.kinds("approval.request")[-1]
    assert request.show["Target"] == "at least 0.95"
    drive.decide("tom@example.com", TOP, "approve", reason="Realistic with the plan.")
    record = drive.artefact("ai_objective")
    assert (record["kpi"], record["target"], record["owner"]) == (
        "impact_assessment_coverage",
        0.95,
        "rita@example.com",
    )
    assert record["approved_by"] == ["tom@example.com"] and drive.run.status == "completed"


# -- roles-and-competence and training ---------------------------------------------------------
ASSIGN = {
    "role": "risk_owner",
    "holder": "rita@example.com",
    "responsibilities": "Keeps the AI risk register; decides treatments within appetite",
    "authorities": "Accepts residual risks below 10; may stop a release with an open high risk",
    "reports_to": "The AIMS owner, monthly",
    "competence_required": "Risk management training; two years of ML product experience",
}
COMPETENT = {
    "qualifications": "MSc Statistics",
    "training": "ISO 31000 practitioner (2024)",
    "experience": "Four years as product analyst for the credit scorer",
    "evidence_reference": "HR-2024-118, LMS cert 5521",
    "assessment": "competent",
}


def test_a_competent_holder_gets_both_records_and_no_training(shipped):
    drive = Drive(shipped, "roles-and-competence", ORG)
    drive.start()
    drive.complete("assign", ASSIGN, "amy@example.com")
    drive.complete("competence", COMPETENT, "amy@example.com")
    drive.decide("tom@example.com", TOP, "approve", reason="Right person.")
    role = drive.artefact("role_assignment")
    evidence = drive.artefact("competence_evidence")
    assert role["authorities"].startswith("Accepts residual risks")
    assert (evidence["person"], evidence["role"], evidence["assessment"]) == (
        "rita@example.com",
        "risk_owner",
        "competent",
    )
    assert evidence["evidence_reference"] == "HR-2024-118, LMS cert 5521"
    assert drive.kinds("run.start") == [] and drive.run.status == "completed"


def test_a_competence_gap_starts_the_holders_own_training(shipped):
    drive = Drive(shipped, "roles-and-competence", ORG)
    drive.start()
    drive.complete("assign", ASSIGN, "amy@example.com")
    drive.complete("competence", {**COMPETENT, "assessment": "competent_with_gap"}, "amy@x.com")
    assert {p.split(":")[0] for p in drive.kinds("task.refuse_answers")[-1].problems} == {
        "The competence gap",
        "Course or action that closes the gap",
        "Gap to be closed by",
    }
    gap = {
        **COMPETENT,
        "assessment": "competent_with_gap",
        "gap": "No AI impact assessment practice",
        "gap_course": "Impact assessment workshop",
        "gap_due": "2026-05-31",
    }
    drive.complete("competence", gap, "amy@example.com")
    drive.decide("tom@example.com", TOP, "approve", reason="With the workshop, yes.")
    (start,) = drive.kinds("run.start")
    assert start.workflow == "training-record"
    assert start.inputs == {
        "learner": "rita@example.com",
        "course": "Impact assessment workshop",
        "role": "risk_owner",
        "due_date": "2026-05-31",
        "pass_criteria": "Closes the gap: No AI impact assessment practice",
    }
    assert drive.artefact("competence_evidence")["gap"] == "No AI impact assessment practice"


PLAN = {
    "course": "Working under the AI policy",
    "role": "engineer",
    "learners": "eve@example.com\n Ed@Example.com \n\neve@example.com",
    "topics": ["ai_policy", "contribution_to_the_aims", "consequences_of_not_conforming"],
    "competence_built": "Knows when a change needs an impact assessment",
    "delivery": "workshop",
    "due_date": "2026-04-30",
    "pass_criteria": "Attendance and a five-question quiz",
}


def test_training_assigns_one_personal_task_per_learner_and_waits_for_all(shipped):
    drive = Drive(shipped, "training", ORG)
    drive.start()
    drive.complete("plan", {**PLAN, "learners": "eve@example.com, ed"}, "amy@example.com")
    assert (
        "Further learners besides the role's holders (one e-mail address per line): "
        "does not match" in (drive.kinds("task.refuse_answers")[-1].problems[0])
    )
    drive.complete("plan", PLAN, "amy@example.com")
    assignment = drive.artefact("training_assignment")
    assert assignment["learners"] == ["eve@example.com", "ed@example.com"]
    assert assignment["role"] == "engineer"
    starts = drive.kinds("run.start")
    assert [(s.workflow, s.inputs["learner"]) for s in starts] == [
        ("training-record", "eve@example.com"),
        ("training-record", "ed@example.com"),
    ]
    assert all(s.parent_run_id == "run-1" for s in starts), "the plan waits for its learners"
    assert drive.run.status == "running"


COMPLETION = {
    "completed_on": "2026-04-12",
    "result": "passed",
    "score": 80,
    "evidence": "LMS record 7781",
    "acknowledged": True,
}


def _learner_run(shipped):
    drive = Drive(
        shipped,
        "training-record",
        ORG,
        inputs={
            "learner": "eve@example.com",
            "course": "Working under the AI policy",
            "role": "engineer",
            "due_date": "2026-04-30",
        },
    )
    drive.start()
    return drive


def test_only_the_learner_completes_their_training(shipped):
    drive = _learner_run(shipped)
    create = drive.kinds("task.create")[-1]
    assert create.assignee == "eve@example.com" and drive.run.task.assignee == "eve@example.com"
    assert "Training for you: Working under the AI policy" == create.title
    # the AIMS owner holds the task's role, but it is not theirs to complete
    drive.complete("complete", COMPLETION, "amy@example.com")
    assert drive.kinds("task.refuse_answers")[-1].problems == (
        "amy@example.com may not complete 'complete': it is eve@example.com's own task, "
        "and only they may complete it",
    )
    drive.complete("complete", COMPLETION, "Eve@example.com")
    record = drive.artefact("training_completion")
    assert (record["role"], record["person"], record["course"], record["completed_on"]) == (
        "engineer",
        "eve@example.com",
        "Working under the AI policy",
        "2026-04-12",
    )
    assert record["acknowledged"] is True and drive.run.status == "completed"


def test_a_learner_who_cannot_acknowledge_says_why_and_gets_the_task_again(shipped):
    drive = _learner_run(shipped)
    drive.complete("complete", {**COMPLETION, "acknowledged": False}, "eve@example.com")
    assert drive.kinds("task.refuse_answers")[-1].problems == (
        "What was unclear or missing for your role: an answer is required.",
    )
    drive.complete(
        "complete",
        {**COMPLETION, "acknowledged": False, "concerns": "Nothing on model retraining"},
        "eve@example.com",
    )
    assert "Nothing on model retraining" in drive.kinds("notify")[-1].message
    assert drive.run.current == "complete" and drive.run.task.attempt == 2
    assert drive.kinds("task.create")[-1].assignee == "eve@example.com"


# -- gap analysis --------------------------------------------------------------------------------
def test_gap_analysis_lists_every_clause_and_control_with_its_status(shipped):
    from aims_workflows.catalog import load_catalog

    catalog = load_catalog()
    drive = Drive(shipped, "gap-analysis", ORG)
    drive.start()
    drive.complete(
        "plan",
        {
            "reference": "GA-2026-1",
            "scope": "Support and Credit",
            "assessors": "Amy: clauses and A.2-A.5; Eve: A.6-A.10",
            "method": "interviews_and_document_review",
            "reused_systems": ["iso_27001"],
        },
        "amy@example.com",
    )
    drive.complete(
        "clauses",
        {
            "exists": ["4.1", "5.1", "7.1", "7.5.1", "9.2.1"],
            "partial": ["7.5.1", "8.1", "10.2"],
            "owner": "amy@example.com",
            "evidence_seen": "ISMS manual, audit programme 2025",
        },
        "amy@example.com",
    )
    drive.complete(
        "controls_governance",
        {
            "exists": ["A.2.3"],
            "partial": ["A.3.2"],
            "not_applicable": ["A.4.5"],
            "owner": "amy@example.com",
            "evidence_seen": "Policy set",
        },
        "amy@example.com",
    )
    assert drive.kinds("task.refuse_answers")[-1].problems == (
        "Why each control named as not applicable does not apply: an answer is required.",
    )
    drive.complete(
        "controls_governance",
        {
            "exists": ["A.2.3"],
            "partial": ["A.3.2"],
            "not_applicable": ["A.4.5"],
            "not_applicable_reasons": "All compute is a managed service covered by A.10",
            "owner": "amy@example.com",
            "evidence_seen": "Policy set",
        },
        "amy@example.com",
    )
    drive.complete(
        "controls_lifecycle",
        {"exists": ["A.6.2.4", "A.7.4"], "owner": "eve@example.com", "evidence_seen": "CI"},
        "eve@example.com",
    )
    result = drive.artefact("gap_analysis_result")
    leaves = [
        c.id for c in catalog.clauses() if not any(o.parent == c.id for o in catalog.clauses())
    ]
    listed = result["clauses_in_place"] + result["clauses_partial"] + result["clauses_missing"]
    assert sorted(listed) == sorted(leaves), "every clause has exactly one status"
    assert result["clauses_in_place"] == [
        "4.1",
        "5.1",
        "7.1",
        "9.2.1",
    ]  # 7.5.1 ticked twice: partial
    assert result["clauses_partial"] == ["7.5.1", "8.1", "10.2"]
    controls = (
        result["controls_in_place"]
        + result["controls_partial"]
        + result["controls_missing"]
        + result["controls_not_applicable"]
    )
    assert sorted(controls) == sorted(c.id for c in catalog.controls())
    assert result["controls_not_applicable"] == ["A.4.5"]
    assert result["owners"] == {
        "clauses": "amy@example.com",
        "A.2 to A.5": "amy@example.com",
        "A.6 to A.10": "eve@example.com",
    }
    request = drive.kinds("approval.request")[-1]
    assert request.show["Clauses"] == "4 in place, 3 partial, 25 missing"
    assert request.show["Controls"] == "3 in place, 1 partial, 33 missing, 1 not applicable"
    drive.decide("amy@example.com", TOP + OWNER, "approve")
    assert "you completed 'plan'" in drive.kinds("approval.refuse")[-1].reason
    drive.decide("tom@example.com", TOP, "approve", reason="Fund the gaps in Q2.")
    assert drive.run.status == "completed"


# -- ai-system-scope-change ----------------------------------------------------------------------
CHATBOT = Subject(
    type="ai_system",
    id="7",
    name="Support chatbot",
    owner="sam@example.com",
    attributes={"in_scope": True, "risk_tier": "limited", "lifecycle_stage": "operation"},
)
CONSEQUENCES = {
    "consequences": "Its risk and impact assessments stop being required",
    "scope_statement_revised": True,
    "recommendation": "refuse",
}


@pytest.mark.parametrize("outcome", ["approve", "reject"])
def test_scope_change_is_decided_by_top_management_not_the_system_owner(shipped, outcome):
    drive = Drive(
        shipped,
        "ai-system-scope-change",
        CHATBOT,
        inputs={
            "in_scope": False,
            "reason": "Retired next month",
            "requested_by": "sam@example.com",
        },
    )
    drive.start()
    assert drive.kinds("task.create")[0].title == "Scope change: Support chatbot out of the AIMS"
    drive.complete("consequences", CONSEQUENCES, "amy@example.com")
    request = drive.kinds("approval.request")[-1]
    assert request.show["In scope now"] == "yes" and request.show["Requested"] == "out of scope"
    assert request.show["Reason"] == "Retired next month"
    drive.decide("sam@example.com", TOP, "approve")
    assert "you own this AI system" in drive.kinds("approval.refuse")[-1].reason
    drive.decide("tom@example.com", TOP, outcome, reason="Considered.")
    decision = drive.artefact("ai_system_scope_decision")
    assert decision["outcome"] == ("approved" if outcome == "approve" else "rejected")
    assert (decision["in_scope"], decision["was_in_scope"]) == (False, True)
    assert drive.run.status == "completed"
    message = drive.kinds("notify")[-1].message
    assert ("from now on" in message) == (outcome == "approve")
    assert ("aims start aims-scope" in message) == (outcome == "approve")


# -- the task step's assignee --------------------------------------------------------------------
PERSONAL = """\
id: personal
version: 1
title: A personal task
subject: organisation
inputs:
  - {id: person, type: text, required: true}
steps:
  - id: read
    kind: task
    role: engineer
    assignee: {assignee}
    title: Read it
"""


def test_an_assignee_naming_an_unknown_field_is_a_spec_problem():
    from aims_workflows.errors import SpecError
    from aims_workflows.spec import parse_spec, spec_hash

    loaded = parse_spec(PERSONAL.replace("{assignee}", "inputs.person"))
    assert loaded.spec.step("read").assignee == "inputs.person"
    with pytest.raises(SpecError) as bad:
        parse_spec(PERSONAL.replace("{assignee}", "inputs.learner"))
    assert "assignee" in str(bad.value) and "learner" in str(bad.value)
    # a workflow that does not use the key hashes as it did before the key existed
    plain = parse_spec(PERSONAL.replace("    assignee: {assignee}\n", "")).spec
    import hashlib
    import json

    from aims_workflows.spec.loader import LATER_OPTIONAL_KEYS

    def without_later_keys(value):
        if isinstance(value, dict):
            return {
                k: without_later_keys(v)
                for k, v in value.items()
                if not (k in LATER_OPTIONAL_KEYS and v is None)
            }
        if isinstance(value, list):
            return [without_later_keys(v) for v in value]
        return value

    dumped = without_later_keys(plain.model_dump(mode="json"))
    assert "assignee" not in dumped["steps"][0]
    before = json.dumps(dumped, sort_keys=True, separators=(",", ":"))
    assert spec_hash(plain) == hashlib.sha256(before.encode()).hexdigest()


def test_an_assignee_that_names_nobody_fails_the_run_with_the_reason(shipped):
    drive = Drive(
        shipped,
        "training-record",
        ORG,
        inputs={"learner": "  ", "course": "Policy", "role": "engineer"},
    )
    drive.start()
    assert drive.run.status == "failed"
    failed = [e for e in drive.evidence if e.kind == "run.failed"]
    assert "names nobody" in failed[0].payload["reason"]
