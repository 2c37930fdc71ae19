"""``aims risks list | show`` end to end through the real command: a system registered, its risk
assessment answered with ``aims tasks complete`` and ``aims approvals decide``, then the register
listed in every format, one risk's history shown, overdue treatments found, bad input refused."""

from __future__ import annotations

import csv
import io
import json

import pytest

from aims_workflows.risks.queries import REGISTER_COLUMNS


def _answer(aims, run_id: str, step: str, person: str, answers: dict[str, str]):
    args = [a for key, value in answers.items() for a in ("--answer", f"{key}={value}")]
    return aims("tasks", "complete", run_id, step, "--as", person, *args)


def _runs(aims, workflow: str) -> list[dict]:
    listed = aims("runs", "list", "--format", "json", "--workflow", workflow)
    assert listed.code == 0, listed
    return json.loads(listed.out)


IDENTIFY = {
    "risk_title": "Biased scores for younger applicants",
    "risk_description": "Proxies for age in the features",
    "risk_sources": "bias_fairness,data_quality",
    "affected_parties": "applicants under 25",
    "likelihood": "3",
    "impact": "4",
    "rating_rationale": "validation set shows a gap of 9 points",
    "further_risks": "Scores drift after the rate change",
}
TREAT = {
    "treatment": "mitigate",
    "treatment_plan": "Remove the proxy features and retrain",
    "controls": "A.7.4, A.6.2.4",
    "action_owner": "ed@example.com",
    # already past: the treatment is overdue from the start, whatever the date today
    "target_date": "2020-03-31",
    "residual_likelihood": "2",
    "residual_impact": "3",
    "rationale": "fairness tests in the pipeline",
}


@pytest.fixture
def assessed(ready):
    added = ready("systems", "add", "Credit model", "--owner", "olga@example.com")
    assert added.code == 0, added
    (run,) = _runs(ready, "ai-risk-assessment")
    run_id = run["run"]
    assert _answer(ready, run_id, "identify", "eve@example.com", IDENTIFY).code == 0
    assert _answer(ready, run_id, "treat", "rita@example.com", TREAT).code == 0
    (approval,) = json.loads(ready("approvals", "list", "--format", "json").out)
    decided = ready(
        "approvals", "decide", approval["approval"], "approve",
        "--as", "rita@example.com", "--reason", "plan is sound",
    )  # fmt: skip
    assert decided.code == 0, decided
    return ready, run_id


def test_the_register_lists_each_risk_in_every_format(assessed):
    aims, run_id = assessed
    table = aims("risks", "list")
    assert table.code == 0, table
    assert "RISK-1" in table.out and "Biased scores for younger applicants" in table.out
    assert "overdue" in table.out
    rows = json.loads(aims("risks", "list", "--format", "json").out)
    assert [r["risk_id"] for r in rows] == ["RISK-1"]  # the further risk is not analysed yet
    (risk,) = rows
    assert list(risk) == list(REGISTER_COLUMNS)
    assert (risk["level"], risk["score"], risk["residual"]) == ("medium", 12, "6 (low)")
    assert risk["controls"] == ["A.6.2.4", "A.7.4"] and risk["treatment_status"] == "overdue"
    exported = list(csv.DictReader(io.StringIO(aims("risks", "list", "--format", "csv").out)))
    assert exported[0]["risk_id"] == "RISK-1" and exported[0]["controls"] == "A.6.2.4, A.7.4"
    assert exported[0]["last_run_id"] == run_id
    # the further risk waits in its own analysis task
    (further,) = _runs(aims, "ai-risk")
    assert further["status"] == "running"


def test_show_gives_the_history_and_overdue_lists_late_treatments(assessed):
    aims, run_id = assessed
    shown = aims("risks", "show", "risk-1")
    assert shown.code == 0, shown
    assert "RISK-1 Biased scores for younger applicants  (Credit model)" in shown.out
    assert "identified" in shown.out and "treatment started" in shown.out
    assert "accepted by   rita@example.com (risk_owner)" in shown.out
    as_json = json.loads(aims("risks", "show", "RISK-1", "--format", "json").out)
    assert [e["event"] for e in as_json["history"]] == ["identified", "treatment started"]
    assert as_json["history"][0]["run_id"] == run_id
    (treatment,) = as_json["treatments"]
    assert treatment["due_date"] == "2020-03-31" and treatment["status"] == "overdue"
    late = json.loads(aims("risks", "list", "--overdue", "--format", "json").out)
    assert [(t["risk_id"], t["action_owner"], t["due_date"]) for t in late] == [
        ("RISK-1", "ed@example.com", "2020-03-31")
    ]
    assert late[0]["days_overdue"] > 2000


def test_unknown_ids_and_systems_are_refused_with_close_matches(assessed):
    aims, _ = assessed
    missing = aims("risks", "show", "RISK-11")
    assert missing.code != 0
    assert "no risk 'RISK-11' in the register" in missing.err
    assert "did you mean RISK-1?" in missing.err
    typo = aims("risks", "list", "--system", "Credit modle")
    assert typo.code != 0 and "no AI system 'Credit modle'" in typo.err
    started = aims("start", "ai-risk", "--system", "Credit model", "--input", "risk=RISK-4")
    assert started.code != 0
    assert "RISK-4 is not an open risk of Credit model" in started.err
    assert "did you mean RISK-1?" in started.err


def test_bad_ratings_and_mitigations_without_owner_or_date_are_refused(ready):
    assert ready("systems", "add", "Credit model", "--owner", "olga@example.com").code == 0
    (run,) = _runs(ready, "ai-risk-assessment")
    out_of_range = _answer(
        ready, run["run"], "identify", "eve@example.com", {**IDENTIFY, "likelihood": "6"}
    )
    assert out_of_range.code != 0
    assert (
        "likelihood (Likelihood (1 rare - 5 almost certain)): must be at most 5, not 6."
        in out_of_range.err
    )
    assert _answer(ready, run["run"], "identify", "eve@example.com", IDENTIFY).code == 0
    half = {k: v for k, v in TREAT.items() if k not in ("action_owner", "target_date")}
    refused = _answer(ready, run["run"], "treat", "rita@example.com", half)
    assert refused.code != 0
    assert "action_owner (Person responsible for the plan): an answer is required." in refused.err
    assert "target_date (Plan completed by): an answer is required." in refused.err
    assert json.loads(ready("risks", "list", "--format", "json").out) == []
