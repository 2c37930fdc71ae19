"""The governance workflows (intake, incident, supplier, data, intended use, SoA review) driven
end to end through the pure engine, event by event, as the store would: each branch an auditor
asks about, and the refusals that send bad answers back with what to add."""

from __future__ import annotations

import pytest
from test_shipped_workflows import CHATBOT, WORKFLOWS, Drive

from aims_workflows.catalog import load_catalog
from aims_workflows.engine import Subject
from aims_workflows.spec import load_workflows

AIMS_OWNER, TOP, CISO = ("aims_owner",), ("top_management",), ("ciso",)
ORGANISATION = Subject(type="organisation", id="organisation", name="Example Ltd")


@pytest.fixture(scope="module")
def shipped():
    return load_workflows([WORKFLOWS])


def proposal_subject(*, in_scope: bool) -> Subject:
    return Subject(
        type="ai_system",
        id="sys-12",
        name="CV screener",
        owner="paula@example.com",
        attributes={"in_scope": in_scope, "lifecycle_stage": "inception", "risk_tier": ""},
    )


# -- ai-system-intake ---------------------------------------------------------------------------
PROPOSAL = {
    "business_case": "Recruiters spend 30% of their week reading CVs for junior roles.",
    "requirements": "Rank applications for junior roles against the published job criteria.",
    "constraints": "Never reject an applicant on its own; never use age, gender or photos.",
    "affected_people": "Job applicants (about 4,000 a year) and the recruiters using it",
    "decisions_about_people": True,
    "personal_data": True,
    "sourcing": "fine_tuned_third_party_model",
    "supplier": "Example Models GmbH",
    "data_resources": "Five years of anonymised hiring outcomes from the ATS; job criteria",
    "tooling_resources": "PyTorch, the supplier's fine-tuning API, MLflow",
    "computing_resources": "Supplier-hosted inference in the EU; training on two rented GPUs",
    "human_resources": "One ML engineer, a recruiter as domain expert, HR for oversight",
}
TRIAGE = {
    "risk_tier": "high",
    "tier_rationale": "Informs decisions about access to employment.",
    "prohibited_use": False,
    "objectives": "Selection rates within 80% across groups; every ranking explainable.",
    "recommendation": "accept_in_scope",
    "scope_rationale": "It affects applicants' access to work: governed from the first design.",
    "conditions": "No live use before the impact assessment is approved.",
}


def test_intake_of_a_high_tier_proposal_goes_to_top_management_then_starts_assessments(shipped):
    drive = Drive(shipped, "ai-system-intake", proposal_subject(in_scope=False))
    drive.start()
    assert drive.kinds("task.create")[0].title == "AI system proposal: CV screener"
    # a third-party model needs its supplier named
    drive.complete("proposal", {**PROPOSAL, "supplier": ""}, "paula@example.com")
    assert "Supplier or provider" in drive.kinds("task.refuse_answers")[-1].problems[0]
    drive.complete("proposal", PROPOSAL, "paula@example.com")
    drive.complete("triage", TRIAGE, "amy@example.com")

    request = drive.kinds("approval.request")[-1]
    assert request.step_id == "decide_top" and request.approvers == ("top_management",)
    assert request.show["Risk tier"] == "high" and request.show["Forbidden use"] == "no"
    # the proposer (the system's owner) may not decide on their own proposal
    drive.decide("paula@example.com", TOP, "approve")
    assert drive.run.current == "decide_top"
    drive.decide("tom@example.com", TOP, "reject", reason="State the oversight condition.")
    assert drive.tasks_created() == ["proposal", "triage", "triage"]
    drive.complete(
        "triage",
        {**TRIAGE, "conditions": "A recruiter reviews every ranking before any decision."},
        "amy@example.com",
    )
    drive.decide("tom@example.com", TOP, "approve", reason="Worth doing under these conditions.")

    record = drive.artefact("ai_system_intake_decision")
    assert record["decision"] == "accept_in_scope" and record["risk_tier"] == "high"
    assert record["decided_by"] == ["tom@example.com"] and record["triaged_by"] == "amy@example.com"
    assert record["resources"] == {
        "data": PROPOSAL["data_resources"],
        "tooling": PROPOSAL["tooling_resources"],
        "computing": PROPOSAL["computing_resources"],
        "people": PROPOSAL["human_resources"],
    }
    assert record["assessments"] == "started when this decision is applied"
    # the run itself starts nothing: completed, its decision is applied to the inventory and
    # the assessments start (aims_workflows.inventory.intake; test_operational_runs)
    assert drive.kinds("run.start") == []
    message = drive.kinds("notify")[-1].message
    assert "The inventory records the decision: risk tier high, in the scope." in message
    assert "aims systems set" not in message
    assert drive.run.status == "completed"


