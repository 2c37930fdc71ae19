"""The directory of people: each person's accounts in Jira and Slack, the roles they hold from
when to when, and delegations between them.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from aims_workflows.store.types import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "people",
        sa.Column("person_id", sa.String(length=320), nullable=False),
        sa.Column("display_name", sa.String(length=300), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("jira_account_id", sa.String(length=128), nullable=True),
        sa.Column("slack_user_id", sa.String(length=64), nullable=True),
        sa.Column("added_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("person_id"),
        sa.UniqueConstraint("email"),
        sa.UniqueConstraint("jira_account_id"),
        sa.UniqueConstraint("slack_user_id"),
    )
    op.create_table(
        "role_grants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.String(length=320), nullable=False),
        sa.Column("role", sa.String(length=64), nullable=False),
        sa.Column("valid_from", UTCDateTime(), nullable=False),
        sa.Column("valid_to", UTCDateTime(), nullable=True),
        sa.Column("granted_by", sa.String(length=320), nullable=False),
        sa.Column("revoked_by", sa.String(length=320), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_role_grants_person_role", "role_grants", ["person_id", "role"])
    op.create_table(
        "delegations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("from_person", sa.String(length=320), nullable=False),
        sa.Column("to_person", sa.String(length=320), nullable=False),
        sa.Column("role", sa.String(length=64), nullable=False),
        sa.Column("valid_from", UTCDateTime(), nullable=False),
        sa.Column("until", UTCDateTime(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("granted_by", sa.String(length=320), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("from_person", "role", "to_person", "valid_from"),
    )
    op.create_index("ix_delegations_from_person", "delegations", ["from_person"])
    op.create_index("ix_delegations_to_person", "delegations", ["to_person"])


def downgrade() -> None:
    op.drop_table("delegations")
    op.drop_index("ix_role_grants_person_role", table_name="role_grants")
    op.drop_table("role_grants")
    op.drop_table("people")
