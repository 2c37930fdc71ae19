"""What the Slack adapter sends, checked the way Slack checks it (the sandbox's Block Kit rules
on top of ``slack_sdk.models``), at the edges: long titles, many answers, markup in answers;
and the small parts: the e-mail directory's cache, error translation, secret redaction."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from slack_fixtures import SpecRecord, make_sandbox
from slack_sdk.errors import SlackApiError

from aims_workflows.adapters.slack import Card, Directory, UnknownPerson, redact
from aims_workflows.adapters.slack import _blocks as bk
from aims_workflows.adapters.slack._errors import translate
from aims_workflows.engine.commands import RequestApproval
from aims_workflows.engine.state import Decision
from aims_workflows.errors import PermanentError, RetryableError
from aims_workflows.sandbox.slack import check_blocks, check_view

REQUEST = {
    "approval_id": "R1.accept.1.1",
    "step_id": "accept",
    "workflow": "ai-risk-assessment",
    "title": "Accept residual risk: " + "very long title " * 20,
    "approvers": ["risk_owner"],
    "quorum": 2,
    "channel": "direct",
    "content_hash": "ab" * 32,
    "issues": ["AIMS-7", "AIMS-9"],
    "due_at": "2026-01-10T09:00:00.000000Z",
    "subject": {
        "type": "ai_system",
        "id": "7",
        "name": "Credit <scoring> & co",
        "owner": "o@example.com",
    },
    "show": {
        f"Answer {n}": (
            "x" * 3000 if n == 0 else ["a", "b"] if n == 1 else None if n == 2 else f"<@U123> & {n}"
        )
        for n in range(23)
    },
    "asked_by": ["eve@example.com"],
}


def card() -> Card:
    request = RequestApproval(key="R1/R1.accept.1.1/request", run_id="R1", **REQUEST)
    return Card.from_request(request, lambda key: f"https://example.atlassian.net/browse/{key}")


def test_every_message_and_view_passes_slacks_checks_at_the_limits() -> None:
    c = card()
    for blocks in (
        bk.request_blocks(c),
        bk.request_blocks(c, note="Reminder"),
        bk.outcome_blocks(
            c,
            "approved",
            [
                Decision(
                    person="a@example.com",
                    decision="approve",
                    reason="<fine> & good",
                    at=datetime(2026, 1, 5, 9, tzinfo=UTC),
                )
            ],
        ),
        bk.decided_blocks(c, "a@example.com", "reject", "no"),
        bk.escalation_blocks(c, "Escalated"),
    ):
        assert check_blocks(blocks) == blocks and len(blocks) <= 50
    header = bk.request_blocks(c)[0]
    assert header["type"] == "header" and len(header["text"]["text"]) <= 150
    text = json.dumps(bk.request_blocks(c))
    assert (
        "Credit &lt;scoring&gt; &amp; co" in text and "<@U123>" not in text
    )  # answers cannot ping people
    assert "<https://example.atlassian.net/browse/AIMS-7|AIMS-7>" in text and "abababababab" in text
    modal = bk.decision_modal(c.title, "reject", {"a": c.approval_id}, c.content_hash).to_dict()
    assert check_view(modal, expected_type="modal")["callback_id"] == bk.DECISION_CALLBACK
    home = bk.home_view([c] * 20).to_dict()
    assert check_view(home, expected_type="home") and len(home["blocks"]) <= 100


def test_card_survives_its_round_trip_through_the_outbox() -> None:
    c = card()
    again = Card.from_metadata(json.loads(json.dumps(c.to_metadata())))
    assert again == c
    assert bk.parse_button_value(bk.button_value(c.approval_id, c.content_hash)) == (
        c.approval_id,
        c.content_hash,
    )
    assert bk.parse_button_value("junk") is None and bk.parse_button_value(None) is None


def test_directory_caches_hits_not_misses_and_names_everyone_missing() -> None:
    record = SpecRecord()
    with make_sandbox(record) as slack:
        directory = Directory(slack.client())
        assert directory.user_id("Alice@Example.com") == slack.user("alice@example.com").id
        assert directory.user_id("alice@example.com") == slack.user("alice@example.com").id
        assert len(slack.calls_to("users.lookupByEmail")) == 1
        with pytest.raises(UnknownPerson) as caught:
            directory.user_ids(["zed@example.com", "bob@example.com", "yan@example.com"])
        assert caught.value.emails == ["yan@example.com", "zed@example.com"] and "aims.yaml" in str(
            caught.value
        )
        slack.add_user("zed@example.com")
        assert directory.user_id("zed@example.com")  # a miss was not remembered
        bob = slack.user("bob@example.com").id
        assert (
            Directory(slack.client()).email(bob) == "bob@example.com"
        )  # who clicked, by users.info
    assert not record.failures


def test_errors_are_translated_by_whether_trying_again_helps() -> None:
    class Answer(dict):
        def __init__(self, body, status, headers=None):
            super().__init__(body)
            self.status_code, self.headers = status, headers or {}

    limited = translate(
        "chat.postMessage",
        SlackApiError(
            "x", Answer({"ok": False, "error": "ratelimited"}, 429, {"Retry-After": "7"})
        ),
    )
    assert isinstance(limited, RetryableError) and limited.retry_after == 7.0
    assert isinstance(
        translate(
            "chat.update", SlackApiError("x", Answer({"ok": False, "error": "internal_error"}, 200))
        ),
        RetryableError,
    )
    bad = translate(
        "chat.postMessage",
        SlackApiError("x", Answer({"ok": False, "error": "not_in_channel"}, 200)),
    )
    assert isinstance(bad, PermanentError) and "/invite" in str(bad)
    assert isinstance(translate("auth.test", ConnectionRefusedError("refused")), RetryableError)
    assert (
        redact("token xoxb-123-456-abcDEF and xapp-1-A0-xyz")
        == "token xox?-[redacted] and xox?-[redacted]"
    )
