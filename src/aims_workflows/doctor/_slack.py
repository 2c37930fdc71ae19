"""Slack: the bot token valid, the scopes the app's manifest asks for granted, the signing
secret set, and the approvals channel reachable by the bot, with the scope that reads it back
(``channels:history`` for a public channel, ``groups:history`` for a private one)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._check import Check

if TYPE_CHECKING:
    from slack_sdk import WebClient

__all__ = ["NEEDED_SCOPES", "slack_checks"]

# The bot scopes of integrations/slack/manifest.yaml (a test keeps the two equal).
NEEDED_SCOPES = frozenset(
    {
        "chat:write",
        "im:write",
        "im:history",
        "users:read",
        "users:read.email",
        "commands",
        "channels:history",
        "groups:history",
        "channels:read",
        "groups:read",
    }
)
_FIX_SCOPES = (
    "add them under OAuth & Permissions (or reinstall with integrations/slack/manifest.yaml) "
    "and reinstall the app"
)
_PAGES = 25


def slack_checks(
    token: str, *, api_url: str, signing_secret_set: bool, channel: str | None
) -> list[Check]:
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError, SlackClientError

    client = WebClient(token=token, base_url=api_url, timeout=15)
    checks: list[Check] = []
    try:
        answer = client.auth_test()
    except SlackApiError as err:
        code = err.response.get("error", "unknown")
        return [
            Check(
                "slack",
                "token",
                "fail",
                f"auth.test answered {code}",
                "set AIMS_SLACK_BOT_TOKEN to the app's Bot User OAuth Token (xoxb-...)",
            )
        ]
    except SlackClientError as err:
        return [
            Check(
                "slack",
                "token",
                "fail",
                f"cannot reach {api_url}: {type(err).__name__}",
                "check the network, or AIMS_SLACK_API_URL",
            )
        ]
    checks.append(
        Check("slack", "token", "ok", f"bot {answer.get('user')} in {answer.get('team')}")
    )
    granted = {s.strip() for s in str(answer.headers.get("x-oauth-scopes", "")).split(",") if s}
    missing = sorted(NEEDED_SCOPES - granted)
    checks.append(
        Check("slack", "scopes", "ok", ", ".join(sorted(NEEDED_SCOPES)))
        if not missing
        else Check(
            "slack",
            "scopes",
            "fail",
            f"missing {', '.join(missing)}",
            _FIX_SCOPES,
        )
    )
    checks.append(
        Check("slack", "signing secret", "ok", "set")
        if signing_secret_set
        else Check(
            "slack",
            "signing secret",
            "fail",
            "AIMS_SLACK_SIGNING_SECRET is not set",
            "copy it from the app's Basic Information page",
        )
    )
    if channel:
        checks.append(_channel_check(client, channel, granted))
    return checks


def _find_channel(client: WebClient, channel: str) -> dict[str, Any] | None:
    """The channel (by ID or ``#name``) among those Slack lists to the app, or None."""
    name = channel.lstrip("#")
    cursor = None
    for _ in range(_PAGES):
        answer = client.conversations_list(
            types="public_channel,private_channel", exclude_archived=True, limit=200, cursor=cursor
        )
        for found in answer.get("channels") or []:
            if channel in (found.get("id"), f"#{found.get('name')}") or found.get("name") == name:
                return dict(found)
        cursor = (answer.get("response_metadata") or {}).get("next_cursor") or None
        if not cursor:
            break
    return None


def _channel_check(client: WebClient, channel: str, granted: set[str]) -> Check:
    from slack_sdk.errors import SlackApiError, SlackClientError

    try:
        found = _find_channel(client, channel)
    except SlackApiError as err:
        code = err.response.get("error", "unknown")
        needed = err.response.get("needed")
        return Check(
            "slack",
            "channel",
            "warn",
            f"{channel}: cannot be looked up (conversations.list answered {code}"
            + (f", needs {needed})" if needed else ")"),
            f"grant channels:read and groups:read, {_FIX_SCOPES}",
        )
    except SlackClientError as err:
        return Check("slack", "channel", "warn", f"{channel}: not checked ({type(err).__name__})")
    if found is None:
        return Check(
            "slack",
            "channel",
            "fail",
            f"{channel}: no channel of that name or ID that the app can see (a private "
            "channel shows only to its members)",
            f"check AIMS_SLACK_CHANNEL, and invite the app: /invite @aims in {channel}",
        )
    private = bool(found.get("is_private"))
    kind = "private" if private else "public"
    reads = "groups:history" if private else "channels:history"
    if reads not in granted:
        return Check(
            "slack",
            "channel",
            "fail",
            f"{channel} is a {kind} channel and the token lacks {reads}: posts in it cannot "
            "be read back (witness checkpoints, a post cut short by a crash)",
            f"add {reads}: {_FIX_SCOPES}",
        )
    if not found.get("is_member"):
        return Check(
            "slack",
            "channel",
            "fail",
            f"{channel} ({found.get('id')}): the app is not a member",
            f"invite it: /invite @aims in {channel}",
        )
    return Check(
        "slack", "channel", "ok", f"{channel} ({found.get('id')}, {kind}), app is a member"
    )
