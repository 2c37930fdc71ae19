"""Slack's failures turned into the package's own errors, with secrets taken out.

``slack_sdk`` raises ``SlackApiError`` (an ``{"ok": false}`` answer or an HTTP error status) and
``SlackRequestError`` / ``OSError`` / ``URLError`` for transport problems. The dispatcher only
needs to know whether trying again can help, so everything becomes ``RetryableError`` (429,
5xx, timeouts, Slack's own transient codes) or ``PermanentError`` (the request is wrong as
sent). Messages never carry a token: Slack echoes nothing secret, but a URL or an exception
text might, so every message goes through :func:`redact`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from slack_sdk.errors import SlackApiError, SlackClientError

from ...errors import IntegrationError, PermanentError, RetryableError

__all__ = ["redact", "slack_call", "TRANSIENT_ERRORS"]

T = TypeVar("T")

_SECRET = re.compile(r"xox[a-z]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+")

TRANSIENT_ERRORS = frozenset(
    {
        "ratelimited",
        "rate_limited",
        "internal_error",
        "fatal_error",
        "service_unavailable",
        "request_timeout",
        "team_added_to_org",
    }
)
"""``{"ok": false, "error": ...}`` codes that a later attempt may get past."""

_HINTS = {
    "invalid_auth": "check AIMS_SLACK_BOT_TOKEN (a bot token of the installed app)",
    "not_authed": "set AIMS_SLACK_BOT_TOKEN",
    "account_inactive": (
        "the app was uninstalled or the token revoked: reinstall it and update AIMS_SLACK_BOT_TOKEN"
    ),
    "token_revoked": "reinstall the app and update AIMS_SLACK_BOT_TOKEN",
    "missing_scope": "add the scope to integrations/slack/manifest.yaml and reinstall the app",
    "channel_not_found": (
        "check AIMS_SLACK_CHANNEL and that the app is in that channel (/invite @aims)"
    ),
    "not_in_channel": "invite the app to the channel (/invite @aims)",
    "users_not_found": (
        "the person is not in the Slack workspace under that e-mail: fix aims.yaml or invite them"
    ),
}


def redact(text: str) -> str:
    """``text`` with anything that looks like a Slack token replaced."""
    return _SECRET.sub("xox?-[redacted]", text)


def _retry_after(error: SlackApiError) -> float | None:
    headers: Any = getattr(error.response, "headers", {}) or {}
    for name in ("Retry-After", "retry-after"):
        value = headers.get(name)
        if isinstance(value, list):
            value = value[0] if value else None
        if value is not None:
            try:
                return float(value)
            except ValueError:
                return None
    return None


def translate(method: str, error: Exception) -> IntegrationError:
    """The package error for a failed call of ``method``."""
    if isinstance(error, SlackApiError):
        status = getattr(error.response, "status_code", 200)
        code = str(
            (error.response.get("error") if error.response is not None else None) or "unknown_error"
        )
        message = f"Slack {method} failed: {code} (HTTP {status})"
        if status == 429 or status >= 500 or code in TRANSIENT_ERRORS:
            return RetryableError(message, retry_after=_retry_after(error))
        return PermanentError(message, hint=_HINTS.get(code))
    # Transport problems (refused connection, timeout, DNS): try again later.
    return RetryableError(
        f"Slack {method} could not be reached: {redact(type(error).__name__ + ': ' + str(error))}",
        hint="check AIMS_SLACK_API_URL and the network",
    )


def slack_call(method: str, call: Callable[[], T]) -> T:
    """Run one Web API call, raising only ``IntegrationError`` subclasses."""
    try:
        return call()
    except SlackApiError as error:
        raise translate(method, error) from None
    except (SlackClientError, OSError) as error:
        raise translate(method, error) from None
