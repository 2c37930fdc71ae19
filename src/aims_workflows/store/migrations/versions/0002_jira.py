"""Jira integration: issue-to-task mapping, recorded engineer attachments, reconciliation cursor.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from aims_workflows.store.types import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "jira_issues",
        sa.Column("issue_id", sa.String(length=40), nullable=False),
        sa.Column("issue_key", sa.String(length=64), nullable=False),
        sa.Column("idem_key", sa.String(length=400), nullable=False),
        sa.Column("run_id", sa.String(length=200), nullable=False),
        sa.Column("step_id", sa.String(length=64), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("issue_id"),
        sa.UniqueConstraint("idem_key"),
    )
    with op.batch_alter_table("jira_issues", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_jira_issues_issue_key"), ["issue_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_jira_issues_run_id"), ["run_id"], unique=False)
    op.create_table(
        "jira_attachments",
        sa.Column("attachment_id", sa.String(length=40), nullable=False),
        sa.Column("issue_key", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("attachment_id"),
    )
    with op.batch_alter_table("jira_attachments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_jira_attachments_issue_key"), ["issue_key"], unique=False
        )
    op.create_table(
        "jira_sync",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("cursor", UTCDateTime(), nullable=False),
        sa.Column("polled_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("jira_sync")
    with op.batch_alter_table("jira_attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_jira_attachments_issue_key"))
    op.drop_table("jira_attachments")
    with op.batch_alter_table("jira_issues", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_jira_issues_run_id"))
        batch_op.drop_index(batch_op.f("ix_jira_issues_issue_key"))
    op.drop_table("jira_issues")
