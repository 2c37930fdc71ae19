"""Index runs by start time: the dashboard and ``aims runs list`` show the newest runs first,
which without it reads the whole runs table. And name the run that started a spawned run, also
when it does not wait for it (an audit's corrective actions, a review's follow-up actions), so
the link is a column and not only ledger text.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_runs_started_at", "runs", ["started_at"])
    with op.batch_alter_table(
        "runs"
    ) as batch:  # batch: SQLite cannot drop a column in place on downgrade
        batch.add_column(sa.Column("spawned_by", sa.String(200), nullable=True))
    op.create_index("ix_runs_spawned_by", "runs", ["spawned_by"])


def downgrade() -> None:
    op.drop_index("ix_runs_spawned_by", table_name="runs")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("spawned_by")
    op.drop_index("ix_runs_started_at", table_name="runs")
