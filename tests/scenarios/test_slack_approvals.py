"""Approvals through Slack, end to end: the engine asks, the sandbox's people click and type
their reason, the real Bolt app behind the real HTTP route records the decision, and every
copy of the message ends up showing the outcome."""

from __future__ import annotations

from pathlib import Path

from slack_messages import buttons, text_of
from test_slack_world import OWNER, ROLES, STRANGER, SYSTEM, slack_world

from aims_workflows.adapters.slack import APPROVE, DECISION_CALLBACK

TOM, TINA, EVE = "tom@example.com", "tina@example.com", "eve@example.com"


def test_happy_path_message_modal_decision_and_outcome_on_every_copy(tmp_path: Path) -> None:
    with slack_world(tmp_path) as world:
        run_id = world.start_release(summary="Retrieval index v2", risk=6)
        approval = world.approval(run_id)
        message = world.sandbox.messages(TOM)[-1]
        shown = text_of(message)
        for expected in (
            "Release Support chatbot",
            "model-release",
            SYSTEM,
            "Retrieval index v2",
            "Risk score",
            "6",
            "TASK-1",
            approval["content_hash"][:12],
            "Thu 08 Jan 2026 09:00 UTC",
        ):
            assert expected in shown, expected
        assert world.sandbox.user(EVE).id in shown  # who asked, as a mention
        assert buttons(message) == [APPROVE, "aims_reject"]

        tom = world.sandbox.person(TOM)
        assert tom.click(message, APPROVE).ok
        world.slack.wait()
        modal = world.sandbox.modal(TOM)
        assert (
            modal is not None
            and modal.callback_id == DECISION_CALLBACK
            and modal.title["text"] == "Approve"
        )
        assert tom.submit(
            modal, {"reason_text": "Evaluation results are within the agreed limits"}
        ).ok
        assert world.sandbox.modal(TOM) is None
        world.pump()

        decided = world.evidence("approval.decided", run_id)
        assert [
            (e["actor"], e["via"], e["payload"]["decision"], e["payload"]["reason"])
            for e in decided
        ] == [(TOM, "slack", "approve", "Evaluation results are within the agreed limits")]
        assert decided[0]["payload"]["content_hash"] == approval["content_hash"]
        assert world.run_status(run_id) == ("completed", None)
        for person in (TOM, TINA):
            final = world.sandbox.messages(person)[-1]
            assert buttons(final) == [] and "Approved" in text_of(final), person
            assert "Evaluation results are within the agreed limits" in text_of(final)
        assert world.slack.pending(TINA) == []


def test_rejection_sends_the_work_back_and_a_fresh_request_follows(tmp_path: Path) -> None:
    with slack_world(tmp_path) as world:
        run_id = world.start_release(risk=18)
        first = world.approval(run_id)["approval_id"]
        assert world.slack.reject(TOM, first, "Risk score too high for a public release").ok
        world.pump()
        assert world.run_status(run_id) == ("running", "prepare")
        for person in (TOM, TINA):
            final = [m for m in world.sandbox.messages(person) if first in text_of(m)][-1]
            assert buttons(final) == [] and "Rejected" in text_of(final)

        world.complete(run_id, summary="Retrieval index v2 with output filter", risk=8)
        second = world.approval(run_id)["approval_id"]
        assert second != first
        assert [p.approval_id for p in world.slack.pending(TINA)] == [second]
        assert world.slack.approve(TINA, second, "The filter brings the risk down to 8").ok
        world.pump()
        assert world.run_status(run_id) == ("completed", None)
        reasons = [e["payload"]["reason"] for e in world.evidence("approval.decided", run_id)]
        assert reasons == [
            "Risk score too high for a public release",
            "The filter brings the risk down to 8",
        ]


def test_quorum_all_needs_both_approvers(tmp_path: Path) -> None:
    with slack_world(tmp_path, quorum="all") as world:
        run_id = world.start_release()
        approval_id = world.approval(run_id)["approval_id"]
        assert world.slack.approve(TOM, approval_id, "Fine by me").ok
        world.pump()
        assert world.approval(run_id) is not None  # still open: Tina has not decided
        toms = world.sandbox.messages(TOM)[-1]
        assert buttons(toms) == [] and "You approved" in text_of(toms)
        assert buttons(world.sandbox.messages(TINA)[-1]) == [APPROVE, "aims_reject"]
        # Tom cannot count twice: his buttons are gone; on the Home tab they are not offered either
        assert world.slack.pending(TOM) == []

        assert world.slack.approve(TINA, approval_id, "Agreed").ok
        world.pump()
        assert world.run_status(run_id) == ("completed", None)
        for person in (TOM, TINA):
            final = world.sandbox.messages(person)[-1]
            assert (
                "Approved" in text_of(final)
                and "Fine by me" in text_of(final)
                and "Agreed" in text_of(final)
            )
        closed = world.evidence("approval.closed", run_id)
        assert [e["payload"]["outcome"] for e in closed] == ["approved"]


