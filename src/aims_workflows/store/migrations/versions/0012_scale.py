"""The directory's version token (a process keeps what it read of the directory of people while
the token stays the same), and owned claims on inbox deliveries (workers take deliveries to
apply under their own name, as they take outbox commands).

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from aims_workflows.store.types import UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    version = op.create_table(
        "directory_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.bulk_insert(version, [{"id": 1, "token": "initial"}])
    with op.batch_alter_table("inbox") as batch:  # batch: SQLite cannot drop columns in place
        batch.add_column(sa.Column("claimed_by", sa.String(100), nullable=True))
        batch.add_column(sa.Column("claimed_until", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("inbox") as batch:
        batch.drop_column("claimed_until")
        batch.drop_column("claimed_by")
    op.drop_table("directory_version")
