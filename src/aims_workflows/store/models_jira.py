"""Tables of the Jira integration (migration 0002): which issue is which task, which engineer
attachments are already in the ledger, and where the reconciliation poll stopped."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base

__all__ = ["JiraIssue", "JiraAttachment", "JiraSyncCursor", "JiraCreateAttempt"]


class JiraIssue(Base):
    """One Jira issue made for one task visit (run, step, attempt).

    ``idem_key`` is the outbox command's idempotency key, also stored on the issue as an entity
    property and (hashed) as a label, so a retried create finds the issue instead of making a
    second one. ``fields`` maps the form's field ids to the Jira field ids used for them.
    Whether the task is open is the run's to say (its state), not this table's.
    """

    __tablename__ = "jira_issues"
    issue_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    issue_key: Mapped[str] = mapped_column(String(64), index=True)
    idem_key: Mapped[str] = mapped_column(String(400), unique=True)
    run_id: Mapped[str] = mapped_column(String(200), index=True)
    step_id: Mapped[str] = mapped_column(String(64))
    attempt: Mapped[int] = mapped_column(Integer)
    fields: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class JiraAttachment(Base):
    """An engineer's attachment that was downloaded, hashed and recorded in the ledger once."""

    __tablename__ = "jira_attachments"
    attachment_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    issue_key: Mapped[str] = mapped_column(String(64), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime]


class JiraSyncCursor(Base):
    """How far the reconciliation poll has read (the latest ``updated`` it has seen)."""

    __tablename__ = "jira_sync"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    cursor: Mapped[datetime]
    polled_at: Mapped[datetime]


class JiraCreateAttempt(Base):
    """When a ``task.create`` command first asked Jira to create its issue (migration 0007).

    Jira's search is eventually consistent: an issue created by an attempt that did not live to
    record it can stay invisible to the label search for a while. A retry that finds nothing
    within that window waits instead of creating a second issue.

    ``id_floor`` (migration 0015): the highest issue id known before the create was sent; the
    retry asks the search to reconcile the ids above it. ``unassignable``: Jira's reason for
    refusing the assignee, and ``unassignable_told_at`` when the issue got the comment saying
    so (each outlives a crash between the create and the comment)."""

    __tablename__ = "jira_create_attempts"
    idem_key: Mapped[str] = mapped_column(String(400), primary_key=True)
    started_at: Mapped[datetime]
    id_floor: Mapped[int | None] = mapped_column(BigInteger)
    unassignable: Mapped[str | None] = mapped_column(Text)
    unassignable_told_at: Mapped[datetime | None]
