"""What a Jira issue creation learnt that must outlive the process making it, kept on its
``jira_create_attempts`` row:

- ``id_floor``: the highest issue id known before the create was sent. When Jira made the issue
  but its answer was lost, the retry asks the search to reconcile the ids above it
  (``reconcileIssues``), so the issue is found although the search index lags.
- ``unassignable`` / ``unassignable_told_at``: Jira refused the assignee (its reason), and when
  the comment saying so was posted. A crash between the create and that comment no longer
  loses it, and a restart does not post it twice.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from aims_workflows.store.types import UTCDateTime

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jira_create_attempts") as batch:
        batch.add_column(sa.Column("id_floor", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("unassignable", sa.Text(), nullable=True))
        batch.add_column(sa.Column("unassignable_told_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jira_create_attempts") as batch:
        batch.drop_column("unassignable_told_at")
        batch.drop_column("unassignable")
        batch.drop_column("id_floor")
