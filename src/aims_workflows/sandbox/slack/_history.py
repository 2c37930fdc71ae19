"""conversations.history: a conversation's messages, newest first, a page at a time.

As Slack does (https://api.slack.com/methods/conversations.history): the channel is named by
its ID (a ``#name`` is ``channel_not_found``), the bot must be a member (``not_in_channel``),
``limit`` defaults to 100 and is capped at 999, ``latest``/``oldest`` bound the range (``ts``
excluded unless ``inclusive``), and ``response_metadata.next_cursor`` leads to the next page
while ``has_more`` is true. The cursor is opaque to the caller; here it encodes the offset.
"""

from __future__ import annotations

import base64
from typing import Any

from ._errors import ApiFailure
from ._workspace import Workspace

__all__ = ["conversations_history"]

_DEFAULT_LIMIT, _MAX_LIMIT = 100, 999


def _number(value: Any, error: str) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ApiFailure(error) from None


def _offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        text = base64.b64decode(cursor.encode("ascii"), validate=True).decode("ascii")
        if not text.startswith("offset:"):
            raise ValueError(text)
        return max(0, int(text.removeprefix("offset:")))
    except (ValueError, UnicodeError):
        raise ApiFailure("invalid_cursor") from None


def conversations_history(ws: Workspace, args: Any) -> dict[str, Any]:
    channel = str(args.require("channel", "channel_not_found"))
    latest = _number(args.get("latest"), "invalid_ts_latest")
    oldest = _number(args.get("oldest"), "invalid_ts_oldest")
    inclusive = args.flag("inclusive")
    try:
        limit = int(args.get("limit") or _DEFAULT_LIMIT)
    except (TypeError, ValueError):
        raise ApiFailure("invalid_limit") from None
    limit = min(max(limit, 1), _MAX_LIMIT)
    offset = _offset(args.text("cursor"))
    with ws.lock:
        conversation = ws.conversations.get(channel)
        if conversation is None:
            raise ApiFailure("channel_not_found")
        if ws.bot.user_id not in conversation.members:
            raise ApiFailure("not_in_channel")
        messages = list(ws.messages.get(conversation.id, []))

    def within(ts: float) -> bool:
        if latest is not None and (ts > latest or (ts == latest and not inclusive)):
            return False
        return not (oldest is not None and (ts < oldest or (ts == oldest and not inclusive)))

    ordered = sorted(
        (m for m in messages if within(float(m.ts))), key=lambda m: float(m.ts), reverse=True
    )
    page = ordered[offset : offset + limit]
    more = offset + limit < len(ordered)
    body: dict[str, Any] = {
        "messages": [m.to_api() for m in page],
        "has_more": more,
        "pin_count": 0,
        "channel_actions_ts": None,
        "channel_actions_count": 0,
    }
    if more:
        cursor = base64.b64encode(f"offset:{offset + limit}".encode("ascii")).decode("ascii")
        body["response_metadata"] = {"next_cursor": cursor}
    return body
