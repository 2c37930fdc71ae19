"""Internal audits check the areas the approved audit programme plans, one internal-audit-area
run per area, and report what those runs concluded: the parent reads its waited-for children's
outcomes (through the runtime, on each database backend)."""

from __future__ import annotations

import json

from sqlalchemy import select

from aims_workflows.engine import ChildCompleted
from aims_workflows.engine.commands import RefuseAnswers, ReportRunEnd
from aims_workflows.store import runs as run_store
from aims_workflows.store.models import Finding, OutboxItem, Run

THREE_AREAS = [
    {"area": "Leadership, AI policy and roles", "covers": ["5", "A.2", "A.3"], "period": "Y1 Q1"},
    {"area": "Data for AI systems", "covers": ["A.7"], "period": "Y1 Q1"},
    {"area": "Operation: risk and impact assessment", "covers": ["8", "A.5"], "period": "Y1 Q1"},
]
MAJOR = {
    "result": "major_nonconformity",
    "evidence_sampled": "data sheets of the chatbot",
    "finding": "No provenance is recorded for the training data",
    "requirement": "A.7.5",
    "independence": "not_my_own_work",
}
OBSERVATION = {
    "result": "observation",
    "evidence_sampled": "risk register",
    "finding": "Two assessments cite an old template",
    "independence": "not_my_own_work",
}


def _state(h, run_id: str):
    with h.db.connect() as conn:
        return run_store.load(conn, run_id)[0]


def _description(h, run_id: str) -> str:
    """The description of the run's first task, as handed to the tracker (not evidence)."""
    outbox = OutboxItem.__table__
    with h.db.connect() as conn:
        payload = conn.scalars(
            select(outbox.c.payload)
            .where(outbox.c.run_id == run_id, outbox.c.kind == "task.create")
            .order_by(outbox.c.id)
        ).first()
    return str(json.loads(payload)["description"])


def _area_runs(h, audit: str) -> list[str]:
    with h.db.connect() as conn:
        rows = conn.scalars(
            select(Run.__table__.c.id).where(Run.__table__.c.workflow_id == "internal-audit-area")
        ).all()
    return sorted(
        (r for r in rows if r.startswith(f"{audit}.")), key=lambda r: int(r.rsplit(".", 1)[1])
    )


def _approve_programme(h, answers) -> str:
    """An approved audit-programme run planning THREE_AREAS for the first quarter of 2026."""
    schedule = [
        {
            "period": a["period"],
            "starts": "2026-01-01",
            "ends": "2026-04-01",
            "area": a["area"],
            "covers": ", ".join(a["covers"]),
        }
        for a in THREE_AREAS
    ]
    run = h.rt.start(
        "audit-programme",
        inputs={
            "schedule": json.dumps(schedule),
            "plan": "Y1 Q1: three areas",
            "cycle_start": "2026-01-01",
            "cycle_years": 3,
            "coverage": "the three areas",
        },
    ).run.run_id
    h.pump()
    h.complete(
        "review",
        {
            "reference": "AP-2026-7",
            "criteria": ["ai_policy"],
            "auditors": "Ida and Ian, never their own work",
            "methods": "interviews",
        },
        run_id=run,
    )
    h.decide("tina@example.com", run_id=run)
    assert h.run_row(run).status == "completed"
    return run


def _start_and_approve(h, answers, **start) -> str:
    audit = h.rt.start("internal-audit", **start).run.run_id
    h.pump()
    h.complete("programme", answers["audit.programme"], run_id=audit)
    h.decide("amy@example.com", run_id=audit)
    return audit


