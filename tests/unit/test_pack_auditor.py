"""The auditor's files of the pack, built from the ledger rows in the pack: reproducible
samples per control, the control -> run -> row index, run timelines, segregation-of-duties
exceptions, the coverage timeline per AI system, the risk and impact registers."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from export_world import Pack, assessed_world, use_soa

from aims_workflows.engine.evidence import EvidenceRecord, chain
from aims_workflows.export import parse_period
from aims_workflows.export.pack import auditor, write_audit_pack
from aims_workflows.inventory import AISystemRecord
from aims_workflows.store import ledger


@pytest.mark.parametrize(
    ("population", "size"),
    [(0, 0), (1, 1), (2, 2), (3, 3), (29, 3), (30, 3), (31, 4), (100, 10), (299, 30), (5000, 30)],
)
def test_ten_percent_at_least_three_at_most_thirty(population, size):
    assert auditor.sample_size(population) == size


def test_the_offline_inventory_check_knows_every_field_the_inventory_holds():
    # auditor.py runs in the pack on the standard library alone, so it keeps its own copy of the
    # inventory's field names; a field added to the model and not there would go unchecked.
    assert set(auditor._INVENTORY_TEXT) == set(AISystemRecord.model_fields)


def test_a_draw_is_fixed_by_the_seed_alone():
    runs = [f"R{n:04d}" for n in range(200)]
    first = auditor.draw("seed-1", "A.6.2.4", runs)
    assert len(first) == 20  # 10% of 200
    assert auditor.draw("seed-1", "A.6.2.4", list(reversed(runs))) == first  # order is no lever
    assert auditor.draw("seed-2", "A.6.2.4", runs) != first
    assert auditor.draw("seed-1", "A.5.2", runs) != first  # each control draws on its own


@pytest.fixture
def world(harness, answers):
    use_soa(harness)
    return assessed_world(harness, answers)


def export(h, tmp_path, **kw):
    result = write_audit_pack(h.app, tmp_path / "pack.zip", **kw)
    return result, Pack(tmp_path / "pack.zip")


def rows_of(h) -> list[dict]:
    with h.db.connect() as conn:
        return [row.__dict__ for row in ledger.iter_rows(conn)]


def test_the_sample_is_printed_and_redrawn_by_the_verifier(harness, world, tmp_path):
    result, pack = export(harness, tmp_path, sample_seed="audit-2026")
    assert result.sample_seed == "audit-2026"
    method = pack.json("auditor/sampling.json")
    assert method["seed"] == "audit-2026" and (method["rate"], method["minimum"]) == (0.1, 3)
    sample = pack.csv("auditor/sample.csv")
    index = pack.csv("auditor/control_index.csv")
    by_control: dict[str, set[str]] = {}
    for entry in index:
        by_control.setdefault(entry["control"], set()).add(entry["run"])
    assert {s["control"] for s in sample} == set(by_control)
    for control, runs in by_control.items():
        drawn = [s["run"] for s in sample if s["control"] == control]
        assert drawn == [run for run, _ in auditor.draw("audit-2026", control, runs)]
    assert pack.json("manifest.json")["auditor"] == {"sample_seed": "audit-2026"}
    # the default seed comes from the last row's hash: nobody picks it
    default, _ = export(harness, tmp_path, force=True)
    assert default.sample_seed == rows_of(harness)[-1]["hash"][:16]
    directory = Pack(tmp_path / "pack.zip").extract(tmp_path / "unpacked")
    check = subprocess.run(
        [sys.executable, "-I", "-S", str(directory / "evidence" / "verify_ledger.py")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert f"re-drawn from seed {default.sample_seed}" in check.stdout


def test_the_control_index_leads_from_a_control_to_runs_and_their_rows(harness, world, tmp_path):
    _, pack = export(harness, tmp_path)
    rows = {r["seq"]: r for r in rows_of(harness)}
    entries = [e for e in pack.csv("auditor/control_index.csv") if e["control"] == "8.2"]
    assert {e["run"] for e in entries} == {world.risk, world.risk2}
    [risk] = [e for e in entries if e["run"] == world.risk]
    seqs = [int(s) for s in risk["ledger_seqs"].split()]
    assert int(risk["rows"]) == len(seqs) and risk["status"] == "completed"
    assert {rows[s]["run_id"] for s in seqs} == {world.risk}
    assert seqs == sorted(r["seq"] for r in rows.values() if r["run_id"] == world.risk)


def test_each_run_has_a_readable_timeline(harness, world, tmp_path):
    _, pack = export(harness, tmp_path)
    page = pack.text(f"auditor/runs/{world.risk}.md")
    assert page.startswith(f"# Run {world.risk}\n")
    assert "- Workflow: ai-risk-assessment v2" in page and "- Subject: Chatbot" in page
    decided = [line for line in page.splitlines() if "| approval.decided |" in line]
    assert decided and "rita@example.com: approve, 'residual risk acceptable'" in decided[0]
    assert len([n for n in pack.files if n.startswith("auditor/runs/")]) == 4


def test_the_risk_and_impact_registers_come_from_the_recorded_entries(
    harness, world, tmp_path, answers
):
    _, pack = export(harness, tmp_path)
    [risk] = pack.csv("auditor/risk_register.csv")
    identify = answers["risk.identify"]
    assert risk["run"] == world.risk and risk["system"] == "Chatbot"
    assert (risk["likelihood"], risk["impact"]) == (
        str(identify["likelihood"]),
        str(identify["impact"]),
    )
    row = next(r for r in rows_of(harness) if r["seq"] == int(risk["ledger_seq"]))
    assert row["kind"] == "artefact.recorded" and "risk_register_entry" in row["payload"]
    [impact] = pack.csv("auditor/impact_register.csv")
    assert impact["run"] == world.impact and impact["system"] == "Chatbot"


def test_months_without_a_current_assessment_are_flagged(harness, world, tmp_path):
    _, pack = export(harness, tmp_path)
    timeline = {(r["system"], r["month"]): r for r in pack.csv("auditor/coverage_timeline.csv")}
    assert timeline[("Chatbot", "2026-01")]["flagged"] == "no"
    assert timeline[("Chatbot", "2026-01")]["risk_assessment"] == world.risk
    assert timeline[("Scorer", "2026-02")]["flagged"] == "yes"
    assert timeline[("Scorer", "2026-02")]["missing"] == "risk_assessment impact_assessment"
    assert ("Scorer", "2026-01") not in timeline  # registered in February
    # a period: its months only, whether or not rows were written in them
    (tmp_path / "p").mkdir()
    _, later = export(harness, tmp_path / "p", period=parse_period("2026-02-01", "2026-04-30"))
    months = sorted({r["month"] for r in later.csv("auditor/coverage_timeline.csv")})
    assert months == ["2026-02", "2026-03", "2026-04"]


def test_refused_attempts_are_segregation_of_duties_exceptions(harness, world, tmp_path, answers):
    h = harness
    h.complete("identify", answers["risk.identify"], run_id=world.risk2)
    h.complete("treat", answers["risk.treat"], run_id=world.risk2)
    refused = h.decide("eve@example.com", reason="looks fine to me", run_id=world.risk2)
    assert refused.transition.evidence[0].kind == "approval.refused"
    _, pack = export(h, tmp_path)
    exceptions = pack.csv("auditor/sod_exceptions.csv")
    [attempt] = [e for e in exceptions if e["type"] == "refused attempt"]
    assert attempt["person"] == "eve@example.com" and attempt["run"] == world.risk2
    assert attempt["detail"]


T = "2026-01-05T09:00:00.000000Z"


def synthetic(records: list[tuple[str, str | None, dict]]) -> list[dict]:
    from datetime import UTC, datetime

    at = datetime(2026, 1, 5, 9, tzinfo=UTC)
    made = chain(
        [
            EvidenceRecord(kind, "R1", step, "aims", "engine", at, payload)
            for kind, step, payload in records
        ],
        start_seq=1,
        prev_hash="0" * 64,
        recorded_at=at,
    )
    return [row.__dict__ for row in made]


def test_an_approver_who_did_the_work_in_another_role_is_an_exception():
    """The engine keeps doers from approving where a workflow says so; the report still lists
    any approval by someone who also held another role in the run (imported history, a
    workflow without the rule)."""
    rows = synthetic(
        [
            (
                "run.started",
                None,
                {
                    "workflow": "w",
                    "version": 1,
                    "spec_hash": "h",
                    "subject": {"type": "organisation", "id": "o", "name": "Org"},
                    "evidences": ["9.2"],
                },
            ),
            ("task.requested", "fix", {"title": "Fix", "role": "engineer"}),
            ("task.completed", "fix", {"by": "eve@example.com", "answers": {}}),
            ("task.requested", "treat", {"title": "Treat", "role": "risk_owner"}),
            ("task.completed", "treat", {"by": "rita@example.com", "answers": {}}),
            ("approval.requested", "ok", {"approval_id": "R1.ok.1.1", "approvers": ["risk_owner"]}),
            (
                "approval.decided",
                "ok",
                {
                    "approval_id": "R1.ok.1.1",
                    "person": "rita@example.com",
                    "decision": "approve",
                    "reason": "fine",
                },
            ),
            (
                "approval.decided",
                "ok",
                {
                    "approval_id": "R1.ok.1.1",
                    "person": "eve@example.com",
                    "decision": "approve",
                    "reason": "fine",
                },
            ),
        ]
    )
    files = auditor.build(rows, seed="s")
    exceptions = files["auditor/sod_exceptions.csv"].split("\r\n")[1:-1]
    assert len(exceptions) == 1  # rita treated and accepted as risk_owner: one role
    assert exceptions[0].startswith("8,") and "eve@example.com" in exceptions[0]
    assert "approved as risk_owner after having completed step fix as engineer" in exceptions[0]


def test_a_refusal_names_the_person_and_the_reason_given():
    rows = synthetic(
        [
            (
                "approval.refused",
                "ok",
                {
                    "person": "mallory@example.com",
                    "approval_id": "R1.ok",
                    "reason": "not an approver",
                    "decision": "approve",
                },
            ),
        ]
    )
    [line] = auditor.build(rows, seed="s")["auditor/sod_exceptions.csv"].split("\r\n")[1:-1]
    assert line == f"1,{T},R1,refused attempt,mallory@example.com,R1.ok,not an approver"
    assert json.loads(auditor.build(rows, seed="s")["auditor/sampling.json"])["sampled"] == 0


def test_the_export_command_prints_the_seed_it_used(monkeypatch, capsys, tmp_path):
    from conftest import cli_environment, run_aims

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AIMS_DATABASE_URL", f"sqlite:///{tmp_path / 'aims.db'}")
    monkeypatch.setenv("AIMS_CONFIG", str(tmp_path / "aims.yaml"))
    cli_environment(monkeypatch)
    assert run_aims(capsys, "init").code == 0
    done = run_aims(capsys, "export", "audit-pack", "--out", "p.zip", "--sample-seed", "q4-2026")
    assert done.code == 0, done
    assert "sample seed: q4-2026" in done.out
    assert Pack(tmp_path / "p.zip").json("auditor/sampling.json")["seed"] == "q4-2026"
    empty = run_aims(capsys, "export", "audit-pack", "--out", "e.zip", "--sample-seed", " ")
    assert empty.code == 2 and "non-empty seed" in empty.err
    assert not (tmp_path / "e.zip").exists()