def test_intake_decided_below_high_tier_by_someone_who_did_not_triage(shipped):
    drive = Drive(shipped, "ai-system-intake", proposal_subject(in_scope=True))
    drive.start()
    drive.complete(
        "proposal",
        {**PROPOSAL, "sourcing": "built_in_house", "supplier": "", "decisions_about_people": False},
        "paula@example.com",
    )
    drive.complete("triage", {**TRIAGE, "risk_tier": "limited"}, "amy@example.com")
    request = drive.kinds("approval.request")[-1]
    assert request.step_id == "decide" and request.approvers == ("aims_owner", "ciso")
    drive.decide("amy@example.com", AIMS_OWNER, "approve")
    assert "you completed 'triage'" in drive.kinds("approval.refuse")[-1].reason
    drive.decide("carl@example.com", CISO, "approve", reason="Limited tier, conditions fine.")
    # registered in scope: the registration already started the assessments, none twice
    assert drive.kinds("run.start") == []
    assert drive.artefact("ai_system_intake_decision")["assessments"] == "started at registration"
    assert drive.run.status == "completed"


def test_a_declined_proposal_starts_nothing(shipped):
    drive = Drive(shipped, "ai-system-intake", proposal_subject(in_scope=False))
    drive.start()
    drive.complete("proposal", PROPOSAL, "paula@example.com")
    drive.complete(
        "triage",
        {
            **TRIAGE,
            "risk_tier": "unacceptable",
            "prohibited_use": True,
            "recommendation": "decline",
            "scope_rationale": "Emotion recognition of applicants is forbidden by our AI policy.",
        },
        "amy@example.com",
    )
    drive.decide("tina@example.com", TOP, "approve", reason="Agreed: not for us.")
    assert drive.kinds("run.start") == []
    assert drive.artefact("ai_system_intake_decision")["decision"] == "decline"
    assert "declined: no work on it may start" in drive.kinds("notify")[-1].message


# -- ai-incident --------------------------------------------------------------------------------
REPORT = {
    "title": "Chatbot disclosed another customer's order",
    "detected_at": "2026-03-02T10:05Z",
    "what_happened": "Asked for order status, the bot quoted another customer's address.",
    "detection_source": "customer_complaint",
    "reporter": "Support ticket 88213",
    "harm_types": ["privacy_breach", "wrong_or_harmful_output"],
    "people_affected": "Two customers",
    "ongoing": True,
}
TRIAGE_INCIDENT = {
    "severity": "sev2",
    "severity_rationale": "Personal data of two customers disclosed; reversible, few people.",
    "triaged_at": "2026-03-02T10:40Z",
    "personal_data_breach": True,
    "notification_duty": True,
    "notification_deadline": "2026-03-05T10:05Z, data protection authority (72 hours)",
}
CONTAIN = {
    "actions": "Order lookup tool disabled; conversation cache flushed.",
    "system_state": "running_with_safeguards",
    "contained_at": "2026-03-02T11:20Z",
}
COMMUNICATE = {
    "parties_informed": ["affected_users", "data_protection_authority", "top_management"],
    "what_was_said": "What was disclosed, to whom, what we did, whom to contact.",
    "channels": "E-mail to both customers; the authority's breach portal",
    "communicated_at": "2026-03-03T09:00Z",
    "authority_reference": "DPA-2026-0412",
}
ROOT_CAUSE = {
    "method": "timeline_analysis",
    "root_cause": "The order tool trusted an order number from the chat without checking it.",
    "resolved_at": "2026-03-04T15:30Z",
    "lessons_learned": "Tools the model calls must check authorisation themselves.",
    "nonconformity": True,
    "requirement_not_met": "A.6.2.4",
    "what_was_not_met": "Release tests did not cover the authorisation of the tools it calls.",
}