def test_three_planned_areas_are_checked_in_three_runs_and_one_major_raises_one_finding(
    harness, answers
):
    h = harness
    audit = _start_and_approve(
        h, answers, inputs={"programme_reference": "AP-1", "programme_areas": THREE_AREAS}
    )
    areas = _area_runs(h, audit)
    assert areas == [f"{audit}.check_areas1.{n}" for n in (1, 2, 3)]
    titles = {h.open_task("check", r).title for r in areas}
    assert "Audit IA-2026-1: Data for AI systems (A.7)" in titles
    # the parent waits for its areas
    assert h.run_row(audit).status == "running" and h.approvals.pending() == []

    # they end in another order than they started: the report keeps the programme's order
    h.complete("check", MAJOR, run_id=areas[1], person="ian@example.com")
    h.complete("check", OBSERVATION, run_id=areas[2])
    h.complete("check", answers["audit.conforming"], run_id=areas[0])

    request = h.pending_approval(audit)
    report = _state(h, audit).data["report"]
    assert report["results"] == {
        "Leadership, AI policy and roles": "conforming",
        "Data for AI systems": "major_nonconformity",
        "Operation: risk and impact assessment": "observation",
    }
    assert [a["area"] for a in report["areas"]] == [a["area"] for a in THREE_AREAS]
    assert report["areas"][1]["covers"] == ["A.7"]
    assert report["areas"][1]["auditor"] == "ian@example.com"
    assert report["nonconformities"] == 1
    assert report["findings"] == [MAJOR["finding"], OBSERVATION["finding"]]
    assert sorted(report["checked_by"]) == ["ian@example.com", "ida@example.com"]
    assert report["area_runs"] == areas
    assert "major_nonconformity" in str(request.show["Results"])

    h.decide("amy@example.com", run_id=audit)
    assert h.run_row(audit).status == "completed"
    with h.db.connect() as conn:
        findings = conn.execute(select(Finding.__table__)).all()
        actions = conn.scalars(
            select(Run.__table__.c.id).where(Run.__table__.c.workflow_id == "corrective-action")
        ).all()
    assert len(findings) == 1 and actions == [f"{audit}.raise_findings1.1"]
    finding = findings[0]
    assert finding.title == "Internal audit IA-2026-1: Data for AI systems"
    assert (finding.severity, finding.clause, finding.description) == (
        "major",
        "A.7.5",
        MAJOR["finding"],
    )
    assert (finding.source, finding.source_type) == (f"internal-audit/{audit}", "internal")
    assert finding.corrective_run_id == actions[0]
    assert h.verify().ok


def test_an_area_needs_its_finding_unless_it_conforms(harness, answers):
    h = harness
    audit = _start_and_approve(
        h, answers, inputs={"programme_reference": "AP-1", "programme_areas": THREE_AREAS[:1]}
    )
    (area,) = _area_runs(h, audit)
    refused = h.complete("check", dict(MAJOR, finding=""), run_id=area)
    kinds = [e.kind for e in refused.transition.evidence]
    assert "task.completed" not in kinds
    (refusal,) = [c for c in refused.transition.commands if isinstance(c, RefuseAnswers)]
    assert refusal.problems == (
        "Finding (requirement, what was found, evidence): an answer is required.",
    )
    assert h.run_row(area).status == "running" and h.open_task("check", area)


def test_a_scheduled_audit_checks_the_areas_the_approved_programme_plans(harness, answers):
    from aims_workflows.config import ScheduleConfig

    h = harness
    _approve_programme(h, answers)
    h.rt.config = h.rt.config.model_copy(
        update={"schedules": {"internal-audit": ScheduleConfig(first_due=h.clock.now().date())}}
    )
    started = [r for r in h.rt.run_schedules() if h.run_row(r).workflow_id == "internal-audit"]
    assert len(started) == 1
    audit = started[0]
    assert _state(h, audit).inputs == {
        "programme_reference": "AP-2026-7",
        "programme_areas": THREE_AREAS,
    }
    h.pump()
    description = _description(h, audit)
    assert "The audit programme AP-2026-7 plans these areas" in description
    assert "- Data for AI systems (A.7)" in description
    h.complete("programme", answers["audit.programme"], run_id=audit)
    h.decide("amy@example.com", run_id=audit)
    assert len(_area_runs(h, audit)) == 3


def test_without_an_approved_programme_the_audit_says_so_and_checks_nothing(harness, answers):
    h = harness
    audit = h.rt.start("internal-audit").run.run_id
    h.pump()
    assert "No audit programme is approved yet" in _description(h, audit)
    h.complete("programme", answers["audit.programme"], run_id=audit)
    h.decide("amy@example.com", run_id=audit)
    assert h.run_row(audit).status == "completed"
    assert _area_runs(h, audit) == [] and "report" not in _state(h, audit).data
    told = [m["message"] for m in h.notifier.sent if "checked no area" in m["message"]]
    assert told and "no audit programme is approved" in told[0]


