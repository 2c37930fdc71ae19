"""Slack when it is busy or odd: a rate-limited user lookup never turns an eligible approver
into "not an approver" (they are told to try again and nothing is recorded; a stored
submission waits and is applied once Slack answers)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scenarios"))
from test_slack_world import slack_world  # noqa: E402

from aims_workflows.adapters.slack import APPROVE  # noqa: E402

TOM = "tom@example.com"


def test_a_rate_limited_lookup_says_try_again_and_the_click_works_after(tmp_path: Path) -> None:
    with slack_world(tmp_path) as world:
        run_id = world.start_release()
        approval_id = world.approval(run_id)["approval_id"]
        world.slack.ports.directory.forget()  # as after a restart: who is who is asked again
        world.sandbox.faults.rate_limit("users.info", times=1, retry_after=30)

        tom = world.sandbox.person(TOM)
        assert tom.click(world.slack.message_for(TOM, approval_id), APPROVE).ok
        world.pump()
        notice = world.sandbox.ephemerals(TOM)[-1].text
        assert "try again" in notice and "not an approver" not in notice
        # the form was opened first (the trigger id lives 3 seconds; the lookup may take
        # longer), then turned into the same notice, with nothing to submit
        methods = [c.method for c in world.sandbox.calls]
        assert methods.index("views.open") < methods.index("users.info")
        form = world.sandbox.modal(TOM)
        assert form is not None and form.title["text"] == "Not recorded"
        assert "try again" in str(form.blocks) and not form.submit
        assert world.evidence("approval.refused", run_id) == []

        # once Slack answers again, the same click opens the form and the decision counts
        assert world.slack.approve(TOM, approval_id, "Release validated").ok
        world.pump()
        assert [e["actor"] for e in world.evidence("approval.decided", run_id)] == [TOM]
        assert world.evidence("approval.refused", run_id) == []


def test_a_submission_during_a_rate_limit_waits_and_is_recorded_later(tmp_path: Path) -> None:
    with slack_world(tmp_path) as world:
        run_id = world.start_release()
        approval_id = world.approval(run_id)["approval_id"]
        tom = world.sandbox.person(TOM)
        assert tom.click(world.slack.message_for(TOM, approval_id), APPROVE).ok
        world.slack.wait()
        modal = world.sandbox.modal(TOM)
        world.slack.ports.directory.forget()
        world.sandbox.faults.rate_limit("users.info", times=1, retry_after=30)
        assert tom.submit(modal, {"reason_text": "Release validated"}).ok
        world.slack.wait()
        assert world.evidence("approval.decided", run_id) == []
        assert world.evidence("approval.refused", run_id) == []
        assert "not recorded yet" in world.sandbox.ephemerals(TOM)[-1].text

        # the worker's pass over stored decisions applies it once Slack answers
        assert world.slack.integration.pump() == {"applied": 1}
        world.pump()
        assert [e["actor"] for e in world.evidence("approval.decided", run_id)] == [TOM]


def test_the_sandbox_checks_the_command_url_first_and_the_app_answers_200(tmp_path: Path) -> None:
    with slack_world(tmp_path) as world:
        before = world.evidence("approval.requested")
        reply = world.sandbox.person(TOM).command("pending")
        assert reply.ok
        [check] = [d for d in world.sandbox.deliveries if d.kind == "ssl_check"]
        assert check.ok and "X-Slack-Signature" not in check.attempts[0].headers
        assert world.evidence("approval.requested") == before  # nothing written
        world.sandbox.person(TOM).command("pending")  # checked once per URL, as Slack does
        assert len([d for d in world.sandbox.deliveries if d.kind == "ssl_check"]) == 1


def test_a_long_answer_is_cut_to_slacks_limit_with_how_much_is_left_out(tmp_path: Path) -> None:
    with slack_world(tmp_path) as world:
        run_id = world.start_release(summary="Retrained on the 2026 data. " * 300)  # 8,400
        approval_id = world.approval(run_id)["approval_id"]
        message = world.slack.message_for(TOM, approval_id)  # the sandbox took it
        fields = [
            f["text"] for b in message.blocks if b["type"] == "section" for f in b.get("fields", [])
        ]
        [summary] = [f for f in fields if f.startswith("*Summary*")]
        assert len(summary) <= 2000
        assert "more characters" in summary and f"aims runs show {run_id}" in summary


def many_answers_card(count: int, length: int = 1990):
    from aims_workflows.adapters.slack._blocks import Card

    return Card(
        approval_id="A1",
        title="Release " + "x" * 400,
        workflow="model-release",
        subject_type="ai_system",
        subject_name="Support chatbot",
        content_hash="ab" * 32,
        show=tuple((f"Answer {n}", "y" * length) for n in range(count)),
        run_id="R1",
        run_url="https://aims.example.com/dashboard/runs/R1",
    )


def test_any_number_of_answers_fits_in_one_message_slack_accepts() -> None:
    from aims_workflows.adapters.slack._blocks import outcome_blocks, request_blocks
    from aims_workflows.sandbox.slack._blockkit import check_blocks

    card = many_answers_card(1000)
    for blocks in (request_blocks(card, note="n" * 5000), outcome_blocks(card, "approved")):
        assert check_blocks(blocks) == blocks  # the sandbox checks Slack's limits
        assert len(blocks) <= 50
        more = [b for b in blocks if b["type"] == "context" and "more answers" in str(b)]
        assert more and "600 more answers" in str(more[0])
        assert "https://aims.example.com/dashboard/runs/R1" in str(more[0])


def test_the_sandbox_refuses_what_slack_refuses() -> None:
    import pytest
    from slack_sdk.errors import SlackApiError

    from aims_workflows.sandbox.slack import SlackSandbox

    too_long = [{"type": "section", "fields": [{"type": "mrkdwn", "text": "x" * 2001}]}]
    too_many = [{"type": "divider"}] * 51
    wide_button = [
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": "a",
                    "text": {"type": "plain_text", "text": "b" * 76},
                }
            ],
        }
    ]
    with SlackSandbox(users=["tom@example.com"], channels=["general"]) as slack:
        client = slack.client()
        for blocks in (too_long, too_many, wide_button):
            with pytest.raises(SlackApiError) as refused:
                client.chat_postMessage(channel="#general", text="t", blocks=blocks)
            assert refused.value.response["error"] == "invalid_blocks"
        assert client.chat_postMessage(channel="#general", text="fine")["ok"]


def test_aims_status_shows_a_system_only_to_its_owner_and_compliance_roles(
    tmp_path: Path,
) -> None:
    with slack_world(tmp_path) as world:
        world.start_release()
        for who, sees in [
            ("sam@example.com", False),  # nobody in aims
            ("eve@example.com", False),  # an engineer
            ("olga@example.com", True),  # the system's owner
            ("amy@example.com", True),  # the AIMS owner
        ]:
            assert world.sandbox.person(who).command("status Support chatbot").ok
            answer = world.sandbox.ephemerals(who)[-1].text
            assert ("model-release" in answer) is sees, (who, answer)
            assert ("olga@example.com" in answer) is sees, (who, answer)
        # nor does a miss list the names of systems the person may not see
        assert world.sandbox.person("sam@example.com").command("status Nope").ok
        assert "Support chatbot" not in world.sandbox.ephemerals("sam@example.com")[-1].text


def test_a_stored_slack_delivery_that_cannot_be_applied_is_parked(tmp_path: Path) -> None:
    import json

    from aims_workflows.runtime import Delivery

    with slack_world(tmp_path) as world:
        run_id = world.start_release()
        approval_id = world.approval(run_id)["approval_id"]
        user = world.sandbox.user(TOM).id
        decision = {
            "delivery_id": "view:V-odd",
            "user": user,
            "approval_id": approval_id,
            "decision": "approve",
            "reason": "stored by an older version \ud800",  # cannot be hashed as UTF-8
            "content_hash": world.approval(run_id)["content_hash"],
        }
        text = json.dumps(decision)  # escaped, as the inbox keeps it
        assert world.rt.store_delivery(Delivery("slack", "view:V-odd", text))
        assert world.slack.integration.pump() == {"applied": 1}  # parked, not raised
        [parked] = world.rt.parked_deliveries()
        assert parked.id == "view:V-odd" and "UnicodeEncodeError" in parked.reason
        assert world.evidence("approval.decided", run_id) == []
        assert world.slack.approve(TOM, approval_id, "Validated").ok  # the rest goes on
        world.pump()
        assert [e["actor"] for e in world.evidence("approval.decided", run_id)] == [TOM]
