"""The internal audit programme: coverage of clauses 4 to 10 and the applicable Annex A
controls within the cycle, more audits where risk and findings are, ``aims audit programme``
and its approval through the ``audit-programme`` workflow (real CLI, real SQLite)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date

from sqlalchemy import create_engine, text

from aims_workflows.audit import DEFAULT_AREAS, AuditArea, plan_programme
from aims_workflows.audit.facts import required_ids
from aims_workflows.catalog import load_catalog
from aims_workflows.config import AimsConfig, SoaConfig

START = date(2026, 1, 1)


def config_yaml(roles: dict[str, list[str]]) -> str:
    """aims.yaml as the ``ready`` fixture writes it, to add a section to."""
    lines = ["organisation: Example Ltd", "roles:"]
    lines += [f"  {role}: [{', '.join(people)}]" for role, people in roles.items()]
    return "\n".join(lines) + "\n"


def _required(soa: SoaConfig | None = None):
    return required_ids(soa or SoaConfig())


# -- the plan -------------------------------------------------------------------------------------
def test_the_default_areas_cover_every_clause_and_control_once_in_the_cycle():
    required, excluded = _required()
    catalog = load_catalog()
    assert excluded == ()
    assert {r for r in required if r.startswith("A.")} == {c.id for c in catalog.controls()}
    assert "4.3" in required and "9.2.2" in required and "10.2" in required
    assert "4" not in required and "9.2" not in required  # parents roll up from their leaves
    programme = plan_programme(
        DEFAULT_AREAS, required=required, cycle_start=START, years=3, fallback=DEFAULT_AREAS
    )
    assert programme.coverage.complete
    # nothing weighs more: each area once, one area a quarter over twelve quarters
    assert Counter(a.area.key for a in programme.audits) == dict.fromkeys(
        (a.key for a in DEFAULT_AREAS), 1
    )
    assert sorted((a.year, a.quarter) for a in programme.audits) == [
        (y, q) for y in (1, 2, 3) for q in (1, 2, 3, 4)
    ]
    assert programme.ends == date(2029, 1, 1)


def test_high_risk_systems_and_findings_bring_their_areas_round_more_often():
    required, _ = _required()
    programme = plan_programme(
        DEFAULT_AREAS,
        required=required,
        cycle_start=START,
        years=3,
        high_risk=["Loan scorer"],
        finding_requirements=["A.7.4", "A.10.3"],
    )
    times = {p.area.key: p.times for p in programme.areas}
    assert times["data"] == 3  # risk-related and a finding: every year
    assert times["lifecycle"] == 2  # risk-related only
    assert times["third-parties"] == 2  # a finding only
    assert times["context"] == 1
    years = sorted(a.year for a in programme.audits if a.area.key == "data")
    assert years == [1, 2, 3]
    reasons = {p.area.key: p.reasons for p in programme.areas}
    assert reasons["data"] == ("high-risk systems in scope (Loan scorer)", "1 finding in the area")
    # no quarter is overloaded while another is empty
    load = Counter((a.year, a.quarter) for a in programme.audits)
    assert (
        max(load.values()) - min(load.get((y, q), 0) for y in (1, 2, 3) for q in range(1, 5)) <= 1
    )


def test_a_control_the_soa_excludes_is_not_required():
    soa = SoaConfig.model_validate(
        {"controls": {"A.10.4": {"applicable": False, "justification": "we have no customers"}}}
    )
    required, excluded = _required(soa)
    assert excluded == ("A.10.4",) and "A.10.4" not in required
    areas = [a for a in DEFAULT_AREAS if a.key != "third-parties"] + [
        AuditArea("suppliers", "Suppliers", ("A.10.2", "A.10.3"))
    ]
    programme = plan_programme(areas, required=required, cycle_start=START, years=3)
    assert programme.coverage.complete


def test_the_quarter_a_day_falls_in_says_which_areas_are_due():
    required, _ = _required()
    programme = plan_programme(DEFAULT_AREAS, required=required, cycle_start=START, years=3)
    spring = programme.due(date(2026, 5, 20))
    assert len(spring) == 1 and (spring[0].year, spring[0].quarter) == (1, 2)
    assert programme.due(date(2030, 1, 1)) == []


# -- aims audit programme -------------------------------------------------------------------------
def test_aims_audit_programme_shows_the_plan_and_its_coverage(ready):
    table = ready("audit", "programme", "--cycle-start", "2026-01-01")
    assert table.code == 0, table.all
    assert (
        "cycle 2026-01-01 to 2029-01-01: covers all 32 clauses of 4 to 10 and 38 applicable "
        "Annex A controls" in table.out
    )
    rows = json.loads(ready("audit", "programme", "--cycle-start", "2026-01-01", "--years", "2",
                            "--format", "json").out)  # fmt: skip
    assert len(rows) == 12 and rows[0]["period"] == "Y1 Q1" and rows[-1]["period"] == "Y2 Q4"
    assert {r["starts"] for r in rows} <= {
        f"{y}-{m:02d}-01" for y in (2026, 2027) for m in (1, 4, 7, 10)
    }


def test_a_high_risk_system_and_a_finding_weigh_in_the_plan_from_the_database(ready):
    assert ready("systems", "add", "Loan scorer", "--owner", "olga@example.com",
                 "--set", "risk_tier=high").code == 0  # fmt: skip
    raised = ready("findings", "raise", "--source", "monitoring",
                   "--title", "Drift alert unanswered",
                   "--severity", "minor", "--control", "A.6.2.6")  # fmt: skip
    assert raised.code == 0, raised.all
    rows = json.loads(
        ready("audit", "programme", "--cycle-start", "2026-01-01", "--format", "json").out
    )
    lifecycle = [r for r in rows if r["area"] == "AI system life cycle"]
    assert len(lifecycle) == 3
    assert "high-risk systems in scope (Loan scorer); 1 finding in the area" == lifecycle[0]["why"]


def test_a_programme_that_misses_a_clause_is_refused_with_what_to_add(ready, tmp_path, roles):
    areas = [
        {"key": a.key, "title": a.title, "covers": list(a.covers)}
        for a in DEFAULT_AREAS
        if a.key not in ("support", "improvement")
    ]
    config = AimsConfig.model_validate({"audit_programme": {"areas": areas}})
    lines = ["audit_programme:", "  areas:"] + [
        f"    - {{key: {a.key}, title: '{a.title}', covers: [{', '.join(a.covers)}]}}"
        for a in config.audit_programme.areas or []
    ]
    (tmp_path / "aims.yaml").write_text(config_yaml(roles) + "\n".join(lines) + "\n")
    result = ready("audit", "programme", "--cycle-start", "2026-01-01")
    assert result.code == 1
    for missing in ("7.1", "7.5.3", "A.4.2", "10.2"):
        assert f"{missing} is audited in no area" in result.err
    assert "add 7 to an area's covers (as the default area 'support' does)" in result.err
    assert "add 10 to an area's covers (as the default area 'improvement' does)" in result.err
    required, _ = _required()
    left_out = [r for r in required if r.split(".")[0] in ("7", "10") or r.startswith("A.4.")]
    assert f"misses {len(left_out)} requirement(s)" in result.err
    refused = ready("audit", "programme", "--submit", "--as", "ida@example.com")
    assert refused.code == 1
    assert json.loads(ready("runs", "list", "--format", "json").out) == []


def test_bad_programme_settings_are_messages(ready, tmp_path, roles):
    bad_date = ready("audit", "programme", "--cycle-start", "1st of May")
    assert bad_date.code != 0 and "is not a date" in bad_date.err
    bad_years = ready("audit", "programme", "--years", "12")
    assert bad_years.code != 0 and "give 1 to 6" in bad_years.err
    (tmp_path / "aims.yaml").write_text(
        config_yaml(roles)
        + "audit_programme:\n  areas:\n    - {key: data, title: Data, covers: [A.7.9]}\n"
    )
    unknown = ready("audit", "programme")
    assert unknown.code != 0 and "'A.7.9' is no clause or control" in unknown.err


def test_the_submitted_programme_is_approved_by_top_management_and_meets_the_register(ready):
    submitted = ready("audit", "programme", "--cycle-start", "2026-01-01", "--submit",
                      "--as", "amy@example.com")  # fmt: skip
    assert submitted.code == 0, submitted.all
    run_id = submitted.out.split("run ")[-1].split(" ")[0]
    review = ready("tasks", "complete", run_id, "review", "--as", "ida@example.com",
                   "--answer", "reference=AP-2026-1",
                   "--answer", "criteria=iso42001_clauses_4_to_10,annex_a_controls_in_soa",
                   "--answer", "auditors=Ian audits what Ida built; Ida the rest",
                   "--answer", "methods=interviews and record sampling")  # fmt: skip
    assert review.code == 0, review.all
    pending = json.loads(ready("approvals", "list", "--format", "json").out)
    assert [p["workflow"] for p in pending] == ["audit-programme"]
    approved = ready("approvals", "decide", pending[0]["approval"], "approve",
                     "--as", "tom@example.com", "--reason", "covers the cycle")  # fmt: skip
    assert approved.code == 0, approved.all
    readiness = json.loads(ready("readiness", "--stage", "1", "--format", "json").out)
    line = {r["key"]: r for r in readiness["requirements"]}["audit-programme"]
    assert line["status"] == "met", line
    assert run_id in line["reason"]


def _approve_programme(ready) -> str:
    submitted = ready("audit", "programme", "--cycle-start", "2026-01-01", "--submit")
    run_id = submitted.out.split("run ")[-1].split(" ")[0]
    ready("tasks", "complete", run_id, "review", "--as", "ida@example.com",
          "--answer", "reference=AP-2026-2", "--answer", "criteria=ai_policy",
          "--answer", "auditors=Ian and Ida, never their own work",
          "--answer", "methods=interviews")  # fmt: skip
    pending = json.loads(ready("approvals", "list", "--format", "json").out)
    ready("approvals", "decide", pending[0]["approval"], "approve", "--as", "tina@example.com",
          "--reason", "agreed")  # fmt: skip
    return run_id


def test_internal_audits_start_with_the_areas_the_approved_programme_plans(ready, tmp_path):
    before = ready("audit", "start", "--on", "2026-05-20")
    assert before.code != 0 and "no audit programme is approved yet" in before.err
    assert "aims audit programme --submit" in before.err
    _approve_programme(ready)
    due = json.loads(ready("audit", "due", "--on", "2026-05-20", "--format", "json").out)
    assert len(due) == 1 and due[0]["period"] == "Y1 Q2"
    outside = ready("audit", "due", "--on", "2031-01-01")
    assert "plans no audit for the quarter of 2031-01-01" in outside.out

    started = ready("audit", "start", "--on", "2026-05-20", "--as", "amy@example.com")
    assert started.code == 0, started.all
    assert "1 area(s) of programme AP-2026-2" in started.out
    run_id = started.out.split("started run ")[1].split(" ")[0]
    engine = create_engine(f"sqlite:///{tmp_path / 'aims.db'}")
    with engine.connect() as conn:
        payload = conn.execute(
            text("SELECT payload FROM evidence WHERE kind = 'run.started' AND run_id = :r"),
            {"r": run_id},
        ).scalar_one()
        description = conn.execute(
            # the task as handed to the tracker (its description is not evidence)
            text("SELECT payload FROM outbox WHERE kind = 'task.create' AND run_id = :r"),
            {"r": run_id},
        ).scalar_one()
    engine.dispose()
    started_payload = json.loads(payload)
    assert started_payload["workflow"] == "internal-audit"
    covers = [c.strip() for c in due[0]["covers"].split(",")]
    assert started_payload["inputs"] == {
        "programme_reference": "AP-2026-2",
        "programme_areas": [{"area": due[0]["area"], "covers": covers, "period": "Y1 Q2"}],
    }
    shown = json.loads(description)["description"]
    assert "The audit programme AP-2026-2 plans these areas for this period" in shown
    assert f"- {due[0]['area']} ({', '.join(covers)})" in shown
