"""Step-up confirmations the reconciliation poll reads, for sites Jira cannot call back.

A webhook brings a confirmation comment as it is written; with ``AIMS_JIRA_MODE=poll`` no
webhook comes, so the poll reads the comments of the issues of each run whose approval waits
for a step-up confirmation (``GET /rest/api/3/issue/{key}/comment``, newest first, only those
written since the request) and hands each ``aims confirm <id>`` comment to the same path a
webhook takes: the same checks (the author's Jira account, resolved through the directory of
people, must be the approver's; anyone else's is refused and recorded).

A comment is applied once however it arrives: each delivery of a confirmation names the
comment as its subject (``comment:<id>``), and a delivery whose comment was already applied
through the other path (webhook or poll) is recorded as ignored, with which one applied it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ...runtime import PendingStepUp, applied_elsewhere, pending_step_ups
from ._time import jira_time

__all__ = [
    "SKEW",
    "PendingStepUp",
    "applied_elsewhere",
    "comment_subject",
    "pending_step_ups",
    "written_since",
]

SKEW = timedelta(minutes=2)
"""How much earlier than the request a comment may be stamped and still be read: Jira's clock
and ours differ a little."""


def comment_subject(comment_id: str) -> str:
    return f"comment:{comment_id}"


def written_since(comment: dict, since: datetime) -> bool:
    """The comment was written after the request (less the clocks' difference)."""
    created = jira_time(comment.get("created"))
    if since.tzinfo is None:  # SQLite gives back naive UTC
        since = since.replace(tzinfo=UTC)
    return created is None or created >= since - SKEW
