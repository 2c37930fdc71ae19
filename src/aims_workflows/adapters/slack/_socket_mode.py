"""Slack over Socket Mode: for a company with no public HTTPS endpoint.

The app opens a WebSocket to Slack with its app-level token (``xapp-...``, scope
``connections:write``) and receives interactions, slash commands and events over it; the same
Bolt app handles them as it handles ``POST /slack/events``. Nothing arrives signed (the socket
is authenticated by the token), so the shape check that guards the HTTP route runs here too,
and a malformed interaction is acknowledged and dropped rather than handed to the listeners.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk import WebClient

from ...errors import ConfigError
from ._shape import interaction_problem

__all__ = ["SocketModeConnection", "check_app_token"]

log = logging.getLogger("aims.slack")


def check_app_token(token: str) -> None:
    """Refuse what cannot open a socket, with what to use instead."""
    if not token.startswith("xapp-"):
        kind = "a bot token (xoxb-)" if token.startswith("xoxb-") else "not an app-level token"
        raise ConfigError(
            f"AIMS_SLACK_APP_TOKEN is {kind}: Socket Mode needs an app-level token (xapp-...)",
            hint=(
                "create one under the app's Basic Information, App-Level Tokens, with the "
                "connections:write scope, and enable Socket Mode"
            ),
        )


class _CheckedHandler(SocketModeHandler):
    def handle(self, client: Any, req: Any) -> None:
        if req.type == "interactive":
            payload = req.payload
            problem = (
                interaction_problem(payload)
                if isinstance(payload, dict)
                else "the payload is not a JSON object"
            )
            if problem is not None:
                from slack_sdk.socket_mode.response import SocketModeResponse

                log.warning("Socket Mode interaction dropped: %s", problem)
                client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))
                return
        super().handle(client, req)


class SocketModeConnection:
    """The Bolt app connected to Slack over a socket, until :meth:`close`."""

    def __init__(self, bolt: App, app_token: str, *, api_url: str) -> None:
        check_app_token(app_token)
        self._handler = _CheckedHandler(
            bolt, app_token, web_client=WebClient(token=app_token, base_url=api_url)
        )

    def connect(self) -> None:
        """Open the socket (``apps.connections.open``) and return; messages arrive on the
        client's own threads, and it reconnects by itself when Slack asks it to."""
        self._handler.connect()

    def close(self) -> None:
        self._handler.close()
