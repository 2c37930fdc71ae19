"""The sandbox's Web API, driven by the real ``slack_sdk.WebClient`` over HTTP.

Every answer is checked against Slack's spec by the ``slack`` fixture (see slack_fixtures).
"""

from __future__ import annotations

import json
import re

import httpx
import pytest
from slack_fixtures import (  # noqa: F401  (fixtures)
    _receiver_server,
    clock,
    receiver,
    slack,
    spec_record,
)
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    PlainTextInputElement,
    SectionBlock,
)
from slack_sdk.models.views import View as SdkView

from aims_workflows.sandbox.slack import SlackSandbox

TS = re.compile(r"^\d{10}\.\d{6}$")


def approval_blocks(run: str = "run-1") -> list[Block]:
    """An approval message as the app builds it, with slack_sdk models."""
    return [
        HeaderBlock(text="Approve risk treatment R-7"),
        SectionBlock(block_id="summary", text="*Residual risk:* medium\n*Owner:* <@U0ALICE>"),
        DividerBlock(),
        ActionsBlock(
            block_id="decision",
            elements=[
                ButtonElement(text="Approve", action_id="approve", value=run, style="primary"),
                ButtonElement(text="Reject", action_id="reject", value=run, style="danger"),
            ],
        ),
    ]


def reason_modal(callback_id: str = "reason") -> SdkView:
    return SdkView(
        type="modal",
        callback_id=callback_id,
        title="Reason",
        submit="Send",
        private_metadata="run-1",
        blocks=[
            InputBlock(
                block_id="reason",
                label="Why?",
                element=PlainTextInputElement(action_id="reason_input", multiline=True),
            )
        ],
    )


def error_of(call) -> tuple[str, int]:
    with pytest.raises(SlackApiError) as caught:
        call()
    return caught.value.response["error"], caught.value.response.status_code


# --- authentication -----------------------------------------------------------------------


def test_auth_test_answers_bot_identity_with_realistic_ids(slack: SlackSandbox) -> None:
    answer = slack.client().auth_test()
    assert answer["ok"] is True
    assert re.fullmatch(r"T0[A-Z0-9]{9}", answer["team_id"])
    assert re.fullmatch(r"U0[A-Z0-9]{9}", answer["user_id"])
    assert re.fullmatch(r"B0[A-Z0-9]{9}", answer["bot_id"])
    assert answer["url"].startswith("https://") and answer["url"].endswith(".slack.com/")
    assert slack.bot_token.startswith("xoxb-")
    assert slack.calls_to("auth.test")[0].token_in == "header"


def test_token_may_come_in_form_body_or_query(slack: SlackSandbox) -> None:
    client = WebClient(base_url=slack.api_url)  # no token: no Authorization header
    by_form = client.api_call("auth.test", data={"token": slack.bot_token})
    # slack_sdk always POSTs; plain GET with a query string is what curl users send.
    by_query = httpx.get(slack.api_url + "auth.test", params={"token": slack.bot_token}).json()
    assert by_form["ok"] and by_query["ok"]
    calls = slack.calls_to("auth.test")
    assert [(c.http_method, c.token_in) for c in calls] == [("POST", "body"), ("GET", "query")]


def test_missing_and_bad_tokens(slack: SlackSandbox) -> None:
    assert error_of(lambda: WebClient(base_url=slack.api_url).auth_test()) == ("not_authed", 200)
    bad = WebClient(token="xoxb-1-2-nope", base_url=slack.api_url)
    assert error_of(bad.auth_test) == ("invalid_auth", 200)
    assert error_of(lambda: bad.chat_postMessage(channel="#aims-approvals", text="x")) == (
        "invalid_auth",
        200,
    )


def test_token_inside_a_json_body_is_ignored_as_slack_does(slack: SlackSandbox) -> None:
    answer = httpx.post(slack.api_url + "auth.test", json={"token": slack.bot_token})
    assert answer.json() == {"ok": False, "error": "not_authed"}


