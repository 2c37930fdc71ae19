"""The pack's standalone verifier checks the whole pack: the manifest against the hash sent
separately, files added, removed or edited (even with the manifest edited to match), every
register it can rebuild from the ledger rows, every workflow definition against the hash runs
pinned. Each problem is named on a FAILED line and the exit status is 1."""

from __future__ import annotations

import hashlib
import json

import pytest
from export_world import Pack, edit_cell, rewrite_in_pack, unpacked_pack, verify_pack

from aims_workflows.export.pack import write_audit_pack


@pytest.fixture
def unpacked(harness, answers, tmp_path):
    return unpacked_pack(harness, answers, tmp_path)


def test_an_untouched_pack_verifies_with_the_hash_sent_separately(unpacked):
    result, directory = unpacked
    check = verify_pack(directory, "--expect-manifest", result.manifest_sha256)
    assert check.returncode == 0, check.stdout + check.stderr
    out = check.stdout
    assert "OK: manifest.json is the one whose SHA-256 you were sent" in out
    assert "auditor files rebuilt from the ledger rows are identical" in out
    assert f"re-drawn from seed {result.sample_seed}" in out
    assert "workflow definition(s) hash to what the runs pinned" in out
    assert out.rstrip().endswith("everything in the pack verifies")
    assert not list(directory.rglob("__pycache__"))  # the check leaves the pack as it was


def test_another_manifest_hash_and_a_malformed_one_fail(unpacked):
    result, directory = unpacked
    other = hashlib.sha256(b"another pack").hexdigest()
    wrong = verify_pack(directory, "--expect-manifest", other)
    assert wrong.returncode == 1
    assert f"not the {other} you were sent" in wrong.stdout
    for malformed in ("abc", "z" * 64, result.manifest_sha256 + "0", ""):
        bad = verify_pack(directory, "--expect-manifest", malformed)
        assert bad.returncode == 1, malformed
        assert "is not a SHA-256: give the 64 hex digits" in bad.stdout, bad.stdout


