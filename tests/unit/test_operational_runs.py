"""The intake, incident and SoA review workflows in the real runtime, on each database: a
proposal registered in the inventory goes through intake and starts its assessments; an incident
raises a nonconformity whose source is the incident; an approved SoA review is the SoA the
readiness check, the documents register and the SoA export read."""

from __future__ import annotations

import json
from datetime import timedelta

from export_world import use_soa
from sqlalchemy import select
from test_export_soa import coverage
from test_operational_workflows import (
    COMMUNICATE,
    CONTAIN,
    PROPOSAL,
    REPORT,
    ROOT_CAUSE,
    TRIAGE,
    TRIAGE_INCIDENT,
    inclusion_lines,
    soa_draft,
)

from aims_workflows.documents.derived import produced_records
from aims_workflows.documents.readiness import readiness_of
from aims_workflows.export.soa.render import soa_markdown
from aims_workflows.store.models import AISystem, Evidence, Finding, Run


def runs_of(h, workflow: str) -> list:
    r = Run.__table__
    with h.db.connect() as conn:
        return conn.execute(
            select(r.c.id, r.c.status, r.c.subject_name, r.c.spawned_by).where(
                r.c.workflow_id == workflow
            )
        ).all()


def test_a_proposal_registered_at_inception_is_triaged_then_assessed(harness):
    h = harness
    _, started = h.add_system(
        "CV screener", owner="olga@example.com", lifecycle_stage="inception", in_scope=False
    )
    # out of scope until decided: only the intake starts, not the assessments
    assert [h.run_row(r).workflow_id for r in started] == ["ai-system-intake"]
    intake = started[0]
    assert h.open_task("proposal", intake).assignee == "olga@example.com"
    h.complete("proposal", PROPOSAL, run_id=intake)
    h.complete("triage", {**TRIAGE, "risk_tier": "limited"}, run_id=intake)
    # amy triaged as the AIMS owner: the CISO decides
    outcome = h.decide("amy@example.com", run_id=intake)
    assert h.run_row(intake).status == "running", outcome
    h.decide("carl@example.com", run_id=intake)
    assert h.run_row(intake).status == "completed"
    assessments = {w: runs_of(h, w) for w in ("ai-risk-assessment", "ai-impact-assessment")}
    assert {w: [(r.status, r.subject_name) for r in rows] for w, rows in assessments.items()} == {
        "ai-risk-assessment": [("running", "CV screener")],
        "ai-impact-assessment": [("running", "CV screener")],
    }
    assert h.open_task("identify").run_id == assessments["ai-risk-assessment"][0].id
    # the approved decision is in the inventory, once, as the decider's, naming run and approval
    assert inventory_row(h, "CV screener")[1:] == ("limited", True)
    (changed,) = changes_of(h, "CV screener")
    (approval,) = [a for a in h.approvals.requests.values() if a.run_id == intake]
    assert changed["decided_in"] == intake and changed["approval_id"] == approval.approval_id
    assert changed["changes"]["in_scope"] == [False, True]
    assert changed["changes"]["risk_tier"][1] == "limited"
    assert {r.spawned_by for rows in assessments.values() for r in rows} <= {intake, None}
    # the intake's approval was the scope decision: no scope-change run asks for another
    assert runs_of(h, "ai-system-scope-change") == []
    # the completion reported again changes nothing and starts nothing
    effect, now = h.app.inventory.rt.completion_effects["ai-system-intake"], h.clock.now()
    planned = effect.plan(intake, now)
    with h.db.begin() as conn:
        again = effect.store(conn, intake, planned, now)
    assert again == {"inventory_changed": [], "started": []}
    assert len(changes_of(h, "CV screener")) == 1
    assert {w: len(runs_of(h, w)) for w in assessments} == {w: 1 for w in assessments}


