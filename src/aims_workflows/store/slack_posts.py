"""Slack posts recorded before they are made (table ``slack_posts`` of migration 0020).

A post to Slack and the row that records it cannot be one transaction: a process killed
between the two leaves a message nobody knows of, and a retry would post it again. So each
post is first written down as an intent (its marker, the command and slot it belongs to, the
conversation it goes to, when; a ``#name``'s ID as soon as it is resolved), then made, then
completed with its ``ts``. A retry that finds
an intent without a ``ts`` looks the message up in Slack by its marker (see
:mod:`aims_workflows.adapters.slack._posts`). Each method is one transaction of its own, so an
intent is on disk before the post is made."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, select, update

from ..ports import Clock, PostIntent
from .db import Database
from .models_slack import SlackPost
from .upsert import insert_for

__all__ = ["SlackPostRecords"]

_POSTS: Table = SlackPost.__table__


def _intent(row: Any) -> PostIntent:
    return PostIntent(
        row.marker, row.command_key, row.slot, row.target, row.intended_at, row.channel, row.ts
    )


class SlackPostRecords:
    """Post intents and their outcome in the application's database."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def intend(
        self, marker: str, command_key: str, slot: str, target: str
    ) -> tuple[PostIntent, bool]:
        """The intent ``marker``, and True when this call recorded it; False when an earlier
        attempt did (its time and target kept, so a lookup searches from when it began)."""
        with self.db.begin() as conn:
            written = conn.execute(
                insert_for(conn.dialect.name, _POSTS)
                .values(
                    marker=marker,
                    command_key=command_key,
                    slot=slot,
                    target=target,
                    intended_at=self.clock.now(),
                )
                .on_conflict_do_nothing()
            )
            row = conn.execute(select(_POSTS).where(_POSTS.c.marker == marker)).one()
        return _intent(row), written.rowcount == 1

    def posted(self, marker: str, channel: str, ts: str) -> None:
        with self.db.begin() as conn:
            conn.execute(
                update(_POSTS)
                .where(_POSTS.c.marker == marker)
                .values(channel=channel, ts=ts, posted_at=self.clock.now())
            )

    def addressed(self, marker: str, channel: str) -> None:
        """The conversation ID a ``#name`` resolved to, recorded before the post is made."""
        with self.db.begin() as conn:
            conn.execute(update(_POSTS).where(_POSTS.c.marker == marker).values(channel=channel))

    def made_by(self, command_key: str) -> list[PostIntent]:
        """Every post of ``command_key`` whose ``ts`` is recorded."""
        with self.db.connect() as conn:
            rows = conn.execute(
                select(_POSTS).where(_POSTS.c.command_key == command_key, _POSTS.c.ts.is_not(None))
            ).all()
        return [_intent(row) for row in rows]

    def channel_of(self, target: str) -> str | None:
        """The conversation ID a post to ``target`` (a ``#name``) went to before, if any."""
        with self.db.connect() as conn:
            return conn.execute(
                select(_POSTS.c.channel)
                .where(_POSTS.c.target == target, _POSTS.c.channel.is_not(None))
                .limit(1)
            ).scalar()
