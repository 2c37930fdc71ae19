"""The risk register: each risk with a stable id (``RISK-<n>``) and where it stands now, its
history, and its treatment actions (see ``store.models_risks``).

The entries the single-risk assessment (version 1 of ai-risk-assessment) recorded become
risks of their own, in the order they were recorded, so existing registers stay readable.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from aims_workflows.store.types import UTCDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    risks = op.create_table(
        "risks",
        sa.Column("risk_id", sa.String(length=20), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("system_name", sa.String(length=200), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("inherent_score", sa.Float(), nullable=True),
        sa.Column("inherent_level", sa.String(length=10), nullable=True),
        sa.Column("residual_score", sa.Float(), nullable=True),
        sa.Column("residual_level", sa.String(length=10), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("level", sa.String(length=10), nullable=True),
        sa.Column("treatment", sa.String(length=20), nullable=True),
        sa.Column("owner", sa.String(length=320), nullable=True),
        sa.Column("action_owner", sa.String(length=320), nullable=True),
        sa.Column("target_date", sa.String(length=10), nullable=True),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("last_run_id", sa.String(length=200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("close_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("risk_id"),
        sa.UniqueConstraint("seq"),
    )
    op.create_index("ix_risks_system_name", "risks", ["system_name"])
    op.create_index("ix_risks_status", "risks", ["status"])
    op.create_index("ix_risks_last_run_id", "risks", ["last_run_id"])
    events = op.create_table(
        "risk_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("risk_id", sa.String(length=20), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("run_id", sa.String(length=200), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_risk_events_risk_id_at", "risk_events", ["risk_id", "at"])
    op.create_table(
        "risk_treatments",
        sa.Column("run_id", sa.String(length=200), nullable=False),
        sa.Column("risk_id", sa.String(length=20), nullable=True),
        sa.Column("system_name", sa.String(length=200), nullable=False),
        sa.Column("risk_title", sa.Text(), nullable=False),
        sa.Column("treatment", sa.String(length=20), nullable=False),
        sa.Column("plan", sa.Text(), nullable=False),
        sa.Column("action_owner", sa.String(length=320), nullable=False),
        sa.Column("due_date", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("completed_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("run_id"),
    )
    op.create_index("ix_risk_treatments_risk_id", "risk_treatments", ["risk_id"])
    op.create_index("ix_risk_treatments_due_date", "risk_treatments", ["due_date"])
    op.create_index("ix_risk_treatments_status", "risk_treatments", ["status"])
    _carry_over_single_risk_entries(risks, events)


def _carry_over_single_risk_entries(risks: sa.Table, events: sa.Table) -> None:
    old = sa.table(
        "risk_register",
        sa.column("id", sa.Integer()),
        sa.column("run_id", sa.String()),
        sa.column("system_name", sa.String()),
        sa.column("risk", sa.Text()),
        sa.column("fields", sa.JSON()),
        sa.column("recorded_at", UTCDateTime()),
    )
    conn = op.get_bind()
    rows = conn.execute(sa.select(old).order_by(old.c.id)).mappings().all()
    for seq, row in enumerate(rows, start=1):
        fields: dict[str, Any] = dict(row["fields"] or {})
        risk_id = f"RISK-{seq}"
        conn.execute(sa.insert(risks).values(**_risk_row(risk_id, seq, row, fields)))
        conn.execute(
            sa.insert(events).values(
                risk_id=risk_id,
                at=row["recorded_at"],
                kind="assessed",
                run_id=row["run_id"],
                details={"score": fields.get("score"), "level": fields.get("level")},
            )
        )


def _risk_row(risk_id: str, seq: int, row: Any, fields: dict[str, Any]) -> dict[str, Any]:
    def number(name: str) -> float | None:
        value = fields.get(name)
        return float(value) if isinstance(value, (int, float)) else None

    return dict(
        risk_id=risk_id,
        seq=seq,
        system_name=row["system_name"],
        title=row["risk"],
        status="open",
        inherent_score=number("score"),
        inherent_level=fields.get("level"),
        residual_score=number("residual_score"),
        residual_level=fields.get("residual_level"),
        # a version 1 assessment tracked no treatment: the residual rating is what it claims
        score=number("residual_score"),
        level=fields.get("residual_level"),
        treatment=fields.get("treatment"),
        owner=fields.get("owner"),
        action_owner=None,
        target_date=fields.get("target_date"),
        fields={**fields, "risk_id": risk_id},
        last_run_id=row["run_id"],
        created_at=row["recorded_at"],
        updated_at=row["recorded_at"],
        closed_at=None,
        close_reason=None,
    )


def downgrade() -> None:
    op.drop_index("ix_risk_treatments_status", table_name="risk_treatments")
    op.drop_index("ix_risk_treatments_due_date", table_name="risk_treatments")
    op.drop_index("ix_risk_treatments_risk_id", table_name="risk_treatments")
    op.drop_table("risk_treatments")
    op.drop_index("ix_risk_events_risk_id_at", table_name="risk_events")
    op.drop_table("risk_events")
    op.drop_index("ix_risks_last_run_id", table_name="risks")
    op.drop_index("ix_risks_status", table_name="risks")
    op.drop_index("ix_risks_system_name", table_name="risks")
    op.drop_table("risks")
