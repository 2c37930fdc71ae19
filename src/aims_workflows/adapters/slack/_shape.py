"""The shape a signed Slack request must have before Bolt and the handlers read it.

A valid signature says who sent the bytes, not that they are what the handlers expect: a
payload that is not a JSON object, an action list that is a string, or a reason modal whose
private metadata was not written by aims would otherwise fail deep inside a listener, which
answers 500. Such requests are refused here with a 400 that says what is wrong.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

from ._blocks import DECISION_CALLBACK

__all__ = ["shape_problem"]

_DECISIONS = ("approve", "reject")


def shape_problem(body: bytes, content_type: str) -> str | None:
    """None when the body has the shape of a Slack request this app handles, else what is
    wrong with it."""
    if "application/json" in content_type:
        envelope = _json(body.decode("utf-8", "replace"))
        if not isinstance(envelope, dict) or not isinstance(envelope.get("type"), str):
            return "an Events API request must be a JSON object with a 'type'"
        return None
    form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    if "payload" not in form:
        if "command" in form or "ssl_check" in form:
            return None
        return "an interaction needs a 'payload' field; a slash command a 'command' field"
    payload = _json(form["payload"][0])
    if not isinstance(payload, dict) or not isinstance(payload.get("type"), str):
        return "'payload' must be a JSON object with a 'type'"
    return _interaction_problem(payload)


def _interaction_problem(payload: dict[str, Any]) -> str | None:
    user = payload.get("user")
    if not isinstance(user, dict) or not isinstance(user.get("id"), str):
        return "'user' must be an object with an 'id'"
    kind = payload["type"]
    if kind == "block_actions":
        actions = payload.get("actions")
        if not isinstance(actions, list) or not all(
            isinstance(a, dict) and isinstance(a.get("action_id"), str) for a in actions
        ):
            return "'actions' must be a list of objects, each with an 'action_id'"
    if kind in ("view_submission", "view_closed"):
        view = payload.get("view")
        if not isinstance(view, dict) or not all(
            isinstance(view.get(key), str) for key in ("id", "type", "callback_id")
        ):
            return "'view' must be an object with an 'id', a 'type' and a 'callback_id'"
        if view.get("callback_id") == DECISION_CALLBACK:
            return _decision_view_problem(view)
    return None


def _decision_view_problem(view: dict[str, Any]) -> str | None:
    meta = _json(view.get("private_metadata") or "")
    if not (
        isinstance(meta, dict)
        and isinstance(meta.get("a"), str)
        and meta.get("d") in _DECISIONS
        and isinstance(meta.get("h"), str | None)
    ):
        return "the reason modal's private metadata is not the decision aims opened it for"
    state = view.get("state", {})
    if not isinstance(state, dict) or not isinstance(state.get("values", {}), dict):
        return "'view.state.values' must be an object"
    return None


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def interaction_problem(payload: dict[str, Any]) -> str | None:
    """What is wrong with an interaction payload that came already decoded (Socket Mode)."""
    if not isinstance(payload.get("type"), str):
        return "'payload' must be a JSON object with a 'type'"
    return _interaction_problem(payload)
