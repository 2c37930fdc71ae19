"""Guard the ledger head: it may only move forward.

The head row records the last sequence number and hash of the evidence chain, so that rows
deleted from the end of the ledger are noticed. Without a guard, someone could delete the last
rows and rewind the head to match; with it, that needs the triggers dropped first, the same bar
as editing the ledger itself.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_SQLITE = [
    "CREATE TRIGGER ledger_head_forward_only BEFORE UPDATE ON ledger_head "
    "WHEN NEW.seq < OLD.seq OR NEW.id <> OLD.id "
    "BEGIN SELECT RAISE(ABORT, 'the ledger head only moves forward'); END",
    "CREATE TRIGGER ledger_head_no_delete BEFORE DELETE ON ledger_head "
    "BEGIN SELECT RAISE(ABORT, 'the ledger head cannot be deleted'); END",
]
_POSTGRES = [
    """CREATE OR REPLACE FUNCTION ledger_head_forward_only() RETURNS trigger AS $$
    BEGIN
        IF TG_OP = 'DELETE' OR NEW.seq < OLD.seq OR NEW.id <> OLD.id THEN
            RAISE EXCEPTION 'the ledger head only moves forward (% refused)', TG_OP;
        END IF;
        RETURN NEW;
    END;
    $$ LANGUAGE plpgsql""",
    "CREATE TRIGGER ledger_head_forward_only BEFORE UPDATE OR DELETE ON ledger_head "
    "FOR EACH ROW EXECUTE FUNCTION ledger_head_forward_only()",
    "CREATE TRIGGER ledger_head_no_truncate BEFORE TRUNCATE ON ledger_head "
    "FOR EACH STATEMENT EXECUTE FUNCTION evidence_append_only()",
]


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": _SQLITE, "postgresql": _POSTGRES}.get(dialect, []):
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS ledger_head_forward_only")
        op.execute("DROP TRIGGER IF EXISTS ledger_head_no_delete")
    elif dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS ledger_head_no_truncate ON ledger_head")
        op.execute("DROP TRIGGER IF EXISTS ledger_head_forward_only ON ledger_head")
        op.execute("DROP FUNCTION IF EXISTS ledger_head_forward_only()")
