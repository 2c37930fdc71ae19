"""Webhook bodies for the sandbox's events, shaped like Jira Cloud's.

``jira:issue_created`` and ``jira:issue_updated`` carry the whole issue; updates add
``changelog {id, items}``; ``comment_created`` carries the comment and a short issue.
Built while the change is fresh, so a retry later re-sends the same snapshot, as Jira does.
"""

from __future__ import annotations

from typing import Any

from ._clock import epoch_ms
from ._render import Renderer
from ._state import IssueEvent

__all__ = ["webhook_payload"]


def webhook_payload(event: IssueEvent, render: Renderer) -> dict[str, Any]:
    """The JSON body Jira would POST for ``event``; callers hold the state lock."""
    issue = render.state.issues[event.issue_id]
    payload: dict[str, Any] = {
        "timestamp": epoch_ms(event.at),
        "webhookEvent": event.webhook_event,
    }
    if event.issue_event_type_name:
        payload["issue_event_type_name"] = event.issue_event_type_name
    payload["user"] = render.user_by_id(event.actor_id)
    if event.comment is not None:
        payload["comment"] = render.comment(event.comment)
        payload["issue"] = {
            **render.issue_ref(issue),
            "fields": {
                key: value
                for key, value in render.issue_fields(issue).items()
                if key in ("summary", "status", "issuetype", "priority", "assignee", "project")
            },
        }
        return payload
    body = render.issue(issue)
    body.pop("expand", None)
    payload["issue"] = body
    if event.history is not None:
        payload["changelog"] = {
            "id": event.history.id,
            "items": [item.as_json() for item in event.history.items],
        }
    return payload
