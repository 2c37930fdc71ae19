"""The pack's verifier rebuilds the KPIs' base measures (kpi_facts.json, read from the database)
from the ledger rows when the pack holds the whole ledger, on SQLite and PostgreSQL: a world
exported at several moments verifies with every rebuilt fact equal; facts and kpis.csv edited
together (the manifest made to agree) are named, KPI and fact; a period's slice says which facts
only the manifest's hash vouches for."""

from __future__ import annotations

import json
from datetime import timedelta

from export_world import (
    Pack,
    assessed_world,
    audit_with_a_finding,
    rewrite_in_pack,
    use_soa,
    verify_pack,
)
from test_kpi_operations import contain, report_incident, train, triage

from aims_workflows.export.pack import kpi_rows, write_audit_pack
from aims_workflows.export.period import Period
from aims_workflows.kpi import formulas
from aims_workflows.kpi.queries import definitions

FACTS = "evidence/kpi_facts.json"


def _export(h, tmp_path, name: str, **options):
    result = write_audit_pack(h.app, tmp_path / f"{name}.zip", **options)
    return result, Pack(result.path).extract(tmp_path / name)


def _facts(directory) -> dict[str, dict]:
    document = json.loads((directory / FACTS).read_text(encoding="utf-8"))
    return {entry["key"]: entry["facts"] for entry in document["kpis"]}


def _verifies_with_rebuilt_facts(directory) -> str:
    check = verify_pack(directory)
    assert check.returncode == 0, check.stdout + check.stderr
    rebuilt = len(kpi_rows.REBUILT)
    assert (
        f"OK: the facts of {rebuilt} KPIs in {FACTS} are what the ledger rows (row 1 to the head"
        in check.stdout
    ), check.stdout
    assert "controls_with_current_evidence (which Annex A controls exist" in check.stdout
    return check.stdout


def test_every_kpi_is_rebuilt_from_rows_or_said_not_to_be():
    keys = {d.key for d in definitions()}
    assert set(kpi_rows.REBUILT) | set(kpi_rows.NOT_FROM_ROWS) == keys
    assert not set(kpi_rows.REBUILT) & set(kpi_rows.NOT_FROM_ROWS)


def test_the_rules_name_what_the_kpi_measures_name():
    """The derivation's constants are those the database's measures use (one definition)."""
    from aims_workflows.kpi import measures, operations
    from aims_workflows.store import risk_register

    assert kpi_rows.CERTIFICATION_CYCLE == measures.CERTIFICATION_CYCLE
    assert kpi_rows.CORRECTIVE_ACTION == measures.CORRECTIVE_ACTION
    assert kpi_rows.CORRECTIVE_ACTION_DONE == measures.CORRECTIVE_ACTION_DONE
    assert kpi_rows.EFFECTIVENESS_CHECK == measures.EFFECTIVENESS_CHECK
    assert kpi_rows.BACK_BEFORE_ACTION == measures._BACK_BEFORE_ACTION[:2]
    assert kpi_rows.NO_AREA == measures._NO_AREA
    assert kpi_rows.TREATMENT_WORKFLOW == risk_register.TREATMENT_WORKFLOW
    assert kpi_rows.TREATMENT_ARTEFACT == risk_register.TREATMENT_ARTEFACT
    assert kpi_rows.INCIDENT == operations.INCIDENT
    assert kpi_rows.INCIDENT_RECORD == operations._INCIDENT_RECORD
    assert kpi_rows.INCIDENT_TIMES == operations._INCIDENT_TIMES
    assert kpi_rows.TRAINING_ARTEFACT == operations.TRAINING_ARTEFACT
    assert kpi_rows.ALL_ROLES == operations._ALL_ROLES
    assert kpi_rows.COMPLETED == operations._COMPLETED


