"""A step-up confirmation in Jira: a comment by the approver reading ``aims confirm <approval
id>``. Jira says which account wrote it, which is what makes it a second channel: the runtime
resolves that account through the directory of people, and the engine counts the approval only
if it is the same person who approved in Slack."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from . import _adf

__all__ = ["Confirmation", "confirmation_in"]

# at the start of the comment: aims's own request for the confirmation quotes the words later
# in its sentence, and must not read as one
_CONFIRM = re.compile(r"\s*aims\s+confirm\s+([A-Za-z0-9_.:\-]{3,300})", re.IGNORECASE)


@dataclass(frozen=True)
class Confirmation:
    approval_id: str
    text: str
    comment_id: str
    author: dict[str, Any]


def confirmation_in(payload: Any) -> Confirmation | None:
    """The confirmation a ``comment_created`` webhook carries, or None when it is not one."""
    if not isinstance(payload, dict) or payload.get("webhookEvent") != "comment_created":
        return None
    comment = payload.get("comment")
    if not isinstance(comment, dict):
        return None
    body = comment.get("body")
    # REST API v3 webhooks carry ADF; older sites send the wiki-markup text
    text = body if isinstance(body, str) else _adf.to_text(body)
    found = _CONFIRM.match(text or "")
    if found is None:
        return None
    author = comment.get("author") if isinstance(comment.get("author"), dict) else None
    return Confirmation(
        approval_id=found.group(1).rstrip("."),
        text=text.strip()[:500],
        comment_id=str(comment.get("id") or ""),
        author=author or payload.get("user") or {},
    )