def test_incident_keeps_its_timeline_raises_a_finding_and_is_closed_by_someone_else(shipped):
    drive = Drive(shipped, "ai-incident", CHATBOT)
    drive.start()
    created = drive.kinds("task.create")[0]
    assert created.priority == "highest"
    drive.complete("report", {**REPORT, "detected_at": "2 March, 10:05"}, "eve@example.com")
    assert "Detected at" in drive.kinds("task.refuse_answers")[-1].problems[0]
    drive.complete("report", REPORT, "eve@example.com")
    drive.complete("triage", TRIAGE_INCIDENT, "sam@example.com")
    alert = drive.kinds("notify")[-1]
    assert alert.to == ("top_management", "aims_owner", "ciso", "data_protection_officer")
    assert "SEV2 AI incident on Support chatbot" in alert.message
    assert "Notification due: 2026-03-05T10:05Z" in alert.message

    # containment typed as before the detection: refused, triage and containment asked again
    drive.complete("contain", {**CONTAIN, "contained_at": "2026-03-01T11:20Z"}, "ed@example.com")
    refused = drive.kinds("notify")[-1]
    assert "is inconsistent" in refused.message and "2026-03-01T11:20Z" in refused.message
    assert drive.run.current == "triage" and drive.run.task.attempt == 2
    drive.complete("triage", TRIAGE_INCIDENT, "sam@example.com")
    drive.complete("contain", CONTAIN, "ed@example.com")
    assert drive.run.data["timeline"] == {"consistent": True}

    # a duty to notify needs the authority's reference
    drive.complete("communicate", {**COMMUNICATE, "authority_reference": ""}, "amy@example.com")
    assert "Reference of the notification" in drive.kinds("task.refuse_answers")[-1].problems[0]
    drive.complete("communicate", COMMUNICATE, "amy@example.com")
    drive.complete("root_cause", {**ROOT_CAUSE, "requirement_not_met": "tests"}, "ed@example.com")
    assert "Clause or control not met" in drive.kinds("task.refuse_answers")[-1].problems[0]
    drive.complete("root_cause", ROOT_CAUSE, "ed@example.com")

    (spawned,) = drive.kinds("run.start")
    assert spawned.workflow == "corrective-action"
    finding = spawned.finding
    assert finding.source == "ai-incident/run-1" and finding.severity == "major"
    assert finding.source_type == "incident"
    assert finding.title == (
        "AI incident on Support chatbot: Chatbot disclosed another customer's order"
    )
    assert finding.clause == "A.6.2.4"
    assert finding.system == "Support chatbot"
    assert "Root cause: The order tool trusted" in finding.description
    assert spawned.inputs == {"area": "Incident: Chatbot disclosed another customer's order"}

    request = drive.kinds("approval.request")[-1]
    assert request.show["Corrective action"] == "started"
    assert request.show["Detected"] == "2026-03-02T10:05Z"
    drive.decide("ed@example.com", AIMS_OWNER, "approve")  # contained it and analysed it
    assert drive.run.current == "close"
    drive.decide("amy@example.com", AIMS_OWNER, "approve", reason="Handled and told in time.")

    record = drive.artefact("ai_incident_record")
    assert {k: record[k] for k in ("detected_at", "triaged_at", "contained_at")} == {
        "detected_at": "2026-03-02T10:05Z",
        "triaged_at": "2026-03-02T10:40Z",
        "contained_at": "2026-03-02T11:20Z",
    }
    assert record["communicated_at"] == "2026-03-03T09:00Z"
    assert record["resolved_at"] == "2026-03-04T15:30Z"
    assert record["severity"] == "sev2" and record["closed_by"] == ["amy@example.com"]
    assert record["parties_informed"] == COMMUNICATE["parties_informed"]
    assert record["authority_reference"] == "DPA-2026-0412"
    assert record["corrective_action_runs"] == [spawned.child_run_id]
    assert drive.run.status == "completed"


