"""Every OSCAL file aims writes passes NIST's own OSCAL 1.2.1 JSON schema (``oscal_schemas``:
format checking on, the schemas' patterns read with the ``regex`` package) and loads in
compliance-trestle's models, on SQLite and PostgreSQL, for the demo and for the edge cases:
excluded controls, open nonconformities, overdue risk treatments, a period slice, a broken chain.
And what the profile, the SSP, the plan and the POA&M say, checked against the database."""

from __future__ import annotations

import contextlib
import hashlib
import json
from datetime import timedelta
from pathlib import Path

import pytest
from export_world import Pack, assessed_world, audit_with_a_finding, tamper, use_soa
from oscal_schemas import assert_valid_oscal, schema_errors
from sqlalchemy import select, text

from aims_workflows.export import parse_period
from aims_workflows.export.oscal import FILES, write_oscal
from aims_workflows.export.oscal._ids import PROPS_NS, oscal_id
from aims_workflows.export.pack import write_audit_pack
from aims_workflows.store.models import Finding, StepRecord
from conftest import cli_environment, run_aims

pytest.importorskip("trestle.oscal.catalog")
from trestle.core.validator_factory import validator_factory  # noqa: E402
from trestle.oscal.assessment_plan import AssessmentPlan  # noqa: E402
from trestle.oscal.assessment_results import AssessmentResults  # noqa: E402
from trestle.oscal.catalog import Catalog  # noqa: E402
from trestle.oscal.poam import PlanOfActionAndMilestones  # noqa: E402
from trestle.oscal.profile import Profile  # noqa: E402
from trestle.oscal.ssp import SystemSecurityPlan  # noqa: E402

MODELS = {
    "catalog.json": Catalog,
    "profile.json": Profile,
    "system-security-plan.json": SystemSecurityPlan,
    "assessment-plan.json": AssessmentPlan,
    "assessment-results.json": AssessmentResults,
    "plan-of-action-and-milestones.json": PlanOfActionAndMilestones,
}


def prop(item, name: str):
    values = [p.value for p in item.props or [] if p.name == name]
    return values[0] if values else None


def check_all(directory: Path) -> dict:
    """Every file: NIST's schema, then trestle's models and its own validators. Returns the
    models by file name."""
    assert {p.name for p in directory.iterdir()} == set(MODELS) == set(FILES)
    validators = list(validator_factory.get_all())
    read = {}
    # trestle's validators resolve the SSP's profile and its catalog: inside a workspace only,
    # and relative hrefs from the working directory
    workspace = directory.parent / f"{directory.name}-trestle"
    (workspace / ".trestle").mkdir(parents=True)
    for name, model in MODELS.items():
        assert_valid_oscal(directory / name)
        read[name] = model.oscal_read(directory / name)
        (workspace / name).write_bytes((directory / name).read_bytes())
    with contextlib.chdir(workspace):
        for name, model in read.items():
            for validator in validators:
                valid = validator.model_is_valid(model, True, trestle_root=workspace)
                assert valid, (name, type(validator).__name__, validator.error_msg())
    return read


@pytest.fixture
def world(harness, answers):
    use_soa(harness)
    return assessed_world(harness, answers)


def ledger(h) -> dict[int, str]:
    with h.db.connect() as conn:
        return dict(conn.execute(text("SELECT seq, hash FROM evidence")).all())


# -- the validator itself ----------------------------------------------------------------------
def test_the_schema_check_refuses_what_nist_refuses():
    finding = {
        "uuid": "6b0f8d2e-3f5e-4c2a-9f7e-1a2b3c4d5e6f",
        "title": "t",
        "description": "d",
        "target": {"type": "objective-id", "target-id": "a-5.2_obj"},
    }
    document = {
        "assessment-results": {
            "uuid": "6b0f8d2e-3f5e-4c2a-9f7e-1a2b3c4d5e60",
            "metadata": {
                "title": "t",
                "last-modified": "2026-01-05T09:00:00Z",
                "version": "1",
                "oscal-version": "1.2.1",
            },
            "import-ap": {"href": "assessment-plan.json"},
            "results": [
                {
                    "uuid": "6b0f8d2e-3f5e-4c2a-9f7e-1a2b3c4d5e61",
                    "title": "t",
                    "description": "d",
                    "start": "2026-01-05T09:00:00Z",
                    "reviewed-controls": {"control-selections": [{"include-all": {}}]},
                    "findings": [finding],
                }
            ],
        }
    }
    # the form aims used to write: a finding without target.status
    assert schema_errors(document) == [
        "assessment-results/results/0/findings/0/target: 'status' is a required property"
    ]
    finding["target"]["status"] = {"state": "not-satisfied", "reason": "other"}
    assert schema_errors(document) == []
    # a \p{L} pattern (a token), and a date-time the format check refuses
    finding["target"]["target-id"] = "9 bad"
    document["assessment-results"]["metadata"]["last-modified"] = "2026-01-05 09:00"
    errors = schema_errors(document)
    assert any("target-id: '9 bad' does not match" in e for e in errors)
    assert any("last-modified: '2026-01-05 09:00' is not a 'date-time'" in e for e in errors)


