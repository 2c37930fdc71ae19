"""The Slack sandbox's browser pages against a real ``slack_bolt`` app: a person's page shows
Block Kit from the app, and pressing its buttons and submitting its modal send the signed
requests Slack sends, which bolt verifies and answers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from slack_bolt import App
from slack_bolt.adapter.starlette import SlackRequestHandler
from slack_fixtures import SIGNING_SECRET, SpecRecord, make_sandbox
from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    SectionBlock,
)
from slack_sdk.models.views import View
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route

from aims_workflows.sandbox._server import BackgroundServer
from aims_workflows.sandbox.slack import SlackSandbox, verify

FORM = {"content-type": "application/x-www-form-urlencoded"}
REASON = View(
    type="modal",
    callback_id="reason",
    title="Approve",
    submit="Approve",
    private_metadata="run-7",
    blocks=[
        InputBlock(
            block_id="why",
            label="Reason",
            element=PlainTextInputElement(action_id="text", multiline=True),
        )
    ],
)


def _bolt(sandbox: SlackSandbox, seen: dict[str, Any]) -> App:
    app = App(
        token=sandbox.bot_token,
        signing_secret=SIGNING_SECRET,
        client=sandbox.client(),
        process_before_response=True,
    )

    @app.action("approve")
    def on_approve(ack: Any, body: dict[str, Any], client: Any) -> None:
        ack()
        seen["clicked"] = (body["user"]["id"], body["actions"][0]["value"])
        client.views_open(trigger_id=body["trigger_id"], view=REASON)

    @app.view("reason")
    def on_reason(ack: Any, view: dict[str, Any], body: dict[str, Any]) -> None:
        text = view["state"]["values"]["why"]["text"]["value"]
        if len(text) < 5:
            ack(response_action="errors", errors={"why": "Say a little more"})
            return
        ack()
        seen["reason"] = (body["user"]["id"], text, view["private_metadata"])

    return app


@pytest.fixture
def world() -> Iterator[tuple[SlackSandbox, dict[str, Any], httpx.Client]]:
    record = SpecRecord()
    seen: dict[str, Any] = {}
    with make_sandbox(record) as sandbox:
        handler = SlackRequestHandler(_bolt(sandbox, seen))

        async def endpoint(request: Request) -> Any:
            return await handler.handle(request)

        web = Starlette(routes=[Route("/slack/events", endpoint, methods=["POST"])])
        with (
            BackgroundServer(web) as server,
            httpx.Client(base_url=sandbox.url, follow_redirects=True, timeout=10) as browser,
        ):
            sandbox.app_url = server.url + "/slack/events"
            yield sandbox, seen, browser
    assert not record.failures, "\n".join(record.failures)


def _hidden(form_html: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form_html))


def _button_form(page: str, action_id: str) -> tuple[str, dict[str, str]]:
    match = re.search(
        r'<form class="inline" method="post" action="([^"]+)">((?:(?!</form>).)*?'
        rf'data-action-id="{action_id}")',
        page,
        re.S,
    )
    assert match, f"no button {action_id} on the page"
    return match.group(1), _hidden(match.group(2))


def test_a_person_sees_block_kit_clicks_and_submits_the_modal(world) -> None:
    sandbox, seen, browser = world
    bob = sandbox.user("bob@example.com")
    people = browser.get("/")
    assert people.status_code == 200 and f'href="/client/{bob.id}"' in people.text
    sandbox.client().chat_postMessage(
        channel="#aims-approvals",
        text="Approve?",
        blocks=[
            HeaderBlock(text="Accept residual risk <script>"),
            SectionBlock(
                text=MarkdownTextObject(
                    text=f"*Risk* low, see <https://jira.example/browse/AIMS-1|AIMS-1>, <@{bob.id}>"
                )
            ),
            ActionsBlock(
                elements=[
                    ButtonElement(text="Approve", action_id="approve", value="a-1", style="primary")
                ]
            ),
        ],
    )
    channel = sandbox.channel_id("#aims-approvals")
    page = browser.get(f"/client/{bob.id}", params={"c": channel}).text
    assert "Accept residual risk &lt;script&gt;" in page and "<script>" not in page
    assert "<strong>Risk</strong> low" in page
    assert '<a href="https://jira.example/browse/AIMS-1">AIMS-1</a>' in page
    assert f"@{bob.real_name}" in page

    # Approve: a signed block_actions request; bolt opens the modal, which the page shows
    action, hidden = _button_form(page, "approve")
    clicked = browser.post(action, content=urlencode(hidden), headers=FORM)
    assert clicked.status_code == 200 and seen["clicked"] == (bob.id, "a-1")
    assert 'id="modal"' in clicked.text and "Reason" in clicked.text
    view = _hidden(clicked.text.split('id="modal-form"')[1])["view"]

    def submit(text: str) -> httpx.Response:
        form = {"view": view, "c": channel, "v.why.text": text}
        return browser.post(f"/client/{bob.id}/submit", content=urlencode(form), headers=FORM)

    sent = len(sandbox.deliveries)
    empty = submit("")
    assert "is empty" in empty.text and len(sandbox.deliveries) == sent  # Slack would not send
    short = submit("ok")
    assert "Say a little more" in short.text and 'id="modal"' in short.text
    done = submit("Residual risk is acceptable")
    assert seen["reason"] == (bob.id, "Residual risk is acceptable", "run-7")
    assert 'id="modal"' not in done.text and sandbox.modal(bob.id) is None

    # every request the pages made Slack send was signed with the app's signing secret
    assert [d.kind for d in sandbox.deliveries] == ["block_actions"] + ["view_submission"] * 2
    for delivery in sandbox.deliveries:
        headers = delivery.attempts[-1].headers
        now = float(headers["X-Slack-Request-Timestamp"])
        assert verify(SIGNING_SECRET, headers, delivery.body, now) and delivery.ok


def test_the_pages_answer_bad_requests_without_failing(world) -> None:
    sandbox, _, browser = world
    bob = sandbox.user("bob@example.com")
    assert browser.get("/client/U-NOBODY").status_code == 404
    assert browser.get("/nowhere").status_code == 404
    for path in ("click", "submit", "close"):
        answer = browser.post(f"/client/{bob.id}/{path}", content=b"\xff=%%", headers=FORM)
        assert answer.status_code == 200, path
        assert 'id="problem"' in answer.text, path
    # the Web API keeps its own answers beside the pages
    assert httpx.post(sandbox.api_url + "auth.test").json()["error"] == "not_authed"
