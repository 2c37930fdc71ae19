"""People in the sandbox: signed interaction payloads, slash commands and Events API requests
arriving at a receiver that verifies them with slack_sdk's own ``SignatureVerifier``."""

from __future__ import annotations

import json
import threading
from typing import Any

import httpx
import pytest
from jsonschema import Draft7Validator
from slack_fixtures import (  # noqa: F401  (fixtures)
    Answer,
    Received,
    Receiver,
    SpecRecord,
    _receiver_server,
    clock,
    event_wrapper_schema,
    make_sandbox,
    receiver,
    slack,
    spec_record,
)
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    InputBlock,
    Option,
    PlainTextInputElement,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View as SdkView
from slack_sdk.signature import SignatureVerifier

from aims_workflows.sandbox.slack import SandboxUsageError, SlackSandbox


def post_approval(slack: SlackSandbox, channel: str = "#aims-approvals") -> Any:
    blocks = [
        SectionBlock(block_id="summary", text="*Approve* risk treatment R-7?"),
        ActionsBlock(
            block_id="decision",
            elements=[
                ButtonElement(text="Approve", action_id="approve", value="run-1", style="primary"),
                ButtonElement(text="Reject", action_id="reject", value="run-1", style="danger"),
                StaticSelectElement(
                    action_id="delegate",
                    placeholder="Delegate to",
                    options=[Option(text="Bob", value="bob"), Option(text="Carol", value="carol")],
                ),
            ],
        ),
    ]
    return slack.client().chat_postMessage(channel=channel, text="Approve R-7?", blocks=blocks)


REASON_MODAL = SdkView(
    type="modal",
    callback_id="reject_reason",
    title="Reject R-7",
    submit="Reject",
    private_metadata="run-1",
    notify_on_close=True,
    blocks=[
        InputBlock(
            block_id="reason",
            label="Reason",
            element=PlainTextInputElement(action_id="reason_input", multiline=True),
        ),
        InputBlock(
            block_id="severity",
            label="Severity",
            optional=True,
            element=StaticSelectElement(
                action_id="severity_select",
                options=[Option(text="Minor", value="minor"), Option(text="Major", value="major")],
            ),
        ),
    ],
)


def open_modal_on_click(slack: SlackSandbox, receiver: Receiver) -> None:
    """Make the receiver behave like the app: a click on Reject opens the reason modal."""

    def handler(request: Received) -> Answer | None:
        if request.form and request.payload["type"] == "block_actions":
            slack.client().views_open(trigger_id=request.payload["trigger_id"], view=REASON_MODAL)
        return None

    receiver.handler = handler


# --- block_actions ------------------------------------------------------------------------


def test_click_sends_a_signed_block_actions_payload(
    slack: SlackSandbox, receiver: Receiver
) -> None:
    posted = post_approval(slack)
    alice = slack.person("alice@example.com")
    delivery = alice.click(slack.messages("#aims-approvals")[0], "approve")

    assert delivery.ok and len(receiver.received) == 1
    request = receiver.received[0]
    assert request.signature_ok  # checked by slack_sdk's SignatureVerifier
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert list(request.form) == ["payload"]
    assert request.headers["x-slack-signature"].startswith("v0=")
    assert "x-slack-retry-num" not in request.headers

    payload = request.payload
    ws = slack.workspace
    assert payload["type"] == "block_actions"
    assert payload["user"] == {
        "id": alice.id,
        "username": "alice",
        "name": "alice",
        "team_id": ws.team_id,
    }
    assert payload["api_app_id"] == ws.bot.app_id
    assert payload["token"] == slack.verification_token
    assert payload["container"] == {
        "type": "message",
        "message_ts": posted["ts"],
        "channel_id": posted["channel"],
        "is_ephemeral": False,
    }
    assert payload["trigger_id"] == delivery.trigger_id and payload["trigger_id"].count(".") == 2
    assert payload["team"] == {"id": ws.team_id, "domain": ws.domain}
    assert payload["channel"] == {"id": posted["channel"], "name": "aims-approvals"}
    assert payload["message"]["ts"] == posted["ts"] and payload["message"]["text"] == "Approve R-7?"
    assert payload["state"] == {"values": {}}
    assert payload["response_url"].startswith(slack.url + "/actions/")
    [action] = payload["actions"]
    assert action["action_id"] == "approve" and action["block_id"] == "decision"
    assert action["type"] == "button" and action["value"] == "run-1"
    assert action["text"] == {"type": "plain_text", "text": "Approve", "emoji": True}
    assert float(action["action_ts"]) > 0
    # The message the app gets back is still Block Kit that slack_sdk accepts.
    for raw in payload["message"]["blocks"]:
        Block.parse(raw).validate_json()