def test_a_minor_concern_needs_no_alert_and_no_corrective_action(shipped):
    drive = Drive(shipped, "ai-incident", CHATBOT)
    drive.start()
    drive.complete(
        "report",
        {
            **REPORT,
            "title": "Agent worried the bot overstates refund rules",
            "detection_source": "staff_concern",
            "reporter": "anonymous",
            "harm_types": ["wrong_or_harmful_output"],
            "people_affected": "None known",
            "ongoing": False,
        },
        "eve@example.com",
    )
    drive.complete(
        "triage",
        {
            "severity": "sev4",
            "severity_rationale": "A near miss: no customer was misled.",
            "triaged_at": "2026-03-02T12:00Z",
            "personal_data_breach": False,
            "notification_duty": False,
        },
        "sam@example.com",
    )
    assert drive.kinds("notify") == []
    drive.complete("contain", {**CONTAIN, "system_state": "running_unchanged"}, "ed@example.com")
    drive.complete(
        "communicate",
        {
            "parties_informed": ["staff"],
            "what_was_said": "Thanked the agent; the refund answer text is being checked.",
            "channels": "Team channel",
            "communicated_at": "2026-03-02T15:00Z",
        },
        "amy@example.com",
    )
    drive.complete(
        "root_cause",
        {**ROOT_CAUSE, "nonconformity": False, "requirement_not_met": "", "what_was_not_met": ""},
        "ed@example.com",
    )
    assert drive.kinds("run.start") == []
    assert drive.kinds("approval.request")[-1].show["Corrective action"] == "none needed"
    drive.decide("amy@example.com", AIMS_OWNER, "approve", reason="Concern answered.")
    record = drive.artefact("ai_incident_record")
    assert record["corrective_action_runs"] == [] and record["reporter"] == "anonymous"
    assert record["authority_reference"] is None


# -- supplier-review ----------------------------------------------------------------------------
RELATIONSHIP = {
    "party": "Example Models GmbH",
    "party_role": "model_provider",
    "provides": "Hosted language model API, model family v3",
    "responsibilities": "They: model training, safety evaluation, uptime. We: prompts, "
    "monitoring of answers, incident handling towards customers, impact assessment.",
    "agreement": "https://contracts.example.com/example-models-2026",
}
ASSESS = {
    "documentation": True,
    "data_provenance": False,
    "incident_notice": True,
    "audit_rights": True,
    "certifications": ["iso_27001"],
    "findings": "Training data sources are described only in general terms.",
    "rating": "acceptable_with_conditions",
    "conditions": "Obtain the data summary promised for Q2 2026.",
}
CUSTOMERS = {
    "provided_to_customers": True,
    "customer_requirements": "Answers in the customer's language; no use of chats for training.",
    "customer_information": "Help page on what the bot can and cannot do; contact for concerns.",
    "shared_responsibilities": "None: the bot serves consumers directly.",
}


