"""Posting at most once per (command, slot), against the Slack sandbox over HTTP with the real
``slack_sdk.WebClient`` and intents in a real SQLite database: a post whose process died after
Slack took it and before its ``ts`` was recorded is found in the conversation's history by its
marker (past the first page of history too), and a post that never reached Slack is made once."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from slack_fixtures import (  # noqa: F401  (fixtures)
    _receiver_server,
    clock,
    make_sandbox,
    receiver,
    slack,
    spec_record,
)
from slack_sdk.errors import SlackApiError

from aims_workflows.adapters.slack._posts import Poster, _marked, marker_for
from aims_workflows.sandbox.slack import SlackSandbox
from aims_workflows.sandbox.slack._scopes import APP_SCOPES
from aims_workflows.store import Database
from aims_workflows.store.slack_posts import SlackPostRecords
from aims_workflows.testing import ManualClock

BLOCKS = [{"type": "section", "text": {"type": "mrkdwn", "text": "Please approve"}}]


def _records(tmp_path: Path, clock) -> SlackPostRecords:
    db = Database(f"sqlite:///{tmp_path / 'aims.db'}")
    db.upgrade()
    return SlackPostRecords(db, ManualClock(datetime.fromtimestamp(clock(), UTC)))


def _die_after_posting(slack: SlackSandbox, records, key: str, slot: str, target: str) -> str:
    """What a process killed between the post and its record leaves behind: the intent (with
    the conversation's ID, written down before the post), and the message in Slack carrying
    its marker; returns the message's ts."""
    marker = marker_for(key, slot)
    _, fresh = records.intend(marker, key, slot, target)
    assert fresh
    records.addressed(marker, slack.channel_id(target))
    answer = slack.client().chat_postMessage(
        channel=target, text="Please approve", blocks=_marked(BLOCKS, marker)
    )
    return answer["ts"]


def test_a_post_cut_short_is_found_in_the_history_not_posted_again(
    slack: SlackSandbox, clock, tmp_path: Path
) -> None:
    records = _records(tmp_path, clock)
    channel = slack.workspace.add_channel("aims-approvals").id
    ts = _die_after_posting(slack, records, "R1/sign_off/1/request", "tom@example.com", channel)
    client = slack.client()
    for n in range(250):  # more than a page of history since: the lookup follows the cursor
        client.chat_postMessage(channel=channel, text=f"chatter {n}")
    poster = Poster(client, records)
    found = poster.post("R1/sign_off/1/request", "tom@example.com", channel, "again", BLOCKS)
    assert found == (channel, ts)
    assert sum(1 for m in slack.messages(channel) if m.text == "Please approve") == 1
    assert len(slack.messages(channel)) == 251
    assert poster.made("R1/sign_off/1/request") == {"tom@example.com": (channel, ts)}


def test_a_post_that_never_reached_slack_is_made_once(
    slack: SlackSandbox, clock, tmp_path: Path
) -> None:
    records = _records(tmp_path, clock)
    channel = slack.workspace.add_channel("aims-approvals").id
    key, slot = "R2/notify/1/notify", "amy@example.com"
    records.intend(marker_for(key, slot), key, slot, channel)  # died before posting
    poster = Poster(slack.client(), records)
    first = poster.post(key, slot, channel, "Notice", BLOCKS)
    again = Poster(slack.client(), records).post(key, slot, channel, "Notice", BLOCKS)
    assert first == again
    [message] = slack.messages(channel)
    assert message.ts == first[1]
    assert message.blocks[0]["block_id"] == marker_for(key, slot)  # the marker travels with it
    other = poster.post(key, "rita@example.com", channel, "Notice", BLOCKS)  # another slot
    assert other != first and len(slack.messages(channel)) == 2


def test_a_channel_named_by_name_is_looked_up_by_the_id_of_an_earlier_post(
    slack: SlackSandbox, clock, tmp_path: Path
) -> None:
    records = _records(tmp_path, clock)
    slack.workspace.add_channel("aims-approvals")
    poster = Poster(slack.client(), records)
    channel, _ = poster.post("R3/a/1/request", "#channel", "#aims-approvals", "First", BLOCKS)
    ts = _die_after_posting(slack, records, "R4/a/1/request", "#channel", "#aims-approvals")
    found = Poster(slack.client(), records).post(
        "R4/a/1/request", "#channel", "#aims-approvals", "Second", BLOCKS
    )
    assert found == (channel, ts)
    assert len(slack.messages(channel)) == 2


class _KilledHere(BaseException):
    """The process stops at this line (nothing after it runs, nothing is cleaned up)."""


class _KilledAfterSlackAnswered(SlackPostRecords):
    """The dangerous point: Slack took the message, its ``ts`` is not recorded yet."""

    def posted(self, marker: str, channel: str, ts: str) -> None:
        raise _KilledHere


def test_the_first_post_to_a_channel_set_by_name_is_made_once_across_a_crash(
    slack: SlackSandbox, clock, tmp_path: Path
) -> None:
    # nothing was ever posted to the channel, so no earlier post tells its ID
    channel = slack.workspace.add_channel("risk-approvals").id
    records = _records(tmp_path, clock)
    key = "R5/approve/1/request"
    dying = Poster(slack.client(), _KilledAfterSlackAnswered(records.db, records.clock))
    with pytest.raises(_KilledHere):
        dying.post(key, "#channel", "#risk-approvals", "Please approve", BLOCKS)
    assert len(slack.messages(channel)) == 1  # Slack has it; the database has no ts
    found = Poster(slack.client(), records).post(
        key, "#channel", "#risk-approvals", "Please approve", BLOCKS
    )
    [message] = slack.messages(channel)
    assert found == (channel, message.ts)
    assert Poster(slack.client(), records).made(key) == {"#channel": (channel, message.ts)}


def test_a_private_channel_set_by_name_is_resolved_and_looked_up(
    slack: SlackSandbox, clock, tmp_path: Path
) -> None:
    channel = slack.workspace.add_channel("board-approvals", private=True).id
    records = _records(tmp_path, clock)
    dying = Poster(slack.client(), _KilledAfterSlackAnswered(records.db, records.clock))
    with pytest.raises(_KilledHere):
        dying.post("R6/approve/1/request", "#channel", "#board-approvals", "Approve?", BLOCKS)
    Poster(slack.client(), records).post(
        "R6/approve/1/request", "#channel", "#board-approvals", "Approve?", BLOCKS
    )
    assert len(slack.messages(channel)) == 1


def test_a_token_without_groups_history_is_refused_as_slack_refuses_it(
    receiver, clock, spec_record
) -> None:
    granted = APP_SCOPES - {"groups:history"}
    with make_sandbox(spec_record, app_url=receiver.url, clock=clock, scopes=granted) as slack:
        private = slack.workspace.add_channel("board-approvals", private=True).id
        public = slack.workspace.add_channel("risk-approvals").id
        client = slack.client()
        assert client.conversations_history(channel=public)["ok"]
        with pytest.raises(SlackApiError) as refused:
            client.conversations_history(channel=private)
    answer = refused.value.response
    assert answer["error"] == "missing_scope"
    assert answer["needed"] == "groups:history"
    assert answer["provided"] == ",".join(sorted(granted))
    assert not spec_record.failures, spec_record.failures


def test_without_the_read_scopes_a_name_is_posted_to_by_name(
    receiver, clock, spec_record, tmp_path: Path
) -> None:
    granted = APP_SCOPES - {"channels:read", "groups:read"}
    with make_sandbox(spec_record, app_url=receiver.url, clock=clock, scopes=granted) as slack:
        channel = slack.workspace.add_channel("risk-approvals").id
        posted = Poster(slack.client(), _records(tmp_path, clock)).post(
            "R7/approve/1/request", "#channel", "#risk-approvals", "Approve?", BLOCKS
        )
        assert posted[0] == channel and len(slack.messages(channel)) == 1
        [listing] = [c for c in slack.calls if c.method == "conversations.list"]
    assert listing.response["needed"] == "channels:read"
