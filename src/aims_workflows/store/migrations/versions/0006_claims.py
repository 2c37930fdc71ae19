"""Owned outbox claims, scheduled starts that cannot be doubled, and Slack copies by command.

* ``outbox.claimed_by``: the dispatcher that holds an in-flight command. Only the holder may
  mark it done, put it back or park it, so a dispatcher whose lease ran out while a slow call
  was in flight cannot record a second result over the new holder's.
* ``runs.scheduled`` and a unique index over the open scheduled runs of a (workflow, subject):
  two workers reaching the same due date start one run; the loser's insert fails alone (inside
  its savepoint) and is skipped.
* ``slack_messages.command_key``: the command that posted a copy, so a command retried after a
  crash finds what it already posted and posts only what is missing.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_OPEN_SCHEDULED = "scheduled AND status IN ('new', 'running')"


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(length=64), nullable=True))
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("scheduled", sa.Boolean(), nullable=True))
    op.create_index(
        "ux_runs_open_scheduled",
        "runs",
        ["workflow_id", "subject_type", "subject_id"],
        unique=True,
        sqlite_where=sa.text(_OPEN_SCHEDULED),
        postgresql_where=sa.text(_OPEN_SCHEDULED),
    )
    with op.batch_alter_table("slack_messages") as batch:
        batch.add_column(sa.Column("command_key", sa.String(length=400), nullable=True))
    op.create_index("ix_slack_messages_command_key", "slack_messages", ["command_key"])


def downgrade() -> None:
    op.drop_index("ix_slack_messages_command_key", table_name="slack_messages")
    with op.batch_alter_table("slack_messages") as batch:
        batch.drop_column("command_key")
    op.drop_index("ux_runs_open_scheduled", table_name="runs")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("scheduled")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("claimed_by")
