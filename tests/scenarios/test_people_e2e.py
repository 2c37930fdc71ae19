"""People across Jira and Slack, as on a real site: Jira hides the e-mail of people whose profile
visibility is private, so who acted is known by accountId and resolved through the directory of
people. Through the real ``jira`` client against the Jira sandbox, signed webhooks into the web
app, and the real Bolt app answering the Slack sandbox's signed clicks; SQLite and PostgreSQL.

* an engineer whose Jira e-mail is hidden cannot approve their own work;
* an approver who changed the answers in Jira cannot approve them (issue 14, defect 6);
* a stranger's completion in Jira is refused and recorded; the task stays open;
* a delegate's decision reads "B for A" in the ledger and on every Slack copy;
* ``aims people sync`` ties people to their Jira and Slack accounts and reports who it could not.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "contract"))
import test_jira_and_slack_e2e as e2e  # noqa: E402
from jira_fixtures import jira_openapi, jira_spec_dict  # noqa: E402,F401
from slack_messages import buttons, text_of
from test_jira_and_slack_e2e import (  # noqa: F401 - fixtures
    ENGINEER,
    IDENTIFY,
    MITIGATE,
    RISK_OWNER,
    TINA,
    TOM,
    assessed_and_treated,
    copies_of,
    jira_and_slack,
    recorder,
)

from aims_workflows.adapters.slack import APPROVE
from aims_workflows.adapters.slack._inbound import SlackDecision
from aims_workflows.engine import Actor

pytestmark = pytest.mark.filterwarnings("ignore:Unsupported scheme type:UserWarning")

AMY = "amy@example.com"
STRANGER = "stan@elsewhere.org"
LOW_RISK = {**IDENTIFY, "likelihood": 2, "impact": 2}
ACCEPT_LOW = {
    "treatment": "accept",
    "residual_likelihood": 2,
    "residual_impact": 2,
    "rationale": "low and understood",
}


def hide_email(world, email: str) -> str:
    """Make ``email`` private in Jira, as most people's are; their accountId."""
    user = world.jira.sandbox.user(email)
    user.email_visible = False
    return user.account_id


def test_an_engineer_whose_jira_email_is_hidden_cannot_approve_their_own_work(
    db_url, database, tmp_path, recorder, monkeypatch
):
    # Eve is an engineer and also sits on the board that accepts high risks
    monkeypatch.setitem(e2e.ROLES, "top_management", [TOM, TINA, ENGINEER])
    with jira_and_slack(db_url, tmp_path, recorder, "ai-risk-assessment") as world:
        account = hide_email(world, ENGINEER)
        run_id, identify, treat = assessed_and_treated(world, MITIGATE)
        # Jira did not say who Eve is: only her accountId reached aims
        assert "emailAddress" not in world.issue(identify)["fields"]["assignee"]
        [done] = [e for e in world.evidence(run_id, "task.completed") if e["step_id"] == "identify"]
        assert (done["actor"], done["via"], done["payload"]["assurance"]) == (
            ENGINEER,
            "jira",
            "verified by jira",
        )
        approval = world.open_approval(run_id)
        assert copies_of(world, ENGINEER, approval["approval_id"]) == []  # not asked
        assert copies_of(world, TOM, approval["approval_id"])
        # she decides anyway, through the Slack app's decision path
        slack_id = world.people.person(ENGINEER).id
        outcome = world.slack.integration.inbox.apply(
            SlackDecision(
                delivery_id="view:V-EVE",
                user=slack_id,
                approval_id=approval["approval_id"],
                decision="approve",
                reason="my own work is fine",
                content_hash=approval["content_hash"],
            )
        )
        world.settle()
        [refused] = [e for e in outcome.transition.evidence if e.kind == "approval.refused"]
        assert refused.actor == ENGINEER
        assert "you completed 'identify'" in refused.payload["reason"]
        assert world.run(run_id) == ("running", "accept_top")
        # a board member who did not do the work accepts it, through the Bolt app
        assert world.slack.approve(TOM, approval["approval_id"], "mitigation is sound").submit
        world.settle()
        [decided] = world.evidence(run_id, "approval.decided")
        assert decided["actor"] == TOM
        with world.app.db.connect() as conn:
            from aims_workflows.store import people

            assert people.find(conn, "jira", account).person_id == ENGINEER


def test_an_approver_who_changed_the_answers_in_jira_may_not_approve_them(
    db_url, database, tmp_path, recorder
):
    with jira_and_slack(db_url, tmp_path, recorder, "ai-risk-assessment") as world:
        hide_email(world, TINA)
        run_id, identify, _ = assessed_and_treated(world, MITIGATE)
        first = world.open_approval(run_id)
        # Tina edits the ratings on the Done issue in Jira (4x4 -> 5x4) ...
        world.jira.answer(identify, {"likelihood": 5}, by=TINA, complete=False)
        world.settle()
        [changed] = world.evidence(run_id, "task.answers_changed")
        assert (changed["actor"], changed["via"]) == (TINA, "jira")
        # ... which asks again; her click on the new card is refused by the Bolt app
        second = world.open_approval(run_id)
        assert second["approval_id"] != first["approval_id"]
        result = world.slack.approve(TINA, second["approval_id"], "looks fine now")
        world.settle()
        refused = [
            e
            for e in world.evidence(run_id, "approval.refused")
            if e["payload"]["approval_id"] == second["approval_id"]
        ]
        assert refused and refused[-1]["actor"] == TINA
        assert "you changed the answers of 'identify'" in refused[-1]["payload"]["reason"]
        assert any("changed the answers" in text for text in result.notices)
        assert world.open_approval(run_id)["approval_id"] == second["approval_id"]


