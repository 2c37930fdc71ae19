"""conversations.history in the sandbox, driven by the real ``slack_sdk.WebClient`` over HTTP;
every answer is checked against Slack's spec (with the override list) by the ``slack`` fixture.
The ledger's witness reads its checkpoints back through it."""

from __future__ import annotations

import pytest
from slack_fixtures import (  # noqa: F401  (fixtures)
    _receiver_server,
    clock,
    receiver,
    slack,
    spec_record,
)
from slack_sdk.errors import SlackApiError

from aims_workflows.sandbox.slack import SlackSandbox


def error_of(call) -> str:
    with pytest.raises(SlackApiError) as caught:
        call()
    return caught.value.response["error"]


def test_history_pages_newest_first_with_a_cursor(slack: SlackSandbox, clock) -> None:
    client = slack.client()
    channel = slack.workspace.add_channel("aims-witness").id
    posted = []
    for n in range(5):
        posted.append(client.chat_postMessage(channel=channel, text=f"checkpoint {n}")["ts"])
        clock.shift(1)
    first = client.conversations_history(channel=channel, limit=2)
    assert [m["text"] for m in first["messages"]] == ["checkpoint 4", "checkpoint 3"]
    assert first["has_more"] is True
    seen = [m["ts"] for m in first["messages"]]
    cursor = first["response_metadata"]["next_cursor"]
    while cursor:
        page = client.conversations_history(channel=channel, limit=2, cursor=cursor)
        seen += [m["ts"] for m in page["messages"]]
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        assert page["has_more"] is bool(cursor)
    assert seen == list(reversed(posted))
    older = client.conversations_history(channel=channel, latest=posted[2])
    assert [m["ts"] for m in older["messages"]] == [posted[1], posted[0]]


def test_history_needs_the_channel_id_and_membership(slack: SlackSandbox) -> None:
    client = slack.client()
    slack.workspace.add_channel("private-room", bot_is_member=False)
    closed = slack.workspace.resolve_channel("#private-room").id
    assert error_of(lambda: client.conversations_history(channel="#aims-witness")) == (
        "channel_not_found"
    )
    assert error_of(lambda: client.conversations_history(channel="C00NOSUCH1")) == (
        "channel_not_found"
    )
    assert error_of(lambda: client.conversations_history(channel=closed)) == "not_in_channel"
    empty = slack.workspace.add_channel("quiet").id
    answer = client.conversations_history(channel=empty)
    assert answer["messages"] == [] and answer["has_more"] is False
    assert (
        error_of(lambda: client.conversations_history(channel=empty, cursor="not-a-cursor"))
        == "invalid_cursor"
    )
