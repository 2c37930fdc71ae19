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

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from ...store import runs
from ...store.models import Approval, InboxItem
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

_APPROVALS = Approval.__table__
_INBOX = InboxItem.__table__


@dataclass(frozen=True)
class PendingStepUp:
    """An open approval with at least one approval held for its step-up confirmation."""

    approval_id: str
    run_id: str
    requested_at: datetime


def pending_step_ups(db, limit: int = 200) -> list[PendingStepUp]:
    """Open approvals whose run holds an approval until the approver confirms it."""
    found: list[PendingStepUp] = []
    with db.connect() as conn:
        rows = conn.execute(
            select(_APPROVALS.c.approval_id, _APPROVALS.c.run_id, _APPROVALS.c.requested_at)
            .where(_APPROVALS.c.status == "open")
            .order_by(_APPROVALS.c.requested_at)
            .limit(limit)
        ).all()
        for row in rows:
            run, _ = runs.load(conn, row.run_id)
            approval = run.approval
            if approval is None or approval.approval_id != row.approval_id:
                continue
            if approval.awaiting:
                found.append(PendingStepUp(row.approval_id, row.run_id, row.requested_at))
    return found


def comment_subject(comment_id: str) -> str:
    return f"comment:{comment_id}"


def applied_elsewhere(db, subject: str, source: str, delivery_id: str) -> str | None:
    """The delivery (``source/id``) through which this comment was already applied, if any."""
    with db.connect() as conn:
        row = conn.execute(
            select(_INBOX.c.source, _INBOX.c.delivery_id)
            .where(
                _INBOX.c.subject == subject,
                _INBOX.c.status == "processed",
                _INBOX.c.source.in_(("jira", "jira-poll")),
            )
            .limit(5)
        ).all()
    for other in row:
        if (other.source, other.delivery_id) != (source, delivery_id):
            return f"{other.source}/{other.delivery_id}"
    return None


def written_since(comment: dict, since: datetime) -> bool:
    """The comment was written after the request (less the clocks' difference)."""
    created = jira_time(comment.get("created"))
    if since.tzinfo is None:  # SQLite gives back naive UTC
        since = since.replace(tzinfo=UTC)
    return created is None or created >= since - SKEW