def test_a_strangers_completion_in_jira_is_refused_and_the_task_stays_open(
    db_url, database, tmp_path, recorder, monkeypatch
):
    with jira_and_slack(db_url, tmp_path, recorder, "ai-risk-assessment") as world:
        run_id = e2e.start_risk_assessment(world)
        identify = world.jira.issue_of(run_id, "identify")
        # Tom (top management, not an engineer) answers the engineer's issue in Jira
        world.jira.answer(identify, IDENTIFY, by=TOM)
        world.settle()
        [refused] = world.evidence(run_id, "task.refused")
        assert refused["actor"] == TOM and refused["via"] == "jira"
        assert "needs the role engineer" in refused["payload"]["reason"]
        assert world.run(run_id) == ("running", "identify")
        assert not world.evidence(run_id, "task.completed")
        # and from the CLI, a claim by someone outside the directory
        outcome = world.rt.complete_task(run_id, "identify", IDENTIFY, person=STRANGER)
        [cli] = [e for e in outcome.transition.evidence if e.kind == "task.refused"]
        assert "not in the directory of people" in cli.payload["reason"]
        # Eve, whose task it is, completes it, and the run goes on to its sign-off
        world.jira.answer(identify, IDENTIFY, by=ENGINEER)
        world.settle()
        assert world.run(run_id)[1] == "treat"
        world.jira.answer(world.jira.issue_of(run_id, "treat"), MITIGATE, by=RISK_OWNER)
        world.settle()
        approval = world.open_approval(run_id)
        assert world.slack.approve(TOM, approval["approval_id"], "sound").submit
        world.settle()


def test_a_delegates_decision_reads_b_for_a_in_the_ledger_and_in_slack(
    db_url, database, tmp_path, recorder
):
    with jira_and_slack(db_url, tmp_path, recorder, "ai-risk-assessment") as world:
        world.rt.people.delegate(
            RISK_OWNER, AMY, "risk_owner", world.clock.now() + timedelta(days=14),
            "Rita is on leave", by=Actor(RISK_OWNER, "cli"),
        )  # fmt: skip
        run_id_low = e2e.start_risk_assessment(world)
        world.jira.answer(world.jira.issue_of(run_id_low, "identify"), LOW_RISK, by=ENGINEER)
        world.settle()
        world.jira.answer(world.jira.issue_of(run_id_low, "treat"), ACCEPT_LOW, by=RISK_OWNER)
        world.settle()
        # low risk: the risk owner accepts it; the request reached Amy as Rita's delegate
        approval = world.open_approval(run_id_low)
        [card] = copies_of(world, AMY, approval["approval_id"])
        assert buttons(card) == [APPROVE, "aims_reject"]
        result = world.slack.approve(AMY, approval["approval_id"], "within appetite")
        assert result.submit is not None and result.submit.ok
        world.settle()
        [decided] = world.evidence(run_id_low, "approval.decided")
        assert (decided["actor"], decided["payload"]["on_behalf_of"]) == (AMY, RISK_OWNER)
        assert decided["payload"]["assurance"] == "verified by slack"
        for person in (AMY, RISK_OWNER):
            for copy in copies_of(world, person, approval["approval_id"]):
                assert buttons(copy) == []
        closed = [
            c for p in (AMY, RISK_OWNER) for c in copies_of(world, p, approval["approval_id"])
        ]
        assert closed, "no copy of the request"
        amy, rita = (world.people.person(p).id for p in (AMY, RISK_OWNER))
        for copy in closed:
            assert f"<@{amy}> for <@{rita}> approved" in text_of(copy), text_of(copy)


def test_people_sync_links_jira_and_slack_accounts_and_reports_the_unmatched(
    db_url, database, tmp_path, recorder
):
    with jira_and_slack(db_url, tmp_path, recorder, "ai-risk-assessment") as world:
        hidden = hide_email(world, ENGINEER)
        by = Actor(AMY, "cli", handle="amy")
        jira = world.app.jira.sync_people(by)
        slack = world.app.slack.sync_people(by)
        assert f"{ENGINEER} jira {hidden}" in jira.linked  # found by her full address
        assert any(line.startswith(f"{TOM} slack ") for line in slack.linked)
        # the integration account is in the project's roles and is nobody of the directory
        assert any("AIMS Automation" in line for line in jira.unmatched.get("jira", []))
        shown = world.rt.people.show(ENGINEER)
        assert shown.jira_account_id == hidden and shown.slack_user_id
        again = world.app.jira.sync_people(by)
        assert again.linked == []
        # the linked accounts are who acts from now on
        run_id, _, _ = assessed_and_treated(world, MITIGATE)
        [done] = [e for e in world.evidence(run_id, "task.completed") if e["actor"] == ENGINEER]
        assert done["payload"]["assurance"] == "verified by jira"
        approval = world.open_approval(run_id)
        assert world.slack.approve(TOM, approval["approval_id"], "sound").submit
        world.settle()
        assert world.verify_ledger().ok
