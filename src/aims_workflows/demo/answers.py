"""What the simulated people answer: realistic text for each shipped task, per AI system (the
governance and operational workflows' answers are in :mod:`.governance` and :mod:`.operations`),
and a fallback from the form itself for any other workflow."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from .governance import governance_answers
from .operations import operations_answers

__all__ = ["answers_for"]

Answers = dict[str, Any]

_RISK = {
    "Support chatbot": dict(
        risk_title="Confidently wrong answers about fees and card blocking",
        risk_description=(
            "The model can state outdated fees or wrong steps to block a lost "
            "card; customers may act on it."
        ),
        risk_sources="model_behaviour,transparency_explainability,robustness",
        affected_parties="retail customers, contact-centre agents",
        existing_controls="retrieval from approved articles; hand-over button",
        likelihood=3,
        impact=3,
        rating_rationale="seen in 2 of 500 sampled chats; harm limited and reversible",
    ),
    "Credit scoring model": dict(
        risk_title="Indirect discrimination against younger and migrant applicants",
        risk_description=(
            "Bureau-history features act as proxies for age and residency length "
            "and depress scores for protected groups."
        ),
        risk_sources="bias_fairness,data_quality,legal_compliance",
        affected_parties="loan applicants",
        existing_controls="quarterly fairness report (manual)",
        likelihood=4,
        impact=5,
        rating_rationale="disparate impact ratio 0.74 on the last validation set",
    ),
    "CV screening assistant": dict(
        risk_title="Qualified candidates filtered out by the ranking",
        risk_description=(
            "Non-traditional CVs rank low; recruiters may only read the top of the shortlist."
        ),
        risk_sources="bias_fairness,human_oversight,transparency_explainability",
        affected_parties="job applicants",
        existing_controls="recruiter reviews every shortlist",
        likelihood=3,
        impact=4,
        rating_rationale="pilot showed 11% of hired profiles ranked below position 20",
    ),
}

# The chatbot's first assessment also names a second risk, analysed in its own ai-risk run.
_RISK["Support chatbot"]["further_risks"] = "Unsuitable advice to customers in financial difficulty"

# After the chatbot starts learning from customer chats (chapter 3), its re-assessment starts
# from the register: the new privacy risk is analysed in the run, the fee risk is re-rated (the
# model now also learns from agents' corrections) and the advice risk is kept as it is.
_REASSESS = {
    "Support chatbot": dict(
        risk_title="Personal data from customer chats used for training without a lawful basis",
        risk_description=(
            "Chat transcripts now feed the nightly fine-tuning; they hold names, account numbers "
            "and health details customers volunteer, with no consent or legitimate-interest test."
        ),
        risk_sources="privacy,legal_compliance,data_quality",
        affected_parties="customers who use the chat; the bank (GDPR fines, trust)",
        existing_controls="transcripts encrypted at rest; 90-day retention",
        likelihood=4,
        impact=4,
        rating_rationale="a sample of 200 transcripts held personal data in 61",
        changes=(
            "The chatbot learns from customer chat history every night since the data-source "
            "change; agents' corrections are part of the training set."
        ),
    ),
}
_REASSESS_TREAT = {
    "Support chatbot": dict(
        treatment="mitigate",
        treatment_plan=(
            "Redact personal data before transcripts enter the training set; record the lawful "
            "basis in the DPIA; let customers opt out in the chat window."
        ),
        controls="A.7.4, A.7.6, A.8.2",
        residual_likelihood=2,
        residual_impact=3,
        rationale="redaction tested on 10,000 transcripts missed 0.3% of identifiers",
    ),
}
# ai-risk runs: one per further risk or re-rating, keyed by the risk's title
_FURTHER = {
    "Unsuitable advice to customers in financial difficulty": dict(
        risk_description=(
            "Customers behind on payments ask the bot what to do; it may suggest products or "
            "steps that deepen their debt instead of handing over to the hardship team."
        ),
        risk_sources="safety,human_oversight,model_behaviour",
        affected_parties="customers in financial difficulty",
        existing_controls="keyword hand-over for 'debt' and 'arrears'",
        likelihood=2,
        impact=4,
        rating_rationale="3 of 40 hardship chats in the pilot got product suggestions",
    ),
    "Confidently wrong answers about fees and card blocking": dict(
        risk_description=(
            "Learning from agents' corrections can also learn their mistakes: an outdated fee "
            "corrected by one agent spreads to every answer after the next training run."
        ),
        risk_sources="model_behaviour,data_quality,robustness",
        affected_parties="retail customers, contact-centre agents",
        existing_controls="answers on fees come from the tariff table",
        likelihood=3,
        impact=3,
        rating_rationale="tariff grounding holds; the new learning loop is untested",
    ),
}
_FURTHER_TREAT = {
    "Unsuitable advice to customers in financial difficulty": dict(
        treatment="mitigate",
        treatment_plan="Route every chat that mentions arrears to the hardship team; no offers.",
        controls=["A.9.2", "A.9.3"],
        residual_likelihood=1,
        residual_impact=4,
        rationale="the hand-over is rule-based, not left to the model",
    ),
    "Confidently wrong answers about fees and card blocking": dict(
        treatment="accept",
        residual_likelihood=2,
        residual_impact=2,
        rationale="fee answers stay grounded in the tariff table; sampling continues weekly",
    ),
}
_TREATMENT_DONE = dict(
    outcome="done",
    what_was_done="Implemented as planned, tested in staging and released.",
    evidence_link="https://git.example.com/ai/changes/412",
)

_TREAT = {
    "Support chatbot": dict(
        treatment="mitigate",
        treatment_plan="Answer fee questions only from the tariff table; weekly answer sampling.",
        controls="A.6.2.6, A.9.2",
        residual_likelihood=2,
        residual_impact=2,
        rationale="guardrail removes the main failure",
    ),
    "Credit scoring model": dict(
        treatment="mitigate",
        treatment_plan="Drop two proxy features and retrain.",
        controls="A.7.4, A.6.2.4",
        residual_likelihood=3,
        residual_impact=4,
        rationale="feature removal addresses the largest proxies",
    ),
    "CV screening assistant": dict(
        treatment="mitigate",
        treatment_plan=(
            "Show the full list by default and explain each rank; monthly adverse-impact test."
        ),
        controls="A.6.2.4, A.8.2",
        residual_likelihood=2,
        residual_impact=3,
        rationale="recruiters see every applicant",
    ),
}

_REWORK = dict(
    treatment_plan=(
        "Drop two proxy features, retrain, add a monthly disparate-impact monitor "
        "with a 0.8 alert threshold and an underwriter override log."
    ),
    controls="A.7.4, A.6.2.4, A.6.2.6",
    residual_likelihood=2,
    residual_impact=4,
    rationale="monitoring now catches drift back towards the proxies",
)

_IMPACT = {
    "context": lambda s: dict(
        intended_use=f"{s} as described in the inventory",
        foreseeable_misuse="relying on the output without review",
        affected_groups="end_users,people_subject_to_decisions"
        if s != "Support chatbot"
        else "end_users,customers",
        decisions_about_people=s != "Support chatbot",
        human_review="a trained employee reviews every output that affects a person",
        personal_data=True,
    ),
    "impacts": lambda s: dict(
        individual_impacts="wrong or unfair outcomes for the person concerned",
        societal_areas="access_to_services" if s != "CV screening assistant" else "employment",
        societal_impacts="unequal access if errors cluster in one group",
        severity=4 if s != "Support chatbot" else 2,
        likelihood=3,
        reversibility="reversible_with_effort",
    ),
    "mitigate": lambda s: dict(
        mitigations="human review, fairness monitoring, appeal route",
        user_information="notice at the point of use explaining the role of the system",
        monitoring="monthly outcome monitoring by group",
        residual_concerns="",
    ),
}

_AUDIT: dict[str, Answers] = {
    "programme": dict(
        audit_reference="IA-2026-01",
        scope="AIMS for the three in-scope AI systems",
        criteria="iso42001_clauses_4_to_10,annex_a_controls_in_soa",
        auditors="Inês Faria",
        previous_results="first audit",
    ),
}


# An area about risk, impact or the systems' life cycle finds the credit model's drift unassessed
# (the audit's nonconformity, which starts a corrective action); data gets an observation;
# every other area conforms.
_RISK_AREAS = ("6", "8", "A.5", "A.6", "A.9")


def _area_check(inputs: dict[str, Any]) -> Answers:
    covers = [str(c) for c in inputs.get("covers") or []]
    own = {"independence": "not_my_own_work"}
    if any(c == root or c.startswith(root + ".") for c in covers for root in _RISK_AREAS):
        return dict(
            result="minor_nonconformity",
            evidence_sampled="risk register, 3 assessments",
            finding=(
                "The credit scoring risk assessment does not consider model drift after deployment."
            ),
            requirement="8.2",
            **own,
        )
    if any(c == "A.7" or c.startswith("A.7.") for c in covers):
        return dict(
            result="observation",
            evidence_sampled="data sheets of the chatbot",
            finding="Validation reports are stored outside the document system.",
            **own,
        )
    return dict(result="conforming", evidence_sampled="records and interviews", **own)


_CORRECTIVE: dict[str, Answers] = {
    "correct": dict(
        nonconformity="Drift was not assessed for the credit scoring model.",
        consequences="risk could rise unnoticed",
        correction="Added drift to the open credit scoring assessment.",
    ),
    "root_cause": dict(
        method="five_whys",
        root_cause="The risk methodology template has no post-deployment section.",
        similar_elsewhere=True,
        similar_where="all assessments use the same template",
    ),
    "plan": dict(
        action=(
            "Add a post-deployment (drift, monitoring) section to the risk methodology and "
            "template."
        ),
        aims_change=True,
        aims_change_detail="risk methodology v3",
    ),
    "implement": dict(
        done="Template and methodology updated; assessors briefed.",
        evidence_link="https://wiki.example.com/aims/risk-methodology-v3",
    ),
    "verify": dict(effective=True, observations="Two new assessments both cover drift."),
}

_REVIEW: dict[str, Answers] = {
    "previous_actions": dict(
        summary="First management review of the AIMS: no earlier actions.",
        open_actions=0,
        overdue_actions=0,
    ),
    "context_changes": dict(
        external_issues=(
            "EU AI Act obligations for high-risk systems apply from August 2026; the GPAI "
            "code of practice now covers our LLM provider."
        ),
        internal_issues=(
            "The chatbot learns from customer chats since the data-source change; the CV "
            "screening assistant is still in validation."
        ),
        interested_parties=(
            "Banco de Portugal asked for fairness evidence on credit decisions; complaints "
            "about the chatbot's wrong overdraft fee (the fee incident)."
        ),
        scope_affected=False,
    ),
    "performance": dict(
        nonconformities=(
            "2 minor, both closed after their effectiveness checks: internal audit "
            "IA-2026-01 (drift not assessed) and the chatbot fee incident"
        ),
        monitoring_results=(
            "Risk and impact assessment coverage 100%; fairness monitor live for credit "
            "scoring (disparate impact 0.86); chatbot answer sampling weekly."
        ),
        audit_results="Internal audit IA-2026-01: 1 minor nonconformity, 1 observation",
        objectives="met",
        kpi_extract="https://dashboards.example.com/aims",
    ),
    "risk_status": dict(
        open_risks=6,
        above_appetite=1,
        overdue_treatments=1,
        summary=(
            "Credit scoring residual risk accepted by top management with monthly "
            "disparate-impact monitoring; its retraining is past its target date (data "
            "team on the incident); the chatbot's privacy risk treated by redaction."
        ),
    ),
    "opportunities": dict(
        opportunities=(
            "Collect validation evidence from the ML platform automatically; reuse the "
            "chatbot's answer sampling for the CV assistant's explanations."
        )
    ),
    "decisions": dict(
        attendees="Carla Mendes, Tomás Reis, Ana Silva, Rui Costa, Inês Faria (observer)",
        conclusion="needs_improvement",
        improvements=(
            "Treat every AI system as a publication channel in product changes; finish "
            "impact mitigations on time (the CV screening one was escalated)."
        ),
        aims_changes=False,
        resources="0.5 FTE for fairness monitoring; two external audit days for Stage 1",
        actions=(
            "Retire the old tariff from every AI system's sources\n"
            "Extend fairness monitoring to the CV screening assistant before go-live"
        ),
    ),
}

_CHANGE_REVIEW: dict[str, Answers] = {
    "change": dict(summary="Retrain on the last 12 months of applications; drop two features."),
    "validation": dict(
        results="AUC 0.81 (was 0.80); disparate impact ratio 0.86; no robustness regressions.",
        exceptions="Latency is 5 ms over target; we fix it in the next release.",
    ),
    "release_plan": dict(
        deployment_plan="Staging for a week, then 10% of traffic, then all; underwriters told.",
        rollback_plan="Switch back to the previous model if approval rates move by more than 5%.",
        monitoring="Weekly approval rates and disparate impact by group; alert below 0.8.",
    ),
}

# The data review the chatbot's new data source (customer chat history) starts.
_DATA_QUALITY: dict[str, Answers] = {
    "datasets": dict(
        datasets=(
            "help-centre-articles v12 (retrieval), product-terms 2026-02 (retrieval), "
            "chat-history-2025H2 v1 (fine-tuning, 180k conversations), eval-fees-300 (evaluation)"
        ),
        data_categories="personal_data,customer_content,internal_business_data",
        management_rules=(
            "Chat history only in the ML workspace; names, IBANs and card numbers masked at "
            "export; kept 18 months; every set versioned in DVC"
        ),
    ),
    "acquisition": dict(
        sources=(
            "Articles and terms written in-house; chat history exported from the contact centre"
        ),
        legal_basis="Legitimate interest (LIA-2026-03), privacy notice updated on 1 March",
        consent_or_notice=True,
        provenance=(
            "DVC lineage from the contact-centre export to each training set, with checksums"
        ),
    ),
    "quality": dict(
        criteria=(
            "Masking recall of 99.5% on a labelled sample; under 1% duplicate conversations; "
            "every product line at least 3% of conversations"
        ),
        results="Masking recall 99.8%; duplicates 0.6%; smallest product line (insurance) 3.4%",
        bias_checked=True,
        meets_criteria=True,
        report="https://wiki.example.com/aims/chatbot/data-quality-2026-03",
    ),
    "preparation": dict(
        steps=(
            "PII masking, de-duplication, removal of agent-only notes, intent labels by two agents"
        ),
        labelling="Two contact-centre agents label each conversation; disagreements go to a lead",
        reproducible=True,
        pipeline="https://git.example.com/ml/chatbot-data-prep",
    ),
}


def _reassessment(subject: str, register: str) -> Answers:
    """The re-assessment's answers: the fee risk, found by its title in the register the task
    shows, is re-rated."""
    fee_risk = str(_RISK[subject]["risk_title"])
    rerate = [line.split(":", 1)[0] for line in register.splitlines() if fee_risk in line]
    return {**_REASSESS[subject], "rerate": "\n".join(rerate)}


# What a person writes in a free-text answer nobody scripted: short, in their own words.
_PLAIN_TEXT = "Checked with the team; nothing unusual to report."


def _fallback(form: list[dict[str, Any]], now: datetime, subject: str) -> Answers:
    """A plausible answer for any form, so the demo also runs with custom workflows. Fields that
    are optional or required only under a condition are left out, as people leave them."""
    out: Answers = {}
    for field in form:
        kind = field["type"]
        if not field.get("required", True) or field.get("required_if"):
            continue
        if kind == "text":
            out[field["id"]] = _PLAIN_TEXT
        elif kind == "number":
            low = int(field["min"]) if field.get("min") is not None else 1
            out[field["id"]] = (
                low + 1 if field.get("max") is None or low + 1 <= field["max"] else low
            )
        elif kind in ("choice", "multi_choice"):
            out[field["id"]] = field["choices"][0]
        elif kind == "date":
            out[field["id"]] = (now + timedelta(days=30)).date().isoformat()
        elif kind == "user":
            out[field["id"]] = "ana.silva@example.com"
        elif kind == "url":
            out[field["id"]] = "https://wiki.example.com/aims"
        elif kind == "bool":
            out[field["id"]] = False
    return out


def answers_for(
    workflow: str,
    step: str,
    subject: str,
    attempt: int,
    form: list[dict[str, Any]],
    now: datetime,
    inputs: dict[str, Any] | None = None,
    variant: str | None = None,
) -> Answers:
    """The answers a person gives to this task on this attempt (``inputs``: the run's;
    ``variant``: the name the story gave the run, see :mod:`.governance`)."""
    inputs = inputs or {}
    scripted = governance_answers(workflow, step, inputs, variant, now)
    if scripted is None:
        scripted = operations_answers(workflow, step, subject, inputs, now)
    reassessing = bool(inputs.get("current_risk_ids")) and subject in _REASSESS
    title = str(inputs.get("risk_title") or "")
    fixed: dict[tuple[str, str], Callable[[], Answers]] = {
        ("ai-risk-assessment", "identify"): lambda: (
            _reassessment(subject, str(inputs.get("current_register") or ""))
            if reassessing
            else _RISK.get(subject, {})
        ),
        ("ai-risk-assessment", "treat"): lambda: (
            _REASSESS_TREAT[subject]
            if reassessing
            else {**_TREAT.get(subject, {}), **(_REWORK if attempt > 1 else {})}
        ),
        ("ai-risk", "analyse"): lambda: _FURTHER.get(title, {}),
        ("ai-risk", "treat"): lambda: _FURTHER_TREAT.get(title, {}),
        ("risk-treatment", "carry_out"): lambda: dict(_TREATMENT_DONE),
        ("ai-impact-assessment", "context"): lambda: _IMPACT["context"](subject),
        ("ai-impact-assessment", "impacts"): lambda: _IMPACT["impacts"](subject),
        ("ai-impact-assessment", "mitigate"): lambda: _IMPACT["mitigate"](subject),
        ("internal-audit-area", "check"): lambda: _area_check(inputs),
    }
    specific: Answers = fixed.get(
        (workflow, step),
        lambda: (
            _AUDIT.get(step, {})
            if workflow == "internal-audit"
            else _CHANGE_REVIEW.get(step, {})
            if workflow == "ai-system-change-review"
            else _CORRECTIVE.get(step, {})
            if workflow == "corrective-action"
            else _REVIEW.get(step, {})
            if workflow == "management-review"
            else _DATA_QUALITY.get(step, {})
            if workflow == "data-quality"
            else {}
        ),
    )()
    dates = {
        "corrected_on": 0,
        "implemented_on": 0,
        "review_date": 0,
        "period_start": -30,
        "period_end": 0,
        "due_date": 21,
        "target_date": 45,
        "completed_on": 0,
    }
    if scripted is not None:
        specific = scripted
    answers = {**_fallback(form, now, subject), **specific}
    for name, offset in dates.items():
        if name not in specific and any(f["id"] == name for f in form):
            answers[name] = (now + timedelta(days=offset)).date().isoformat()
    for field in form:
        if (
            field["type"] == "user"
            and field["id"] in answers
            and "@" not in str(answers[field["id"]])
        ):
            answers[field["id"]] = "eva.lopes@example.com"
    if any(f["id"] == "action_owner" for f in form):
        answers["action_owner"] = "eva.lopes@example.com"
    if answers.get("treatment") == "accept":  # nothing to do, so no plan, owner, date or controls
        for name in ("treatment_plan", "action_owner", "target_date", "controls"):
            answers.pop(name, None)
    return {k: v for k, v in answers.items() if any(f["id"] == k for f in form)}
