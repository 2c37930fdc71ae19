"""The shape a signed Jira webhook body must have before it is stored.

A valid signature says Jira (or whoever holds the secret) sent the bytes, not that they are a
webhook the processor can read. The cheap checks are made at the edge, so the sender gets a 400
saying what is wrong instead of the delivery failing later: the parts of an issue event the
processor reads have the types Jira gives them, and no text holds a NUL (PostgreSQL refuses it)
or a lone UTF-16 surrogate (not encodable as UTF-8). Whatever passes and still cannot be applied
is parked by the processor with its reason.
"""

from __future__ import annotations

from typing import Any

from ... import bounded_json
from ._time import jira_time

__all__ = ["payload_problem", "change_version"]


def _is_id(value: Any) -> bool:
    return (isinstance(value, str) and 0 < len(value) <= 40) or (
        isinstance(value, int) and not isinstance(value, bool)
    )


def payload_problem(payload: Any) -> str | None:
    """None when ``payload`` is a Jira webhook the processor can read, else what is wrong."""
    if not isinstance(payload, dict):
        return "a Jira webhook is a JSON object"
    if not isinstance(payload.get("webhookEvent"), str) or not payload["webhookEvent"]:
        return "not a Jira webhook (no webhookEvent)"
    bad = bounded_json.unstorable_text(payload)
    if bad is not None:
        return "a text in the webhook holds a NUL character or a lone UTF-16 surrogate"
    moment = payload.get("timestamp")
    if moment is not None and (not isinstance(moment, int) or isinstance(moment, bool)):
        return "'timestamp' must be a number of milliseconds"
    issue = payload.get("issue")
    if issue is None:
        return None
    if not isinstance(issue, dict):
        return "'issue' must be an object"
    if not _is_id(issue.get("id")) or not isinstance(issue.get("key"), str):
        return "'issue' needs an 'id' and a 'key'"
    if len(issue["key"]) > 64:
        return "'issue.key' is longer than a Jira issue key can be"
    fields = issue.get("fields")
    if fields is not None:
        problem = _fields_problem(fields)
        if problem:
            return problem
    changelog = payload.get("changelog")
    if changelog is not None:
        if not isinstance(changelog, dict):
            return "'changelog' must be an object"
        items = changelog.get("items")
        if items is not None and not (
            isinstance(items, list) and all(isinstance(i, dict) for i in items)
        ):
            return "'changelog.items' must be a list of objects"
        if "id" in changelog and not _is_id(changelog["id"]):
            return "'changelog.id' must be an id"
    user = payload.get("user")
    if user is not None and not isinstance(user, dict):
        return "'user' must be an object"
    return None


def _fields_problem(fields: Any) -> str | None:
    if not isinstance(fields, dict):
        return "'issue.fields' must be an object"
    labels = fields.get("labels")
    if labels is not None and not (
        isinstance(labels, list) and all(isinstance(label, str) for label in labels)
    ):
        return "'issue.fields.labels' must be a list of texts"
    status = fields.get("status")
    if status is not None:
        if not isinstance(status, dict):
            return "'issue.fields.status' must be an object"
        category = status.get("statusCategory")
        if category is not None and not isinstance(category, dict):
            return "'issue.fields.status.statusCategory' must be an object"
    attachment = fields.get("attachment")
    if attachment is not None and not isinstance(attachment, list):
        return "'issue.fields.attachment' must be a list"
    return None


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit() and len(value) <= 18:
        return int(value)
    return None


def _jira_time_ms(text: Any) -> int | None:
    """Jira's ``2025-01-05T10:15:30.123+0000`` as milliseconds since the epoch."""
    moment = jira_time(text)
    return int(moment.timestamp() * 1000) if moment is not None else None


def change_version(payload: dict[str, Any]) -> tuple[int, int] | None:
    """Where the change a webhook reports stands in its issue's history: (time in ms, changelog
    id). Jira's webhook ``timestamp`` first, else the issue's ``updated``; None when neither is
    there (the change is then applied as it comes)."""
    issue = payload.get("issue")
    fields = issue.get("fields") if isinstance(issue, dict) else None
    moment = _as_int(payload.get("timestamp"))
    if moment is None and isinstance(fields, dict):
        moment = _jira_time_ms(fields.get("updated"))
    if moment is None:
        return None
    changelog = payload.get("changelog")
    seq = _as_int(changelog.get("id")) if isinstance(changelog, dict) else None
    return moment, seq or 0
