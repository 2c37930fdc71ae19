"""Slack over Socket Mode, for a company with no public URL: the real Bolt Socket Mode handler
dials out to the Slack sandbox with an app-level token; clicks, the reason modal and slash
commands come over the socket, acknowledged by envelope, with no HTTP request into aims."""

from __future__ import annotations

from pathlib import Path

import pytest
from slack_messages import buttons, text_of
from test_slack_world import slack_world

from aims_workflows.adapters.slack import APPROVE, DECISION_CALLBACK, check_app_token
from aims_workflows.errors import ConfigError

TOM, TINA = "tom@example.com", "tina@example.com"


def test_an_approval_is_decided_over_the_socket(tmp_path: Path) -> None:
    with slack_world(tmp_path, socket_mode=True) as world:
        assert world.sandbox.app_url is None  # nothing to send HTTP requests to
        run_id = world.start_release(summary="Retrieval index v2", risk=6)
        message = world.sandbox.messages(TOM)[-1]
        assert buttons(message) == [APPROVE, "aims_reject"]

        tom = world.sandbox.person(TOM)
        click = tom.click(message, APPROVE)
        assert click.ok and click.url == "socket-mode"
        world.slack.wait()
        modal = world.sandbox.modal(TOM)
        assert modal is not None and modal.callback_id == DECISION_CALLBACK
        assert tom.submit(modal, {"reason_text": "Within the agreed limits"}).ok
        world.pump()

        decided = world.evidence("approval.decided", run_id)
        assert [(e["actor"], e["via"], e["payload"]["reason"]) for e in decided] == [
            (TOM, "slack", "Within the agreed limits")
        ]
        assert world.run_status(run_id) == ("completed", None)
        final = world.sandbox.messages(TINA)[-1]
        assert buttons(final) == [] and "Approved" in text_of(final)
        # every delivery went over the socket and was acknowledged at the first attempt
        assert world.sandbox.deliveries
        assert all(
            d.url == "socket-mode" and len(d.attempts) == 1 for d in world.sandbox.deliveries
        )


def test_a_bot_token_cannot_open_a_socket(tmp_path: Path) -> None:
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError

    with slack_world(tmp_path, socket_mode=True) as world:
        sandbox = world.sandbox
        with pytest.raises(SlackApiError) as refused:
            WebClient(base_url=sandbox.api_url).apps_connections_open(app_token=sandbox.bot_token)
        assert refused.value.response["error"] == "not_allowed_token_type"
        opened = WebClient(base_url=sandbox.api_url).apps_connections_open(
            app_token=sandbox.app_token
        )
        assert opened["url"].startswith("ws://")
    with pytest.raises(ConfigError, match="a bot token"):
        check_app_token("xoxb-1-2-abc")
    with pytest.raises(ConfigError, match="connections:write"):
        check_app_token("not-a-token")
