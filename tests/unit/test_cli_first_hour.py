"""What a new user meets in the first hour, through the real ``aims`` command: forms found from
the command line, no surprise runs, configuration and workflow errors that fail loud, and lists
that fit 80 columns in every format."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from pathlib import Path

import pytest

from aims_workflows.app import shipped_workflows_dir


def _risk_run(aims) -> str:
    added = aims("systems", "add", "Credit model", "--owner", "olga@example.com")
    assert added.code == 0, added
    listed = aims("runs", "list", "--format", "json", "--workflow", "ai-risk-assessment")
    (run,) = json.loads(listed.out)
    return run["run"]


# -- 4. forms from the command line ---------------------------------------------------------------
def test_tasks_show_lists_the_keys_labels_types_allowed_values_and_what_is_required(ready):
    run_id = _risk_run(ready)
    shown = ready("tasks", "show", run_id, "identify", "--format", "json")
    assert shown.code == 0, shown
    fields = {f["key"]: f for f in json.loads(shown.out)}
    assert (
        fields["risk_title"]["label"] == "Risk title" and fields["risk_title"]["required"] == "yes"
    )
    assert fields["likelihood"]["allowed"] == "whole number 1..5"
    assert "bias_fairness" in fields["risk_sources"]["allowed"]
    assert fields["existing_controls"]["required"] == "no"
    table = ready("tasks", "show", run_id, "identify")
    assert "Risk assessment: identify and analyse a risk of Credit model" in table.out
    assert "{{" not in table.out and f"aims tasks complete {run_id} identify" in table.out
    missing = ready("tasks", "show", run_id, "identfy")
    assert missing.code == 1 and "did you mean 'identify'?" in missing.err


@pytest.mark.parametrize(
    ("given", "meant"),
    [("Risk title", "risk_title"), ("risk_titel", "risk_title"), ("Likelihood", "likelihood")],
)
def test_a_label_or_a_near_miss_gets_did_you_mean(ready, given, meant):
    run_id = _risk_run(ready)
    refused = ready(
        "tasks", "complete", run_id, "identify", "--as", "eve@example.com", "--answer", f"{given}=3"
    )
    assert refused.code == 1
    assert f"'{given}' is not a key of this form: did you mean `{meant}`?" in refused.err
    # nothing recorded: the task is still open
    assert "identify" in ready("tasks", "list").out


def test_missing_answers_are_named_by_key(ready):
    run_id = _risk_run(ready)
    refused = ready(
        "tasks", "complete", run_id, "identify", "--as", "eve@example.com", "--answer", "impact=3"
    )
    assert refused.code == 1
    assert "risk_title (Risk title): an answer is required." in refused.err


def test_an_answers_file_completes_a_long_form(ready, tmp_path):
    run_id = _risk_run(ready)
    template = ready("tasks", "show", run_id, "identify", "--template")
    assert template.code == 0 and "risk_sources: []" in template.out
    answers = tmp_path / "answers.yaml"
    answers.write_text(
        "risk_title: Biased scores\n"
        "risk_description: Proxies for age\n"
        "risk_sources: [bias_fairness, data_quality]\n"
        "affected_parties: applicants\n"
        "likelihood: 2\n"
        "impact: 5\n"
        "rating_rationale: validation set\n",
        encoding="utf-8",
    )
    done = ready(
        "tasks", "complete", run_id, "identify", "--as", "eve@example.com",
        "--answers-file", str(answers), "--answer", "likelihood=3",
    )  # fmt: skip
    assert done.code == 0, done
    assert f"completed identify; run {run_id} is running at 'treat'" in done.out
    bad = tmp_path / "bad.yaml"
    bad.write_text("- a list\n")
    refused = ready(
        "tasks", "complete", run_id, "treat", "--as", "rita@example.com", "--answers-file", str(bad)
    )
    assert refused.code == 1 and "must be a mapping of form keys" in refused.err


# -- 5. no surprise runs --------------------------------------------------------------------------
def test_start_refuses_a_second_open_run_naming_the_open_one(ready):
    run_id = _risk_run(ready)  # registering the system started it
    again = ready("start", "ai-risk-assessment", "--system", "Credit model")
    assert again.code == 1
    assert f"run {run_id} of 'ai-risk-assessment' on 'Credit model' is still open" in again.err
    assert "--again" in again.err
    forced = ready("start", "ai-risk-assessment", "--system", "Credit model", "--again")
    assert forced.code == 0, forced
    listed = json.loads(ready("runs", "list", "--format", "json", "--status", "running").out)
    assert sum(r["workflow"].startswith("ai-risk-assessment") for r in listed) == 2


def test_the_worker_says_what_it_runs_where_and_how_to_stop_it(ready, tmp_path):
    out = ready("worker", "--once").out
    assert f"aims worker: database sqlite:///{tmp_path / 'aims.db'}" in out
    assert "9 workflow(s) (shipped with aims-workflows)" in out
    assert "Jira: not configured; tasks are completed with `aims tasks complete`" in out
    assert "Slack: not configured" in out
    assert "schedule internal-audit: every 365d" in out
    assert "one pass, then exit" in out


# -- 6. configuration and validation that fail loud -----------------------------------------------
def test_a_missing_configuration_file_is_an_error(ready, monkeypatch, tmp_path):
    monkeypatch.setenv("AIMS_CONFIG", str(tmp_path / "aims-prod.yaml"))
    for command in (("runs", "list"), ("start", "internal-audit"), ("worker", "--once")):
        result = ready(*command)
        assert result.code == 1, (command, result)
        assert f"configuration file {tmp_path / 'aims-prod.yaml'} does not exist" in result.err


def test_a_misspelt_role_and_an_unknown_key_in_aims_yaml_get_did_you_mean(ready, tmp_path):
    config = tmp_path / "aims.yaml"
    config.write_text(
        "organisation: Example Ltd\nroles:\n  internal_audtor: [ida@example.com]\n"
        "kpi_target:\n  overdue_tasks: 0\n"
    )
    result = ready("runs", "list")
    assert result.code == 1
    assert (
        "aims.yaml:3:3 roles.internal_audtor: unknown role 'internal_audtor' "
        "(did you mean 'internal_auditor'?)" in result.err
    )
    assert (
        "aims.yaml:4:1 kpi_target: unknown key 'kpi_target' (did you mean 'kpi_targets'?)"
        in result.err
    )
    # a role of one's own that is not near a shipped one is an approver group: accepted
    config.write_text(
        "roles:\n  ai_board: [bea@example.com]\n  internal_auditor: [ida@example.com]\n"
    )
    assert ready("runs", "list").code == 0


def test_unknown_choice_values_are_refused(ready):
    bogus = ready("runs", "list", "--status", "bogus")
    assert bogus.code == 2 and "'bogus' is not one of" in bogus.err
    assert ready("runs", "list", "--format", "xml").code == 2
    assert (
        ready("approvals", "decide", "A-1", "maybe", "--as", "x@example.com", "--reason", "r").code
        == 2
    )


def _broken_workflows(tmp_path: Path) -> Path:
    folder = tmp_path / "wf"
    shutil.copytree(shipped_workflows_dir(), folder)
    text = (folder / "corrective-action.yaml").read_text()
    (folder / "corrective-action.yaml").write_text(text.replace("steps:", "stepz:", 1))
    return folder


def test_validate_reports_every_problem_in_every_file_at_once(aims, tmp_path):
    folder = _broken_workflows(tmp_path)
    text = (folder / "review-action.yaml").read_text()
    # a typo in a key and a wrong step target in the same file: both reported
    text = text.replace("title:", "titel:", 1)
    (folder / "review-action.yaml").write_text(text)
    risk = (folder / "ai-risk-assessment.yaml").read_text()
    target = re.search(r"next: (\w+)", risk)
    assert target
    (folder / "ai-risk-assessment.yaml").write_text(
        risk.replace(target.group(0), "next: nowhere", 1)
    )
    (folder / "management-review.yaml").write_text(
        (folder / "management-review.yaml").read_text().replace("title:", "titel:", 1)
    )
    result = aims("validate", str(folder))
    assert result.code == 1
    err = result.err
    assert "corrective-action.yaml" in err and "unknown key 'stepz'" in err
    assert "review-action.yaml" in err and "unknown key 'titel'" in err
    assert "ai-risk-assessment.yaml" in err and "nowhere" in err
    # the audit's spawn of the broken corrective action is named as such, not "did you mean"
    assert "did you mean 'review-action'" not in err
    assert "workflow 'corrective-action' is not loaded" in err


def test_a_broken_workflow_file_leaves_the_others_working(ready, monkeypatch, tmp_path):
    monkeypatch.setenv("AIMS_WORKFLOWS", str(_broken_workflows(tmp_path)))
    listed = ready("workflows", "--format", "plain")
    assert listed.code == 0
    assert "ai-risk-assessment" in listed.out and "corrective-action" not in listed.out
    assert (
        "corrective-action.yaml is not loaded" in listed.err
        and "missing required key 'steps'" in listed.err
    )
    kpi = ready("kpi", "--format", "json")
    assert kpi.code == 0 and json.loads(kpi.out)["kpis"]
    assert ready("start", "internal-audit").code == 0
    refused = ready("start", "corrective-action", "--finding", "F-1")
    assert refused.code == 1 and "corrective-action.yaml has problems" in refused.err


def test_a_workflow_folder_that_does_not_exist_is_an_error_not_a_fallback(
    ready, monkeypatch, tmp_path
):
    monkeypatch.delenv("AIMS_WORKFLOWS")
    config = tmp_path / "aims.yaml"
    config.write_text(config.read_text() + "workflows: [workflows]\n")
    result = ready("workflows")
    assert result.code == 1
    assert f"workflow folder {tmp_path / 'workflows'} does not exist" in result.err
    assert "workflows: shipped" in result.err


# -- 7. lists in every format, tables that fit 80 columns ----------------------------------------
LISTS = [
    ("runs", "list"),
    ("tasks", "list"),
    ("approvals", "list"),
    ("findings", "list"),
    ("systems", "list"),
    ("evidence", "list"),
    ("workflows",),
    ("catalog",),
    ("kpi",),
]


@pytest.fixture
def busy(ready):
    """Runs at every stage: a risk assessment waiting for the risk owner's approval."""
    run_id = _risk_run(ready)
    answers = ["risk_title=Biased scores for younger applicants", "risk_description=proxies",
               "risk_sources=bias_fairness,data_quality", "affected_parties=applicants",
               "likelihood=2", "impact=5", "rating_rationale=validation set"]  # fmt: skip
    done = ready("tasks", "complete", run_id, "identify", "--as", "eve@example.com",
                 *[a for pair in (("--answer", x) for x in answers) for a in pair])  # fmt: skip
    assert done.code == 0, done
    treat = ["treatment=accept", "residual_likelihood=1", "residual_impact=2", "rationale=low"]
    done = ready("tasks", "complete", run_id, "treat", "--as", "rita@example.com",
                 *[a for pair in (("--answer", x) for x in treat) for a in pair])  # fmt: skip
    assert done.code == 0, done
    return ready, run_id