def test_choosing_from_a_menu_sends_the_selected_option(
    slack: SlackSandbox, receiver: Receiver
) -> None:
    post_approval(slack)
    slack.person("bob@example.com").click(
        slack.messages("#aims-approvals")[0], "delegate", value="carol"
    )
    [action] = receiver.received[0].payload["actions"]
    assert action["type"] == "static_select"
    assert action["selected_option"] == {
        "text": {"type": "plain_text", "text": "Carol", "emoji": True},
        "value": "carol",
    }
    with pytest.raises(SandboxUsageError, match="no element with action_id 'nope'"):
        slack.person("bob@example.com").click(slack.messages("#aims-approvals")[0], "nope")


def test_click_on_an_ephemeral_message(slack: SlackSandbox, receiver: Receiver) -> None:
    carol = slack.user("carol@example.com").id
    slack.client().chat_postEphemeral(
        channel="#aims-approvals",
        user=carol,
        text="Confirm?",
        blocks=[ActionsBlock(elements=[ButtonElement(text="OK", action_id="ok", value="1")])],
    )
    [ephemeral] = slack.ephemerals("carol@example.com")
    slack.person("carol@example.com").click(ephemeral, "ok")
    payload = receiver.received[0].payload
    assert payload["container"]["is_ephemeral"] is True
    assert payload["container"]["message_ts"] == ephemeral.ts
    assert "message" not in payload


def test_response_url_replaces_the_clicked_message(slack: SlackSandbox, receiver: Receiver) -> None:
    post_approval(slack)
    slack.person("alice@example.com").click(slack.messages("#aims-approvals")[0], "approve")
    response_url = receiver.received[0].payload["response_url"]
    answer = httpx.post(
        response_url,
        json={
            "replace_original": True,
            "text": "Approved by Alice",
            "blocks": [SectionBlock(text="Approved").to_dict()],
        },
    )
    assert answer.json() == {"ok": True}
    [message] = slack.messages("#aims-approvals")
    assert message.text == "Approved by Alice" and message.blocks[0]["text"]["text"] == "Approved"


# --- modals -------------------------------------------------------------------------------


def test_click_trigger_opens_a_modal_and_submit_sends_values(
    slack: SlackSandbox, receiver: Receiver
) -> None:
    open_modal_on_click(slack, receiver)
    post_approval(slack)
    bob = slack.person("bob@example.com")
    bob.click(slack.messages("#aims-approvals")[0], "reject")
    modal = slack.modal("bob@example.com")
    assert modal is not None and modal.callback_id == "reject_reason"

    receiver.handler = None
    delivery = bob.submit(
        modal, {"reason_input": "Residual risk too high", "severity_select": "major"}
    )
    assert delivery.ok
    request = receiver.received[-1]
    assert request.signature_ok
    payload = request.payload
    assert payload["type"] == "view_submission"
    assert payload["user"]["id"] == bob.id and payload["team"]["id"] == slack.workspace.team_id
    assert payload["trigger_id"] and payload["response_urls"] == []
    view = payload["view"]
    assert view["id"] == modal.id and view["callback_id"] == "reject_reason"
    assert view["private_metadata"] == "run-1" and view["root_view_id"] == modal.id
    assert view["app_id"] == slack.workspace.bot.app_id
    assert view["bot_id"] == slack.workspace.bot.bot_id
    assert view["state"]["values"] == {
        "reason": {"reason_input": {"type": "plain_text_input", "value": "Residual risk too high"}},
        "severity": {
            "severity_select": {
                "type": "static_select",
                "selected_option": {
                    "text": {"type": "plain_text", "text": "Major", "emoji": True},
                    "value": "major",
                },
            }
        },
    }
    SdkView(**{k: v for k, v in view.items() if k != "app_installed_team_id"}).validate_json()
    assert slack.modal("bob@example.com") is None  # an empty 200 closes the modal


