"""Which OAuth scope a Web API call needs, decided as Slack decides it: by method, and for the
conversation methods by the kind of conversation (https://docs.slack.dev/reference/methods/
conversations.history: ``channels:history`` for a public channel, ``groups:history`` for a private
one, ``im:history`` for a direct message). A token without it gets ``missing_scope`` with
``needed`` (the scope) and ``provided`` (the token's scopes, comma-separated), as Slack answers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ._errors import ApiFailure

if TYPE_CHECKING:  # the workspace starts with APP_SCOPES: imported from here at run time
    from ._workspace import Workspace

__all__ = ["APP_SCOPES", "check_scope"]

APP_SCOPES: frozenset[str] = frozenset(
    {
        "channels:history",
        "channels:read",
        "chat:write",
        "commands",
        "groups:history",
        "groups:read",
        "im:history",
        "im:write",
        "users:read",
        "users:read.email",
    }
)
"""What a token is granted unless the sandbox is told otherwise: the app manifest's bot scopes."""

_BY_METHOD: dict[str, str] = {
    "chat.postMessage": "chat:write",
    "chat.update": "chat:write",
    "chat.postEphemeral": "chat:write",
    "conversations.open": "im:write",
    "users.info": "users:read",
    "users.list": "users:read",
    "users.lookupByEmail": "users:read.email",
}
_LIST_SCOPE = {
    "public_channel": "channels:read",
    "private_channel": "groups:read",
    "im": "im:read",
    "mpim": "mpim:read",
}


def _history_scope(ws: Workspace, args: dict[str, Any]) -> str | None:
    conversation = ws.conversations.get(str(args.get("channel") or ""))
    if conversation is None:
        return None  # the method answers channel_not_found
    if conversation.is_im:
        return "im:history"
    return "groups:history" if conversation.is_private else "channels:history"


def _list_scopes(_ws: Workspace, args: dict[str, Any]) -> list[str]:
    types = str(args.get("types") or "public_channel").split(",")
    return [_LIST_SCOPE[t.strip()] for t in types if t.strip() in _LIST_SCOPE]


_BY_CONVERSATION: dict[str, Callable[[Workspace, dict[str, Any]], str | None]] = {
    "conversations.history": _history_scope,
}


def _needed(ws: Workspace, method: str, args: dict[str, Any]) -> list[str]:
    if method in _BY_METHOD:
        return [_BY_METHOD[method]]
    if method in _BY_CONVERSATION:
        with ws.lock:
            scope = _BY_CONVERSATION[method](ws, args)
        return [scope] if scope else []
    if method == "conversations.list":
        return _list_scopes(ws, args)
    return []  # auth.test and views.* need none: the token or the trigger is the grant


def check_scope(ws: Workspace, method: str, args: dict[str, Any], granted: Iterable[str]) -> None:
    """Raise Slack's ``missing_scope`` when the token lacks a scope ``method`` needs here."""
    have = set(granted)
    for scope in _needed(ws, method, args):
        if scope not in have:
            raise ApiFailure(
                "missing_scope", extra={"needed": scope, "provided": ",".join(sorted(have))}
            )
