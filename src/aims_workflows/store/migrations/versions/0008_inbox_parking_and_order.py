"""The inbox keeps, for a delivery it has applied or set aside, the run it concerns, the
subject it changes (a Jira issue) and where the change stands in that subject's history (the
sender's change time and sequence), so that an older change delivered after a newer one is
recognised and ignored. A delivery that cannot be applied is 'parked' with its reason instead
of blocking the deliveries behind it.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inbox") as batch:  # batch: SQLite cannot drop columns in place
        batch.add_column(sa.Column("run_id", sa.String(200), nullable=True))
        batch.add_column(sa.Column("subject", sa.String(200), nullable=True))
        batch.add_column(sa.Column("version", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("version_seq", sa.BigInteger(), nullable=True))
    op.create_index("ix_inbox_run_id", "inbox", ["run_id"])
    op.create_index("ix_inbox_source_subject", "inbox", ["source", "subject"])


def downgrade() -> None:
    op.drop_index("ix_inbox_source_subject", table_name="inbox")
    op.drop_index("ix_inbox_run_id", table_name="inbox")
    with op.batch_alter_table("inbox") as batch:
        batch.drop_column("version_seq")
        batch.drop_column("version")
        batch.drop_column("subject")
        batch.drop_column("run_id")