# -- the edge cases, on both databases ---------------------------------------------------------
def test_excluded_controls_and_described_ones(harness, world, tmp_path):
    read = check_all(write_oscal(harness.app, tmp_path / "oscal").path)
    profile = read["profile.json"]
    (imported,) = profile.imports
    selected = imported.include_controls[0].with_ids
    assert "a-10.4" not in selected and {"a-5.2", "a-4.2", "clause-6.1.2"} <= set(selected)
    # excluded: not selected, its reason kept in the metadata
    (excluded,) = [p for p in profile.metadata.props if p.name == "soa-excluded"]
    assert (excluded.value, str(excluded.ns)) == ("a-10.4", PROPS_NS)
    assert "Why: No AI system is offered to customers" in excluded.remarks
    alters = {a.control_id: a for a in profile.modify.alters}
    assert "a-10.4" not in alters and len(alters) == 37
    parts = {p.name: p.prose for p in alters["a-4.2"].adds[0].parts}
    assert parts == {
        "soa-justification": "We run our own models",
        "soa-implementation": "Resource register https://wiki.example.com/res",
    }
    # the SSP implements exactly what the profile selects; the described control's finding
    # carries a status, marked as not determined by aims
    ssp = read["system-security-plan.json"]
    implemented = [r.control_id for r in ssp.control_implementation.implemented_requirements]
    assert implemented == list(selected)
    results = read["assessment-results.json"].results[0]
    (described,) = [f for f in results.findings if f.target.target_id == "a-4.2_obj"]
    assert described.target.status.state.value == "not-satisfied"
    assert prop(described, "determination") == "aims-not-determined"


def test_the_profile_resolves_in_trestle_to_the_applicable_controls(harness, world, tmp_path):
    from trestle.core.profile_resolver import ProfileResolver

    out = write_oscal(harness.app, tmp_path / "ws").path
    (out / ".trestle").mkdir()  # trestle resolves imports inside a workspace
    with contextlib.chdir(out):  # the profile's href to the catalog is relative
        resolved = ProfileResolver.get_resolved_profile_catalog(out, out / "profile.json")

    def controls(items):
        for item in items or []:
            yield item
            yield from controls(item.controls)

    def groups(items):
        for group in items or []:
            yield from controls(getattr(group, "controls", None))
            yield from groups(getattr(group, "groups", None))

    found = {c.id: c for c in groups(resolved.groups)}
    assert "a-10.4" not in found and "a-10.3" in found and "clause-10.2" in found
    assert len([c for c in found if c.startswith("a-")]) == 37
    # the SoA decision travels with each control
    assert prop(found["a-5.2"], "soa-status") == "implemented"
    assert any(p.name == "soa-justification" for p in found["a-5.2"].parts)


