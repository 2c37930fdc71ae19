"""The bodies Slack sends to an app: interaction payloads, slash commands, Events API events.

Pure functions of the workspace records, so the shapes can be read (and tested) apart from
the sending. Field lists follow Slack's documentation of ``block_actions``,
``view_submission``, ``view_closed``, slash commands and the Events API envelope.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ._model import Conversation, Message, SlackUser, View

__all__ = [
    "AppIdentity",
    "person_ref",
    "block_actions",
    "view_submission",
    "view_closed",
    "slash_command",
    "event_callback",
]


@dataclass(frozen=True)
class AppIdentity:
    """Who the payloads are addressed to: the workspace and the installed app."""

    team_id: str
    domain: str
    app_id: str
    bot_user_id: str
    verification_token: str

    @property
    def team(self) -> dict[str, str]:
        return {"id": self.team_id, "domain": self.domain}


def person_ref(user: SlackUser) -> dict[str, str]:
    """The ``user`` object of interaction payloads."""
    return {"id": user.id, "username": user.name, "name": user.name, "team_id": user.team_id}


def _common(app: AppIdentity, kind: str, user: SlackUser) -> dict[str, Any]:
    return {
        "type": kind,
        "user": person_ref(user),
        "api_app_id": app.app_id,
        "token": app.verification_token,
        "team": app.team,
        "enterprise": None,
        "is_enterprise_install": False,
    }


def block_actions(
    app: AppIdentity,
    user: SlackUser,
    actions: list[dict[str, Any]],
    trigger_id: str,
    *,
    conversation: Conversation | None = None,
    message: Message | None = None,
    ephemeral_ts: str | None = None,
    view: View | None = None,
    state: dict[str, Any] | None = None,
    response_url: str | None = None,
) -> dict[str, Any]:
    """A click (or choice) on a message, an ephemeral message or a view."""
    payload = _common(app, "block_actions", user)
    payload["trigger_id"] = trigger_id
    if view is not None:
        payload["container"] = {"type": "view", "view_id": view.id}
        payload["view"] = view.to_api()
    else:
        assert conversation is not None
        payload["container"] = {
            "type": "message",
            "message_ts": message.ts if message else ephemeral_ts,
            "channel_id": conversation.id,
            "is_ephemeral": message is None,
        }
        payload["channel"] = {
            "id": conversation.id,
            "name": "directmessage" if conversation.is_im else conversation.name,
        }
        # Slack leaves the message out for ephemeral ones: the app never stored them.
        if message is not None:
            payload["message"] = message.to_api()
        payload["response_url"] = response_url
    payload["state"] = state or {"values": {}}
    payload["actions"] = actions
    return payload


def view_submission(
    app: AppIdentity, user: SlackUser, view: View, trigger_id: str
) -> dict[str, Any]:
    """A person pressed the modal's submit button; ``view.state`` holds what they entered."""
    payload = _common(app, "view_submission", user)
    payload["trigger_id"] = trigger_id
    payload["view"] = view.to_api()
    payload["response_urls"] = []
    return payload


def view_closed(app: AppIdentity, user: SlackUser, view: View) -> dict[str, Any]:
    """A person closed a modal that asked for ``notify_on_close``."""
    payload = _common(app, "view_closed", user)
    payload["view"] = view.to_api()
    payload["is_cleared"] = False
    return payload


def slash_command(
    app: AppIdentity,
    user: SlackUser,
    conversation: Conversation,
    command: str,
    text: str,
    trigger_id: str,
    response_url: str,
) -> dict[str, str]:
    """The form fields of a slash command request (all strings, as form values are)."""
    return {
        "token": app.verification_token,
        "team_id": app.team_id,
        "team_domain": app.domain,
        "channel_id": conversation.id,
        "channel_name": "directmessage" if conversation.is_im else conversation.name,
        "user_id": user.id,
        "user_name": user.name,
        "command": command,
        "text": text,
        "api_app_id": app.app_id,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }


def event_callback(
    app: AppIdentity, event: dict[str, Any], event_id: str, event_time: int
) -> dict[str, Any]:
    """The Events API envelope around ``event`` (see slack_common_event_wrapper_schema.json)."""
    return {
        "token": app.verification_token,
        "team_id": app.team_id,
        "context_team_id": app.team_id,
        "context_enterprise_id": None,
        "api_app_id": app.app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": event_time,
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": app.team_id,
                "user_id": app.bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        # Deprecated by Slack but still required by its published envelope schema.
        "authed_users": [app.bot_user_id],
        "is_ext_shared_channel": False,
        "event_context": f"4-{event_id.lower()}",
    }
