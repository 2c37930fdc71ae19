"""The KPI history: each KPI's values as each day closed, per scope (the whole AIMS, an AI
system, a risk tier, a workflow).

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from aims_workflows.store.types import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kpi_snapshots",
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("scope", sa.String(length=300), nullable=False),
        sa.Column("taken_at", UTCDateTime(), nullable=False),
        sa.Column("kpis", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("day", "scope"),
    )


def downgrade() -> None:
    op.drop_table("kpi_snapshots")
