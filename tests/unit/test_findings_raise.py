"""``aims findings raise | list | count``: a nonconformity from any source starts corrective
action, keeps its source in the evidence and is counted per source (real CLI, real SQLite)."""

from __future__ import annotations

import json

from sqlalchemy import create_engine, text

from aims_workflows.findings import SOURCES


def _raise(aims, source: str, title: str, *extra: str):
    return aims(
        "findings", "raise", "--source", source, "--title", title, "--severity", "minor", *extra
    )


def _ledger(tmp_path, kind: str) -> list[dict]:
    engine = create_engine(f"sqlite:///{tmp_path / 'aims.db'}")
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT run_id, payload FROM evidence WHERE kind = :k ORDER BY seq"), {"k": kind}
        ).all()
    engine.dispose()
    return [{**json.loads(r.payload), **({"run": r.run_id} if r.run_id else {})} for r in rows]


def test_a_complaint_starts_corrective_action_and_keeps_its_source(ready, tmp_path):
    result = ready(
        "findings", "raise", "--source", "complaint", "--title",
        "Customer was refused a loan with no explanation", "--severity", "major",
        "--control", "a.8.2", "--description", "Ticket CS-4411: no reason given to the applicant",
    )  # fmt: skip
    assert result.code == 0, result.all
    year_id = result.out.split("raised ")[1].split(" ")[0]
    assert year_id.startswith("NC-") and year_id.endswith("-001")
    raised = _ledger(tmp_path, "finding.raised")
    assert raised == [
        {
            "id": year_id,
            "title": "Customer was refused a loan with no explanation",
            "severity": "major",
            "clause": "A.8.2",
            "description": "Ticket CS-4411: no reason given to the applicant",
            "source": "cli",
            "system": None,
            "source_type": "complaint",
        }
    ]
    started = _ledger(tmp_path, "run.started")
    assert [(s["workflow"], s["trigger"], s["subject"]["id"]) for s in started] == [
        ("corrective-action", "finding.raised", year_id)
    ]
    listed = ready("findings", "list", "--format", "json")
    rows = json.loads(listed.out)
    assert [(r["finding"], r["source"], r["status"]) for r in rows] == [
        (year_id, "complaint", "open")
    ]
    assert rows[0]["corrective_run"] == started[0]["run"]
    tasks = ready("tasks", "list", "--format", "json")
    assert any(year_id in t["title"] for t in json.loads(tasks.out))


def test_findings_are_numbered_listed_and_counted_per_source(ready):
    for source in ("incident", "monitoring", "incident", "external-audit"):
        assert _raise(ready, source, f"Found by {source}", "--clause", "9.1").code == 0
    rows = json.loads(ready("findings", "list", "--format", "json").out)
    assert [r["finding"][-3:] for r in rows] == ["001", "002", "003", "004"]
    incidents = json.loads(
        ready("findings", "list", "--source", "incident", "--format", "json").out
    )
    assert [r["title"] for r in incidents] == ["Found by incident"] * 2
    counts = json.loads(ready("findings", "count", "--format", "json").out)
    assert {c["source"]: c["findings"] for c in counts} == {
        **dict.fromkeys(SOURCES, 0),
        "incident": 2,
        "monitoring": 1,
        "external-audit": 1,
    }
    assert ready("findings", "list", "--open", "--source", "complaint").out.strip() == (
        "no findings of that source open"
    )


def test_unknown_source_is_refused_with_the_list(ready, tmp_path):
    result = _raise(ready, "rumour", "Heard in the canteen", "--clause", "8.2")
    assert result.code != 0
    assert "unknown source 'rumour'" in result.err
    assert ", ".join(SOURCES) in result.err
    assert not (tmp_path / "aims.db").exists() or _ledger(tmp_path, "finding.raised") == []
    listed = ready("findings", "list", "--source", "rumour")
    assert listed.code != 0 and "incident, complaint" in listed.err


def test_bad_requirement_severity_and_system_are_refused_before_anything_is_written(
    ready, tmp_path
):
    no_requirement = _raise(ready, "incident", "Model served stale weights")
    assert no_requirement.code != 0 and "--clause" in no_requirement.err
    unknown = _raise(ready, "incident", "Model served stale weights", "--control", "A.6.2.9")
    assert unknown.code != 0 and "A.6.2.9" in unknown.err and "did you mean" in unknown.err
    swapped = _raise(ready, "incident", "Model served stale weights", "--clause", "A.6.2.4")
    assert swapped.code != 0 and "--control A.6.2.4" in swapped.err
    severity = ready(
        "findings", "raise", "--source", "incident", "--title", "x", "--severity", "critical",
        "--clause", "8.1",
    )  # fmt: skip
    assert severity.code != 0 and "minor, major" in severity.err
    system = _raise(ready, "incident", "Stale weights", "--clause", "8.1", "--system", "Nope")
    assert system.code != 0 and "no AI system 'Nope'" in system.err
    assert _ledger(tmp_path, "finding.raised") == []
    assert json.loads(ready("findings", "list", "--format", "json").out) == []