def test_submit_answered_with_errors_keeps_the_modal_open(
    slack: SlackSandbox, receiver: Receiver
) -> None:
    open_modal_on_click(slack, receiver)
    post_approval(slack)
    bob = slack.person("bob@example.com")
    bob.click(slack.messages("#aims-approvals")[0], "reject")
    receiver.handler = None
    receiver.script(
        Answer(body={"response_action": "errors", "errors": {"reason": "Say why, in a sentence"}})
    )
    modal = slack.modal("bob@example.com")
    bob.submit(modal, {"reason_input": "no"})
    assert slack.modal("bob@example.com").errors == {"reason": "Say why, in a sentence"}
    with pytest.raises(SandboxUsageError, match="required field 'Reason'"):
        bob.submit(modal, {"severity_select": "minor"})
    assert bob.close(modal).payload["type"] == "view_closed"  # notify_on_close was set
    assert slack.modal("bob@example.com") is None


# --- delivery: retries, timeouts, old requests ------------------------------------------------


def test_retries_with_retry_headers_when_the_app_answers_500(
    slack: SlackSandbox, receiver: Receiver
) -> None:
    post_approval(slack)
    receiver.script(Answer(status=500), Answer(status=503))
    delivery = slack.person("alice@example.com").click(
        slack.messages("#aims-approvals")[0], "approve"
    )
    assert delivery.ok and [a.status for a in delivery.attempts] == [500, 503, 200]
    retries = [
        (r.headers.get("x-slack-retry-num"), r.headers.get("x-slack-retry-reason"))
        for r in receiver.received
    ]
    assert retries == [(None, None), ("1", "http_error"), ("2", "http_error")]
    assert all(r.signature_ok for r in receiver.received)
    assert len({r.payload["trigger_id"] for r in receiver.received}) == 1  # the same request


def test_gives_up_after_three_retries_or_when_told_not_to_retry(
    slack: SlackSandbox, receiver: Receiver
) -> None:
    post_approval(slack)
    message = slack.messages("#aims-approvals")[0]
    receiver.script(*[Answer(status=500)] * 4)
    delivery = slack.person("alice@example.com").click(message, "approve")
    assert [a.status for a in delivery.attempts] == [500] * 4 and not delivery.ok
    receiver.script(Answer(status=500, headers={"X-Slack-No-Retry": "1"}))
    assert len(slack.person("alice@example.com").click(message, "approve").attempts) == 1


def test_timeout_is_retried_with_http_timeout(receiver: Receiver, clock) -> None:
    record = SpecRecord()
    # A short acknowledgement window stands in for Slack's 3 s, so the test waits 0.3 s.
    sandbox = make_sandbox(record, app_url=receiver.url, clock=clock, ack_timeout=0.3)
    release = threading.Event()
    first = threading.Event()

    def slow_first(request: Received) -> Answer | None:
        if not first.is_set():
            first.set()
            release.wait(5)  # held until the test has seen the retry
        return None

    receiver.handler = slow_first
    with sandbox:
        post_approval(sandbox)
        delivery = sandbox.person("alice@example.com").click(
            sandbox.messages("#aims-approvals")[0], "approve"
        )
        release.set()
    assert [a.failure for a in delivery.attempts] == ["http_timeout", None]
    assert delivery.attempts[1].headers["X-Slack-Retry-Reason"] == "http_timeout"
    assert delivery.ok and not record.failures