def test_supplier_review_records_responsibilities_and_customers(shipped):
    drive = Drive(shipped, "supplier-review", CHATBOT, inputs={"party": "Example Models GmbH"})
    drive.start()
    assert "Example Models GmbH and who does what" in drive.kinds("task.create")[0].title
    drive.complete("relationship", RELATIONSHIP, "sam@example.com")
    drive.complete("assess", {**ASSESS, "conditions": ""}, "rita@example.com")
    assert "Conditions or follow-up" in drive.kinds("task.refuse_answers")[-1].problems[0]
    drive.complete("assess", ASSESS, "rita@example.com")
    drive.complete("customers", {"provided_to_customers": True}, "sam@example.com")
    assert len(drive.kinds("task.refuse_answers")[-1].problems) == 3
    drive.complete("customers", CUSTOMERS, "sam@example.com")
    drive.decide("amy@example.com", AIMS_OWNER, "approve", reason="Conditions tracked.")
    record = drive.artefact("supplier_review_record")
    assert record["rating"] == "acceptable_with_conditions"
    assert record["agreement"] == RELATIONSHIP["agreement"]
    assert record["provided_to_customers"] is True and record["approved_by"] == ["amy@example.com"]
    assert drive.kinds("run.start") == []
    assert drive.run.status == "completed"


def test_an_unacceptable_supplier_raises_a_major_finding(shipped):
    drive = Drive(shipped, "supplier-review", CHATBOT)
    drive.start()
    drive.complete("relationship", RELATIONSHIP, "sam@example.com")
    drive.complete(
        "assess",
        {**ASSESS, "rating": "not_acceptable", "incident_notice": False},
        "rita@example.com",
    )
    drive.complete("customers", {"provided_to_customers": False}, "sam@example.com")
    drive.decide("amy@example.com", AIMS_OWNER, "approve", reason="Agree: replace or renegotiate.")
    (spawned,) = drive.kinds("run.start")
    assert spawned.workflow == "corrective-action"
    assert (spawned.finding.severity, spawned.finding.clause) == ("major", "A.10.3")
    assert spawned.finding.source == "supplier-review/run-1"
    assert spawned.finding.source_type == "monitoring"
    assert spawned.finding.description == ASSESS["findings"]
    assert drive.artefact("supplier_review_record")["customer_requirements"] is None


# -- data-quality -------------------------------------------------------------------------------
DATASETS = {
    "datasets": "support-chats-2025 v3 (training), eval-billing-400 v1 (evaluation)",
    "data_categories": ["personal_data", "customer_content"],
    "management_rules": "Access by the ML team only; 24 months retention; DVC versions.",
}
ACQUISITION = {
    "sources": "Our own support chats, collected under the customer terms of service",
    "legal_basis": "Legitimate interest, assessed in DPIA-14; opt-out honoured",
    "consent_or_notice": True,
    "provenance": "DVC lineage from export to training set; checksums per version",
}
QUALITY_FAILS = {
    "criteria": "Under 1% duplicates; each product line at least 5% of examples",
    "results": "0.4% duplicates; the insurance line is 1.2% of examples",
    "bias_checked": True,
    "meets_criteria": False,
    "shortfalls": "Insurance questions under-represented: sample 2,000 more.",
}
PREPARATION = {
    "steps": "De-duplication, PII masking, labelling of intent by two annotators",
    "reproducible": True,
    "pipeline": "https://git.example.com/ml/chat-prep",
}


def test_data_that_fails_its_criteria_goes_back_until_it_passes(shipped):
    drive = Drive(shipped, "data-quality", CHATBOT)
    drive.start()
    drive.complete("datasets", DATASETS, "eve@example.com")
    drive.complete("acquisition", ACQUISITION, "eve@example.com")
    drive.complete("quality", QUALITY_FAILS, "eve@example.com")
    assert "Insurance questions under-represented" in drive.kinds("notify")[-1].message
    assert drive.run.current == "quality" and drive.run.task.attempt == 2
    drive.complete(
        "quality",
        {**QUALITY_FAILS, "results": "0.4% duplicates; insurance 6.1%", "meets_criteria": True},
        "eve@example.com",
    )
    drive.complete("preparation", PREPARATION, "ed@example.com")
    request = drive.kinds("approval.request")[-1]
    assert request.approvers == ("aims_owner", "data_protection_officer")
    assert request.show["Provenance gaps"] == "none"
    drive.decide("ed@example.com", ("data_protection_officer",), "approve")
    assert drive.run.current == "approve"  # prepared the data
    drive.decide("dora@example.com", ("data_protection_officer",), "approve", reason="Lawful.")
    record = drive.artefact("data_quality_record")
    assert record["quality_results"] == "0.4% duplicates; insurance 6.1%"
    assert record["prepared_by"] == ["eve@example.com", "ed@example.com"]
    assert record["legal_basis"] == ACQUISITION["legal_basis"]
    assert drive.run.status == "completed"


