"""Tables of the Slack integration (migration 0005): each approval request the Slack app
posted (its card and the people it went to) and every copy of it, so each copy can be updated
when the approval closes, from whichever process carries the command out."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base

__all__ = ["SlackRequest", "SlackMessage", "SlackPost"]


class SlackRequest(Base):
    """One approval request as Slack showed it: the card (the request's content, so a reminder
    shows the same thing) and the people it was sent to after segregation of duties."""

    __tablename__ = "slack_requests"
    approval_id: Mapped[str] = mapped_column(String(300), primary_key=True)
    run_id: Mapped[str] = mapped_column(String(200), index=True)
    card: Mapped[dict[str, Any]]
    people: Mapped[list[Any]]
    posted_at: Mapped[datetime]


class SlackMessage(Base):
    """One posted copy of an approval request. ``role`` is ``approver`` (with buttons),
    ``channel`` (one post for everyone) or ``watcher`` (an escalation, no buttons); a copy
    replaced by a reminder's repost is ``retired_at`` and needs no update any more."""

    __tablename__ = "slack_messages"
    channel: Mapped[str] = mapped_column(String(64), primary_key=True)
    ts: Mapped[str] = mapped_column(String(64), primary_key=True)
    approval_id: Mapped[str] = mapped_column(String(300), index=True)
    role: Mapped[str] = mapped_column(String(12))
    person: Mapped[str | None] = mapped_column(String(320))
    user_id: Mapped[str | None] = mapped_column(String(64))
    posted_at: Mapped[datetime]
    retired_at: Mapped[datetime | None]
    # the command that posted it: a retried command finds what it posted before a crash
    command_key: Mapped[str | None] = mapped_column(String(400), index=True)


class SlackPost(Base):
    """A message the Slack app is about to post, recorded before the post (an intent) and
    completed with its ``ts`` after it. ``marker`` is derived from the command and the slot
    (the person, or the channel) and travels in the message's first ``block_id``: a process
    that finds an intent without a ``ts`` (the poster was killed between the post and the
    record) looks the message up in the conversation's history by that marker instead of
    posting it again."""

    __tablename__ = "slack_posts"
    marker: Mapped[str] = mapped_column(String(64), primary_key=True)
    command_key: Mapped[str] = mapped_column(String(400), index=True)
    slot: Mapped[str] = mapped_column(String(400))
    target: Mapped[str] = mapped_column(String(200))  # the channel as posted to (ID or #name)
    intended_at: Mapped[datetime]
    channel: Mapped[str | None] = mapped_column(String(64))  # the conversation ID, once posted
    ts: Mapped[str | None] = mapped_column(String(64))
    posted_at: Mapped[datetime | None]