@pytest.mark.parametrize("command", LISTS, ids=" ".join)
def test_every_list_fits_80_columns_and_speaks_every_format(busy, monkeypatch, command):
    aims, run_id = busy
    monkeypatch.setenv("COLUMNS", "80")
    table = aims(*command)
    assert table.code == 0, table
    assert all(len(line) <= 80 for line in table.out.splitlines()), table.out
    assert "…" not in table.out
    if command[0] in ("runs", "evidence"):
        assert run_id in table.out  # ids whole, on one line
    as_json = aims(*command, "--format", "json")
    assert as_json.code == 0
    parsed = json.loads(as_json.out)
    empty = command == ("findings", "list")  # no audit yet
    assert parsed or empty
    rows = list(csv.reader(io.StringIO(aims(*command, "--format", "csv").out)))
    assert len(rows) >= (1 if empty else 2)
    plain = aims(*command, "--format", "plain").out.splitlines()
    assert (plain or empty) and all("\t" in line for line in plain)


def test_approvals_list_shows_workflow_subject_step_who_may_decide_and_age(busy, monkeypatch):
    aims, run_id = busy
    rows = json.loads(aims("approvals", "list", "--format", "json").out)
    (row,) = rows
    assert row["approval"] == f"{run_id}.accept_owner.1.1"
    assert row["workflow"] == "ai-risk-assessment" and row["subject"] == "Credit model"
    assert row["title"] and "{{" not in row["title"]
    assert row["may_decide"] == "rita@example.com" and row["status"] == "open"
    assert row["age"] == "0m" or row["age"].endswith(("m", "h", "d"))
    monkeypatch.setenv("COLUMNS", "80")
    table = aims("approvals", "list").out
    assert row["approval"] in table and "rita@example.com" in table