# -- intended-use -------------------------------------------------------------------------------
PURPOSE = {
    "intended_purpose": "Answer billing and delivery questions of consumers in the web shop",
    "intended_users": "Consumers; support agents who take over conversations",
    "prohibited_uses": "Legal or medical advice; decisions on refunds or credit",
    "use_process": "Playbook SUP-7: hand over to an agent on request or low confidence",
    "use_objectives": "Hand-over within 2 minutes in 95% of cases; wrong answers under 2%",
}
OVERSIGHT = {
    "oversight_mode": "human_on_the_loop",
    "overseers": "Support team leads: review flagged chats, can switch the bot off",
    "overseer_training": "Two-hour course on recognising wrong and harmful answers",
    "stop_procedure": "Feature flag 'chatbot' off, by any team lead or the on-call engineer",
}
DOCUMENTATION = {
    "design_record": "https://wiki.example.com/ai/chatbot/design",
    "technical_documentation": "https://wiki.example.com/ai/chatbot/model-card",
    "user_information": "https://shop.example.com/help/chatbot",
    "logged_events": "Inputs, outputs, model version, hand-overs, tool calls, errors",
    "log_retention": "13 months in the log store, then deleted",
}


def test_use_outside_the_intended_purpose_widened_starts_a_new_impact_assessment(shipped):
    drive = Drive(shipped, "intended-use", CHATBOT)
    drive.start()
    drive.complete("purpose", PURPOSE, "sam@example.com")
    drive.complete("oversight", OVERSIGHT, "sam@example.com")
    drive.complete("documentation", DOCUMENTATION, "eve@example.com")
    check = {
        "evidence_sampled": "200 chats of February; interviews with two team leads",
        "within_intended_use": False,
        "misuse_found": "Agents use it to draft replies to business customers",
        "objectives_met": "Hand-over 97%; wrong answers 1.4%",
    }
    drive.complete("use_check", check, "amy@example.com")
    assert "What happens to that use" in drive.kinds("task.refuse_answers")[-1].problems[0]
    drive.complete(
        "use_check",
        {**check, "misuse_decision": "widen_intended_use_after_new_assessment"},
        "amy@example.com",
    )
    request = drive.kinds("approval.request")[-1]
    assert request.show["Used as intended"].startswith("no: Agents use it")
    drive.decide("amy@example.com", AIMS_OWNER, "approve")  # did the use check
    drive.decide("tom@example.com", TOP, "approve", reason="Widen it, after the assessment.")
    record = drive.artefact("intended_use_record")
    assert record["oversight_mode"] == "human_on_the_loop"
    assert record["log_retention"] == DOCUMENTATION["log_retention"]
    assert record["misuse_decision"] == "widen_intended_use_after_new_assessment"
    (spawned,) = drive.kinds("run.start")
    assert spawned.workflow == "ai-impact-assessment" and spawned.subject.id == "sys-7"
    assert drive.run.status == "completed"


# -- soa-review ---------------------------------------------------------------------------------
CONTROLS = [c.id for c in load_catalog().controls()]


def inclusion_lines(excluded: set[str]) -> str:
    return "\n".join(
        f"{c}: R-3 biased answers and R-7 drift chose it in their treatment"
        for c in CONTROLS
        if c not in excluded
    )