INCIDENT_WORKFLOW = """\
id: incident-report
version: 1
title: AI incident report
description: An incident is reported and, when it broke a requirement, raised as a finding.
evidences: ["10.2"]
subject: organisation
trigger:
  manual: true
steps:
  - id: report
    kind: task
    role: engineer
    title: Report the incident
    form:
      - id: summary
        type: text
        label: What happened
      - id: control
        type: text
        label: Control not met
  - id: raise
    kind: spawn
    workflow: corrective-action
    finding:
      title: report.summary
      severity: '"major"'
      clause: report.control
      source: '"incident"'
"""


def test_a_workflow_raises_its_finding_with_the_source_it_names(ready, tmp_path, monkeypatch):
    import shutil

    from aims_workflows.app import shipped_workflows_dir

    folder = tmp_path / "workflows"
    folder.mkdir()
    shutil.copy(shipped_workflows_dir() / "corrective-action.yaml", folder)
    (folder / "incident-report.yaml").write_text(INCIDENT_WORKFLOW)
    monkeypatch.setenv("AIMS_WORKFLOWS", str(folder))
    started = ready("start", "incident-report")
    assert started.code == 0, started.all
    run_id = started.out.split("started run ")[1].split(" ")[0]
    done = ready("tasks", "complete", run_id, "report", "--as", "eve@example.com",
                 "--answer", "summary=Chatbot quoted last year's fees",
                 "--answer", "control=A.6.2.6")  # fmt: skip
    assert done.code == 0, done.all
    rows = json.loads(ready("findings", "list", "--format", "json").out)
    assert [(r["source"], r["severity"], r["clause"]) for r in rows] == [
        ("incident", "major", "A.6.2.6")
    ]
    assert [r["source_type"] for r in _ledger(tmp_path, "finding.raised")] == ["incident"]


def test_a_finding_nothing_would_act_on_is_not_raised(ready, tmp_path, monkeypatch):
    import shutil

    from aims_workflows.app import shipped_workflows_dir

    folder = tmp_path / "workflows"
    folder.mkdir()
    shutil.copy(shipped_workflows_dir() / "review-action.yaml", folder)
    monkeypatch.setenv("AIMS_WORKFLOWS", str(folder))
    result = _raise(ready, "monitoring", "Drift alert ignored", "--clause", "9.1")
    assert result.code != 0
    assert "no workflow starts on a raised finding" in result.err
    assert "finding.raised" in result.err  # the hint says what to add
    assert _ledger(tmp_path, "finding.raised") == []
    assert json.loads(ready("findings", "list", "--format", "json").out) == []


def test_a_finding_about_a_system_names_it_as_the_inventory_does(ready, tmp_path):
    assert ready("systems", "add", "Loan Chatbot", "--owner", "olga@example.com").code == 0
    result = _raise(ready, "monitoring", "Answers drift from the fee table", "--clause", "9.1",
                    "--system", "loan chatbot")  # fmt: skip
    assert result.code == 0, result.all
    (row,) = json.loads(ready("findings", "list", "--format", "json").out)
    assert (row["system"], row["source"]) == ("Loan Chatbot", "monitoring")
    assert _ledger(tmp_path, "finding.raised")[0]["system"] == "Loan Chatbot"


def test_findings_from_every_source_and_the_risk_register_are_in_the_audit_pack(ready, tmp_path):
    import csv
    import io
    import zipfile

    for number, source in enumerate(SOURCES, start=1):
        raised = _raise(ready, source, f"Finding {number} reported by {source}", "--clause", "8.2")
        assert raised.code == 0, raised.all
    assert ready("export", "audit-pack", "--out", "pack.zip").code == 0
    with zipfile.ZipFile(tmp_path / "pack.zip") as pack:
        names = pack.namelist()
        # the pack's findings register: one row per finding, with its kind of source
        [name] = [n for n in names if n.rsplit("/", 1)[-1] == "findings.csv" and "auditor" not in n]
        findings = list(csv.DictReader(io.StringIO(pack.read(name).decode("utf-8"))))
        register = {n.rsplit("/", 1)[-1] for n in names} & {"risks.csv", "risk_treatments.csv"}
    assert sorted(f["source_type"] for f in findings) == sorted(SOURCES)
    assert len(SOURCES) >= 5
    # the register's files are there even before any assessment has recorded a risk
    assert register == {"risks.csv", "risk_treatments.csv"}
