"""The Slack integration's own storage (tables of migration 0005): the approval requests the
Slack app posted and every copy of them. :class:`SlackMessageRecords` is the
:class:`~aims_workflows.ports.SlackMessageStore` the Slack adapter is given; each method is one
transaction of its own, so what one process posted is seen by the others at once."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table, select, update

from ..ports import Clock, PostedCopy, PostedRequest
from .db import Database
from .models import Approval
from .models_slack import SlackMessage, SlackRequest
from .upsert import insert_for

__all__ = ["SlackMessageRecords"]

_REQUESTS: Table = SlackRequest.__table__
_MESSAGES: Table = SlackMessage.__table__
_APPROVALS: Table = Approval.__table__


def _insert(conn: Connection, table: Table) -> Any:
    return insert_for(conn.dialect.name, table)


def _request(row: Any) -> PostedRequest:
    return PostedRequest(row.approval_id, row.run_id, dict(row.card), list(row.people))


class SlackMessageRecords:
    """Requests and copies in the application's database."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def save_request(self, request: PostedRequest) -> None:
        """Record a request once: a retried post keeps the card it first showed."""
        with self.db.begin() as conn:
            conn.execute(
                _insert(conn, _REQUESTS)
                .values(
                    approval_id=request.approval_id,
                    run_id=request.run_id,
                    card=request.card,
                    people=list(request.people),
                    posted_at=self.clock.now(),
                )
                .on_conflict_do_nothing()
            )

    def request(self, approval_id: str) -> PostedRequest | None:
        with self.db.connect() as conn:
            row = conn.execute(
                select(_REQUESTS).where(_REQUESTS.c.approval_id == approval_id)
            ).first()
        return _request(row) if row else None

    def open_requests(self) -> list[PostedRequest]:
        """The requests whose approval is still open, oldest request first."""
        with self.db.connect() as conn:
            rows = conn.execute(
                select(_REQUESTS)
                .join(_APPROVALS, _APPROVALS.c.approval_id == _REQUESTS.c.approval_id)
                .where(_APPROVALS.c.status == "open")
                .order_by(_APPROVALS.c.requested_at, _REQUESTS.c.approval_id)
            ).all()
        return [_request(row) for row in rows]

    def add_copy(self, copy: PostedCopy) -> None:
        with self.db.begin() as conn:
            conn.execute(
                _insert(conn, _MESSAGES)
                .values(
                    channel=copy.channel,
                    ts=copy.ts,
                    approval_id=copy.approval_id,
                    role=copy.role,
                    person=copy.person,
                    user_id=copy.user,
                    posted_at=self.clock.now(),
                    command_key=copy.command_key,
                )
                .on_conflict_do_nothing()
            )

    def retire(self, channel: str, ts: str) -> None:
        """A copy replaced by a repost: it keeps no buttons and needs no update any more."""
        with self.db.begin() as conn:
            conn.execute(
                update(_MESSAGES)
                .where(
                    _MESSAGES.c.channel == channel,
                    _MESSAGES.c.ts == ts,
                    _MESSAGES.c.retired_at.is_(None),
                )
                .values(retired_at=self.clock.now())
            )

    def copies(self, approval_id: str) -> list[PostedCopy]:
        """The live (not retired) copies of a request, oldest first."""
        with self.db.connect() as conn:
            rows = conn.execute(
                select(_MESSAGES)
                .where(_MESSAGES.c.approval_id == approval_id, _MESSAGES.c.retired_at.is_(None))
                .order_by(_MESSAGES.c.posted_at, _MESSAGES.c.ts)
            ).all()
        return [_copy(r) for r in rows]

    def posted_by(self, command_key: str) -> list[PostedCopy]:
        """Every copy ``command_key`` posted (retired or not), oldest first: what a command
        retried after a crash need not post again."""
        with self.db.connect() as conn:
            rows = conn.execute(
                select(_MESSAGES)
                .where(_MESSAGES.c.command_key == command_key)
                .order_by(_MESSAGES.c.posted_at, _MESSAGES.c.ts)
            ).all()
        return [_copy(r) for r in rows]


def _copy(row: Any) -> PostedCopy:
    return PostedCopy(
        row.approval_id, row.channel, row.ts, row.role, row.person, row.user_id, row.command_key
    )
