"""Remember when each Jira issue creation was first attempted, so that a retry does not create
a second issue while Jira's search has not caught up with the first.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from aims_workflows.store.types import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "jira_create_attempts",
        sa.Column("idem_key", sa.String(400), primary_key=True),
        sa.Column("started_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("jira_create_attempts")