def test_a_child_outcome_delivered_again_is_applied_once(harness, answers):
    h = harness
    audit = _start_and_approve(
        h, answers, inputs={"programme_reference": "AP-1", "programme_areas": THREE_AREAS[:2]}
    )
    first, second = _area_runs(h, audit)
    h.complete("check", MAJOR, run_id=first)
    parent = _state(h, audit)
    (waiting,) = [c for c in parent.children if c.run_id == first]
    assert waiting.status == "completed" and waiting.outputs["result"] == "major_nonconformity"
    child = _state(h, first)
    assert (waiting.subject_id, waiting.subject_name) == (child.subject.id, "Example Ltd")

    # the child's completion, as its command carried it, delivered again (a dispatcher whose
    # claim ran out after it had applied it): the parent ignores it
    again = ChildCompleted(
        child_run_id=first,
        subject_id=child.subject.id,
        subject_name=child.subject.name,
        outputs={"result": "conforming"},
    )
    with h.db.begin() as conn:
        transition = h.rt._apply(conn, audit, again, h.clock.now())
    assert transition.ignored == f"not waiting for run {first}"
    assert _state(h, audit).children == parent.children
    assert h.kinds(audit).count("child.finished") == 1

    h.complete("check", answers["audit.conforming"], run_id=second)
    outcomes = _state(h, audit).data["check_areas"]["outcomes"]
    assert [o["outputs"]["result"] for o in outcomes] == ["major_nonconformity", "conforming"]
    assert outcomes[0]["run_id"] == first and outcomes[0]["status"] == "completed"
    assert outcomes[0]["subject"] == {"id": child.subject.id, "name": "Example Ltd"}
    assert h.kinds(audit).count("child.finished") == 2
    # and once the step has moved on, a late delivery changes nothing either
    with h.db.begin() as conn:
        late = h.rt._apply(conn, audit, again, h.clock.now())
    assert late.ignored is not None
    assert _state(h, audit).data["check_areas"]["outcomes"] == outcomes


def test_the_completion_command_carries_the_childs_declared_outputs(harness, answers):
    h = harness
    audit = _start_and_approve(
        h, answers, inputs={"programme_reference": "AP-1", "programme_areas": THREE_AREAS[:1]}
    )
    (area,) = _area_runs(h, audit)
    h.complete("check", OBSERVATION, run_id=area)
    outbox = OutboxItem.__table__
    with h.db.connect() as conn:
        (payload,) = conn.scalars(
            select(outbox.c.payload).where(
                outbox.c.run_id == area, outbox.c.kind == "run.completed"
            )
        ).all()
    command = ReportRunEnd.model_validate(json.loads(payload))
    assert command.parent_run_id == audit
    assert command.outputs is not None
    assert set(command.outputs) == {
        "area",
        "covers",
        "result",
        "evidence_sampled",
        "finding",
        "requirement",
        "auditor",
        "area_result",
    }
    assert command.outputs["area_result"] == [THREE_AREAS[0]["area"], "observation"]


# -- the language: list inputs, outputs, outcomes ---------------------------------------------
_PARENT = """id: parent
version: 1
title: Parent
subject: organisation
inputs:
  - id: areas
    type: list
steps:
  - id: check
    kind: spawn
    workflow: child
    for_each: inputs.areas
    {wait}
  - id: tell
    kind: notify
    to: [aims_owner]
    message: "{{{{ check.outcomes | map(attribute='outputs.result') | join(', ') }}}}"
"""


def test_only_a_waiting_spawn_has_outcomes_and_outputs_are_checked_like_expressions():
    import pytest

    from aims_workflows.errors import SpecError
    from aims_workflows.spec import parse_spec

    assert parse_spec(_PARENT.format(wait="wait: true")).spec.step("check").wait
    with pytest.raises(SpecError) as caught:
        parse_spec(_PARENT.format(wait=""))
    assert "unknown field 'check.outcomes'" in str(caught.value)
    with pytest.raises(SpecError) as caught:
        parse_spec(
            _PARENT.format(wait="wait: true").replace(
                "steps:", "outputs:\n  result: tell.result\n  told: chek.count\nsteps:"
            )
        )
    assert "unknown name 'chek'" in str(caught.value)
    assert "unknown field 'tell.result'" not in str(caught.value)  # a notify has no data...
    assert "'tell'" in str(caught.value)  # ...so reading it is an unknown name


def test_a_list_input_is_json_and_anything_else_is_refused_before_the_run_exists():
    import pytest

    from aims_workflows.engine import Subject, new_run
    from aims_workflows.errors import EngineError
    from aims_workflows.spec import parse_spec

    loaded = parse_spec(_PARENT.format(wait="wait: true"))
    org = Subject(type="organisation", id="org", name="Example Ltd")

    def start(value):
        return new_run(
            loaded.spec, run_id="r", spec_hash="h", subject=org, inputs={"areas": value}
        ).inputs["areas"]

    assert start('[{"area": "Data", "covers": ["A.7"]}]') == [{"area": "Data", "covers": ["A.7"]}]
    assert start(("a", 1)) == ["a", 1]
    for bad in ("Data; Risk", '{"area": "Data"}', 3, [float("nan")]):
        with pytest.raises(EngineError) as caught:
            start(bad)
        assert "input 'areas' must be a list" in str(caught.value)