def test_bad_request_bodies(slack: SlackSandbox) -> None:
    headers = {"Authorization": f"Bearer {slack.bot_token}", "Content-Type": "application/json"}
    url = slack.api_url + "chat.postMessage"
    assert httpx.post(url, content=b"{nope", headers=headers).json()["error"] == "invalid_json"
    assert httpx.post(url, content=b"[1]", headers=headers).json()["error"] == "json_not_object"
    unknown = httpx.post(slack.api_url + "chat.nope", headers=headers)
    assert unknown.status_code == 404 and unknown.json()["error"] == "unknown_method"


# --- messages -----------------------------------------------------------------------------


def test_post_message_json_and_form_bodies(slack: SlackSandbox) -> None:
    client = slack.client()
    blocks = approval_blocks()
    by_json = client.chat_postMessage(channel="#aims-approvals", text="Approve R-7?", blocks=blocks)
    by_form = client.api_call(
        "chat.postMessage",
        data={
            "channel": by_json["channel"],
            "text": "Approve R-8?",
            "blocks": json.dumps([b.to_dict() for b in blocks]),
        },
    )
    assert [c.content_type for c in slack.calls_to("chat.postMessage")] == [
        "application/json",
        "application/x-www-form-urlencoded",
    ]
    for answer in (by_json, by_form):
        assert re.fullmatch(r"C0[A-Z0-9]{9}", answer["channel"])
        assert TS.match(answer["ts"])
        assert answer["message"]["app_id"] == slack.workspace.bot.app_id
    stored = slack.messages("#aims-approvals")
    assert [m.text for m in stored] == ["Approve R-7?", "Approve R-8?"]
    assert stored[0].ts < stored[1].ts
    for message in stored:
        # What people see is still valid Block Kit, now with a block_id on every block.
        for raw in message.blocks:
            Block.parse(raw).validate_json()
            assert raw["block_id"]
        assert message.blocks[3]["elements"][0]["action_id"] == "approve"


def test_post_to_a_user_id_writes_to_the_dm(slack: SlackSandbox) -> None:
    client = slack.client()
    alice = client.users_lookupByEmail(email="alice@example.com")["user"]["id"]
    answer = client.chat_postMessage(channel=alice, text="You have an approval waiting")
    assert answer["channel"].startswith("D0")
    assert slack.messages("alice@example.com")[0].text == "You have an approval waiting"


def test_post_message_errors(slack: SlackSandbox) -> None:
    client = slack.client()
    assert error_of(lambda: client.chat_postMessage(channel="#nowhere", text="x"))[0] == (
        "channel_not_found"
    )
    with pytest.warns(UserWarning, match="text"):  # slack_sdk warns too, before sending
        assert error_of(lambda: client.chat_postMessage(channel="#aims-approvals"))[0] == "no_text"
    slack.add_channel("private-ish", bot_is_member=False)
    assert error_of(lambda: client.chat_postMessage(channel="#private-ish", text="x"))[0] == (
        "not_in_channel"
    )


@pytest.mark.parametrize(
    "blocks",
    [
        [{"type": "section"}],  # neither text nor fields
        [{"type": "carousel", "text": "x"}],  # no such block type
        [{"type": "section", "text": {"type": "mrkdwn", "text": "x"}, "colour": "red"}],
        [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}],
        [{"type": "divider", "block_id": "a"}, {"type": "divider", "block_id": "a"}],
        [{"type": "divider"}] * 51,
    ],
    ids=["no-text", "unknown-type", "unknown-property", "too-long", "duplicate-id", "too-many"],
)
def test_invalid_blocks_are_refused(slack: SlackSandbox, blocks: list) -> None:
    with pytest.raises(SlackApiError) as caught:
        slack.client().chat_postMessage(channel="#aims-approvals", text="x", blocks=blocks)
    assert caught.value.response["error"] == "invalid_blocks"


@pytest.mark.parametrize(
    "text", ['[{"type": "divider"', "1" * 5000], ids=["cut-short", "too-many-digits"]
)
def test_blocks_that_are_not_json_are_invalid_blocks(slack: SlackSandbox, text: str) -> None:
    with pytest.raises(SlackApiError) as caught:
        slack.client().chat_postMessage(channel="#aims-approvals", text="x", blocks=text)
    assert caught.value.response["error"] == "invalid_blocks"
    assert caught.value.response["errors"][0].startswith("not valid JSON: ")
    assert caught.value.response["response_metadata"]["messages"][0].startswith("[ERROR]")
    assert slack.messages("#aims-approvals") == []


