"""The migrated schema: every table, exactly the models, idempotent upgrades, clear errors when
the database was never initialised."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from aims_workflows.errors import StoreError
from aims_workflows.store import Database
from aims_workflows.store.models import Base

# The core tables; integrations may add their own (the models and migrations must still agree).
CORE_TABLES = {
    "ai_systems",
    "ai_system_history",
    "spec_versions",
    "runs",
    "steps",
    "approvals",
    "approval_latency_histogram",
    "kpi_counters",
    "evidence",
    "ledger_head",
    "outbox",
    "inbox",
    "risk_register",
    "findings",
}


def test_models_name_the_core_tables():
    assert CORE_TABLES <= set(Base.metadata.tables)


def test_migrations_create_every_table(database: Database):
    with database.connect() as conn:
        tables = set(inspect(conn).get_table_names())
    assert tables == set(Base.metadata.tables) | {"alembic_version"}
    assert CORE_TABLES <= tables


def test_migrated_schema_matches_the_models_exactly(database: Database):
    with database.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": True}
        )
        diffs = compare_metadata(context, Base.metadata)
    assert diffs == []


def test_ledger_starts_at_genesis(database: Database):
    with database.connect() as conn:
        rows = conn.execute(text("SELECT id, seq, hash FROM ledger_head")).all()
        evidence = conn.execute(text("SELECT count(*) FROM evidence")).scalar()
    assert [tuple(r) for r in rows] == [(1, 0, "0" * 64)]
    assert evidence == 0


def test_upgrade_twice_is_a_no_op(database: Database):
    head = database.head_revision()
    assert database.current_revision() == head
    with database.connect() as conn:
        before = sorted(inspect(conn).get_table_names())
    database.upgrade()
    assert database.current_revision() == head
    with database.connect() as conn:
        assert sorted(inspect(conn).get_table_names()) == before
        # the genesis head row was not inserted twice
        assert conn.execute(text("SELECT count(*) FROM ledger_head")).scalar() == 1
    database.require_ready()


def test_require_ready_on_an_empty_database_says_run_init(db_url: str):
    db = Database(db_url)
    try:
        with pytest.raises(StoreError) as caught:
            db.require_ready()
    finally:
        db.dispose()
    assert "has no aims tables" in caught.value.message
    assert "aims init" in caught.value.hint


def test_require_ready_when_the_schema_is_behind_says_upgrade(database: Database):
    with database.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'older'"))
    with pytest.raises(StoreError) as caught:
        database.require_ready()
    assert "revision older" in caught.value.message
    assert "aims db upgrade" in caught.value.hint


def test_append_only_triggers_exist(database: Database):
    with database.connect() as conn:
        if database.dialect == "sqlite":
            names = set(
                conn.execute(
                    text(
                        "SELECT name FROM sqlite_master WHERE type "
                        "= 'trigger' AND tbl_name = 'evidence'"
                    )
                ).scalars()
            )
            assert names == {"evidence_no_update", "evidence_no_delete"}
        else:
            names = set(
                conn.execute(
                    text(
                        "SELECT tgname FROM pg_trigger WHERE tgrelid "
                        "= 'evidence'::regclass AND NOT tgisinternal"
                    )
                ).scalars()
            )
            assert names == {"evidence_no_update_delete", "evidence_no_truncate"}


def test_a_bad_url_is_a_store_error_without_the_password():
    with pytest.raises(StoreError) as caught:
        Database("nosuchdialect://admin:s3cret-pw@db.example.com/aims")
    assert "s3cret-pw" not in str(caught.value)
    assert "AIMS_DATABASE_URL" in caught.value.hint


def test_an_unreachable_server_is_a_store_error_without_the_password():
    db = Database("postgresql+psycopg://admin:s3cret-pw@127.0.0.1:1/aims?connect_timeout=2")
    with pytest.raises(StoreError) as caught:
        db.require_ready()
    assert "s3cret-pw" not in str(caught.value)
    assert "***" in str(caught.value)
