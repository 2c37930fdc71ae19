"""``aims approvals decide ID withdraw``: an approver takes back their decision within the
step's withdraw window, from the command line (where cli_decisions allows it)."""

from __future__ import annotations

from pathlib import Path

WORKFLOW = """\
id: policy-sign-off
version: 1
title: Policy sign-off
subject: organisation
steps:
  - id: draft
    kind: task
    role: aims_owner
    title: Draft the policy
    form:
      - id: summary
        type: text
        label: Summary
  - id: sign
    kind: approval
    approvers: [top_management]
    withdraw_within: 1h
    on_reject: draft
"""


def test_withdraw_from_the_cli_reopens_the_request_and_a_second_one_is_refused(
    ready, tmp_path: Path, monkeypatch
):
    folder = tmp_path / "flows"
    folder.mkdir()
    (folder / "policy-sign-off.yaml").write_text(WORKFLOW, encoding="utf-8")
    monkeypatch.setenv("AIMS_WORKFLOWS", str(folder))
    aims = ready
    started = aims("start", "policy-sign-off")
    assert started.code == 0, started
    run_id = next(w for w in started.out.split() if w.startswith("R"))
    done = aims(
        "tasks", "complete", run_id, "draft", "--as", "amy@example.com", "--answer", "summary=v1"
    )
    assert done.code == 0, done
    approval_id = f"{run_id}.sign.1.1"
    decided = aims(
        "approvals", "decide", approval_id, "approve", "--as", "tom@example.com", "--reason", "ok"
    )
    assert decided.code == 0 and "run is running" in decided.out, decided
    withdrawn = aims(
        "approvals",
        "decide",
        approval_id,
        "withdraw",
        "--as",
        "tom@example.com",
        "--reason",
        "wrong version",
    )
    assert withdrawn.code == 0, withdrawn
    assert "withdrew the decision of tom@example.com; the request is open again" in withdrawn.out
    again = aims(
        "approvals", "decide", approval_id, "withdraw", "--as", "tom@example.com", "--reason", "x"
    )
    assert again.code == 1
    assert "you have no decision on this request to withdraw" in again.err
    shown = aims("runs", "show", run_id)
    assert "tom@example.com withdrew their approval of 'sign' via cli: wrong version" in shown.out