def test_an_open_nonconformity_is_a_poam_item_with_its_milestones(
    harness, world, answers, tmp_path
):
    audit_with_a_finding(harness, answers)
    with harness.db.connect() as conn:
        f = Finding.__table__
        finding_id, raised, corrective = conn.execute(
            select(f.c.id, f.c.raised_at, f.c.corrective_run_id)
        ).one()
        raised_row = conn.execute(
            text("SELECT seq, hash FROM evidence WHERE kind = 'finding.raised'")
        ).one()
        s = StepRecord.__table__
        tasks = conn.execute(
            select(s.c.step_id, s.c.due_at, s.c.completed_at)
            .where(s.c.run_id == corrective)
            .order_by(s.c.created_at, s.c.id)
        ).all()
    # a period ending the day after it was raised: open at its end, some tasks issued by then
    until = (raised.date()).isoformat()
    read = check_all(
        write_oscal(harness.app, tmp_path / "then", period=parse_period(None, until)).path
    )
    poam = read["plan-of-action-and-milestones.json"]
    (item,) = poam.poam_items
    assert prop(item, "poam-kind") == "nonconformity" and prop(item, "finding-id") == finding_id
    assert item.origins[0].actors[0].type.value == "tool"
    (risk,) = poam.risks
    assert item.related_risks[0].risk_uuid == risk.uuid
    (remediation,) = risk.remediations
    milestones = remediation.tasks or []
    issued = [t for t in tasks if t.due_at is not None]
    assert milestones and all(m.type.root == "milestone" for m in milestones)
    assert len(milestones) <= len(tasks)
    assert milestones[0].timing.on_date.date.date() == issued[0].due_at.date()
    # the row that raised it is cited, with its hash, in the back-matter
    rows = {f"#{r.uuid}": r for r in poam.back_matter.resources}
    cited = rows[item.links[0].href]
    assert (prop(cited, "ledger-seq"), prop(cited, "ledger-hash")) == (
        str(raised_row.seq),
        raised_row.hash,
    )
    # the results of the same period carry it as a finding recorded, not judged, by aims; the
    # item links to it
    results = read["assessment-results.json"].results[0]
    (nc,) = [f for f in results.findings if prop(f, "finding-id") == finding_id]
    assert prop(nc, "determination") == "recorded-nonconformity"
    assert item.links[1].href == f"assessment-results.json#{nc.uuid}"
    # everything recorded: closed since; nothing open, and the one item says so
    now = check_all(write_oscal(harness.app, tmp_path / "now").path)
    (none,) = now["plan-of-action-and-milestones.json"].poam_items
    assert prop(none, "poam-kind") == "none-open" and none.related_risks is None


def test_an_overdue_treatment_task_and_an_overdue_plan_are_poam_items(
    harness, world, answers, tmp_path
):
    # Scorer's risk: identified, the treatment task then left open past its 14 days
    harness.complete("identify", answers["risk.identify"], run_id=world.risk2)
    harness.clock.advance(days=15)
    read = check_all(write_oscal(harness.app, tmp_path / "task").path)
    (item,) = read["plan-of-action-and-milestones.json"].poam_items
    assert prop(item, "poam-kind") == "overdue-treatment-task"
    assert (prop(item, "run-id"), prop(item, "step")) == (world.risk2, "treat")
    (risk,) = read["plan-of-action-and-milestones.json"].risks
    assert risk.deadline < harness.clock.now() and risk.status.root.root == "open"

    # then treated with a plan due on 2026-03-10, accepted; overdue once that day has passed
    plan = {
        **answers["risk.treat"],
        "treatment": "mitigate",
        "treatment_plan": "Retrain on balanced data",
        "action_owner": "eve@example.com",
        "target_date": "2026-03-10",
    }
    harness.complete("treat", plan, run_id=world.risk2)
    harness.decide("rita@example.com", run_id=world.risk2)
    assert harness.run_row(world.risk2).status == "completed"
    on_time = check_all(write_oscal(harness.app, tmp_path / "on-time").path)
    assert prop(on_time["plan-of-action-and-milestones.json"].poam_items[0], "poam-kind") == (
        "none-open"
    )
    harness.clock.advance(days=20)
    read = check_all(write_oscal(harness.app, tmp_path / "late").path)
    poam = read["plan-of-action-and-milestones.json"]
    # the plan is tracked by a treatment action of the register, due on its target date: the
    # action is the item, with its milestone; its task and the register entry are not listed
    # a second time
    (item,) = poam.poam_items
    assert prop(item, "poam-kind") == "overdue-treatment"
    treatment = harness.open_task("carry_out").run_id
    assert (prop(item, "run-id"), prop(item, "target-date")) == (treatment, "2026-03-10")
    assert prop(item, "risk-id").startswith("RISK-") and prop(item, "completed-at") is None
    (risk,) = poam.risks
    assert risk.deadline.date().isoformat() == "2026-03-10" and risk.status.root.root == "open"
    ((milestone,),) = [r.tasks for r in risk.remediations]
    assert milestone.timing.on_date.date.date().isoformat() == "2026-03-10"
    assert prop(milestone, "milestone-state") == "open"
    # once the action is done, nothing is overdue: the action is marked completed that day
    harness.complete(
        "carry_out",
        {
            "outcome": "done",
            "what_was_done": "Retrained on the balanced set",
            "evidence_link": "https://git.example.com/scorer/pull/7",
            "completed_on": harness.clock.now().date().isoformat(),
        },
        run_id=treatment,
    )
    done = check_all(write_oscal(harness.app, tmp_path / "done").path)
    poam = done["plan-of-action-and-milestones.json"]
    (item,) = poam.poam_items  # nothing open: no "none-open" item beside the completed one
    assert prop(item, "poam-kind") == "completed-treatment" and prop(item, "outcome") == "done"
    assert prop(item, "run-id") == treatment
    assert prop(item, "completed-at") == harness.clock.now().isoformat()
    (risk,) = poam.risks
    assert risk.status.root.root == "closed" and risk.deadline is None
    (remediation,) = risk.remediations
    assert remediation.lifecycle == "completed"
    (milestone,) = remediation.tasks
    assert milestone.timing.on_date.date == harness.clock.now()
    assert prop(milestone, "milestone-state") == "done"
    # a period that starts after the completion lists it no more
    later = (harness.clock.now() + timedelta(days=1)).date().isoformat()
    harness.clock.advance(days=40)
    after = write_oscal(harness.app, tmp_path / "after", period=parse_period(later, None))
    (item,) = check_all(after.path)["plan-of-action-and-milestones.json"].poam_items
    assert prop(item, "poam-kind") == "none-open"


