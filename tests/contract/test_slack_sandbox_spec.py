"""The spec check itself: it catches wrong answers, each override is needed, every served
method is in the vendor file, and the standalone runner serves a usable sandbox."""

from __future__ import annotations

import io
import re
import threading

import pytest
from slack_fixtures import (  # noqa: F401  (fixtures)
    SPEC_OVERRIDES,
    SlackSpec,
    SpecRecord,
    _receiver_server,
    clock,
    load_web_api_spec,
    make_sandbox,
    receiver,
    slack,
    slack_spec,
    spec_record,
)
from slack_sdk import WebClient

from aims_workflows.sandbox.slack import METHODS, SlackSandbox, run_slack_sandbox

BOT = "B0ABCDEF123"
MESSAGE = {
    "type": "message",
    "text": "hi",
    "ts": "1733000000.000100",
    "user": "U0ABCDEF123",
    "bot_id": BOT,
    "team": "T0ABCDEF123",
}


def test_the_check_catches_answers_that_break_the_spec() -> None:
    spec = slack_spec()
    good = {"ok": True, "channel": "C0ABCDEF123", "ts": "1733000000.000100", "message": MESSAGE}
    assert spec.problems("chat.postMessage", good) == []
    bad_ts = {**good, "ts": "17330000.1"}
    assert any("does not match" in p for p in spec.problems("chat.postMessage", bad_ts))
    extra = {**good, "message": {**MESSAGE, "colour": "red"}}
    assert spec.problems("chat.postMessage", extra)
    assert spec.problems("users.lookupByEmail", {"ok": True, "user": {"id": "U0ABCDEF123"}})
    assert spec.problems("auth.test", {"ok": False, "error": "no_such_error"})
    assert spec.problems("views.open", {"ok": True})  # a view is required after the override


@pytest.mark.parametrize(
    ("override", "method", "body"),
    [
        (
            "items-union-as-anyOf",
            "chat.postMessage",
            {
                "ok": True,
                "channel": "C0ABCDEF123",
                "ts": "1733000000.000100",
                "message": {**MESSAGE, "bot_id": "not-a-bot-id"},
            },
        ),
        ("views-return-view", "views.open", {"ok": True, "view": {"id": "V0ABCDEF123"}}),
        (
            "message-app-id",
            "chat.postMessage",
            {
                "ok": True,
                "channel": "C0ABCDEF123",
                "ts": "1733000000.000100",
                "message": {**MESSAGE, "app_id": "A0ABCDEF123"},
            },
        ),
        (
            "chat-update-blocks-array",
            "chat.update",
            {
                "ok": True,
                "channel": "C0ABCDEF123",
                "ts": "1733000000.000100",
                "text": "x",
                "message": {"text": "x", "blocks": [{"type": "divider", "block_id": "a"}]},
            },
        ),
        (
            "error-codes-since-2020",
            "chat.postMessage",
            {
                "ok": False,
                "error": "invalid_blocks",
                "errors": ["blocks[0]: bad"],
                "response_metadata": {"messages": ["[ERROR] blocks[0]: bad"]},
            },
        ),
    ],
)
def test_each_override_changes_a_verdict(override: str, method: str, body: dict) -> None:
    """The raw file and the overridden one disagree on each sample: no override is idle.

    The first sample is wrong and only the corrected spec sees it; the others are real
    Slack answers that only the raw file refuses.
    """
    raw = SlackSpec(load_web_api_spec(False)).problems(method, body)
    fixed = slack_spec().problems(method, body)
    assert override in {o.name for o in SPEC_OVERRIDES}
    if override in {"items-union-as-anyOf", "views-return-view"}:
        assert raw == [] and fixed != []
    else:
        assert raw != [] and fixed == []


def test_every_served_method_is_in_the_spec() -> None:
    spec = slack_spec()
    for method in METHODS:
        verb, operation = spec.operation(method)
        # The file declares one verb per method (GET for views.open...); Slack accepts both,
        # and so does the sandbox, so only the method's existence is pinned here.
        assert verb in {"get", "post"}
        assert {"200", "default"} <= set(operation["responses"])


def test_the_slack_fixture_checks_every_answer(
    slack: SlackSandbox, spec_record: SpecRecord
) -> None:
    client = slack.client()
    client.auth_test()
    client.users_lookupByEmail(email="alice@example.com")
    assert spec_record.checked == ["auth.test", "users.lookupByEmail"]


def test_a_sandbox_with_a_broken_answer_is_reported() -> None:
    record = SpecRecord()
    sandbox = make_sandbox(record)
    # Break the bot's id the way a careless fixture might: it no longer fits ^B[A-Z0-9]{8,}$.
    sandbox.workspace.bot = type(sandbox.workspace.bot)(
        user_id=sandbox.workspace.bot.user_id, bot_id="bot-1", app_id="A0ABCDEF123", name="aims"
    )
    with sandbox:
        sandbox.client().auth_test()
    assert len(record.failures) == 1 and "bot_id" in record.failures[0]


def test_run_slack_sandbox_prints_how_to_connect() -> None:
    out = io.StringIO()
    stop = threading.Event()
    seen: list[SlackSandbox] = []
    ready = threading.Event()

    def on_ready(sandbox: SlackSandbox) -> None:
        seen.append(sandbox)
        ready.set()

    runner = threading.Thread(
        target=run_slack_sandbox,
        kwargs={
            "out": out,
            "stop": stop,
            "on_ready": on_ready,
            "signing_secret": "s3cret",
            "users": ["zoe@example.com"],
        },
    )
    runner.start()
    try:
        assert ready.wait(10)
        text = out.getvalue()
        api_url = re.search(r"Web API base URL\s+(\S+)", text).group(1)
        token = re.search(r"bot token\s+(xoxb-\S+)", text).group(1)
        assert "s3cret" in text and "zoe@example.com" in text
        client = WebClient(token=token, base_url=api_url)
        assert client.auth_test()["ok"]
        assert client.users_lookupByEmail(email="zoe@example.com")["user"]["name"] == "zoe"
    finally:
        stop.set()
        runner.join(10)
    assert not runner.is_alive()