def test_an_approval_nobody_may_decide_is_shown_blocked_with_the_fix(busy, tmp_path):
    aims, run_id = busy
    config = tmp_path / "aims.yaml"
    # the risk owner leaves: nobody holds the role the approval is asked of
    config.write_text(re.sub(r"  risk_owner: \[[^\]]*\]\n", "", config.read_text()))
    (row,) = json.loads(aims("approvals", "list", "--format", "json").out)
    assert row["status"].startswith("BLOCKED: nobody holds risk_owner in aims.yaml")
    assert "fix: add someone to roles.risk_owner in aims.yaml" in row["status"]
    assert row["may_decide"] == ""
    assert "BLOCKED" in aims("approvals", "list").out


@pytest.mark.parametrize("part", ["soa", "clauses"])
def test_export_tables_keep_their_status_column_at_80_columns(busy, monkeypatch, part):
    aims, _ = busy
    monkeypatch.setenv("COLUMNS", "80")
    shown = aims("export", part)
    assert shown.code == 0, shown
    assert all(len(line) <= 80 for line in shown.out.splitlines()), shown.out
    assert "…" not in shown.out
    lines = shown.out.splitlines()
    header = " ".join(line for line in lines[: lines.index(next(x for x in lines if x[:1] == "┡"))])
    assert "status" in header and ("control" in header or "clause" in header)
    assert "A.6.2.4" in shown.out or "6.1.2" in shown.out  # ids whole


