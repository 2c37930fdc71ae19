"""What Example Bank's people answer in the operational workflows: supplier reviews, data quality
and intended use per AI system, the Statement of Applicability review, an AI incident and the
corrective action it leads to, and the actions of the management review."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

__all__ = ["operations_answers", "operations_reason", "SOA_REASONS"]

Answers = dict[str, Any]


def _utc(now: datetime, hours: float) -> str:
    """A moment as the incident form asks for it (``2026-03-02T14:05Z``): ``hours`` before now."""
    return (now - timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%MZ")


# -- supplier review (A.10.2 to A.10.4) -------------------------------------------------------
_SUPPLIERS: dict[str, dict[str, Answers]] = {
    "Support chatbot": {
        "relationship": dict(
            party="Lumen Models B.V.",
            party_role="model_provider",
            provides="Hosted LLM API (lumen-chat-2, EU region), pinned model version 2026-05",
            responsibilities=(
                "Lumen: model training, evaluation, abuse monitoring, EU data residency. Bank: "
                "retrieval content, prompts, answer sampling, customer-facing incident handling"
            ),
            agreement="https://contracts.example.com/suppliers/lumen-models-2026",
            agreement_gaps="No commitment on notice before a model version is retired",
        ),
        "assess": dict(
            documentation=True,
            data_provenance=False,
            incident_notice=True,
            audit_rights=False,
            certifications=["iso_27001", "soc_2_type_2"],
            findings=(
                "Training data sources disclosed only in broad terms; no audit right, SOC 2 "
                "report relied on instead"
            ),
            rating="acceptable_with_conditions",
            conditions=(
                "Add 90 days' notice of model retirement at the renewal in March; request the "
                "model's data summary under the AI Act GPAI obligations by end of quarter"
            ),
        ),
        "customers": dict(
            provided_to_customers=True,
            customer_requirements=(
                "Accurate answers about the bank's products; told they talk to AI; a human on "
                "request (consumer protection, AI Act art. 50)"
            ),
            customer_information=(
                "AI notice at the start of each chat; help page on what the assistant can and "
                "cannot do; complaint form"
            ),
            shared_responsibilities="Customers confirm fees and limits in the app before acting",
        ),
    },
    "Credit scoring model": {
        "relationship": dict(
            party="CreditInfo Iberia S.A.",
            party_role="data_provider",
            provides="Credit bureau records via API v3 (payment history, existing credit lines)",
            responsibilities=(
                "Bureau: accuracy of records, corrections on data subjects' requests. Bank: "
                "feature engineering, model training and validation, decisions"
            ),
            agreement="https://contracts.example.com/suppliers/creditinfo-2024",
        ),
        "assess": dict(
            documentation=True,
            data_provenance=True,
            incident_notice=True,
            audit_rights=True,
            certifications=["iso_27001"],
            rating="acceptable",
        ),
        "customers": dict(provided_to_customers=False),
    },
}

# -- data quality (A.7.2 to A.7.6) ------------------------------------------------------------
_DATA: dict[str, dict[str, Answers]] = {
    "Credit scoring model": {
        "datasets": dict(
            datasets=(
                "loans-2019-2025 v4 (training, 182k applications); holdout-2025H2 v1 "
                "(evaluation, 21k); live application stream (operation)"
            ),
            data_categories=[
                "personal_data",
                "licensed_third_party_data",
                "internal_business_data",
            ],
            management_rules=(
                "Feature store access by role (underwriting analytics only); training sets "
                "versioned in DVC; raw bureau data deleted after 24 months"
            ),
            data_catalogue="https://data.example.com/catalogue/credit-scoring",
        ),
        "acquisition": dict(
            sources=(
                "Application forms (collected); bureau records (licensed from CreditInfo "
                "Iberia); transaction history (own core banking)"
            ),
            legal_basis=(
                "GDPR art. 6(1)(b) and (c): creditworthiness assessment required by the "
                "Consumer Credit Directive; bureau licence clause 7 allows model training"
            ),
            consent_or_notice=True,
            provenance="DVC lineage from source extracts, SHA-256 per snapshot",
        ),
        "quality": dict(
            criteria=(
                "Completeness of key fields >= 98%; label (default at 12 months) verified on "
                "a 1% sample; each age band and residency band >= 2% of rows"
            ),
            results=(
                "Completeness 99.2%; label errors 0.4%; applicants under 25 are 3.1%, "
                "residents under 2 years 2.4%"
            ),
            bias_checked=True,
            meets_criteria=True,
            report="https://data.example.com/reports/credit-scoring-dq-2026",
        ),
        "preparation": dict(
            steps=(
                "De-duplicate applications; cap outliers in income; drop the two proxy "
                "features named in the risk assessment; one-hot encode product type"
            ),
            reproducible=True,
            pipeline="https://git.example.com/ml/credit-scoring/pipelines/prepare.py",
        ),
    },
    "Support chatbot": {
        "datasets": dict(
            datasets=(
                "help-centre articles (live index); product terms 2026; chat transcripts "
                "since the data-source change (nightly fine-tuning set)"
            ),
            data_categories=["personal_data", "customer_content", "internal_business_data"],
            management_rules=(
                "Transcripts redacted before they enter the training bucket; 90-day "
                "retention; access limited to the chatbot team"
            ),
        ),
        "acquisition": dict(
            sources="Own help centre and terms (written by us); chats with our customers",
            legal_basis=(
                "Legitimate interest assessment LIA-2026-04 for improving answers, with an "
                "opt-out in the chat window"
            ),
            consent_or_notice=True,
            provenance="Each night's training set is listed with transcript ids and a hash",
        ),
        "quality": dict(
            criteria="Redaction misses < 0.5% of identifiers; no transcript older than 90 days",
            results="Redaction misses 0.3% on a 10,000-transcript sample; oldest is 61 days",
            bias_checked=False,
            meets_criteria=True,
        ),
        "preparation": dict(
            steps="Redact identifiers; drop chats handed over to agents; split by product",
            labelling="Agents' corrections are the labels; a team lead checks 50 a week",
            reproducible=True,
        ),
    },
}

# -- intended use (A.9.2 to A.9.4) ------------------------------------------------------------
_USE: dict[str, dict[str, Answers]] = {
    "Credit scoring model": {
        "purpose": dict(
            intended_purpose=(
                "Support underwriters' decisions on consumer loans up to EUR 75,000 with a "
                "score and its top reasons"
            ),
            intended_users="Underwriters certified in the lending procedure LP-12",
            prohibited_uses=(
                "Automatic rejection without an underwriter; mortgages; marketing or pricing "
                "of other products"
            ),
            use_process=(
                "The underwriter reads the score and reasons, checks the file, decides and "
                "records any override with its reason"
            ),
            use_objectives=(
                "Override rate between 5% and 15%; every decline explained to the applicant "
                "within 5 working days"
            ),
        ),
        "oversight": dict(
            oversight_mode="human_in_the_loop",
            overseers="Underwriters decide each case; the head of underwriting can stop use",
            overseer_training="LP-12 certification, including a module on score limits",
            stop_procedure="Head of underwriting switches lending to manual scoring in the LOS",
        ),
    },
    "CV screening assistant": {
        "purpose": dict(
            intended_purpose=(
                "Order applications for a recruiter so that all are read, most relevant first"
            ),
            intended_users="Recruiters of People & Recruiting after the screening course",
            prohibited_uses="Rejecting any applicant without a recruiter reading the CV",
            use_process=(
                "Recruiter reads the full list; any rejection needs a reason in the ATS; "
                "applicants are told AI helps order applications"
            ),
            use_objectives="100% of rejections have a recruiter's reason; monthly adverse-impact "
            "ratio >= 0.8",
        ),
        "oversight": dict(
            oversight_mode="human_in_the_loop",
            overseers="Recruiters (read, reorder, reject); Priya Rao can switch ranking off",
            overseer_training="Screening course RC-3 with cases of biased rankings",
            stop_procedure="Priya Rao disables ranking in the ATS; applications stay in order",
        ),
    },
    "Support chatbot": {
        "purpose": dict(
            intended_purpose="Answer retail customers' questions on accounts and cards",
            intended_users="Retail customers in the app and on the website",
            prohibited_uses="Financial advice; answers about credit decisions; collections",
            use_process="Hand over to an agent on request or on the hardship keywords",
            use_objectives="Hand-over offered in 100% of chats; sampled accuracy >= 97%",
        ),
        "oversight": dict(
            oversight_mode="human_on_the_loop",
            overseers="Contact-centre team leads sample answers weekly and can pause topics",
            overseer_training="Answer-sampling guide CC-9",
            stop_procedure="Olga Nunes switches the bot to 'agent only' in the chat console",
        ),
    },
}

_USE_COMMON: dict[str, Answers] = {
    "documentation": dict(
        design_record="https://wiki.example.com/ai/{slug}/design",
        technical_documentation="https://wiki.example.com/ai/{slug}/model-card",
        user_information="https://wiki.example.com/ai/{slug}/user-guide",
        logged_events="Inputs, outputs, model version, user overrides and errors",
        log_retention="Two years in Splunk (index ai-{slug}), then deleted",
    ),
    "use_check": dict(
        evidence_sampled="30 cases from the last month's logs; interviews with two users",
        within_intended_use=True,
        objectives_met="Objectives met in the sample; override and explanation rates in range",
    ),
}

# -- Statement of Applicability ----------------------------------------------------------------
SOA_REASONS: dict[str, str] = {
    "A.2.2": "AI policy 1.0 (ai-policy run), required by 5.2",
    "A.2.3": "AI policy checked against security, privacy and procurement policies",
    "A.2.4": "policy reviewed yearly by the ai-policy schedule",
    "A.3.2": "roles assigned through roles-and-competence",
    "A.3.3": "ethics hotline procedure AIMS-PRO-007",
    "A.4.2": "resources listed per system in the inventory",
    "A.4.3": "data resources: data-quality records of the credit model and chatbot",
    "A.4.4": "tooling in the ML platform register",
    "A.4.5": "computing resources in the cloud asset register (ISMS)",
    "A.4.6": "competence records and training of role holders",
    "A.5.2": "impact assessment process AIMS-PRO-005",
    "A.5.3": "impact assessments recorded per system",
    "A.5.4": "credit and CV screening decide about people (risk treatments)",
    "A.5.5": "access to credit and employment are societal impacts",
    "A.6.1.2": "objectives for responsible development in the intake triage",
    "A.6.1.3": "change reviews of every release",
    "A.6.2.2": "requirements recorded in change reviews",
    "A.6.2.3": "design records linked from intended-use reviews",
    "A.6.2.4": "risk treatment: fairness validation of credit scoring and CV screening",
    "A.6.2.5": "release plans with rollback in change reviews",
    "A.6.2.6": "risk treatment: chatbot answer sampling and credit drift monitoring",
    "A.6.2.7": "model cards per system",
    "A.6.2.8": "event logs kept two years",
    "A.7.2": "data for development recorded in data-quality reviews",
    "A.7.3": "acquisition and legal basis per data set",
    "A.7.4": "risk treatment: credit scoring proxy features removed; quality criteria",
    "A.7.5": "provenance traced with DVC lineage",
    "A.7.6": "risk treatment: redaction of chat transcripts before training",
    "A.8.2": "risk treatment: CV screening explanations; user guides",
    "A.8.3": "customers and applicants can report problems (complaint form)",
    "A.8.4": "ai-incident workflow: communication to affected parties",
    "A.8.5": "information for regulators kept by Legal",
    "A.9.2": "risk treatment: chatbot hand-over rules; intended-use procedures",
    "A.9.3": "objectives for responsible use per system",
    "A.9.4": "intended use checked yearly per system",
    "A.10.2": "responsibilities allocated in supplier agreements",
    "A.10.3": "supplier reviews of the LLM provider and the credit bureau",
    "A.10.4": "the chatbot is provided to customers: supplier-review customer step",
}

# -- an AI incident on the chatbot ------------------------------------------------------------
_INCIDENT: dict[str, Callable[[datetime], Answers]] = {
    "report": lambda now: dict(
        title="Chatbot quoted last year's overdraft fee after the tariff change",
        detected_at=_utc(now, 6),
        what_happened=(
            "Since this month's tariff change the chatbot has told customers the unarranged "
            "overdraft fee is EUR 5 (the old tariff) instead of EUR 7.50; a customer complained "
            "after being charged"
        ),
        detection_source="customer_complaint",
        reporter="Complaints team (complaint C-2026-10-0317)",
        harm_types=["wrong_or_harmful_output"],
        people_affected="About 140 customers asked about overdraft fees in the period",
        ongoing=True,
    ),
    "triage": lambda now: dict(
        severity="sev3",
        severity_rationale=(
            "Wrong information, money at stake small and refundable; no personal data "
            "involved; not safety-relevant"
        ),
        triaged_at=_utc(now, 5),
        personal_data_breach=False,
        notification_duty=False,
    ),
    "contain": lambda now: dict(
        actions=(
            "Fee questions routed to agents; the tariff table in the retrieval index replaced "
            "with the 2026 version; answers re-tested on 50 fee questions"
        ),
        system_state="running_with_safeguards",
        contained_at=_utc(now, 4),
        evidence_link="https://git.example.com/ai/chatbot/changes/518",
    ),
    "communicate": lambda now: dict(
        parties_informed=["affected_users", "staff", "top_management"],
        what_was_said=(
            "Customers who asked about the fee get a message with the right amount and a "
            "refund of the difference; agents briefed on the script"
        ),
        channels="In-app message; contact-centre briefing",
        communicated_at=_utc(now, 3),
    ),
    "root_cause": lambda now: dict(
        method="timeline_analysis",
        root_cause=(
            "The tariff change process updates the website and the core system but does not "
            "list the chatbot's retrieval index among the channels to update"
        ),
        contributing_factors="Weekly answer sampling did not include fee questions that week",
        resolved_at=_utc(now, 2),
        lessons_learned=(
            "Treat the chatbot as a publication channel in every product change; sample "
            "answers on changed topics the day a change goes live"
        ),
        nonconformity=True,
        requirement_not_met="A.6.2.6",
        what_was_not_met=(
            "Operation and monitoring must keep the system performing as intended; the "
            "monitoring did not cover a known change to its source content"
        ),
    ),
}

_INCIDENT_CORRECTIVE: dict[str, Answers] = {
    "correct": dict(
        nonconformity=(
            "A.6.2.6: the chatbot was not monitored for a known change to its source content "
            "(the new overdraft tariff)"
        ),
        consequences="About 140 customers given the wrong fee; refunds of EUR 2.50 each",
        correction="Index updated; customers told and refunded",
    ),
    "root_cause": dict(
        method="five_whys",
        root_cause="The product change checklist predates the chatbot and omits it",
        similar_elsewhere=True,
        similar_where="Any AI system fed by product content: the CV assistant's job templates",
    ),
    "plan": dict(
        action=(
            "Add every AI system's source content to the product change checklist; sample "
            "changed topics on go-live day"
        ),
        aims_change=True,
        aims_change_detail="Operating procedure AIMS-PRO-011 (change of source content)",
    ),
    "implement": dict(
        done="Checklist PCL-4 updated and used for the next tariff change",
        evidence_link="https://wiki.example.com/retail/product-change-checklist",
    ),
    "verify": dict(
        effective=True,
        observations="Next tariff change: chatbot answers correct from the first day",
    ),
}

# -- actions of the management review --------------------------------------------------------
HELD_ACTION = "Extend fairness monitoring to the CV screening assistant before go-live"
_ACTIONS: dict[str, Answers] = {
    "Retire the old tariff from every AI system's sources": dict(
        outcome="done",
        what_was_done="Retrieval index and CV job templates checked; no old tariff left",
        evidence_link="https://wiki.example.com/aims/actions/2026-mr-1",
    ),
}


def operations_answers(
    workflow: str, step: str, subject: str, inputs: dict[str, Any], now: datetime
) -> Answers | None:
    """The answers to a task of an operational workflow, or None for any other task."""
    if workflow == "supplier-review":
        return dict(_SUPPLIERS.get(subject, _SUPPLIERS["Credit scoring model"]).get(step, {}))
    if workflow == "data-quality":
        return dict(_DATA.get(subject, _DATA["Credit scoring model"]).get(step, {}))
    if workflow == "intended-use":
        own = _USE.get(subject, _USE["Credit scoring model"])
        slug = subject.lower().replace(" ", "-")
        answers = own.get(step) or _USE_COMMON.get(step, {})
        return {k: v.format(slug=slug) if isinstance(v, str) else v for k, v in answers.items()}
    if workflow == "soa-review" and step == "draft":
        return dict(
            version="2.0",
            risk_register=f"Risk register as exported on {now:%Y-%m-%d} (aims risks list)",
            inclusions="\n".join(f"{c}: {why}" for c, why in SOA_REASONS.items()),
            # the register's links, as the task shows them, taken over unchanged
            risk_links=inputs.get("register_links") or None,
            changes=(
                "First SoA reviewed through aims: every control applicable, each linked to "
                "the risk treatment or requirement that chose it"
            ),
        )
    if workflow == "ai-incident" and step in _INCIDENT:
        return _INCIDENT[step](now)
    if workflow == "corrective-action" and str(inputs.get("area", "")).startswith("Incident"):
        return dict(_INCIDENT_CORRECTIVE.get(step, {}))
    if workflow == "review-action" and step == "carry_out":
        action = str(inputs.get("action") or "")
        return dict(_ACTIONS.get(action, next(iter(_ACTIONS.values()))))
    return None


_REASONS: dict[tuple[str, str], str] = {
    ("supplier-review", "approve"): "Conditions are tracked; the supplier can stay.",
    ("data-quality", "approve"): "Lawful basis and quality are documented; fine for training.",
    ("intended-use", "approve"): "Oversight is real and the use stays within its purpose.",
    ("soa-review", "approve"): "SoA 2.0 approved: every control justified.",
    ("ai-incident", "close"): "Customers refunded, corrective action started; close it.",
}


def operations_reason(workflow: str, step: str) -> str | None:
    return _REASONS.get((workflow, step))