def test_an_approver_who_did_the_work_is_refused_and_told_why(tmp_path: Path) -> None:
    roles = {**ROLES, "top_management": [TOM, EVE]}  # Eve is an engineer and on the board
    with slack_world(tmp_path, roles=roles, channel="channel") as world:
        run_id = world.start_release(by=EVE)
        approval_id = world.approval(run_id)["approval_id"]
        posted = world.sandbox.messages("#aims-approvals")
        assert len(posted) == 1  # one message in the channel, not a DM per approver
        result = world.slack.approve(EVE, approval_id, "Looks good to me")
        assert result.click.ok and result.submit is None  # refused at the click: no modal
        world.pump()
        refused = world.evidence("approval.refused", run_id)
        assert [(e["actor"], e["payload"]["decision"]) for e in refused] == [(EVE, "approve")]
        assert "segregation of duties" in refused[0]["payload"]["reason"]
        notice = world.sandbox.ephemerals(EVE)[-1].text
        assert "not recorded" in notice and "segregation of duties" in notice
        assert world.evidence("approval.decided", run_id) == []
        assert buttons(world.sandbox.messages("#aims-approvals")[-1]) == [
            APPROVE,
            "aims_reject",
        ]  # nothing else changed


def test_a_strangers_click_is_refused_and_recorded(tmp_path: Path) -> None:
    with slack_world(tmp_path, channel="channel") as world:
        run_id = world.start_release()
        approval_id = world.approval(run_id)["approval_id"]
        result = world.slack.approve(STRANGER, approval_id, "Sure")
        assert result.click.ok and result.submit is None
        world.pump()
        refused = world.evidence("approval.refused", run_id)
        assert [(e["actor"], e["via"]) for e in refused] == [(STRANGER, "slack")]
        assert "not in the directory of people" in refused[0]["payload"]["reason"]
        assert "not in the directory of people" in world.sandbox.ephemerals(STRANGER)[-1].text
        assert world.approval(run_id)["approval_id"] == approval_id  # still open, unchanged

        # the real approver still can
        assert world.slack.approve(TOM, approval_id, "Approved for release").ok
        world.pump()
        assert world.run_status(run_id)[0] == "completed"


def test_content_changed_between_request_and_decision_is_refused_and_re_requested(
    tmp_path: Path,
) -> None:
    with slack_world(tmp_path) as world:
        run_id = world.start_release(risk=6)
        old = world.approval(run_id)
        tom = world.sandbox.person(TOM)
        assert tom.click(world.slack.message_for(TOM, old["approval_id"]), APPROVE).ok
        world.slack.wait()
        modal = world.sandbox.modal(TOM)  # Tom is reading the request ...

        world.rt.update_answers(
            run_id,
            "prepare",
            {"summary": "New retrieval index", "risk_score": 16},
            person=EVE,
            via="jira",
        )  # ... while Eve raises the risk score
        world.pump()
        new = world.approval(run_id)
        assert (
            new["approval_id"] != old["approval_id"] and new["content_hash"] != old["content_hash"]
        )
        stale = [m for m in world.sandbox.messages(TOM) if old["approval_id"] in text_of(m)][-1]
        assert buttons(stale) == [] and "Replaced" in text_of(stale)

        assert tom.submit(modal, {"reason_text": "Risk 6 is acceptable"}).ok
        world.pump()
        refused = world.evidence("approval.refused", run_id)
        assert refused and refused[-1]["actor"] == TOM
        assert "not recorded" in world.sandbox.ephemerals(TOM)[-1].text
        assert world.evidence("approval.decided", run_id) == []

        fresh = world.slack.pending(TOM)
        assert [p.approval_id for p in fresh] == [new["approval_id"]] and fresh[
            0
        ].content_hash == new["content_hash"]
        assert "16" in text_of(world.slack.message_for(TOM, new["approval_id"]))
        assert world.slack.approve(TOM, new["approval_id"], "Risk 16 accepted with monitoring").ok
        world.pump()
        decided = world.evidence("approval.decided", run_id)
        assert [e["payload"]["content_hash"] for e in decided] == [new["content_hash"]]


