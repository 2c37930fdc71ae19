"""Hostile and malformed HTTP input to every endpoint of ``aims serve``: each answer is a 4xx
with a one-line reason (never a 500, never a traceback), and a request that fails verification
writes nothing."""

from __future__ import annotations

import hashlib
import hmac
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scenarios"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "contract"))
from jira_fixtures import SpecRecorder, jira_openapi, jira_spec_dict  # noqa: E402,F401
from hostile_world import SIGNING_SECRET, hostile_world  # noqa: E402
from test_jira_and_slack_e2e import World  # noqa: E402

from aims_workflows.sandbox.slack import signed_headers  # noqa: E402
from aims_workflows.store.models import Evidence, InboxItem, OutboxItem, Run  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:Unsupported scheme type:UserWarning")
FORM = "application/x-www-form-urlencoded"


@pytest.fixture(scope="module")
def world(tmp_path_factory, jira_openapi) -> Iterator[World]:  # noqa: F811
    tmp = tmp_path_factory.mktemp("hostile")
    url = f"sqlite:///{tmp / 'aims.db'}"
    from aims_workflows.store import Database

    Database(url).upgrade()
    recorder = SpecRecorder(jira_openapi)
    with hostile_world(url, tmp, recorder, "ai-risk-assessment") as w:
        yield w


def counts(world: World) -> tuple[int, ...]:
    with world.app.db.connect() as conn:
        return tuple(
            int(conn.scalar(select(func.count()).select_from(t.__table__)) or 0)
            for t in (Evidence, InboxItem, OutboxItem, Run)
        )


def jira_post(world: World, body: bytes, **headers: str) -> httpx.Response:
    secret = world.app.jira.webhook_secret.encode()
    sig = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    return httpx.post(
        world.web_url + "/jira/webhook",
        content=body,
        headers={"Content-Type": "application/json", "X-Hub-Signature": sig, **headers},
        timeout=30,
    )


def slack_post(world: World, body: bytes, *, content_type: str = FORM, **extra: str) -> httpx.Response:
    headers = {"Content-Type": content_type, **signed_headers(SIGNING_SECRET, int(time.time()), body)}
    headers.update(extra)
    return httpx.post(world.web_url + "/slack/events", content=body, headers=headers, timeout=30)


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def one_line_4xx(answer: httpx.Response) -> None:
    """A 4xx whose reason is one line: the JSON error, or the title of an HTML error page."""
    assert 400 <= answer.status_code < 500, (answer.status_code, answer.text[:300])
    assert "Traceback" not in answer.text and 'File "' not in answer.text
    if answer.headers.get("content-type", "").startswith("text/html"):
        title = answer.text.split("<title>", 1)[1].split("</title>", 1)[0]
        assert title.startswith(str(answer.status_code)) and "\n" not in title
    else:
        reason = answer.json()["error"]
        assert reason and "\n" not in reason, reason


def payload_form(payload: object) -> bytes:
    text = payload if isinstance(payload, str) else json.dumps(payload)
    return urlencode({"payload": text}).encode()


CASES = {
    "jira deeply nested": lambda w: jira_post(w, ('{"webhookEvent":"x","a":' + nested(100_000) + "}").encode()),
    "jira nested object": lambda w: jira_post(w, ('{"a":' * 50_000 + "1" + "}" * 50_000).encode()),
    "slack deeply nested payload": lambda w: slack_post(w, payload_form(nested(100_000))),
    "slack deeply nested json body": lambda w: slack_post(
        w, ('{"type":"event_callback","e":' + nested(100_000) + "}").encode(), content_type="application/json"
    ),
    "slack 400-digit timestamp": lambda w: httpx.post(
        w.web_url + "/slack/events",
        content=b"payload=%7B%7D",
        headers={"Content-Type": FORM, "X-Slack-Request-Timestamp": "9" * 400, "X-Slack-Signature": "v0=00"},
    ),
    "slack payload not json": lambda w: slack_post(w, payload_form("not json")),
    "slack payload a list": lambda w: slack_post(w, payload_form([1, 2])),
    "slack block_actions without actions": lambda w: slack_post(
        w, payload_form({"type": "block_actions", "user": {"id": "U1"}})
    ),
    "slack view_submission without private_metadata": lambda w: slack_post(
        w,
        payload_form(
            {"type": "view_submission", "user": {"id": "U1"}, "view": {"id": "V1", "type": "modal", "callback_id": "aims_reason", "state": {"values": {}}}}
        ),
    ),
    "slack view_submission with non-json private_metadata": lambda w: slack_post(
        w,
        payload_form(
            {"type": "view_submission", "user": {"id": "U1"}, "view": {"id": "V1", "type": "modal", "callback_id": "aims_reason", "private_metadata": "{nope", "state": {"values": {}}}}
        ),
    ),
    "slack 1 MiB body": lambda w: slack_post(w, b"payload=" + b"x" * (1024 * 1024)),
    "jira 1 MiB body": lambda w: jira_post(w, b"{" + b" " * (1024 * 1024) + b"}"),
    "dashboard page digits": lambda w: httpx.get(w.web_url + "/dashboard", params={"page": "9" * 5000}),
    "dashboard page negative": lambda w: httpx.get(w.web_url + "/dashboard", params={"page": "-3"}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_malformed_input_is_a_4xx_with_one_line_and_writes_nothing(world: World, case: str) -> None:
    before = counts(world)
    answer = CASES[case](world)
    one_line_4xx(answer)
    assert counts(world) == before
