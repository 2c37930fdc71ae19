"""Step-up for a high risk acceptance, as on a real site: the board member's click in Slack
(the real Bolt app answering the Slack sandbox's signed requests) does not count until the same
person confirms it in Jira, with a comment under their own account (Jira sandbox, signed
``comment_created`` webhooks into the web app); SQLite and PostgreSQL.

The shipped risk assessment is used with one option added to its board acceptance:
``step_up: {when: "evaluate.score >= 15"}``."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "contract"))
import test_jira_and_slack_e2e as e2e  # noqa: E402
from jira_fixtures import jira_openapi, jira_spec_dict  # noqa: E402,F401
from slack_messages import buttons, text_of
from test_jira_and_slack_e2e import (  # noqa: F401 - fixtures
    MITIGATE,
    TINA,
    TOM,
    assessed_and_treated,
    copies_of,
    jira_and_slack,
    recorder,
)

from aims_workflows.app import shipped_workflows_dir

pytestmark = pytest.mark.filterwarnings("ignore:Unsupported scheme type:UserWarning")

STEP_UP = '    step_up:\n      when: "evaluate.score >= 15"\n'


@pytest.fixture
def stepped_up_workflows(tmp_path, monkeypatch) -> Path:
    """The shipped risk assessment with a step-up on its board acceptance."""
    folder = tmp_path / "shipped"
    folder.mkdir()
    text = (shipped_workflows_dir() / "ai-risk-assessment.yaml").read_text(encoding="utf-8")
    board = text.index("  - id: accept_top")
    end = text.index("    on_reject: treat\n", board) + len("    on_reject: treat\n")
    (folder / "ai-risk-assessment.yaml").write_text(
        text[:end] + STEP_UP + text[end:], encoding="utf-8"
    )
    monkeypatch.setattr(e2e, "shipped_workflows_dir", lambda: folder)
    return folder


def test_a_high_risk_acceptance_counts_only_once_confirmed_in_jira_by_the_same_person(
    db_url, database, tmp_path, recorder, stepped_up_workflows
):
    site = tmp_path / "site"
    site.mkdir()
    with jira_and_slack(db_url, site, recorder, "ai-risk-assessment") as world:
        run_id, identify, treat = assessed_and_treated(world, MITIGATE)  # inherent score 16
        assert world.run(run_id) == ("running", "accept_top")
        approval = world.open_approval(run_id)
        approval_id = approval["approval_id"]
        [asked] = copies_of(world, TOM, approval_id)
        assert "Above the step-up threshold" in text_of(asked)
        # the score against the threshold, as the condition read it
        # (mrkdwn escapes ">", which Slack shows as ">")
        assert "evaluate.score &gt;= 15 (evaluate.score = 16): above the threshold" in (
            text_of(asked)
        )

        assert world.slack.approve(TOM, approval_id, "the mitigation is sound").submit
        world.settle()
        [step_up] = world.evidence(run_id, "approval.step_up_requested")
        assert step_up["actor"] == TOM and step_up["via"] == "slack"
        assert step_up["payload"]["condition"] == "evaluate.score >= 15"
        code = step_up["payload"]["code"]
        assert code == f"aims confirm {approval_id}"
        assert world.evidence(run_id, "approval.decided") == []
        assert world.run(run_id) == ("running", "accept_top")
        # Tom's copy says what is left to do; Jira carries the request on the issue
        *cards, notice = copies_of(world, TOM, approval_id)
        assert "does not count yet" in text_of(notice) and code in text_of(notice)
        tom_copy = cards[-1]
        assert buttons(tom_copy) == [] and "confirm it in Jira" in text_of(tom_copy)
        issue = step_up["payload"]["issues"][0]
        assert issue in (identify, treat)
        with world.jira.person(TOM) as tom:
            comments = tom.issue(issue)["fields"]["comment"]["comments"]
        assert any(code in str(c["body"]) for c in comments)

        # another board member's confirmation does not count, and is recorded as refused
        with world.jira.person(TINA) as tina:
            tina.comment(issue, code)
        world.settle()
        [refused] = world.evidence(run_id, "approval.refused")
        assert refused["actor"] == TINA and refused["via"] == "jira"
        assert (
            "only the person who approved in Slack can confirm it" in (refused["payload"]["reason"])
        )
        assert world.run(run_id) == ("running", "accept_top")

        # Tom confirms under his own Jira account: now the approval counts
        with world.jira.person(TOM) as tom:
            tom.comment(issue, f"{code} — confirmed, the fee sync is live")
        world.settle()
        [decided] = world.evidence(run_id, "approval.decided")
        assert (decided["actor"], decided["via"]) == (TOM, "jira")
        assert decided["payload"]["reason"] == "the mitigation is sound"
        assert decided["payload"]["assurance"].startswith("stepped up: verified by jira")
        assert world.run(run_id)[1] != "accept_top"
        assert [e["payload"]["outcome"] for e in world.evidence(run_id, "approval.closed")] == [
            "approved"
        ]