def test_a_period_slice(harness, world, tmp_path):
    for since, until in [("2026-02-10", None), ("2026-01-01", "2026-01-31")]:
        period = parse_period(since, until)
        out = tmp_path / f"{since}-{until}"
        read = check_all(write_oscal(harness.app, out, period=period).path)
        result = read["assessment-results.json"].results[0]
        assert prop(result, "period-since") == since
        ssp = read["system-security-plan.json"]
        assert period.label() in ssp.metadata.title
    # in January only Chatbot's runs: Scorer (registered in February) evidences nothing
    ssp = read["system-security-plan.json"]
    names = {c.uuid: c.title for c in ssp.system_implementation.components}
    by_system = {
        names[b.component_uuid]
        for r in ssp.control_implementation.implemented_requirements
        for b in r.by_components
    }
    assert "Chatbot" in by_system and "Scorer" not in by_system


def test_a_broken_chain(harness, world, tmp_path):
    tamper(harness.db, "UPDATE evidence SET actor = 'mallory@example.com' WHERE seq = 3")
    result = write_oscal(harness.app, tmp_path / "oscal")
    assert not result.chain.ok
    read = check_all(result.path)
    findings = read["assessment-results.json"].results[0].findings
    (broken,) = [f for f in findings if f.target.target_id == "clause-7.5.3_obj"]
    assert broken.target.status.state.value == "not-satisfied"
    assert prop(broken, "determination") == "aims-automated"


# -- the SSP and the plan --------------------------------------------------------------------------
def test_the_ssp_has_the_ai_systems_in_scope_and_statements_from_their_runs(
    harness, world, tmp_path
):
    harness.add_system("Legacy", in_scope=False)
    result = write_oscal(harness.app, tmp_path / "oscal")
    read = check_all(result.path)
    ssp = read["system-security-plan.json"]
    components = {c.title: c for c in ssp.system_implementation.components}
    assert set(components) == {"AI management system of Example Ltd", "Chatbot", "Scorer"}
    assert components["AI management system of Example Ltd"].type.root == "this-system"
    assert components["Chatbot"].type.root == "system"
    assert prop(components["Chatbot"], "owner") == "olga@example.com"
    assert ssp.import_profile.href == "profile.json"
    (profile_link,) = [r for r in ssp.back_matter.resources if r.rlinks]
    assert profile_link.rlinks[0].hashes[0].value == result.files["profile.json"]

    by_id = {r.control_id: r for r in ssp.control_implementation.implemented_requirements}
    names = {c.uuid: c.title for c in ssp.system_implementation.components}
    risk = {names[b.component_uuid]: b for b in by_id[oscal_id("6.1.2")].by_components}
    assert set(risk) == {"AI management system of Example Ltd", "Chatbot", "Scorer"}
    # the AIMS statement is drawn from the workflow that evidences 6.1.2
    assert (
        "AI risk assessment (ai-risk-assessment)"
        in risk["AI management system of Example Ltd"].description
    )
    # Chatbot's risk run completed, Scorer's is open
    chatbot, scorer = risk["Chatbot"], risk["Scorer"]
    assert (prop(chatbot, "runs-completed"), prop(chatbot, "runs-open")) == ("1", "0")
    assert chatbot.implementation_status.state == "implemented"
    assert (prop(scorer, "runs-completed"), prop(scorer, "runs-open")) == ("0", "1")
    assert scorer.implementation_status.state == "partial"
    # the latest row, cited in the back-matter with its hash, is the ledger's
    stored = ledger(harness)
    rows = {f"#{r.uuid}": r for r in ssp.back_matter.resources}
    for statement in (chatbot, scorer):
        seq = int(prop(statement, "ledger-seq"))
        assert prop(statement, "ledger-hash") == stored[seq]
        assert prop(rows[statement.links[0].href], "ledger-hash") == stored[seq]
    with harness.db.connect() as conn:
        latest = conn.scalar(
            text("SELECT max(seq) FROM evidence WHERE run_id = :r AND step_id = 'identify'"),
            {"r": world.risk},
        )
    assert int(prop(chatbot, "ledger-seq")) >= latest
    # the plan imports this SSP, by its file and its hash; its subjects are the SSP's components
    plan = read["assessment-plan.json"]
    assert plan.import_ssp.href == "system-security-plan.json"
    assert plan.assessment_subjects[0].type == "component"


