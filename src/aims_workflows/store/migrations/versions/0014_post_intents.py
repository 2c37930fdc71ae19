"""Slack posts recorded before they are made (``slack_posts``: a post cut short by a crash is
looked up in Slack by its marker, not made twice), and triggered starts that cannot be doubled
(``runs.triggered`` and a unique index over the open triggered runs of a (workflow, subject)).

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from aims_workflows.store.types import UTCDateTime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_OPEN_TRIGGERED = "triggered AND status IN ('new', 'running')"


def upgrade() -> None:
    op.create_table(
        "slack_posts",
        sa.Column("marker", sa.String(length=64), nullable=False),
        sa.Column("command_key", sa.String(length=400), nullable=False),
        sa.Column("slot", sa.String(length=400), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("intended_at", UTCDateTime(), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=True),
        sa.Column("ts", sa.String(length=64), nullable=True),
        sa.Column("posted_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("marker"),
    )
    op.create_index("ix_slack_posts_command_key", "slack_posts", ["command_key"])
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("triggered", sa.Boolean(), nullable=True))
    op.create_index(
        "ux_runs_open_triggered",
        "runs",
        ["workflow_id", "subject_type", "subject_id"],
        unique=True,
        sqlite_where=sa.text(_OPEN_TRIGGERED),
        postgresql_where=sa.text(_OPEN_TRIGGERED),
    )


def downgrade() -> None:
    op.drop_index("ux_runs_open_triggered", table_name="runs")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("triggered")
    op.drop_index("ix_slack_posts_command_key", table_name="slack_posts")
    op.drop_table("slack_posts")