def test_a_file_added_to_the_pack_is_named(unpacked):
    _, directory = unpacked
    (directory / "auditor" / "extra-evidence.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    check = verify_pack(directory)
    assert check.returncode == 1
    assert (
        "FAILED: auditor/extra-evidence.csv is in the pack but not in the manifest: it was added"
        in check.stdout
    )


def test_a_file_removed_is_named_even_with_its_manifest_entry_removed(unpacked):
    result, directory = unpacked
    (directory / "soa.md").unlink()
    gone = verify_pack(directory)
    assert gone.returncode == 1
    assert "FAILED: soa.md is listed in the manifest but missing from the pack" in gone.stdout
    rewrite_in_pack(directory, "auditor/risk_register.csv", None)
    hidden = verify_pack(directory)
    assert hidden.returncode == 1
    assert (
        "FAILED: auditor/risk_register.csv is missing: the ledger rows in the pack give one"
        in hidden.stdout
    )
    sent = verify_pack(directory, "--expect-manifest", result.manifest_sha256)
    assert sent.returncode == 1 and "not the pack that was exported" in sent.stdout


def test_a_register_edited_together_with_the_manifest_is_named(unpacked):
    result, directory = unpacked
    name = "auditor/risk_register.csv"
    text = (directory / name).read_bytes().decode("utf-8")
    header, first = text.split("\r\n")[:2]
    column = header.split(",").index("likelihood")
    cells = first.split(",")
    cells[column] = "1"  # the likelihood played down after the fact
    edited = text.replace(first, ",".join(cells), 1)
    rewrite_in_pack(directory, name, edited.encode("utf-8"))
    check = verify_pack(directory)
    assert check.returncode == 1
    assert (
        f"FAILED: {name} does not match the ledger rows in the pack: line 2 is" in check.stdout
    ), check.stdout
    # the manifest itself agrees (the NOTE on facts the manifest vouches for comes later)
    assert "manifest" not in check.stdout.split("FAILED")[1].splitlines()[0]
    sent = verify_pack(directory, "--expect-manifest", result.manifest_sha256)
    assert "not the pack that was exported" in sent.stdout


def test_a_workflow_definition_edited_together_with_the_manifest_is_named(unpacked):
    _, directory = unpacked
    [spec] = sorted((directory / "workflows").glob("ai-risk-assessment-*.spec.json"))
    name = f"workflows/{spec.name}"
    loosened = spec.read_text(encoding="utf-8").replace('"top_management"', '"engineer"')
    assert loosened != spec.read_text(encoding="utf-8")
    rewrite_in_pack(directory, name, loosened.encode("utf-8"))
    check = verify_pack(directory)
    assert check.returncode == 1
    assert f"FAILED: {name} hashes to" in check.stdout
    assert "that runs of ai-risk-assessment v" in check.stdout


def test_a_run_whose_pinned_definition_is_not_in_the_pack_is_named(unpacked):
    _, directory = unpacked
    index = (directory / "workflows" / "index.csv").read_bytes().decode("utf-8").split("\r\n")
    kept = [line for line in index if not line.startswith("ai-impact-assessment,")]
    rewrite_in_pack(directory, "workflows/index.csv", "\r\n".join(kept).encode("utf-8"))
    check = verify_pack(directory)
    assert check.returncode == 1
    assert "pinned ai-impact-assessment v" in check.stdout
    assert "which workflows/ does not hold" in check.stdout


def test_the_ledger_file_alone_can_still_be_checked(unpacked):
    _, directory = unpacked
    check = verify_pack(directory, "--ledger-only")
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.rstrip().endswith("the ledger file verifies")


def test_runs_and_approvals_written_from_the_tables_are_checked_against_the_rows(unpacked):
    _, directory = unpacked
    original = (directory / "approvals.csv").read_bytes()
    text = original.decode("utf-8")
    assert "residual risk acceptable" in text
    rewrite_in_pack(
        directory, "approvals.csv", text.replace("residual risk acceptable", "ok").encode()
    )
    reason = verify_pack(directory)
    assert reason.returncode == 1
    assert "FAILED: approvals.csv gives the decisions of" in reason.stdout
    assert "'residual risk acceptable'" in reason.stdout  # what the ledger row says
    rewrite_in_pack(directory, "approvals.csv", original)
    runs = (directory / "runs.csv").read_bytes().decode("utf-8")
    lines = runs.split("\r\n")
    victim = next(line for line in lines[1:] if ",completed," in line)
    run_id = victim.split(",")[0]
    edited = runs.replace(victim, victim.replace(",completed,", ",cancelled,"))
    rewrite_in_pack(directory, "runs.csv", edited.encode())
    status = verify_pack(directory)
    assert status.returncode == 1
    assert (
        f"FAILED: runs.csv says status 'cancelled' for run {run_id}; its ledger rows say "
        "'completed'" in status.stdout
    )
    dropped = "\r\n".join(line for line in lines if not line.startswith(run_id + ","))
    rewrite_in_pack(directory, "runs.csv", dropped.encode())
    gone = verify_pack(directory)
    assert f"FAILED: runs.csv does not list run {run_id}" in gone.stdout


def _cell_edit(text: str, key_column: str, key: str, column: str, value: str) -> str:
    """``text`` (a pack CSV) with one cell of the row whose ``key_column`` is ``key`` set."""
    return edit_cell(text, key_column, column, lambda row: row[key_column] == key, value)[0]


def test_inventory_and_tasks_written_from_the_tables_are_checked_against_the_rows(unpacked):
    _, directory = unpacked
    inventory = (directory / "inventory.csv").read_bytes().decode("utf-8")
    first_id = inventory.split("\r\n")[1].split(",")[0]
    tier = _cell_edit(inventory, "id", first_id, "risk_tier", "minimal")
    rewrite_in_pack(directory, "inventory.csv", tier.encode("utf-8"))
    check = verify_pack(directory)
    assert check.returncode == 1
    assert f"FAILED: inventory.csv says risk_tier 'minimal' for AI system {first_id}" in (
        check.stdout
    ), check.stdout
    gone = "\r\n".join(
        line for line in inventory.split("\r\n") if not line.startswith(first_id + ",")
    )
    rewrite_in_pack(directory, "inventory.csv", gone.encode("utf-8"))
    assert (
        f"FAILED: inventory.csv does not list AI system {first_id}" in verify_pack(directory).stdout
    )
    rewrite_in_pack(directory, "inventory.csv", inventory.encode("utf-8"))

    tasks = (directory / "tasks.csv").read_bytes().decode("utf-8")
    header, first = tasks.split("\r\n")[:2]
    run_id = first.split(",")[0]
    retitled = _cell_edit(tasks, "run", run_id, "title", "Something else")
    rewrite_in_pack(directory, "tasks.csv", retitled.encode("utf-8"))
    check = verify_pack(directory)
    assert check.returncode == 1
    assert "FAILED: tasks.csv says title 'Something else' for step" in check.stdout, check.stdout
    assert "status" in header and ",done," in tasks  # completed visits are checked as done
    reopened = tasks.replace(",done,", ",open,", 1)
    rewrite_in_pack(directory, "tasks.csv", reopened.encode("utf-8"))
    assert "FAILED: tasks.csv says status 'open' for step" in verify_pack(directory).stdout
    rewrite_in_pack(directory, "tasks.csv", tasks.encode("utf-8"))
    assert verify_pack(directory).returncode == 0


def test_a_finding_written_from_the_table_is_checked_against_its_raised_row(
    harness, answers, tmp_path
):
    from export_world import audit_with_a_finding

    audit_with_a_finding(harness, answers)
    write_audit_pack(harness.app, tmp_path / "pack.zip")
    directory = Pack(tmp_path / "pack.zip").extract(tmp_path / "unpacked")
    assert verify_pack(directory).returncode == 0
    findings = (directory / "findings.csv").read_bytes().decode("utf-8")
    finding_id = findings.split("\r\n")[1].split(",")[0]
    softened = _cell_edit(findings, "finding", finding_id, "severity", "observation")
    rewrite_in_pack(directory, "findings.csv", softened.encode("utf-8"))
    check = verify_pack(directory)
    assert check.returncode == 1
    assert (
        f"FAILED: findings.csv says severity 'observation' for finding {finding_id}; its ledger "
        "rows say 'minor'" in check.stdout
    ), check.stdout


def test_a_kpi_edited_in_kpis_csv_together_with_the_manifest_is_named(unpacked):
    from aims_workflows.kpi.queries import definitions

    result, directory = unpacked
    untouched = verify_pack(directory)
    assert untouched.returncode == 0, untouched.stdout + untouched.stderr
    assert (
        f"OK: the {len(definitions())} KPIs of kpis.csv are what their formulas make of the "
        "facts in evidence/kpi_facts.json" in untouched.stdout
    ), untouched.stdout
    kpis = (directory / "kpis.csv").read_bytes().decode("utf-8")
    edited, key = edit_cell(
        kpis, "key", "value", lambda row: row["key"] == "risk_assessment_coverage", "1.0"
    )
    assert edited != kpis  # the demo world's coverage is not already 100%
    rewrite_in_pack(directory, "kpis.csv", edited.encode("utf-8"))
    check = verify_pack(directory)
    assert check.returncode == 1
    assert (
        f"FAILED: kpis.csv says value '1.0' for KPI {key}; its formula over the facts in "
        "evidence/kpi_facts.json gives" in check.stdout
    ), check.stdout
    assert check.stdout.count("FAILED") == 1  # that KPI only, and the manifest agrees
    met, _ = edit_cell(kpis, "key", "met", lambda row: row["key"] == "open_tasks", "true")
    rewrite_in_pack(directory, "kpis.csv", met.encode("utf-8"))
    if met != kpis:
        assert "for KPI open_tasks" in verify_pack(directory).stdout
    rewrite_in_pack(directory, "kpis.csv", kpis.encode("utf-8"))
    assert verify_pack(directory).returncode == 0


def test_kpi_facts_edited_to_match_an_edited_kpi_are_named(unpacked):
    """The facts are bound to the ledger head the export read and to aims-config.json's
    targets; facts that no formula can use are named too."""
    _, directory = unpacked
    name = "evidence/kpi_facts.json"
    original = (directory / name).read_bytes()
    facts = json.loads(original)
    facts["chain_head"]["seq"] -= 1  # facts from an earlier state passed off as the export's
    rewrite_in_pack(directory, name, json.dumps(facts).encode("utf-8"))
    check = verify_pack(directory)
    assert check.returncode == 1
    assert f"FAILED: {name} was taken at ledger row" in check.stdout, check.stdout
    facts = json.loads(original)
    entry = next(e for e in facts["kpis"] if e["key"] == "open_tasks")
    entry["target"] = 1000.0  # a target eased in the facts only
    entry["facts"] = {"formula": "open_tasks"}
    rewrite_in_pack(directory, name, json.dumps(facts).encode("utf-8"))
    out = verify_pack(directory).stdout
    assert "judges KPI open_tasks against target 1000.0, aims-config.json sets" in out, out
    assert "FAILED: KPI open_tasks: its facts in evidence/kpi_facts.json cannot be used" in out
    facts = json.loads(original)
    entry = next(e for e in facts["kpis"] if e["key"] == "mean_days_to_close_nonconformity")
    entry["facts"]["at"] = "2020-01-01T00:00:00+00:00"  # measured at another moment
    rewrite_in_pack(directory, name, json.dumps(facts).encode("utf-8"))
    out = verify_pack(directory).stdout
    assert "FAILED: KPI mean_days_to_close_nonconformity was measured at 2020-01-01" in out, out
    rewrite_in_pack(directory, name, original)
    assert verify_pack(directory).returncode == 0
