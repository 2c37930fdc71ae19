"""What the Jira adapter asks of the database about step-up confirmations, through the runtime:
the open approvals holding a decision until its approver confirms it, and whether a confirmation
comment was already applied through the other path (webhook or poll)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from ..store import Database, runs
from ..store.models import Approval, InboxItem

__all__ = ["PendingStepUp", "applied_elsewhere", "pending_step_ups"]

_APPROVALS = Approval.__table__
_INBOX = InboxItem.__table__


@dataclass(frozen=True)
class PendingStepUp:
    """An open approval with at least one approval held for its step-up confirmation."""

    approval_id: str
    run_id: str
    requested_at: datetime


def pending_step_ups(db: Database, limit: int = 200) -> list[PendingStepUp]:
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


def applied_elsewhere(db: Database, subject: str, source: str, delivery_id: str) -> str | None:
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