def test_re_exports_are_byte_identical(harness, world, tmp_path):
    first = write_oscal(harness.app, tmp_path / "a")
    second = write_oscal(harness.app, tmp_path / "b")
    assert first.files == second.files and set(first.files) == set(FILES)


# -- the audit pack and the demo -------------------------------------------------------------------
def test_the_audit_pack_holds_all_six_files_valid_and_listed(harness, world, tmp_path):
    write_audit_pack(harness.app, tmp_path / "pack.zip")
    pack = Pack(tmp_path / "pack.zip")
    listed = {f["path"]: f["sha256"] for f in pack.json("manifest.json")["files"]}
    for name, model in MODELS.items():
        content = pack.files[f"oscal/{name}"]
        assert listed[f"oscal/{name}"] == hashlib.sha256(content).hexdigest()
        document = assert_valid_oscal(content)
        model.model_validate(document[next(iter(document))])
    rows = {row["seq"]: row["hash"] for row in pack.ledger()}
    results = pack.json("oscal/assessment-results.json")["assessment-results"]
    cited = [
        r
        for r in results["back-matter"]["resources"]
        if r["title"].startswith("Evidence ledger row")
    ]
    assert cited
    for resource in cited:
        values = {p["name"]: p["value"] for p in resource["props"]}
        assert rows[int(values["ledger-seq"])] == values["ledger-hash"]
        assert resource["rlinks"][0]["href"] == "../evidence/ledger.jsonl"
    index = pack.text("index.html")
    assert "OSCAL POA&amp;M" in index and "OSCAL SSP" in index


def test_the_demo_exports_valid_oscal(db_url, tmp_path, monkeypatch, capsys):
    cli_environment(monkeypatch)
    monkeypatch.chdir(tmp_path)
    if db_url.startswith("sqlite"):
        args = ["demo", "--db", str(tmp_path / "demo.db"), "--quiet"]
        config = tmp_path / "demo.yaml"
        monkeypatch.setenv("AIMS_DATABASE_URL", f"sqlite:///{tmp_path / 'demo.db'}")
    else:
        monkeypatch.setenv("AIMS_DATABASE_URL", db_url)
        args = ["demo", "--database", db_url, "--quiet"]  # the demo never uses AIMS_DATABASE_URL
        config = tmp_path / "aims-demo.yaml"
    assert run_aims(capsys, *args).code == 0
    monkeypatch.setenv("AIMS_CONFIG", str(config))
    done = run_aims(capsys, "export", "oscal", "--out", "oscal")
    assert done.code == 0, done.err
    # the credit scoring retraining, a treatment run past its target date; the demo's other
    # treatment actions were done
    assert "POA&M items: 1 open" in done.out
    read = check_all(tmp_path / "oscal")
    # the demo's three AI systems are the SSP's components beside the AIMS
    ssp = read["system-security-plan.json"]
    assert len(ssp.system_implementation.components) == 4
    # every finding carries a status and names aims as its origin
    findings = read["assessment-results.json"].results[0].findings
    assert findings and all(f.target.status and f.origins for f in findings)
    poam = json.loads((tmp_path / "oscal" / "plan-of-action-and-milestones.json").read_text())
    kinds = [
        next(p["value"] for p in item["props"] if p["name"] == "poam-kind")
        for item in poam["plan-of-action-and-milestones"]["poam-items"]
    ]
    assert kinds[0] == "overdue-treatment" and set(kinds[1:]) == {"completed-treatment"}
