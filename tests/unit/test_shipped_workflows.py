"""The shipped workflows (``workflows/*.yaml``): they load, claim the right clauses, match the
committed JSON Schema, and behave as documented when driven through the pure engine."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from itertools import count
from pathlib import Path

import jsonschema
import pytest
from ruamel.yaml import YAML

from aims_workflows.engine import (
    Actor,
    ApprovalDecided,
    ChildCompleted,
    StartRun,
    Subject,
    TaskCompleted,
    TaskUpdated,
    TimerTick,
    advance,
    dump_run,
    load_run,
    new_run,
)
from aims_workflows.spec import load_workflows
from aims_workflows.spec.schema import KEY_DESCRIPTIONS, schema_text, workflow_json_schema

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / "workflows"
SCHEMA_FILE = ROOT / "docs" / "workflow.schema.json"
SCHEMA_COMMENT = "# yaml-language-server: $schema=../docs/workflow.schema.json"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

VERSIONS = {
    "internal-audit": 3,
    "ai-risk-assessment": 2,
    "ai-objectives": 2,
    "corrective-action": 2,
    "ai-system-intake": 3,
    "soa-review": 2,
    "risk-treatment": 2,
    "training": 2,
    "roles-and-competence": 2,
}
"""Workflows past their first version: internal-audit 2 takes the audit programme's areas, 3
checks each in an internal-audit-area run of its own and reports their conclusions; the
risk assessment 2 starts from the risk register and records several risks; ai-objectives 2
offers every KPI aims computes; corrective-action 2 shows the kind of source; ai-system-intake 2
names the Jira issue a system was proposed in, 3 applies the approved tier and scope to the
inventory; risk-treatment 2 assigns the task to the named action owner; training 2 takes its
learners from the role's holders; roles-and-competence 2 grants the approved role; soa-review 2
links its controls to the risks of the register."""

EXPECTED = {
    "ai-risk-assessment": {"6.1.2", "6.1.3", "8.2", "8.3"},
    "ai-impact-assessment": {"6.1.4", "8.4", "A.5.2", "A.5.3", "A.5.4", "A.5.5"},
    "corrective-action": {"10.2"},
    "internal-audit": {"9.2"},
    "internal-audit-area": {"9.2"},
    "management-review": {"9.3"},
    "review-action": {"9.3"},
    "audit-programme": {"9.2", "9.2.2"},
    "ai-system-change-review": {"A.6.2.4", "A.6.2.5"},
    "ai-system-intake": {"A.4.2", "A.4.3", "A.4.4", "A.4.5", "A.4.6", "A.6.2.2"},
    "ai-incident": {"A.3.3", "A.8.3", "A.8.4", "A.8.5", "10.2"},
    "supplier-review": {"A.10.2", "A.10.3", "A.10.4"},
    "data-quality": {"A.7.2", "A.7.3", "A.7.4", "A.7.5", "A.7.6"},
    "intended-use": {"A.9.2", "A.9.3", "A.9.4", "A.6.2.7", "A.6.2.8", "A.8.2"},
    "soa-review": {"6.1.3"},
    "aims-scope": {"4.1", "4.2", "4.3"},
    "ai-system-scope-change": {"4.3"},
    "ai-policy": {"5.2", "A.2.2", "A.2.3", "A.2.4"},
    "ai-objectives": {"6.2"},
    "roles-and-competence": {"5.3", "7.2", "A.3.2"},
    "training": {"7.2", "7.3", "A.4.6"},
    "training-record": {"7.2", "7.3"},
    "gap-analysis": {"4.4", "6.1.3"},
    "ai-risk": {"6.1.2", "6.1.3", "8.2", "8.3"},
    "risk-treatment": {"6.1.3", "8.3"},
}


@pytest.fixture(scope="module")
def shipped():
    return load_workflows([WORKFLOWS])


# -- loading and declarations ---------------------------------------------------------------


def test_every_shipped_workflow_loads_together(shipped):
    assert set(shipped.ids()) == set(EXPECTED)
    assert len(list(WORKFLOWS.glob("*.yaml"))) == len(EXPECTED)


@pytest.mark.parametrize("workflow_id", sorted(EXPECTED))
def test_declarations(shipped, workflow_id):
    loaded = shipped.get(workflow_id)
    spec = loaded.spec
    assert Path(loaded.source).stem == workflow_id
    assert loaded.text.splitlines()[0] == SCHEMA_COMMENT
    # a changed file takes a new version (the registry refuses one that kept its number)
    assert spec.version == VERSIONS.get(workflow_id, 1)
    assert len(spec.description) > 150, "an auditor reads the description"
    assert spec.sla is not None
    assert EXPECTED[workflow_id] <= set(spec.evidences)
    # every step that claims a control claims one the workflow as a whole could be asked about
    for step in spec.steps:
        for cid in step.evidences:
            assert cid


def test_risk_assessment_triggers_and_coverage(shipped):
    spec = shipped.get("ai-risk-assessment").spec
    assert spec.subject == "ai_system"
    assert spec.trigger.manual
    assert "ai_system.registered" in {on.event for on in spec.trigger.on}
    assert spec.trigger.schedule.every == timedelta(days=365)
    assert spec.trigger.scope == "subject.in_scope"
    assert (spec.coverage.kpi, spec.coverage.valid_for) == ("risk_assessment", timedelta(days=365))
    treat = spec.step("treat")
    assert {f.id: f.required_if for f in treat.form}[
        "treatment_plan"
    ] == 'treat.treatment != "accept"'
    assert treat.role == "risk_owner"


def test_impact_assessment_reruns_on_material_changes(shipped):
    spec = shipped.get("ai-impact-assessment").spec
    changed = next(on for on in spec.trigger.on if on.event == "ai_system.changed")
    assert {
        "model_type",
        "data_sources",
        "outputs",
        "users",
        "deployment_scale",
        "jurisdictions",
        "risk_tier",
    } <= set(changed.fields)
    assert "ai_system.registered" in {on.event for on in spec.trigger.on}
    assert (spec.coverage.kpi, spec.coverage.valid_for) == (
        "impact_assessment",
        timedelta(days=365),
    )


def test_scheduled_organisation_reviews(shipped):
    for workflow_id in ("internal-audit", "management-review"):
        spec = shipped.get(workflow_id).spec
        assert spec.subject == "organisation"
        assert spec.trigger.schedule.every == timedelta(days=365)
    corrective = shipped.get("corrective-action").spec
    assert [on.event for on in corrective.trigger.on] == ["finding.raised"]
    assert {d.id for d in corrective.inputs} == {"audit_reference", "area"}


# -- JSON Schema ------------------------------------------------------------------------------


def test_committed_schema_is_the_generated_one():
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_text(), (
        "docs/workflow.schema.json is stale: run python -m aims_workflows.spec.schema "
        "docs/workflow.schema.json"
    )
    assert json.loads(SCHEMA_FILE.read_text(encoding="utf-8")) == workflow_json_schema()


def test_schema_is_valid_and_describes_every_key():
    schema = workflow_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] and schema["title"] and schema["description"]
    definitions = {"WorkflowSpec": schema, **schema["$defs"]}
    for name, definition in definitions.items():
        for key, prop in definition.get("properties", {}).items():
            assert prop.get("description"), f"{name}.{key} has no description"
    # the table holds no stale entries for keys the models no longer have
    known = {(n, k) for n, d in definitions.items() for k in d.get("properties", {})}
    known_keys = {k for _, k in known}
    for name, key in KEY_DESCRIPTIONS:
        assert (name, key) in known or (name == "*" and key in known_keys), (name, key)


def test_schema_returns_a_fresh_copy():
    workflow_json_schema()["properties"].clear()
    assert "steps" in workflow_json_schema()["properties"]


@pytest.mark.parametrize("path", sorted(WORKFLOWS.glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_workflow_validates_against_the_schema(path):
    data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(workflow_json_schema())
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(data)]
    assert errors == []


def test_schema_rejects_what_the_loader_rejects():
    validator = jsonschema.Draft202012Validator(workflow_json_schema())
    base = {"id": "demo", "version": 1, "title": "Demo", "subject": "organisation"}
    assert validator.is_valid(
        {**base, "steps": [{"id": "pause", "kind": "wait", "duration": "30d"}]}
    )
    for bad in (
        {
            **base,
            "steps": [{"id": "pause", "kind": "wait", "duration": "30d"}],
            "colour": "red",
        },  # unknown key
        {**base, "steps": [{"id": "pause", "kind": "sleep", "duration": "30d"}]},  # unknown kind
        {
            **base,
            "steps": [{"id": "Pause", "kind": "wait", "duration": "30d"}],
        },  # id not snake_case
        {
            **base,
            "steps": [{"id": "pause", "kind": "wait", "duration": "a month"}],
        },  # not a duration
        {**base, "steps": []},  # no steps
        {**base, "version": 0, "steps": [{"id": "pause", "kind": "wait", "duration": "30d"}]},
    ):
        assert not validator.is_valid(bad), bad


# -- driving runs through the pure engine -------------------------------------------------------


class Drive:
    """One run of a shipped workflow, driven event by event; state is saved and reloaded after
    every event, as the store does."""

    def __init__(
        self, shipped, workflow_id, subject, *, inputs=None, run_id="run-1", parent_run_id=None
    ):
        loaded = shipped.get(workflow_id)
        self.spec = loaded.spec
        self.run = new_run(
            self.spec,
            run_id=run_id,
            spec_hash=loaded.content_hash,
            subject=subject,
            inputs=inputs,
            parent_run_id=parent_run_id,
        )
        self.now = T0
        self.commands, self.evidence = [], []
        self._issues = count(101)

    def send(self, event, *, after=timedelta(hours=1)):
        self.now += after
        transition = advance(self.spec, self.run, event, self.now)
        self.run = load_run(dump_run(transition.run))
        self.commands += transition.commands
        self.evidence += transition.evidence
        return transition

    def start(self):
        return self.send(StartRun(actor=Actor("lead@example.com", "cli")))

    def complete(self, step_id, answers, by):
        task = self.run.task
        assert task is not None and task.step_id == step_id, (
            f"waiting at {self.run.current}, not {step_id}"
        )
        return self.send(
            TaskCompleted(
                # the person holds the task's role: authorisation is tested elsewhere
                actor=Actor(by, "jira", (self.spec.step(step_id).role,)),
                step_id=step_id,
                attempt=task.attempt,
                answers=answers,
                ref=f"AIMS-{next(self._issues)}",
            )
        )

    def decide(
        self, person, roles, decision, *, reason="Reviewed the content shown.", eligible=None
    ):
        approval = self.run.approval
        assert approval is not None, f"no open approval (at {self.run.current})"
        return self.send(
            ApprovalDecided(
                actor=Actor(person, "slack", tuple(roles)),
                ref=f"act-{person}",
                approval_id=approval.approval_id,
                content_hash=approval.content_hash,
                decision=decision,
                reason=reason,
                eligible=eligible,
            )
        )

    def tick(self, after):
        return self.send(TimerTick(), after=after)

    def kinds(self, kind):
        return [c for c in self.commands if c.kind == kind]

    def artefact(self, name):
        found = [
            e.payload["fields"]
            for e in self.evidence
            if e.kind == "artefact.recorded" and e.payload["artefact"] == name
        ]
        assert len(found) == 1, f"{name}: {len(found)} records"
        return found[0]

    def tasks_created(self):
        return [c.step_id for c in self.kinds("task.create")]


CHATBOT = Subject(
    type="ai_system",
    id="sys-7",
    name="Support chatbot",
    owner="sam@example.com",
    attributes={"in_scope": True, "risk_tier": "limited", "model_type": "llm"},
)

IDENTIFY = {
    "risk_title": "Biased answers to non-native speakers",
    "risk_description": (
        "The model answers less helpfully in simplified English, "
        "so some customers get worse service."
    ),
    "risk_sources": ["bias_fairness", "model_behaviour"],
    "affected_parties": "Customers writing in a second language",
    "likelihood": 2,
    "impact": 3,
    "rating_rationale": "Seen in 3 of 200 sampled conversations.",
}

MITIGATE = {
    "treatment": "mitigate",
    "treatment_plan": "Add a multilingual evaluation set to the release checks.",
    "controls": "A.6.2.4, A.7.4",
    "action_owner": "eve@example.com",
    "target_date": "2026-06-30",
    "residual_likelihood": 1,
    "residual_impact": 2,
    "rationale": "Testing catches the regression before release.",
}

ENGINEER, RISK_OWNER, TOP = ("engineer",), ("risk_owner",), ("top_management",)


def _risk_run(shipped, **identify):
    drive = Drive(shipped, "ai-risk-assessment", CHATBOT)
    drive.start()
    drive.complete("identify", {**IDENTIFY, **identify}, "eve@example.com")
    return drive


def test_risk_assessment_low_score_is_accepted_by_the_risk_owner(shipped):
    drive = _risk_run(shipped)
    assert drive.run.data["evaluate"] == {"score": 6, "level": "low"}
    assert drive.tasks_created() == ["identify", "treat"]
    assert "(low, score 6)" in drive.kinds("task.create")[-1].title

    # a treatment other than 'accept' needs its plan
    drive.complete("treat", {**MITIGATE, "treatment_plan": ""}, "rita@example.com")
    refused = drive.kinds("task.refuse_answers")
    assert len(refused) == 1 and "Treatment plan" in refused[0].problems[0]
    drive.complete("treat", MITIGATE, "rita@example.com")

    request = drive.kinds("approval.request")[-1]
    assert request.step_id == "accept_owner" and request.approvers == ("risk_owner",)
    assert request.show["Residual"] == "2 (low)"
    assert set(request.exclude) == {"eve@example.com", "sam@example.com"}

    # the assessor and the system owner may not accept, even holding the role
    drive.decide("eve@example.com", ENGINEER + RISK_OWNER, "approve")
    drive.decide("sam@example.com", RISK_OWNER, "approve")
    reasons = [c.reason for c in drive.kinds("approval.refuse")]
    assert "you completed 'identify'" in reasons[0] and "you own this AI system" in reasons[1]
    assert drive.run.current == "accept_owner"

    drive.decide(
        "rita@example.com", RISK_OWNER, "approve", reason="Residual risk is within appetite."
    )
    assert drive.run.status == "completed"
    entry = drive.artefact("risk_register_entry")
    assert entry["score"] == 6 and entry["level"] == "low"
    assert entry["residual_score"] == 2 and entry["treatment"] == "mitigate"
    assert (
        entry["accepted_by"] == ["rita@example.com"] and entry["acceptance_level"] == "risk_owner"
    )
    assert entry["assessed_by"] == "eve@example.com" and entry["owner"] == "rita@example.com"
    completed = drive.kinds("run.completed")[0]
    assert completed.coverage.model_dump(mode="json") == {
        "kpi": "risk_assessment",
        "valid_for": "365d",
    }
    assert drive.kinds("notify")[-1].to == ("risk_owner", "aims_owner")
    assert "accept_top" not in drive.run.visits
    # the mitigation is tracked in its own run, due on the target date
    (treatment,) = [c for c in drive.kinds("run.start") if c.workflow == "risk-treatment"]
    assert treatment.inputs["target_date"] == MITIGATE["target_date"]
    assert treatment.inputs["action_owner"] == MITIGATE["action_owner"]
    assert treatment.inputs["plan"] == MITIGATE["treatment_plan"]
    assert [c.workflow for c in drive.kinds("run.start")] == ["risk-treatment"]


def test_risk_assessment_high_score_escalates_and_reworks_on_rejection(shipped):
    drive = _risk_run(shipped, likelihood=4, impact=4)
    assert drive.run.data["evaluate"] == {"score": 16, "level": "high"}
    # accepting a high risk as it is needs no plan, but goes to top management
    drive.complete(
        "treat",
        {
            "treatment": "accept",
            "residual_likelihood": 4,
            "residual_impact": 4,
            "rationale": "Low business value of fixing.",
        },
        "rita@example.com",
    )
    assert drive.run.current == "accept_top"
    request = drive.kinds("approval.request")[-1]
    assert request.approvers == ("top_management",)
    assert request.show["Plan"] == "none, the risk is accepted as it is"

    drive.decide("rita@example.com", RISK_OWNER, "approve")  # not a top management member
    assert "not an approver" in drive.kinds("approval.refuse")[-1].reason
    drive.decide("ceo@example.com", TOP, "reject", reason="Not acceptable for customers: mitigate.")

    # rework: the treatment task is issued again with the earlier answers
    assert drive.tasks_created() == ["identify", "treat", "treat"]
    again = drive.kinds("task.create")[-1]
    assert again.attempt == 2 and again.previous_answers["treatment"] == "accept"
    drive.complete("treat", MITIGATE, "rita@example.com")
    assert drive.run.current == "accept_top", "a high inherent risk stays with top management"
    drive.decide("ceo@example.com", TOP, "approve", reason="Plan is adequate.")

    assert drive.run.status == "completed"
    outcomes = [e.payload["outcome"] for e in drive.evidence if e.kind == "approval.closed"]
    assert outcomes == ["rejected", "approved"]
    entry = drive.artefact("risk_register_entry")
    assert (
        entry["accepted_by"] == ["ceo@example.com"]
        and entry["acceptance_level"] == "top_management"
    )
    assert entry["score"] == 16 and entry["residual_score"] == 2


def test_risk_assessment_residual_above_appetite_escalates_then_rework_lowers_it(shipped):
    drive = _risk_run(shipped, likelihood=3, impact=4)  # 12: medium
    drive.complete(
        "treat",
        {
            "treatment": "accept",
            "residual_likelihood": 3,
            "residual_impact": 4,
            "rationale": "No budget this year.",
        },
        "rita@example.com",
    )
    assert drive.run.current == "accept_top"  # residual 12 >= 10
    drive.decide("ceo@example.com", TOP, "reject", reason="Too high to accept: treat it.")
    drive.complete("treat", MITIGATE, "rita@example.com")
    assert drive.run.current == "accept_owner"  # residual 2 now, inherent 12 < 15
    drive.decide("rita@example.com", RISK_OWNER, "approve", reason="Within appetite after the fix.")
    entry = drive.artefact("risk_register_entry")
    # the rejected top-management round is not mistaken for the acceptance
    assert (
        entry["accepted_by"] == ["rita@example.com"] and entry["acceptance_level"] == "risk_owner"
    )


def test_risk_approval_is_requested_again_when_answers_change(shipped):
    drive = _risk_run(shipped)
    drive.complete("treat", MITIGATE, "rita@example.com")
    first = drive.run.approval
    drive.send(
        TaskUpdated(
            actor=Actor("eve@example.com", "jira"),
            step_id="identify",
            answers={**IDENTIFY, "impact": 4},
        )
    )
    second = drive.run.approval
    assert second.approval_id != first.approval_id and second.content_hash != first.content_hash
    assert [c.kind for c in drive.commands[-2:]] == ["approval.invalidate", "approval.request"]
    # a click on the old request is refused; the new one is decided
    drive.send(
        ApprovalDecided(
            actor=Actor("rita@example.com", "slack", RISK_OWNER),
            approval_id=first.approval_id,
            content_hash=first.content_hash,
            decision="approve",
            reason="ok",
        )
    )
    assert "closed or was replaced" in drive.kinds("approval.refuse")[-1].reason
    drive.decide("rita@example.com", RISK_OWNER, "approve")
    assert drive.run.status == "completed"


# -- corrective action -------------------------------------------------------------------------

FINDING = Subject(
    type="finding",
    id="F-12",
    name="Impact assessments missing for two systems",
    owner=None,
    attributes={
        "title": "Impact assessments missing for two systems",
        "severity": "major",
        "source": "internal-audit/IA-2026-1",
        "source_type": "internal",
        "clause": "6.1.4",
        "description": "Two systems in scope have no impact assessment on record.",
    },
)


def _corrective_loop(drive, *, by="eng@example.com"):
    drive.complete(
        "root_cause",
        {
            "method": "five_whys",
            "root_cause": "No trigger on registration.",
            "similar_elsewhere": False,
        },
        by,
    )
    drive.complete(
        "plan",
        {
            "action": "Start impact assessments on registration.",
            "action_owner": "eng@example.com",
            "due_date": "2026-04-30",
            "aims_change": True,
            "aims_change_detail": "Registration procedure updated.",
        },
        by,
    )
    drive.decide("ann@example.com", ("aims_owner",), "approve", reason="Removes the cause.")
    drive.complete(
        "implement",
        {
            "done": "Trigger added.",
            "evidence_link": "https://git.example.com/aims/pr/42",
            "implemented_on": "2026-03-20",
        },
        by,
    )
    assert drive.run.current == "settle" and drive.run.next_wake_at == drive.now + timedelta(
        days=30
    )


def test_corrective_action_waits_then_loops_until_effective(shipped):
    drive = Drive(shipped, "corrective-action", FINDING, inputs={"audit_reference": "IA-2026-1"})
    drive.start()
    first = drive.kinds("task.create")[0]
    assert (
        first.step_id == "correct"
        and first.title == "Nonconformity F-12: Impact assessments missing for two systems"
    )
    assert "Severity: major" in first.description and first.priority == "high"
    drive.complete(
        "correct",
        {
            "nonconformity": "6.1.4 not met for two systems.",
            "correction": "Assessments started.",
            "corrected_on": "2026-03-03",
        },
        "eng@example.com",
    )
    # a major nonconformity is reported to top management at once
    assert drive.kinds("notify")[0].to == ("top_management", "aims_owner")

    # the person who planned the action may not approve it
    drive.complete(
        "root_cause",
        {
            "method": "five_whys",
            "root_cause": "No trigger.",
            "similar_elsewhere": True,
            "similar_where": "Supplier onboarding",
        },
        "eng@example.com",
    )
    drive.complete(
        "plan",
        {
            "action": "Add a trigger.",
            "action_owner": "eng@example.com",
            "due_date": "2026-04-30",
            "aims_change": False,
        },
        "eng@example.com",
    )
    drive.decide("eng@example.com", ("aims_owner", "engineer"), "approve")
    assert "segregation of duties" in drive.kinds("approval.refuse")[-1].reason
    drive.decide(
        "ann@example.com",
        ("aims_owner",),
        "reject",
        reason="The cause is not the missing trigger alone.",
    )
    assert drive.run.current == "root_cause"  # rework from the analysis

    _corrective_loop(drive)
    assert drive.tick(timedelta(days=29)).ignored == "no timer due"
    drive.tick(timedelta(days=1))
    assert drive.run.current == "verify"
    drive.complete(
        "verify",
        {"effective": "no", "observations": "One new system registered without an assessment."},
        "ann@example.com",
    )
    # not effective: back to the root cause, told why
    assert drive.run.current == "root_cause"
    assert "was not effective" in drive.kinds("task.create")[-1].description

    _corrective_loop(drive)
    drive.tick(timedelta(days=30))
    drive.complete(
        "verify",
        {"effective": "yes", "observations": "All 4 new systems assessed."},
        "ann@example.com",
    )

    assert drive.run.status == "completed"
    assert [e.kind for e in drive.evidence].count("wait.started") == 2
    decisions = [
        e.payload["goto"]
        for e in drive.evidence
        if e.kind == "decision.taken" and e.step_id == "effectiveness"
    ]
    assert decisions == ["root_cause", "closure"]
    closure = drive.artefact("nonconformity_closure")
    assert (
        closure["finding"] == "F-12"
        and closure["severity"] == "major"
        and closure["effective"] is True
    )
    assert (closure["source"], closure["source_type"]) == ("internal-audit/IA-2026-1", "internal")
    assert closure["audit_reference"] == "IA-2026-1" and closure["plan_approved_by"] == [
        "ann@example.com"
    ]
    assert (
        closure["root_cause"] == "No trigger on registration."
        and closure["verified_by"] == "ann@example.com"
    )
    assert drive.tasks_created().count("verify") == 2


def test_corrective_action_for_a_minor_finding_without_optional_attributes(shipped):
    finding = Subject(
        type="finding", id="F-13", name="Late review", attributes={"title": "Late review"}
    )
    drive = Drive(shipped, "corrective-action", finding)
    drive.start()
    assert "Severity: not rated. Source: not stated." in drive.kinds("task.create")[0].description
    drive.complete(
        "correct",
        {
            "nonconformity": "Review late.",
            "correction": "Review held.",
            "corrected_on": "2026-03-03",
        },
        "eng@example.com",
    )
    assert drive.run.current == "root_cause" and drive.kinds("notify") == []


# -- internal audit -------------------------------------------------------------------------------

ORG = Subject(type="organisation", id="org", name="Example Ltd")
AUDITOR = ("internal_auditor",)


AREAS = [
    {"area": "Risk and impact", "covers": ["6.1", "8.2", "A.5"], "period": "Y1 Q1"},
    {"area": "AI system lifecycle and data", "covers": ["A.6", "A.7"], "period": "Y1 Q1"},
    {"area": "Monitoring, measurement and improvement", "covers": ["9.1"], "period": "Y1 Q1"},
]
OWN_WORK = {"independence": "not_my_own_work"}


def _audit_started(shipped, areas, reference="IA-2026-1"):
    drive = Drive(
        shipped,
        "internal-audit",
        ORG,
        inputs={"programme_reference": "AP-2026-1", "programme_areas": areas},
    )
    drive.start()
    drive.complete(
        "programme",
        {
            "audit_reference": reference,
            "scope": "All AI systems in scope",
            "criteria": ["iso42001_clauses_4_to_10", "annex_a_controls_in_soa"],
            "auditors": "ia1: risk, lifecycle; ia2: monitoring",
            "period_start": "2026-03-01",
            "period_end": "2026-03-31",
        },
        "ia1@example.com",
    )
    return drive


def _check_area(shipped, start, answers, by):
    """One internal-audit-area run as the parent's spawn started it, driven to completion;
    returns the child (its commands) and the child.completed event its end sends the parent."""
    child = Drive(
        shipped,
        start.workflow,
        ORG,
        inputs=start.inputs,
        run_id=start.child_run_id,
        parent_run_id=start.parent_run_id,
    )
    child.start()
    child.complete("check", answers, by)
    if child.run.status != "completed":
        return child, None
    (end,) = child.kinds("run.completed")
    assert end.parent_run_id == start.run_id
    return child, ChildCompleted(
        child_run_id=start.child_run_id,
        subject_id=end.subject.id,
        subject_name=end.subject.name,
        outputs=end.outputs,
    )


def test_internal_audit_checks_each_planned_area_in_a_run_and_reports_their_conclusions(shipped):
    drive = _audit_started(shipped, AREAS)
    drive.decide("ia1@example.com", AUDITOR + ("aims_owner",), "approve")  # own programme
    assert "you completed 'programme'" in drive.kinds("approval.refuse")[-1].reason
    drive.decide("ann@example.com", ("aims_owner",), "approve", reason="Covers the whole scope.")

    starts = drive.kinds("run.start")
    assert [s.workflow for s in starts] == ["internal-audit-area"] * 3
    assert [s.parent_run_id for s in starts] == ["run-1"] * 3  # waited for
    assert starts[1].inputs == {
        "audit_reference": "IA-2026-1",
        "area": "AI system lifecycle and data",
        "covers": ["A.6", "A.7"],
        "period": "Y1 Q1",
        "criteria": ["iso42001_clauses_4_to_10", "annex_a_controls_in_soa"],
    }
    assert drive.run.current == "check_areas" and drive.run.approval is None

    risk, _ = _check_area(
        shipped,
        starts[0],
        {"result": "minor_nonconformity", "evidence_sampled": "Risk register", **OWN_WORK},
        "ia1@example.com",
    )
    assert "Finding" in risk.kinds("task.refuse_answers")[-1].problems[0]
    title = risk.kinds("task.create")[0].title
    assert title == "Audit IA-2026-1: Risk and impact (6.1, 8.2, A.5)"
    risk.complete(
        "check",
        {
            "result": "minor_nonconformity",
            "evidence_sampled": "Risk register",
            "finding": "Two risks have no owner acceptance.",
            "requirement": "6.1.3",
            **OWN_WORK,
        },
        "ia1@example.com",
    )
    (risk_end,) = risk.kinds("run.completed")
    _, lifecycle_done = _check_area(
        shipped,
        starts[1],
        {
            "result": "observation",
            "evidence_sampled": "3 deployments",
            "finding": "Rollback plans are brief.",
            **OWN_WORK,
        },
        "ia1@example.com",
    )
    _, monitoring_done = _check_area(
        shipped,
        starts[2],
        {
            "result": "major_nonconformity",
            "evidence_sampled": "Dashboards",
            "finding": "Drift is not monitored at all.",
            **OWN_WORK,
        },
        "ia2@example.com",
    )
    # the areas end in any order; the report keeps the programme's
    drive.send(monitoring_done)
    drive.send(lifecycle_done)
    assert drive.run.current == "check_areas"  # still one to wait for
    drive.send(
        ChildCompleted(
            child_run_id=starts[0].child_run_id,
            subject_id="org",
            subject_name="Example Ltd",
            outputs=risk_end.outputs,
        )
    )

    report = drive.artefact("internal_audit_report")
    assert report["results"] == {
        "Risk and impact": "minor_nonconformity",
        "AI system lifecycle and data": "observation",
        "Monitoring, measurement and improvement": "major_nonconformity",
    }
    assert report["nonconformities"] == 2
    assert report["findings"] == [
        "Two risks have no owner acceptance.",
        "Rollback plans are brief.",
        "Drift is not monitored at all.",
    ]
    assert report["checked_by"] == ["ia1@example.com", "ia2@example.com"]
    assert report["programme_areas"] == AREAS
    assert [a["covers"] for a in report["areas"]] == [a["covers"] for a in AREAS]

    # no internal auditor approves the report
    drive.decide("ivy@example.com", AUDITOR + ("top_management",), "approve")
    assert "internal_auditor" in drive.kinds("approval.refuse")[-1].reason
    assert len(drive.kinds("run.start")) == 3  # nothing is raised before the report is approved
    drive.decide("ceo@example.com", ("top_management",), "approve", reason="Report accepted.")

    raised = drive.kinds("run.start")[3:]
    assert [s.workflow for s in raised] == ["corrective-action", "corrective-action"]
    assert [s.finding.severity for s in raised] == ["minor", "major"]
    assert [s.finding.clause for s in raised] == ["6.1.3", "9.2"]
    assert raised[0].finding.title == "Internal audit IA-2026-1: Risk and impact"
    assert raised[1].finding.description == "Drift is not monitored at all."
    assert (raised[0].finding.source, raised[0].finding.source_type) == (
        "internal-audit/run-1",
        "internal",
    )
    assert [s.inputs for s in raised] == [
        {"audit_reference": "IA-2026-1", "area": "Risk and impact"},
        {"audit_reference": "IA-2026-1", "area": "Monitoring, measurement and improvement"},
    ]
    assert raised[0].subject is None and raised[0].parent_run_id is None
    assert drive.run.status == "completed"
    assert drive.run.data["raise_findings"]["count"] == 2
    told = " ".join(drive.kinds("notify")[-1].message.split())
    assert "2 nonconformities in 3 area(s), 2 corrective action run(s) started" in told

    # a raised finding starts a corrective-action run as it is
    finding = raised[1].finding.model_dump(mode="json")
    child = Drive(
        shipped,
        "corrective-action",
        Subject(type="finding", id=finding["id"], name=finding["title"], attributes=finding),
        inputs=raised[1].inputs,
        run_id=raised[1].child_run_id,
    )
    child.start()
    task = child.kinds("task.create")[0]
    assert task.title == (
        f"Nonconformity {finding['id']}: "
        "Internal audit IA-2026-1: Monitoring, measurement and improvement"
    )
    assert "Area: Monitoring, measurement and improvement." in task.description


def test_internal_audit_with_no_nonconformity_raises_nothing(shipped):
    drive = _audit_started(shipped, AREAS[:1], reference="IA-2027-1")
    drive.decide("ann@example.com", ("aims_owner",), "approve")
    (start,) = drive.kinds("run.start")
    _, done = _check_area(
        shipped,
        start,
        {"result": "conforming", "evidence_sampled": "records", **OWN_WORK},
        "ia1@example.com",
    )
    drive.send(done)
    drive.decide("ann@example.com", ("aims_owner",), "approve")
    assert drive.run.status == "completed" and len(drive.kinds("run.start")) == 1
    assert drive.run.data["raise_findings"] == {"runs": [], "count": 0}


def test_internal_audit_without_areas_tells_the_owners_and_reports_nothing(shipped):
    drive = Drive(shipped, "internal-audit", ORG)
    drive.start()
    assert "No audit programme is approved yet" in drive.kinds("task.create")[0].description
    drive.complete(
        "programme",
        {
            "audit_reference": "IA-2027-2",
            "scope": "All",
            "criteria": ["ai_policy"],
            "auditors": "ia1",
            "period_start": "2027-03-01",
            "period_end": "2027-03-31",
        },
        "ia1@example.com",
    )
    drive.decide("ann@example.com", ("aims_owner",), "approve")
    assert drive.run.status == "completed" and drive.kinds("run.start") == []
    assert "report" not in drive.run.data
    assert "IA-2027-2 checked no area" in drive.kinds("notify")[-1].message


# -- management review and impact assessment --------------------------------------------------


def _review_inputs(drive):
    drive.complete(
        "previous_actions",
        {"summary": "3 of 4 done", "open_actions": 1, "overdue_actions": 0},
        "ann@example.com",
    )
    drive.complete(
        "context_changes",
        {
            "external_issues": "EU AI Act obligations apply",
            "internal_issues": "New ML team",
            "interested_parties": "Customers ask for model cards",
            "scope_affected": False,
        },
        "ann@example.com",
    )
    drive.complete(
        "performance",
        {
            "nonconformities": "2 minor, closed",
            "monitoring_results": "KPIs green",
            "audit_results": "IA-2026-1: 1 major",
            "objectives": "met",
        },
        "ann@example.com",
    )
    drive.complete(
        "risk_status",
        {
            "open_risks": 14,
            "above_appetite": 1,
            "overdue_treatments": 0,
            "summary": "One risk awaiting mitigation",
        },
        "rita@example.com",
    )
    drive.complete(
        "opportunities", {"opportunities": "Automate evidence collection"}, "ann@example.com"
    )


def test_management_review_needs_two_of_top_management_and_starts_actions(shipped):
    drive = Drive(shipped, "management-review", ORG)
    drive.start()
    _review_inputs(drive)
    assert drive.artefact("management_review_input_pack")["risks_above_appetite"] == 1
    decisions = {
        "review_date": "2026-05-12",
        "attendees": "CEO, CTO, AIMS owner",
        "conclusion": "needs_improvement",
        "improvements": "Automate evidence",
        "aims_changes": False,
        "resources": "One analyst",
        "actions": "Hire an analyst by Q3\n\n  Publish model cards  \n",
    }
    drive.complete("decisions", decisions, "ann@example.com")
    drive.decide("ceo@example.com", TOP, "reject", reason="Budget missing from the resources.")
    assert drive.run.current == "decisions"
    drive.complete(
        "decisions", {**decisions, "resources": "One analyst, 40k budget"}, "ann@example.com"
    )
    drive.decide("ceo@example.com", TOP, "approve", reason="Agreed.")
    assert drive.run.current == "approve", "a quorum of 2 waits for a second member"
    drive.decide("cto@example.com", TOP, "approve", reason="Agreed.")

    starts = drive.kinds("run.start")
    assert [(s.workflow, s.inputs["action"]) for s in starts] == [
        ("review-action", "Hire an analyst by Q3"),
        ("review-action", "Publish model cards"),
    ]
    assert starts[0].subject.type == "organisation"
    minutes = drive.artefact("management_review_minutes")
    assert (
        minutes["approved_by"] == ["ceo@example.com", "cto@example.com"]
        and minutes["actions_started"] == 2
    )
    assert drive.run.status == "completed"


def test_impact_assessment_significant_harm_goes_to_the_panel(shipped):
    drive = Drive(shipped, "ai-impact-assessment", CHATBOT)
    drive.start()
    drive.complete(
        "context",
        {
            "intended_use": "Answer billing questions",
            "affected_groups": ["customers", "vulnerable_people"],
            "decisions_about_people": False,
            "personal_data": True,
        },
        "eve@example.com",
    )
    drive.complete(
        "impacts",
        {
            "individual_impacts": "Wrong advice on payment plans",
            "severity": 4,
            "likelihood": 2,
            "reversibility": "reversible_with_effort",
        },
        "eve@example.com",
    )
    drive.complete(
        "mitigate",
        {
            "mitigations": "Hand-over to staff on payment topics",
            "user_information": "Banner",
            "monitoring": "Weekly sample review",
        },
        "sam@example.com",
    )
    assert drive.run.current == "panel_signoff"
    drive.decide("sam@example.com", ("aims_owner",), "approve")  # owns the system
    drive.decide("ann@example.com", ("aims_owner",), "approve", reason="Mitigations adequate.")
    assert drive.run.current == "panel_signoff"
    drive.decide("lee@example.com", ("legal_counsel",), "approve", reason="No legal concern.")
    record = drive.artefact("impact_assessment_record")
    assert record["significant"] is True and record["approved_by"] == [
        "ann@example.com",
        "lee@example.com",
    ]
    assert record["assessed_by"] == ["eve@example.com"]
    assert drive.kinds("run.completed")[0].coverage.kpi == "impact_assessment"


def test_change_review_loops_on_failed_criteria_and_starts_an_impact_assessment(shipped):
    drive = Drive(shipped, "ai-system-change-review", CHATBOT)
    drive.start()
    drive.complete(
        "change",
        {
            "summary": "Move to model v4",
            "change_type": "new_model_version",
            "affects_people": "yes",
        },
        "eve@example.com",
    )
    drive.complete(
        "validation",
        {
            "criteria_met": False,
            "results": "Fairness gap 6%",
            "report": "https://ci.example.com/r/1",
            "exceptions": "Fairness gap above 3%",
        },
        "eve@example.com",
    )
    assert "Fairness gap above 3%" in drive.kinds("notify")[-1].message
    assert drive.run.current == "validation" and drive.run.task.attempt == 2
    drive.complete(
        "validation",
        {"criteria_met": True, "results": "Gap 2%", "report": "https://ci.example.com/r/2"},
        "eve@example.com",
    )
    drive.complete(
        "release_plan",
        {
            "deployment_plan": "Canary 5%",
            "rollback_plan": "Flag off",
            "monitoring": "Gap < 3%",
            "planned_for": "2026-04-01",
        },
        "eve@example.com",
    )
    drive.decide("eve@example.com", ("aims_owner",), "approve")
    assert "segregation of duties" in drive.kinds("approval.refuse")[-1].reason
    drive.decide("ann@example.com", ("aims_owner",), "approve", reason="Evidence complete.")
    record = drive.artefact("deployment_approval")
    assert record["criteria_met"] is True and record["approved_by"] == ["ann@example.com"]
    start = drive.kinds("run.start")[0]
    assert start.workflow == "ai-impact-assessment" and start.subject.id == "sys-7"
    assert drive.run.status == "completed"


def test_impact_assessment_asks_for_societal_effects_only_when_areas_are_named(shipped):
    drive = Drive(shipped, "ai-impact-assessment", CHATBOT)
    drive.start()
    drive.complete(
        "context",
        {
            "intended_use": "Answer billing questions",
            "affected_groups": ["customers"],
            "decisions_about_people": True,
            "personal_data": False,
        },
        "eve@example.com",
    )
    assert "How a person can review" in drive.kinds("task.refuse_answers")[-1].problems[0]
    drive.complete(
        "context",
        {
            "intended_use": "Answer billing questions",
            "affected_groups": ["customers"],
            "decisions_about_people": True,
            "human_review": "Agent review on request",
            "personal_data": False,
        },
        "eve@example.com",
    )
    impacts = {
        "individual_impacts": "Delays",
        "severity": 2,
        "likelihood": 2,
        "reversibility": "reversible",
    }
    drive.complete("impacts", {**impacts, "societal_areas": ["employment"]}, "eve@example.com")
    assert drive.kinds("task.refuse_answers")[-1].problems == (
        "Effects on society: an answer is required.",
    )
    drive.complete("impacts", impacts, "eve@example.com")
    drive.complete(
        "mitigate",
        {"mitigations": "Human fallback", "user_information": "Banner", "monitoring": "Monthly"},
        "sam@example.com",
    )
    assert drive.run.current == "signoff"
    assert drive.kinds("approval.request")[-1].show["Mitigations"] == "Human fallback"
    drive.decide("ann@example.com", ("aims_owner",), "approve", reason="Proportionate.")
    record = drive.artefact("impact_assessment_record")
    assert record["significant"] is False and record["societal_impacts"] is None
    assert record["approved_by"] == ["ann@example.com"]
