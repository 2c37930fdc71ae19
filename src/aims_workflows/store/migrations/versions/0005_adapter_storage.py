"""The adapters' own storage: the Slack app's requests and message copies get tables of their
own (until now they were read back from the outbox's result column), and the Jira issue mapping
stops keeping a second copy of the task's status (the run's state is the one owner).

The upgrade copies what earlier Slack commands recorded in the outbox into the new tables, so
the messages of approvals that are open while the database is upgraded are still updated when
they close.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

from aims_workflows.store.types import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_POSTING_KINDS = ("approval.request", "approval.remind", "approval.escalate")


def upgrade() -> None:
    requests = op.create_table(
        "slack_requests",
        sa.Column("approval_id", sa.String(length=300), nullable=False),
        sa.Column("run_id", sa.String(length=200), nullable=False),
        sa.Column("card", sa.JSON(), nullable=False),
        sa.Column("people", sa.JSON(), nullable=False),
        sa.Column("posted_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("approval_id"),
    )
    op.create_index("ix_slack_requests_run_id", "slack_requests", ["run_id"])
    messages = op.create_table(
        "slack_messages",
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("ts", sa.String(length=64), nullable=False),
        sa.Column("approval_id", sa.String(length=300), nullable=False),
        sa.Column("role", sa.String(length=12), nullable=False),
        sa.Column("person", sa.String(length=320), nullable=True),
        sa.Column("user_id", sa.String(length=64), nullable=True),
        sa.Column("posted_at", UTCDateTime(), nullable=False),
        sa.Column("retired_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("channel", "ts"),
    )
    op.create_index("ix_slack_messages_approval_id", "slack_messages", ["approval_id"])
    _copy_slack_results(op.get_bind(), requests, messages)
    with op.batch_alter_table("jira_issues") as batch:  # batch: SQLite drops columns by copy
        batch.drop_column("status")


def _copy_slack_results(conn: sa.Connection, requests: sa.Table, messages: sa.Table) -> None:
    """Every card, copy and retirement that a done Slack command recorded as its result."""
    outbox = sa.table(
        "outbox",
        sa.column("id", sa.Integer),
        sa.column("run_id", sa.String),
        sa.column("kind", sa.String),
        sa.column("payload", sa.Text),
        sa.column("status", sa.String),
        sa.column("result", sa.Text),
        sa.column("done_at", UTCDateTime),
        sa.column("created_at", UTCDateTime),
    )
    rows = conn.execute(
        sa.select(
            outbox.c.run_id,
            outbox.c.kind,
            outbox.c.payload,
            outbox.c.result,
            outbox.c.done_at,
            outbox.c.created_at,
        )
        .where(
            outbox.c.kind.in_(_POSTING_KINDS),
            outbox.c.status == "done",
            outbox.c.result.is_not(None),
        )
        .order_by(outbox.c.id)
    )
    cards: dict[str, dict[str, Any]] = {}
    copies: dict[tuple[str, str], dict[str, Any]] = {}
    for run_id, kind, payload, result, done_at, created_at in rows:
        approval_id = json.loads(payload).get("approval_id")
        found = json.loads(result) if result else {}
        if not approval_id or not isinstance(found, dict):
            continue
        at = done_at or created_at
        if kind == "approval.request" and found.get("card") and approval_id not in cards:
            cards[approval_id] = {
                "approval_id": approval_id,
                "run_id": run_id,
                "card": found["card"],
                "people": list(found.get("people") or []),
                "posted_at": at,
            }
        for raw in found.get("copies") or []:
            where = (str(raw["channel"]), str(raw["ts"]))
            copies.setdefault(
                where,
                {
                    "channel": where[0],
                    "ts": where[1],
                    "approval_id": raw.get("approval_id") or approval_id,
                    "role": raw.get("role") or "approver",
                    "person": raw.get("person"),
                    "user_id": raw.get("user"),
                    "posted_at": at,
                    "retired_at": None,
                },
            )
        for channel, ts in found.get("retired") or []:
            if (str(channel), str(ts)) in copies:
                copies[(str(channel), str(ts))]["retired_at"] = at
    if cards:
        op.bulk_insert(requests, list(cards.values()))
    if copies:
        op.bulk_insert(messages, list(copies.values()))


def downgrade() -> None:
    with op.batch_alter_table("jira_issues") as batch:
        batch.add_column(
            sa.Column("status", sa.String(length=12), nullable=False, server_default="open")
        )
    op.drop_index("ix_slack_messages_approval_id", table_name="slack_messages")
    op.drop_table("slack_messages")
    op.drop_index("ix_slack_requests_run_id", table_name="slack_requests")
    op.drop_table("slack_requests")
