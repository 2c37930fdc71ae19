"""Findings from any source: what kind of source raised each one (incident, complaint,
monitoring, external or certification audit, internal) and the tracker issue it came in by.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("findings") as batch:
        batch.add_column(sa.Column("source_type", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("tracker_issue", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("tracker_issue_id", sa.String(length=40), nullable=True))
        batch.create_index("ix_findings_source_type", ["source_type"])
        # one finding per tracker issue: a webhook delivered twice raises it once
        batch.create_unique_constraint("uq_findings_tracker_issue_id", ["tracker_issue_id"])
    # every finding before this revision was raised by an internal audit's spawn
    op.execute("UPDATE findings SET source_type = 'internal' WHERE source_type IS NULL")


def downgrade() -> None:
    with op.batch_alter_table("findings") as batch:
        batch.drop_constraint("uq_findings_tracker_issue_id", type_="unique")
        batch.drop_index("ix_findings_source_type")
        batch.drop_column("tracker_issue_id")
        batch.drop_column("tracker_issue")
        batch.drop_column("source_type")