def test_a_proposal_kept_out_of_scope_gets_its_tier_and_no_assessment(harness):
    h = harness
    _, (intake,) = h.add_system(
        "CV screener", owner="olga@example.com", lifecycle_stage="inception", in_scope=False
    )
    h.complete("proposal", PROPOSAL, run_id=intake)
    h.complete(
        "triage",
        {**TRIAGE, "risk_tier": "minimal", "recommendation": "accept_out_of_scope"},
        run_id=intake,
    )
    h.decide("carl@example.com", run_id=intake)
    assert h.run_row(intake).status == "completed"
    assert inventory_row(h, "CV screener")[1:] == ("minimal", False)
    (changed,) = changes_of(h, "CV screener")
    assert set(changed["changes"]) == {"risk_tier"} and changed["decided_in"] == intake
    assert runs_of(h, "ai-risk-assessment") == runs_of(h, "ai-impact-assessment") == []


def test_a_system_past_inception_moves_scope_only_through_top_management(harness):
    h = harness
    h.add_system("Chatbot", owner="olga@example.com", risk_tier="limited")
    intake = h.rt.start("ai-system-intake", system="Chatbot").run.run_id
    h.pump()
    h.complete("proposal", PROPOSAL, run_id=intake)
    h.complete(
        "triage",
        {**TRIAGE, "risk_tier": "minimal", "recommendation": "accept_out_of_scope"},
        run_id=intake,
    )
    h.decide("carl@example.com", run_id=intake)
    assert h.run_row(intake).status == "completed"
    # the tier is applied; the scope waits for top management in a scope-change run
    assert inventory_row(h, "Chatbot")[1:] == ("minimal", True)
    (scope_change,) = runs_of(h, "ai-system-scope-change")
    assert scope_change.status == "running"
    h.pump()  # its task goes out from the outbox like any run's
    consequences = {
        "consequences": "Its assessments stop being required",
        "scope_statement_revised": True,
        "recommendation": "approve",
    }
    h.complete("consequences", consequences, run_id=scope_change.id)
    h.decide("tom@example.com", run_id=scope_change.id)
    assert inventory_row(h, "Chatbot")[1:] == ("minimal", False)


def inventory_row(h, name: str) -> tuple:
    t = AISystem.__table__
    with h.db.connect() as conn:
        return tuple(
            conn.execute(
                select(t.c.name, t.c.risk_tier, t.c.in_scope).where(t.c.name == name)
            ).one()
        )


def changes_of(h, name: str) -> list[dict]:
    """The ai_system.changed payloads of one system, oldest first."""
    t = Evidence.__table__
    with h.db.connect() as conn:
        system_id = conn.scalar(
            select(AISystem.__table__.c.id).where(AISystem.__table__.c.name == name)
        )
        payloads = conn.scalars(
            select(t.c.payload).where(t.c.kind == "ai_system.changed").order_by(t.c.seq)
        ).all()
    found = [json.loads(p) for p in payloads]
    return [p for p in found if p["system_id"] == system_id]


def test_an_incident_raises_a_nonconformity_whose_source_is_the_incident(harness):
    h = harness
    h.add_system("Chatbot", owner="olga@example.com")
    incident = h.rt.start("ai-incident", system="Chatbot").run.run_id
    h.pump()
    h.complete("report", REPORT, run_id=incident)
    h.complete("triage", TRIAGE_INCIDENT, run_id=incident)
    h.complete("contain", CONTAIN, run_id=incident)
    h.complete("communicate", COMMUNICATE, run_id=incident)
    h.complete("root_cause", ROOT_CAUSE, run_id=incident)
    f = Finding.__table__
    with h.db.connect() as conn:
        (finding,) = conn.execute(select(f)).all()
    assert (finding.source, finding.source_type) == (f"ai-incident/{incident}", "incident")
    assert (finding.severity, finding.clause, finding.system_name) == (
        "major",
        "A.6.2.4",
        "Chatbot",
    )
    assert finding.status == "open" and finding.corrective_run_id
    assert h.run_row(finding.corrective_run_id).workflow_id == "corrective-action"
    assert h.open_task("correct", finding.corrective_run_id)
    h.decide("amy@example.com", run_id=incident)
    assert h.run_row(incident).status == "completed"
    kinds = h.kinds(incident)
    assert kinds.count("artefact.recorded") == 2  # the timeline check and the incident record