def test_request_signed_six_minutes_ago_is_refused(
    slack: SlackSandbox, receiver: Receiver, clock
) -> None:
    post_approval(slack)
    clock.shift(-360)
    delivery = slack.person("alice@example.com").click(
        slack.messages("#aims-approvals")[0], "approve"
    )
    assert delivery.status == 401 and len(delivery.attempts) == 1  # 4xx is not retried
    request = receiver.received[0]
    assert not request.signature_ok
    # The signature itself is right for its timestamp: only its age makes it invalid.
    stamp = int(request.headers["x-slack-request-timestamp"])
    assert (
        SignatureVerifier(slack.signing_secret).generate_signature(
            timestamp=str(stamp), body=request.body
        )
        == request.headers["x-slack-signature"]
    )


def test_wrong_signing_secret_is_refused(receiver: Receiver) -> None:
    record = SpecRecord()
    with make_sandbox(record, app_url=receiver.url, signing_secret="not-the-apps-secret") as other:
        post_approval(other)
        delivery = other.person("alice@example.com").click(
            other.messages("#aims-approvals")[0], "approve"
        )
    assert delivery.status == 401 and not receiver.received[0].signature_ok


# --- slash commands and the Events API -------------------------------------------------------


def test_slash_command_is_signed_form_and_reply_is_ephemeral(
    slack: SlackSandbox, receiver: Receiver
) -> None:
    receiver.script(
        Answer(
            body={
                "text": "3 approvals waiting for you",
                "blocks": [SectionBlock(text="*3* waiting").to_dict()],
            }
        )
    )
    carol = slack.person("carol@example.com")
    delivery = carol.command("status --mine", channel="#aims-approvals")
    assert delivery.ok
    request = receiver.received[0]
    assert request.signature_ok
    form = request.form
    assert form["command"] == "/aims" and form["text"] == "status --mine"
    assert form["user_id"] == carol.id and form["user_name"] == "carol"
    assert form["channel_id"] == slack.channel_id("#aims-approvals")
    assert form["team_id"] == slack.workspace.team_id and form["api_app_id"]
    assert form["trigger_id"] and form["response_url"].startswith(slack.url + "/actions/")
    [reply] = slack.ephemerals("carol@example.com")
    assert reply.text == "3 approvals waiting for you"
    assert slack.messages("#aims-approvals") == []


def test_app_home_opened_event_and_published_home(slack: SlackSandbox, receiver: Receiver) -> None:
    def publish_home(request: Received) -> Answer | None:
        event = request.json["event"]
        home = SdkView(type="home", blocks=[SectionBlock(text="Nothing waiting for you")])
        slack.client().views_publish(user_id=event["user"], view=home)
        return None

    receiver.handler = publish_home
    alice = slack.person("alice@example.com")
    delivery = alice.open_home()
    assert delivery.ok
    request = receiver.received[0]
    assert request.signature_ok and request.headers["content-type"] == "application/json"
    envelope = request.json
    Draft7Validator(event_wrapper_schema()).validate(envelope)
    assert envelope["type"] == "event_callback" and envelope["event_id"].startswith("Ev")
    event = envelope["event"]
    assert event["type"] == "app_home_opened" and event["user"] == alice.id
    assert event["tab"] == "home" and event["channel"].startswith("D0")
    assert "view" not in event  # nothing published yet
    assert slack.home("alice@example.com").blocks[0]["text"]["text"] == "Nothing waiting for you"
    receiver.handler = None
    again = alice.open_home()
    assert json.loads(again.body)["event"]["view"]["type"] == "home"


def test_people_need_an_app_url() -> None:
    with make_sandbox(SpecRecord()) as sandbox:
        post_approval(sandbox)
        with pytest.raises(SandboxUsageError, match="app_url"):
            sandbox.person("alice@example.com").click(
                sandbox.messages("#aims-approvals")[0], "approve"
            )
        with pytest.raises(SandboxUsageError, match="no user"):
            sandbox.person("zoe@example.com")
