"""A real ``slack_bolt`` app against the sandbox: bolt verifies the sandbox's signatures,
parses its payloads and calls the Web API back, as our Slack adapter will."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from slack_bolt import App
from slack_bolt.adapter.starlette import SlackRequestHandler
from slack_fixtures import SIGNING_SECRET, SpecRecord, make_sandbox
from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    InputBlock,
    PlainTextInputElement,
    SectionBlock,
)
from slack_sdk.models.views import View
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route

from aims_workflows.sandbox._server import BackgroundServer
from aims_workflows.sandbox.slack import SlackSandbox

REASON = View(
    type="modal",
    callback_id="reject_reason",
    title="Reject",
    submit="Reject",
    private_metadata="run-1",
    blocks=[
        InputBlock(
            block_id="reason", label="Reason", element=PlainTextInputElement(action_id="text")
        )
    ],
)


def build_bolt_app(sandbox: SlackSandbox, seen: dict[str, Any]) -> App:
    # process_before_response: listeners finish before the HTTP answer, so the test can
    # assert right after a click without waiting for a background thread.
    app = App(
        token=sandbox.bot_token,
        signing_secret=SIGNING_SECRET,
        client=sandbox.client(),
        process_before_response=True,
    )

    @app.action("reject")
    def on_reject(ack: Any, body: dict[str, Any], client: Any) -> None:
        ack()
        client.views_open(trigger_id=body["trigger_id"], view=REASON)

    @app.view("reject_reason")
    def on_reason(ack: Any, view: dict[str, Any], body: dict[str, Any]) -> None:
        reason = view["state"]["values"]["reason"]["text"]["value"]
        if len(reason) < 5:
            ack(response_action="errors", errors={"reason": "Say a little more"})
            return
        ack()
        seen["reason"] = (body["user"]["id"], reason, view["private_metadata"])

    @app.command("/aims")
    def on_command(ack: Any, command: dict[str, Any]) -> None:
        ack(f"You asked: {command['text']}")

    @app.event("app_home_opened")
    def on_home(event: dict[str, Any], client: Any) -> None:
        client.views_publish(
            user_id=event["user"], view=View(type="home", blocks=[SectionBlock(text="Hello")])
        )

    return app


@pytest.fixture
def bolt_world() -> Iterator[tuple[SlackSandbox, dict[str, Any]]]:
    record = SpecRecord()
    seen: dict[str, Any] = {}
    with make_sandbox(record) as sandbox:
        handler = SlackRequestHandler(build_bolt_app(sandbox, seen))

        async def endpoint(request: Request) -> Any:
            return await handler.handle(request)

        web = Starlette(routes=[Route("/slack/events", endpoint, methods=["POST"])])
        with BackgroundServer(web) as server:
            sandbox.app_url = server.url + "/slack/events"
            yield sandbox, seen
    assert not record.failures, "\n".join(record.failures)


def test_bolt_app_handles_click_modal_command_and_home(bolt_world) -> None:
    sandbox, seen = bolt_world
    assert sandbox.calls_to("auth.test")  # bolt checked the token when it was built
    sandbox.client().chat_postMessage(
        channel="#aims-approvals",
        text="Approve?",
        blocks=[
            ActionsBlock(elements=[ButtonElement(text="Reject", action_id="reject", value="run-1")])
        ],
    )
    bob = sandbox.person("bob@example.com")

    assert bob.click(sandbox.messages("#aims-approvals")[0], "reject").ok
    modal = sandbox.modal("bob@example.com")
    assert modal is not None and modal.callback_id == "reject_reason"

    bob.submit(modal, {"text": "no"})
    assert sandbox.modal("bob@example.com").errors == {"reason": "Say a little more"}
    assert bob.submit(modal, {"text": "Residual risk is too high"}).ok
    assert seen["reason"] == (bob.id, "Residual risk is too high", "run-1")
    assert sandbox.modal("bob@example.com") is None

    assert bob.command("status").ok
    assert sandbox.ephemerals("bob@example.com")[-1].text == "You asked: status"

    assert bob.open_home().ok
    assert sandbox.home("bob@example.com").blocks[0]["text"]["text"] == "Hello"