def test_update_message_and_its_errors(slack: SlackSandbox) -> None:
    client = slack.client()
    posted = client.chat_postMessage(
        channel="#aims-approvals", text="Approve?", blocks=approval_blocks()
    )
    done = [SectionBlock(text=":white_check_mark: Approved by <@U0ALICE>")]
    updated = client.chat_update(
        channel=posted["channel"], ts=posted["ts"], text="Approved", blocks=done
    )
    assert updated["ts"] == posted["ts"] and updated["text"] == "Approved"
    [message] = slack.messages("#aims-approvals")
    assert message.text == "Approved" and message.blocks[0]["text"]["text"].startswith(":white")
    assert (
        error_of(
            lambda: client.chat_update(channel=posted["channel"], ts="1700000000.000001", text="x")
        )[0]
        == "message_not_found"
    )
    assert error_of(
        lambda: client.chat_update(
            channel=posted["channel"], ts=posted["ts"], text="x", blocks=[{"type": "nope"}]
        )
    )[0] == ("invalid_blocks")


def test_ephemeral_messages_per_user(slack: SlackSandbox) -> None:
    client = slack.client()
    bob = slack.user("bob@example.com").id
    answer = client.chat_postEphemeral(
        channel="#aims-approvals", user=bob, text="Only you can see this"
    )
    assert TS.match(answer["message_ts"])
    assert [e.text for e in slack.ephemerals("bob@example.com")] == ["Only you can see this"]
    assert slack.ephemerals("alice@example.com") == []
    outsider = slack.add_user("dave@example.com")
    slack.add_channel("quiet")
    slack.workspace.conversations[slack.channel_id("#quiet")].members.discard(outsider.id)
    assert (
        error_of(lambda: client.chat_postEphemeral(channel="#quiet", user=outsider.id, text="x"))[0]
        == "user_not_in_channel"
    )


# --- people and conversations ---------------------------------------------------------------


def test_users_lookup_and_info(slack: SlackSandbox) -> None:
    client = slack.client()
    found = client.users_lookupByEmail(email="Alice@Example.com")["user"]
    assert found["profile"]["email"] == "alice@example.com" and found["name"] == "alice"
    assert client.users_info(user=found["id"])["user"]["id"] == found["id"]
    assert error_of(lambda: client.users_lookupByEmail(email="zoe@example.com"))[0] == (
        "users_not_found"
    )
    assert error_of(lambda: client.users_info(user="U0NOBODY00"))[0] == "user_not_found"
    # slack_sdk sends these as form fields, where the JSON-bodied chat.* calls use JSON.
    assert slack.calls_to("users.lookupByEmail")[0].content_type == (
        "application/x-www-form-urlencoded"
    )


def test_conversations_open_dm(slack: SlackSandbox) -> None:
    client = slack.client()
    carol = slack.user("carol@example.com").id
    first = client.conversations_open(users=carol)
    again = client.conversations_open(users=[carol], return_im=True)
    assert re.fullmatch(r"D0[A-Z0-9]{9}", first["channel"]["id"])
    assert again["channel"]["id"] == first["channel"]["id"] and again["already_open"] is True
    assert again["channel"]["user"] == carol and again["channel"]["is_im"] is True
    assert error_of(lambda: client.api_call("conversations.open"))[0] == "users_list_not_supplied"
    assert error_of(lambda: client.conversations_open(users="U0NOBODY00"))[0] == "user_not_found"


# --- views ----------------------------------------------------------------------------------


def test_views_publish_sets_app_home(slack: SlackSandbox) -> None:
    client = slack.client()
    alice = slack.user("alice@example.com").id
    home = SdkView(type="home", blocks=[SectionBlock(text="*Your approvals*: none")])
    first = client.views_publish(user_id=alice, view=home)["view"]
    assert re.fullmatch(r"V0[A-Z0-9]{9}", first["id"]) and first["type"] == "home"
    assert slack.home("alice@example.com").blocks[0]["text"]["text"] == "*Your approvals*: none"
    assert slack.home("bob@example.com") is None
    second = client.views_publish(user_id=alice, view=home, hash=first["hash"])["view"]
    assert second["id"] == first["id"] and second["hash"] != first["hash"]
    assert (
        error_of(lambda: client.views_publish(user_id=alice, view=home, hash=first["hash"]))[0]
        == "hash_conflict"
    )
    assert error_of(lambda: client.views_publish(user_id=alice, view={"type": "home"}))[0] == (
        "invalid_arguments"
    )