def soa_draft(**overrides) -> dict:
    answers = {
        "version": "2.0",
        "risk_register": "Risk register export of 2026-03-01",
        "excluded": ["A.10.4"],
        "exclusions": "A.10.4: No AI system is provided to customers; all serve staff only.",
        "inclusions": inclusion_lines({"A.10.4"}),
        "changes": "A.10.4 excluded since the customer pilot ended.",
    }
    return {**answers, **overrides}


def test_soa_draft_lists_exactly_the_catalogue_controls(shipped):
    spec = shipped.get("soa-review").spec
    excluded = {f.id: f for f in spec.step("draft").form}["excluded"]
    assert list(excluded.choices) == CONTROLS
    # the record's list of controls is the catalogue's too (an id that starts another id's
    # line would let one control's line count for both)
    check = spec.step("completeness").fields
    for name in ("applicable", "unjustified_inclusions"):
        assert all(f'"{c}"' in check[name] for c in CONTROLS), name
    assert not [a for a in CONTROLS for b in CONTROLS if a != b and b.startswith(a)]


def test_an_exclusion_without_a_justification_is_refused_with_what_to_add(shipped):
    drive = Drive(shipped, "soa-review", ORGANISATION)
    drive.start()
    # a line with no reason does not fit the form
    drive.complete("draft", soa_draft(exclusions="A.10.4:"), "amy@example.com")
    problems = drive.kinds("task.refuse_answers")[-1].problems
    assert "Why each excluded control does not apply" in problems[0]
    # an excluded control with no line at all, and applicable controls without a reason
    drive.complete(
        "draft",
        soa_draft(
            excluded=["A.10.4", "A.8.5"],
            inclusions=inclusion_lines({"A.10.4", "A.8.5", "A.4.5", "A.9.3"}),
        ),
        "amy@example.com",
    )
    assert drive.run.data["completeness"]["unjustified_exclusions"] == ["A.8.5"]
    assert drive.run.data["completeness"]["unjustified_inclusions"] == ["A.4.5", "A.9.3"]
    refusal = drive.kinds("notify")[-1].message
    assert "SoA version 2.0 is refused" in refusal
    assert "for each excluded control: A.8.5." in refusal
    assert "for each applicable control: A.4.5, A.9.3." in refusal
    assert drive.kinds("approval.request") == []
    assert drive.run.current == "draft" and drive.run.task.attempt == 2
    reissued = drive.kinds("task.create")[-1].description
    assert "The previous draft was refused." in reissued
    assert "does not apply: A.8.5." in reissued and "applicable controls: A.4.5, A.9.3." in reissued
    assert "refused" not in drive.kinds("task.create")[0].description
    # an id quoted inside another control's reason is not a line of its own
    quoted = inclusion_lines({"A.10.4", "A.9.3"}) + "\nA.9.2: also covers A.9.3 objectives"
    drive.complete("draft", soa_draft(inclusions=quoted), "amy@example.com")
    assert drive.run.data["completeness"]["unjustified_inclusions"] == ["A.9.3"]

    drive.complete("draft", soa_draft(), "amy@example.com")
    request = drive.kinds("approval.request")[-1]
    assert request.approvers == ("top_management",)
    assert (request.show["Applicable"], request.show["Excluded"]) == (37, "A.10.4")
    drive.decide("tom@example.com", TOP, "approve", reason="Matches the risk treatments.")
    soa = drive.artefact("statement_of_applicability")
    assert soa["version"] == "2.0" and soa["approved_by"] == ["tom@example.com"]
    assert soa["excluded"] == ["A.10.4"] and len(soa["applicable"]) == 37
    assert soa["exclusions"] == [
        "A.10.4: No AI system is provided to customers; all serve staff only."
    ]
    assert soa["inclusions"][0].startswith("A.2.2: R-3") and len(soa["inclusions"]) == 37
    assert drive.run.status == "completed"
