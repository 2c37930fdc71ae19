"""Slack: the bot token valid, the scopes the app's manifest asks for granted, the signing
secret set, and the approvals channel reachable by the bot."""

from __future__ import annotations

from ._check import Check

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
    }
)


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
            "add them under OAuth & Permissions (or reinstall with "
            "integrations/slack/manifest.yaml) and reinstall the app",
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
        # Reading a channel (conversations.info) needs channels:read, which the app does not
        # ask for, and posting to find out would write to the channel: say what is known.
        checks.append(
            Check(
                "slack",
                "channel",
                "warn",
                f"{channel}: not checked (it needs the channels:read scope the app does not ask "
                "for)",
                f"make sure the app is a member: /invite @aims in {channel}",
            )
        )
    return checks