def test_views_open_needs_a_trigger_id(slack: SlackSandbox) -> None:
    client = slack.client()
    assert (
        error_of(lambda: client.views_open(trigger_id="123.456.abc", view=reason_modal()))[0]
        == "invalid_trigger_id"
    )


def test_trigger_ids_are_single_use_and_expire(slack: SlackSandbox, clock) -> None:
    client = slack.client()
    alice = slack.user("alice@example.com").id
    fresh = slack.workspace.issue_trigger(alice)
    opened = client.views_open(trigger_id=fresh.id, view=reason_modal())["view"]
    assert opened["type"] == "modal" and opened["root_view_id"] == opened["id"]
    assert slack.modal("alice@example.com").id == opened["id"]
    assert error_of(lambda: client.views_open(trigger_id=fresh.id, view=reason_modal()))[0] == (
        "exchanged_trigger_id"
    )
    stale = slack.workspace.issue_trigger(alice)
    clock.shift(3.5)
    assert error_of(lambda: client.views_open(trigger_id=stale.id, view=reason_modal()))[0] == (
        "expired_trigger_id"
    )


def test_views_update_by_id_or_external_id(slack: SlackSandbox) -> None:
    client = slack.client()
    alice = slack.user("alice@example.com").id
    modal = reason_modal()
    modal.external_id = "approval-run-1"
    opened = client.views_open(trigger_id=slack.workspace.issue_trigger(alice).id, view=modal)
    view_id, old_hash = opened["view"]["id"], opened["view"]["hash"]
    by_external = client.views_update(external_id="approval-run-1", view=modal, hash=old_hash)
    assert by_external["view"]["id"] == view_id
    thanks = SdkView(type="modal", title="Thanks", blocks=[SectionBlock(text="Recorded.")])
    by_id = client.views_update(view_id=view_id, view=thanks)["view"]
    assert by_id["id"] == view_id and by_id["title"]["text"] == "Thanks"
    assert slack.modal("alice@example.com").title["text"] == "Thanks"
    assert (
        error_of(lambda: client.views_update(view_id=view_id, view=thanks, hash=old_hash))[0]
        == "hash_conflict"
    )
    assert error_of(lambda: client.views_update(view_id="V0NOPE00000", view=thanks))[0] == (
        "not_found"
    )
    no_submit = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "T"},
        "blocks": reason_modal().to_dict()["blocks"],
    }
    assert error_of(lambda: client.views_update(view_id=view_id, view=no_submit))[0] == (
        "invalid_arguments"
    )


# --- faults -----------------------------------------------------------------------------------


def test_rate_limit_answers_429_with_retry_after(slack: SlackSandbox) -> None:
    client = slack.client()  # default retry handlers do not retry 429, so nothing sleeps
    slack.faults.rate_limit("chat.postMessage", times=1, retry_after=1)
    with pytest.raises(SlackApiError) as caught:
        client.chat_postMessage(channel="#aims-approvals", text="x")
    response = caught.value.response
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"
    assert response["error"] == "ratelimited"
    assert client.chat_postMessage(channel="#aims-approvals", text="x")["ok"]
    assert [c.status for c in slack.calls_to("chat.postMessage")] == [429, 200]


def test_armed_errors_fail_the_next_calls_only(slack: SlackSandbox) -> None:
    client = slack.client()
    slack.faults.fail("users.lookupByEmail", "fatal_error", times=2)
    for _ in range(2):
        assert error_of(lambda: client.users_lookupByEmail(email="alice@example.com"))[0] == (
            "fatal_error"
        )
    assert client.users_lookupByEmail(email="alice@example.com")["ok"]
    assert slack.faults.pending("users.lookupByEmail") == 0