def approve_soa(h, **draft) -> str:
    run = h.rt.start("soa-review").run.run_id
    h.pump()
    h.complete("draft", soa_draft(**draft), run_id=run)
    h.decide("tom@example.com", reason="Consistent with the risk register.", run_id=run)
    assert h.run_row(run).status == "completed"
    return run


def test_an_approved_soa_is_the_soa_of_readiness_the_register_and_the_export(harness):
    h = harness
    before = readiness_of(h.app, 1, h.clock.now())
    soa_line = next(line for line in before.lines if line.key == "soa")
    assert (soa_line.status, soa_line.fix) == ("missing", "aims start soa-review")
    assert coverage(h).approved_soa is None

    run = approve_soa(h)
    h.clock.advance(days=1)
    after = readiness_of(h.app, 1, h.clock.now())
    soa_line = next(line for line in after.lines if line.key == "soa")
    assert soa_line.status == "met", soa_line
    assert soa_line.reason.startswith("soa-review completed") and run in soa_line.reason

    with h.db.connect() as conn:
        records = produced_records(conn, workflow_ids=h.app.workflows.ids())
    (listed,) = [d.snapshot for d in records if d.snapshot.requirement == "soa"]
    assert (listed.reference, listed.approver) == (run, "tom@example.com")
    assert (listed.version, listed.clause) == ("SoA 2.0", "6.1.3")

    report = coverage(h)
    assert report.approved_soa.version == "2.0"
    assert report.approved_soa.approved_by == ("tom@example.com",)
    by_id = {c.id: c for c in report.controls}
    # aims.yaml says nothing: the approved SoA decides, with its reasons
    assert (by_id["A.10.4"].applicable, by_id["A.10.4"].status) == (False, "excluded")
    assert by_id["A.10.4"].justification.startswith("No AI system is provided to customers")
    assert by_id["A.6.2.4"].justification.startswith("R-3 biased answers")
    assert "version 2.0, approved by tom@example.com" in soa_markdown(report)
    assert report.as_dict()["approved_soa"]["excluded"] == ["A.10.4"]


def test_aims_yaml_disagreeing_with_the_approved_soa_is_noted_not_settled(harness):
    h = harness
    approve_soa(h)
    use_soa(
        h,
        "soa:\n  controls:\n"
        "    A.10.4: {justification: A customer pilot started in March}\n"
        "    A.8.5: {applicable: false, justification: No duty to inform beyond users}\n",
    )
    by_id = {c.id: c for c in coverage(h).controls}
    assert by_id["A.10.4"].applicable is True
    assert by_id["A.10.4"].justification == "A customer pilot started in March"
    assert any(
        "aims.yaml includes it, the approved SoA version 2.0 excludes it" in n
        for n in by_id["A.10.4"].notes
    )
    assert by_id["A.8.5"].applicable is False
    assert any("review the SoA (aims start soa-review)" in n for n in by_id["A.8.5"].notes)
    # a newer approved version that agrees clears the note
    h.clock.advance(timedelta(days=2))
    approve_soa(
        h,
        version="2.1",
        excluded=["A.8.5"],
        exclusions="A.8.5: No duty to inform beyond users, checked with legal counsel.",
        inclusions=inclusion_lines({"A.8.5"}),
    )
    report = coverage(h)
    assert report.approved_soa.version == "2.1"
    by_id = {c.id: c for c in report.controls}
    assert not [n for n in by_id["A.10.4"].notes if "approved SoA" in n]
    assert not [n for n in by_id["A.8.5"].notes if "approved SoA" in n]