def test_a_whole_ledger_pack_rebuilds_every_fact_at_several_moments(harness, answers, tmp_path):
    h = harness
    use_soa(h)
    world = assessed_world(h, answers)  # Chatbot assessed, Scorer's assessments open
    today = h.clock.now().date().isoformat()
    train(h, "eve@example.com", "engineer", completed_on=today)
    train(h, "amy@example.com", "all_roles", completed_on=today)
    incident = report_incident(h, "Chatbot", h.clock.now() - timedelta(hours=5))
    triage(h, incident, h.clock.now() - timedelta(hours=2))
    _, first = _export(h, tmp_path, "first")
    _verifies_with_rebuilt_facts(first)
    facts = _facts(first)
    assert facts["risk_assessment_coverage"] == {"formula": "coverage", "in_scope": 2, "current": 1}
    assert facts["open_tasks"]["count"] > 0
    assert facts["training_completion"]["by_role"]["engineer"][0] == 1
    assert len(facts["incident_median_hours_to_triage"]["incidents"]) == 1

    h.clock.advance(days=20)  # Scorer's tasks fall due; an audit raises a finding, closed later
    contain(h, incident, h.clock.now())
    audit_with_a_finding(h, answers)
    _, second = _export(h, tmp_path, "second")
    _verifies_with_rebuilt_facts(second)
    facts = _facts(second)
    assert facts["overdue_tasks"]["count"] > 0
    assert sum(facts["open_findings"]["total"].values()) == 1
    assert len(facts["mean_days_to_close_nonconformity"]["nonconformities"]) == 1
    assert facts["nonconformity_action_effectiveness"]["nonconformities"][0][3] == 1  # checked
    assert facts["median_approval_latency_hours"]["buckets"]

    h.clock.advance(days=400)  # the assessments and the training run out
    h.complete("identify", answers["risk.identify"], run_id=world.risk2)
    _, third = _export(h, tmp_path, "third")
    _verifies_with_rebuilt_facts(third)
    facts = _facts(third)
    assert facts["risk_assessment_coverage"]["current"] == 0
    assert facts["training_completion"]["by_role"]["engineer"][0] == 0


def test_facts_and_kpis_edited_together_are_named_kpi_and_fact(harness, answers, tmp_path):
    h = harness
    use_soa(h)
    assessed_world(h, answers)
    _, directory = _export(h, tmp_path, "pack")
    document = json.loads((directory / FACTS).read_text(encoding="utf-8"))
    entry = next(e for e in document["kpis"] if e["key"] == "open_tasks")
    rows_say = entry["facts"]["count"]
    entry["facts"]["count"] = 0  # the backlog hidden, kpis.csv made to agree
    rewrite_in_pack(directory, FACTS, json.dumps(document, indent=1).encode("utf-8"))
    kpis = formulas.csv_text(formulas.rebuilt(e) for e in document["kpis"])
    rewrite_in_pack(directory, "kpis.csv", kpis.encode("utf-8"))
    check = verify_pack(directory)
    assert check.returncode == 1, check.stdout
    assert (
        f"FAILED: KPI open_tasks: its fact count is 0 in {FACTS}, the ledger rows give "
        f"{rows_say} (value 0 by its formula from the recorded facts, {rows_say} from the rows)"
        in check.stdout
    ), check.stdout
    assert check.stdout.count("FAILED") == 1  # kpis.csv agrees with the edited facts


def test_a_period_slice_says_which_facts_only_the_manifest_vouches_for(harness, answers, tmp_path):
    h = harness
    use_soa(h)
    assessed_world(h, answers)  # Scorer registered 40 days after Chatbot
    since = h.clock.now().date()
    _, directory = _export(h, tmp_path, "slice", period=Period(since=since))
    check = verify_pack(directory)
    assert check.returncode == 0, check.stdout + check.stderr
    assert f"NOTE: the facts of the {len(definitions())} KPIs in {FACTS} are NOT rebuilt" in (
        check.stdout
    )
    assert "only the manifest's hash (--expect-manifest) vouches for the facts of: " in (
        check.stdout
    )
    assert "open_tasks" in check.stdout.split("vouches for the facts of: ")[1]
    guide = (directory / "evidence" / "VERIFY.md").read_text(encoding="utf-8")
    assert "vouched for by the manifest's hash only" in guide