def test_config_option_names_the_file_and_a_missing_one_is_an_error(ready, tmp_path, monkeypatch):
    import os

    other = tmp_path / "other.yaml"
    other.write_text("organisation: Other Ltd\n")
    monkeypatch.delenv("AIMS_CONFIG")
    shown = ready("--config", str(other), "start", "internal-audit")
    assert shown.code == 0 and "on Other Ltd" in shown.out
    assert "AIMS_CONFIG" not in os.environ  # for this command only
    missing = ready("--config", str(tmp_path / "nope.yaml"), "runs", "list")
    assert missing.code == 1 and "nope.yaml does not exist" in missing.err


def test_schedules_in_aims_yaml_name_scheduled_workflows(ready, tmp_path):
    config = tmp_path / "aims.yaml"
    base = config.read_text()
    config.write_text(base + "schedules:\n  internal-audits: {first_due: 2027-03-01}\n")
    wrong = ready("runs", "list")
    assert wrong.code == 1
    assert "schedules.internal-audits: no workflow 'internal-audits'" in wrong.err
    assert "did you mean 'internal-audit'?" in wrong.err
    config.write_text(base + "schedules:\n  review-action: {first_due: 2027-03-01}\n")
    unscheduled = ready("runs", "list")
    assert unscheduled.code == 1 and "'review-action' has no schedule" in unscheduled.err
    config.write_text(base + "schedules:\n  internal-audit: {first_due: 2027-03-01}\n")
    worker = ready("worker", "--once")
    assert "schedule internal-audit: every 365d, next due 2027-03-01" in worker.out


def test_an_unknown_evidence_kind_is_refused_not_answered_with_nothing(ready):
    assert ready("systems", "add", "Credit model", "--owner", "olga@example.com").code == 0
    refused = ready("evidence", "list", "--kind", "aproval.decided")
    assert refused.code == 2
    assert "'aproval.decided' is not an evidence kind" in refused.err
    assert "did you mean approval.decided" in refused.err
    known_but_absent = ready("evidence", "list", "--kind", "approval.decided")
    assert known_but_absent.code == 0 and "no ledger rows" in known_but_absent.all