def test_a_modal_without_a_reason_is_sent_back_and_records_nothing(tmp_path: Path) -> None:
    with slack_world(tmp_path) as world:
        run_id = world.start_release()
        approval_id = world.approval(run_id)["approval_id"]
        tom = world.sandbox.person(TOM)
        tom.click(world.slack.message_for(TOM, approval_id), "aims_reject")
        world.slack.wait()
        modal = world.sandbox.modal(TOM)
        delivery = tom.submit(modal, {"reason_text": "   \n  "})
        assert delivery.ok
        assert delivery.response_json()["response_action"] == "errors"
        still_open = world.sandbox.modal(TOM)
        assert still_open is not None and "reason" in still_open.errors["reason"].lower()
        world.pump()
        assert (
            world.evidence("approval.decided", run_id) == []
            and world.evidence("approval.refused", run_id) == []
        )
        assert tom.submit(still_open, {"reason_text": "Missing the evaluation report"}).ok
        world.pump()
        assert [e["payload"]["decision"] for e in world.evidence("approval.decided", run_id)] == [
            "reject"
        ]


def test_reminder_reposts_and_escalation_tells_the_aims_owner(tmp_path: Path) -> None:
    with slack_world(tmp_path, quorum="all") as world:
        run_id = world.start_release()
        approval_id = world.approval(run_id)["approval_id"]
        assert world.slack.approve(TOM, approval_id, "Fine").ok
        world.pump()
        before_tom, before_tina = (
            len(world.sandbox.messages(TOM)),
            len(world.sandbox.messages(TINA)),
        )

        world.clock.advance(days=1, minutes=1)
        world.rt.tick()
        world.pump()
        tina = world.sandbox.messages(TINA)
        assert len(tina) == before_tina + 1  # reposted below ...
        assert buttons(tina[-2]) == [] and buttons(tina[-1]) == [
            APPROVE,
            "aims_reject",
        ]  # ... one live copy
        assert "Reminder" in text_of(tina[-1])
        assert len(world.sandbox.messages(TOM)) == before_tom  # Tom has decided: no reminder

        world.clock.advance(days=3)
        world.rt.tick()
        world.pump()
        amy = world.sandbox.messages("amy@example.com")
        assert amy and "Escalated to you" in text_of(amy[-1]) and buttons(amy[-1]) == []
        assert "Overdue" in text_of(world.sandbox.messages(TINA)[-1])

        assert world.slack.approve(TINA, approval_id, "Sorry for the delay: approved").ok
        world.pump()
        for person in (TOM, TINA, "amy@example.com"):
            last = world.sandbox.messages(person)[-1]
            assert "Approved" in text_of(last) and buttons(last) == [], person


def test_app_home_and_slash_command(tmp_path: Path) -> None:
    with slack_world(tmp_path) as world:
        run_id = world.start_release()
        approval_id = world.approval(run_id)["approval_id"]
        tina = world.sandbox.person(TINA)
        assert tina.open_home().ok
        world.slack.wait()
        home = world.sandbox.home(TINA)
        assert "Release Support chatbot" in str(home.blocks)

        assert tina.command("pending").ok
        assert "Release Support chatbot" in world.sandbox.ephemerals(TINA)[-1].text
        assert tina.command(f"status {SYSTEM}").ok
        status = world.sandbox.ephemerals(TINA)[-1].text
        assert (
            SYSTEM in status
            and "model-release" in status
            and "sign_off" in status
            and OWNER in status
        )
        assert tina.command("status Nonexistent").ok
        assert "No AI system named" in world.sandbox.ephemerals(TINA)[-1].text

        # deciding from the Home tab works like from the message
        tina.click(home, APPROVE)
        world.slack.wait()
        assert tina.submit(world.sandbox.modal(TINA), {"reason_text": "Approved from Home"}).ok
        world.slack.wait()
        world.pump()
        assert world.run_status(run_id)[0] == "completed"
        assert "Nothing is waiting" in str(world.sandbox.home(TINA).blocks)
        assert tina.command("pending").ok
        assert "Nothing is waiting" in world.sandbox.ephemerals(TINA)[-1].text
        assert approval_id
