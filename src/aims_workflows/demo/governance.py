"""What Example Bank's people answer in the governance workflows: the gap analysis, the scope,
the AI policy, the objectives, role assignments, training and the audit programme.

Several of these workflows run more than once on the same subject (one objective, one role
assignment, one course per run), so the answers are chosen by the run's *variant*: the name the
story gave the run when it started it (``objective:impact``, ``role:internal_auditor``), or for a
personal training record the course it is for."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

__all__ = ["governance_answers", "governance_reason", "VARIANTS"]

Answers = dict[str, Any]


def _day(now: datetime, days: int) -> str:
    return (now + timedelta(days=days)).date().isoformat()


# -- gap analysis ------------------------------------------------------------------------------
_GAP: dict[str, Answers] = {
    "plan": dict(
        reference="GA-2026-1",
        scope=(
            "Retail Banking, Lending, People & Recruiting and the Data & Analytics platform team "
            "(Lisbon head office and the Porto contact centre); the support chatbot, the credit "
            "scoring model and the CV screening assistant"
        ),
        assessors=(
            "Ana Silva: clauses 4 to 10 and controls A.2 to A.5; Eva Lopes with Samuel Pinto: "
            "controls A.6 to A.10; Dora Vaz reviews everything touching personal data"
        ),
        method="interviews_and_document_review",
        reused_systems=["iso_27001", "iso_27701"],
    ),
    "clauses": dict(
        # document control, resources and awareness come from the certified ISMS
        exists=["7.1", "7.4", "7.5.1", "7.5.2", "7.5.3", "10.1"],
        partial=[
            "4.1",
            "4.2",
            "5.1",
            "5.3",
            "6.1.1",
            "6.1.2",
            "7.2",
            "7.3",
            "8.1",
            "9.1",
            "9.2.1",
            "9.3.1",
            "10.2",
        ],  # fmt: skip
        owner="ana.silva@example.com",
        evidence_seen=(
            "ISMS manual v7 and its 27001 certificate; model risk policy MRM-02; credit model "
            "validation reports 2025; HR job descriptions; interviews with Rui Costa, Marco Dias "
            "and Priya Rao"
        ),
        notes=(
            "4.3: no AIMS scope; the ISMS scope does not name AI systems.\n"
            "5.2: no AI policy; model risk policy covers credit models only.\n"
            "6.1.4 and 8.4: impact on applicants and customers never assessed.\n"
            "6.2: no AI objectives.\n"
            "9.2.2: internal audit plan does not include AI.\n"
            "9.3: management review agenda has no AI items."
        ),
    ),
    "controls_governance": dict(
        exists=["A.3.3", "A.4.5"],
        partial=["A.2.3", "A.3.2", "A.4.2", "A.4.3", "A.4.4", "A.4.6"],
        owner="ana.silva@example.com",
        evidence_seen=(
            "Ethics hotline procedure AIMS-PRO-007 and its 2025 case log; cloud asset register; "
            "RACI of the model risk committee"
        ),
    ),
    "controls_lifecycle": dict(
        exists=["A.6.2.5", "A.6.2.8", "A.7.3"],
        partial=[
            "A.6.2.2",
            "A.6.2.3",
            "A.6.2.4",
            "A.6.2.6",
            "A.6.2.7",
            "A.7.2",
            "A.7.4",
            "A.7.5",
            "A.8.2",
            "A.10.2",
            "A.10.3",
        ],  # fmt: skip
        owner="eva.lopes@example.com",
        evidence_seen=(
            "MLflow registry of the three models; release pipeline logs; bureau data contract; "
            "LLM provider terms of service; chatbot transcript logging in Splunk"
        ),
    ),
}

# -- scope -------------------------------------------------------------------------------------
_SCOPE: dict[str, Answers] = {
    "context": dict(
        external_issues=(
            "EU AI Act: credit scoring and CV screening are high-risk (Annex III 4 and 5b); "
            "Banco de Portugal and EBA expectations on model risk; GDPR and the consumer credit "
            "directive; customers' growing use of chat instead of branches; fast-moving LLM "
            "providers"
        ),
        internal_issues=(
            "2026-2028 strategy: digital-first retail bank; a small data science team (6) "
            "shared by three business lines; model risk management exists for credit only; "
            "ISO/IEC 27001 certified since 2021"
        ),
        ai_roles=["ai_developer", "ai_user"],
        climate_change_relevant=False,
    ),
    "parties": dict(
        interested_parties=(
            "Retail customers: accurate answers, a human when they ask, fair credit decisions\n"
            "Loan applicants: an explanation of the decision and a way to contest it\n"
            "Job applicants: not to be filtered out unfairly; to know AI is used\n"
            "Banco de Portugal and the CNPD: compliance with banking and data protection law\n"
            "Employees (agents, underwriters, recruiters): tools they can oversee and override\n"
            "LLM provider and credit bureau: contractual terms respected"
        ),
        addressed_requirements=(
            "Fairness and explanations through the risk and impact assessments and the "
            "credit model's reason codes; human hand-over and override through intended-use "
            "procedures; regulatory duties through the legal register kept by Leo Matos"
        ),
        legal_requirements=(
            "EU AI Act (Regulation 2024/1689); GDPR art. 22 and 35; Consumer Credit Directive "
            "2023/2225 (creditworthiness assessment); Portuguese Labour Code art. 24-25 "
            "(non-discrimination in recruitment); EBA guidelines on loan origination"
        ),
    ),
    "boundaries": dict(
        scope_statement=(
            "The AI management system of Example Bank covers the development, procurement and "
            "use of AI systems in retail customer service, consumer lending and recruitment, "
            "run from the Lisbon head office and the Porto contact centre."
        ),
        organisational_units=(
            "Retail Banking (customer service), Lending (underwriting), People & Recruiting, "
            "Data & Analytics; sites: Lisbon HQ, Porto contact centre"
        ),
        ai_systems="Support chatbot; Credit scoring model; CV screening assistant",
        interfaces=(
            "Group IT (hosting, identity) under the ISMS; the LLM provider's API; the credit "
            "bureau's API; the applicant tracking system run by People & Recruiting"
        ),
        has_exclusions=True,
        exclusions="Spam filtering and OCR embedded in bought office software",
        exclusion_justification=(
            "They are features of commercial products used as delivered, make no decision "
            "about a person and are covered by the ISMS supplier controls; leaving them out "
            "does not affect the AIMS's results for the three systems above"
        ),
        version="1.0",
        document_link="https://wiki.example.com/aims/scope",
    ),
}

# -- AI policy ---------------------------------------------------------------------------------
_POLICY: dict[str, Answers] = {
    "draft": dict(
        version="1.0",
        reason="first_issue",
        purpose=(
            "Sets how Example Bank builds, buys and uses AI so that customers, applicants and "
            "staff can trust its decisions; supports the digital-first strategy 2026-2028"
        ),
        objectives_framework=(
            "The AIMS owner proposes yearly objectives from the policy's principles, each with "
            "a KPI and target; the executive committee approves them with the budget"
        ),
        commitments=(
            "Meet the EU AI Act, GDPR, banking and employment law that apply to our AI; assess "
            "risk and impact before go-live and yearly; improve the AIMS from audits, incidents "
            "and the management review"
        ),
        principles=(
            "A person can always reach a human; no decision about credit or hiring without a "
            "trained person accountable for it; fairness measured before and after release; "
            "customers told when they talk to AI; personal data only with a lawful basis"
        ),
        exceptions_process=(
            "Written request to the AIMS owner with a risk assessment; decided by the COO; "
            "logged and reviewed at the next management review"
        ),
        document_link="https://wiki.example.com/aims/ai-policy",
    ),
    "review": dict(
        policies_checked=[
            "information_security",
            "privacy_data_protection",
            "procurement_suppliers",
            "code_of_conduct_ethics",
        ],
        conflicts=(
            "The privacy policy allowed chat transcripts for 'service improvement'; the AI "
            "policy now requires a lawful-basis check before any training use: privacy policy "
            "to be aligned at its next review"
        ),
        aligned=True,
    ),
    "clarify": dict(
        answer=(
            "Yes: the rule on reaching a human covers internal tools too; recruiters can "
            "always ask for a manual screening."
        ),
        revise=False,
    ),
}

# -- objectives --------------------------------------------------------------------------------
_OBJECTIVES: dict[str, Answers] = {
    "objective:impact": dict(
        objective="Every AI system in scope has a current impact assessment before the audit",
        policy_link="Principle: no decision about credit or hiring without assessing its impact",
        kpi="impact_assessment_coverage",
        target=1.0,
        direction="at_least_target",
        baseline=0.0,
        plan=(
            "Train the owners on the impact method; run the assessments of the credit model "
            "and the chatbot first, then the CV screening assistant before go-live"
        ),
        owner="ana.silva@example.com",
        resources="System owners 3 days each; DPO review; no budget",
        evaluation="aims kpi at each monthly AIMS meeting; met when the KPI reads 100%",
        evaluation_frequency="monthly",
    ),
    "objective:risk": dict(
        objective="Every AI system in scope has a current risk assessment with treatments",
        policy_link="Commitment: assess risk before go-live and every year",
        kpi="risk_assessment_coverage",
        target=1.0,
        direction="at_least_target",
        baseline=0.0,
        plan="Risk workshops per system led by Rui Costa; treatments tracked in Jira",
        owner="rui.costa@example.com",
        resources="Risk owner 20% for a quarter; model validators 5 days",
        evaluation="aims kpi monthly; met at 100% with no treatment overdue",
        evaluation_frequency="monthly",
    ),
    "objective:nonconformities": dict(
        objective="Each nonconformity has its corrective action in place within 30 days",
        policy_link="Commitment: continual improvement of the AIMS",
        kpi="mean_days_to_close_nonconformity",
        target=30,
        direction="at_most_target",
        plan=(
            "Corrective actions started the day a finding is raised; effectiveness checked 30 "
            "days after implementation; AIMS owner chases at the weekly stand-up"
        ),
        owner="ana.silva@example.com",
        resources="Engineering time from each system team as findings require",
        evaluation="aims kpi quarterly, read at the management review",
        evaluation_frequency="quarterly",
    ),
}

# -- roles and competence ----------------------------------------------------------------------
_ROLES: dict[str, tuple[Answers, Answers]] = {
    "role:risk_owner": (
        dict(
            role="risk_owner",
            holder="rui.costa@example.com",
            responsibilities=(
                "Runs the AI risk assessments, keeps the register, tracks treatments to their "
                "target dates, reports risk status to the management review"
            ),
            authorities=(
                "Accepts residual risk within appetite; escalates above appetite to the CEO; "
                "may stop a release whose treatments are not in place"
            ),
            reports_to="COO (Tomás Reis)",
            deputy="ana.silva@example.com",
            competence_required=(
                "Degree in a quantitative field; 5 years in risk management; training in AI "
                "risk (ISO/IEC 23894 or equivalent)"
            ),
            lifecycle_stages=["design", "verification", "deployment", "operation"],
        ),
        dict(
            qualifications="MSc Statistics (Universidade de Lisboa); FRM certified",
            training="ISO/IEC 23894 AI risk management, BSI, March 2026",
            experience="9 years in model risk at the bank, 3 as head of model validation",
            evidence_reference="HR file P-1187; certificates in the LMS (records 4410, 4529)",
            assessment="competent",
        ),
    ),
    "role:internal_auditor": (
        dict(
            role="internal_auditor",
            holder="ines.faria@example.com",
            responsibilities=(
                "Plans and carries out internal audits of the AIMS under the audit "
                "programme; writes the reports; follows up findings"
            ),
            authorities=(
                "Access to all AIMS records and staff; raises nonconformities; reports "
                "directly to the audit committee"
            ),
            reports_to="Audit committee of the board",
            competence_required=(
                "Trained internal auditor (ISO 19011); knowledge of ISO/IEC 42001 and of AI "
                "system life cycles; independent of the audited work"
            ),
            lifecycle_stages=["verification", "operation"],
        ),
        dict(
            qualifications="CIA; ISO/IEC 27001 Lead Auditor",
            training="ISO 19011 auditing, 2022; ISO/IEC 27001 Lead Auditor, 2021",
            experience="6 years auditing the ISMS; no AI system audits yet",
            evidence_reference="HR file P-0932; certificates 27001-LA-2021-118, CIA 301455",
            assessment="competent_with_gap",
            gap="No training in ISO/IEC 42001 or in auditing AI systems",
            gap_course="ISO/IEC 42001 Lead Auditor (5 days, accredited)",
        ),
    ),
    "role:data_protection_officer": (
        dict(
            role="data_protection_officer",
            holder="dora.vaz@example.com",
            responsibilities=(
                "Advises on lawful basis and DPIAs for AI systems; approves data quality "
                "records for personal data; contact point for the CNPD"
            ),
            authorities="May block the use of personal data for training or inference",
            reports_to="Board (GDPR art. 38)",
            competence_required="Data protection law; CIPP/E or equivalent; DPIA practice",
            lifecycle_stages=["data", "development", "operation"],
        ),
        dict(
            qualifications="Law degree; CIPP/E and CIPM",
            training="AI and GDPR, IAPP, 2025",
            experience="7 years as DPO in financial services",
            evidence_reference="HR file P-0411; IAPP certificates 221873, 221874",
            assessment="competent",
        ),
    ),
}

# -- training ----------------------------------------------------------------------------------
_COURSES: dict[str, Answers] = {
    "course:engineers": dict(
        course="Responsible AI at Example Bank: policy, oversight and data for engineers",
        course_reference="LMS-AI-101 v1",
        role="engineer",
        learners="eva.lopes@example.com\nsamuel.pinto@example.com",
        topics=[
            "ai_policy",
            "contribution_to_the_aims",
            "consequences_of_not_conforming",
            "incident_and_concern_reporting",
            "data_quality_and_provenance",
            "secure_ai_development",
        ],
        competence_built=(
            "Apply the AI policy to a change; record data provenance and quality; recognise "
            "and report an AI incident within the hour"
        ),
        delivery="e_learning",
        pass_criteria="Quiz of 20 questions, 80% to pass",
    ),
}

# A learner's record: keyed by the start of the course title, then by learner.
_RECORDS: dict[str, dict[str, Answers]] = {
    "Responsible AI": {
        "eva.lopes@example.com": dict(
            result="passed", score=90, evidence="LMS-AI-101 completion record 88214"
        ),
        "samuel.pinto@example.com": dict(
            result="passed", score=85, evidence="LMS-AI-101 completion record 88230"
        ),
    },
    "ISO/IEC 42001": {
        "ines.faria@example.com": dict(
            result="passed",
            score=82,
            evidence="Certificate 42001-LA-2026-0457 (PECB), uploaded to HR file P-0932",
        ),
    },
}

# -- audit programme ---------------------------------------------------------------------------
_PROGRAMME: Answers = dict(
    reference="AP-2026-2028",
    criteria=[
        "iso42001_clauses_4_to_10",
        "annex_a_controls_in_soa",
        "ai_policy",
        "internal_procedures",
        "legal_and_contractual_requirements",
    ],
    auditors=(
        "Inês Faria: all areas except the audit process itself; the audit of 9.2 (Inês's own "
        "work) by Group Internal Audit (Paulo Reis)"
    ),
    methods=(
        "Interviews with owners; sampling 25 ledger records per area; walk-through of one "
        "release of each AI system; re-performance of two KPI values"
    ),
    adjustments=(
        "Lifecycle and data moved to the first year: two high-risk systems and the chatbot's "
        "new training data"
    ),
)

# The name a story gives each run it starts, so answers can tell the runs apart.
VARIANTS = (*_OBJECTIVES, *_ROLES, *_COURSES)


def governance_answers(
    workflow: str, step: str, inputs: dict[str, Any], variant: str | None, now: datetime
) -> Answers | None:
    """The answers to a task of a governance workflow, or None for any other workflow."""
    if workflow == "gap-analysis":
        return dict(_GAP.get(step, {}))
    if workflow == "aims-scope":
        return dict(_SCOPE.get(step, {}))
    if workflow == "ai-policy":
        return dict(_POLICY.get(step, {}))
    if workflow == "ai-objectives":
        chosen = _OBJECTIVES.get(variant or "", _OBJECTIVES["objective:impact"])
        return {**chosen, "due_date": _day(now, 90)}
    if workflow == "roles-and-competence":
        assign, competence = _ROLES.get(variant or "", _ROLES["role:risk_owner"])
        if step == "assign":
            return dict(assign)
        return {**competence, **({"gap_due": _day(now, 60)} if "gap" in competence else {})}
    if workflow == "training":
        return {
            **_COURSES.get(variant or "", _COURSES["course:engineers"]),
            "due_date": _day(now, 30),
        }
    if workflow == "training-record":
        course = str(inputs.get("course") or "")
        learner = str(inputs.get("learner") or "")
        by_learner = next((v for k, v in _RECORDS.items() if course.startswith(k)), {})
        record = by_learner.get(learner, dict(result="attended", evidence="Attendance sheet"))
        return {**record, "completed_on": _day(now, -1), "acknowledged": True}
    if workflow == "audit-programme":
        return dict(_PROGRAMME)
    return None


# What approvers type in the reason box, per workflow and approval step.
_REASONS: dict[tuple[str, str], str] = {
    ("gap-analysis", "approve"): (
        "Agreed: close the scope, policy and impact gaps first; budget for two external "
        "audit days approved."
    ),
    ("aims-scope", "approve"): "The three systems and the exclusion are right; publish it.",
    ("ai-policy", "approve"): "Approved as AI policy 1.0; effective today.",
    ("ai-policy", "acknowledge"): "Read AI policy 1.0; I understand what it asks of my role.",
    ("ai-objectives", "approve"): "Target and owner agreed; report progress monthly.",
    ("roles-and-competence", "approve"): "Assignment confirmed; competence evidence checked.",
    ("audit-programme", "approve"): (
        "Covers every clause and the applicable controls over the cycle; Group Internal "
        "Audit audits the audit process. Approved."
    ),
}


def governance_reason(workflow: str, step: str) -> str | None:
    return _REASONS.get((workflow, step))
