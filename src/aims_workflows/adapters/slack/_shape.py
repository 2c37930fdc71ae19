"""The shape a signed Slack request must have before Bolt and the handlers read it.

A valid signature says who sent the bytes, not that they are what the handlers expect: a
payload that is not a JSON object, an action list that is a string, or a reason modal whose
private metadata was not written by aims would otherwise fail deep inside a listener, which
answers 500. Such requests are refused here with a 400 that says what is wrong.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from ... import bounded_json
from ._blocks import DECISION_CALLBACK

__all__ = ["shape_problem", "is_ssl_check"]

_DECISIONS = ("approve", "reject", "withdraw")


def is_ssl_check(body: bytes, content_type: str) -> bool:
    """True for Slack's certificate check of a slash command URL: a small unsigned form with
    ``ssl_check=1`` (and Slack's verification token), carrying no command or payload."""
    if len(body) > 1024 or "application/x-www-form-urlencoded" not in content_type:
        return False
    form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return form.get("ssl_check") == ["1"] and "command" not in form and "payload" not in form


def shape_problem(body: bytes, content_type: str) -> str | None:
    """None when the body has the shape of a Slack request this app handles, else what is
    wrong with it."""
    deep = bounded_json.depth_problem(body)
    if deep is not None:
        return deep
    if "application/json" in content_type:
        envelope = _json(body.decode("utf-8", "replace"))
        if not isinstance(envelope, dict) or not isinstance(envelope.get("type"), str):
            return "an Events API request must be a JSON object with a 'type'"
        return _parts_problem(envelope)
    form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    if "payload" not in form:
        if "command" in form or "ssl_check" in form:
            return None
        return "an interaction needs a 'payload' field; a slash command a 'command' field"
    deep = bounded_json.depth_problem(form["payload"][0])
    if deep is not None:
        return "'payload': " + deep
    payload = _json(form["payload"][0])
    if not isinstance(payload, dict) or not isinstance(payload.get("type"), str):
        return "'payload' must be a JSON object with a 'type'"
    if bounded_json.unstorable_text(payload) is not None:
        # a NUL (PostgreSQL refuses it) or a lone surrogate (not UTF-8) in a reason or an id
        return "a text in the payload holds a NUL character or a lone UTF-16 surrogate"
    return _interaction_problem(payload)


def _parts_problem(body: dict[str, Any]) -> str | None:
    """The parts Bolt reads from any request, when present, must have Slack's types (Bolt
    itself reads ``view.type`` of whatever is there, even to log a request it ignores)."""
    for key in ("view", "event", "user"):
        if key in body and not isinstance(body[key], dict):
            return f"'{key}' must be an object"
    for key in ("team", "channel", "container", "message"):  # Slack sends some as null
        if body.get(key) is not None and not isinstance(body[key], dict):
            return f"'{key}' must be an object"
    if "actions" in body and not (
        isinstance(body["actions"], list)
        and all(
            isinstance(a, dict) and isinstance(a.get("action_id"), str) for a in body["actions"]
        )
    ):
        return "'actions' must be a list of objects, each with an 'action_id'"
    return None


def _interaction_problem(payload: dict[str, Any]) -> str | None:
    problem = _parts_problem(payload)
    if problem is not None:
        return problem
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
        return bounded_json.loads(text)
    except ValueError:
        return None


def interaction_problem(payload: dict[str, Any]) -> str | None:
    """What is wrong with an interaction payload that came already decoded (Socket Mode)."""
    if not isinstance(payload.get("type"), str):
        return "'payload' must be a JSON object with a 'type'"
    return _interaction_problem(payload)
