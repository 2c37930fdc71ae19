"""`aims demo` writes only to a database it created and a configuration file it wrote.

With AIMS_DATABASE_URL pointing at a real database (a SQLite file, PostgreSQL) the demo plays on
its own aims-demo.db and leaves the real one untouched; a real database named with --database is
refused unless --force; an aims.yaml the demo did not write is never overwritten."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from aims_workflows.demo.safety import demo_target, prepare
from aims_workflows.store import Database, ledger
from aims_workflows.store.models import AISystem, Run
from conftest import cli_environment, run_aims


@pytest.fixture
def aims(monkeypatch, capsys, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AIMS_CONFIG", raising=False)
    cli_environment(monkeypatch)
    monkeypatch.delenv("AIMS_WORKFLOWS", raising=False)
    return lambda *args: run_aims(capsys, *args)


def _real_database(aims, monkeypatch, url: str) -> dict:
    """A real AIMS on ``url``: initialised, one AI system (which starts two runs)."""
    monkeypatch.setenv("AIMS_DATABASE_URL", url)
    assert aims("init").code == 0
    added = aims("systems", "add", "Fraud model", "--owner", "olga@example.com")
    assert added.code == 0, added
    return _state(url)


def _state(url: str) -> dict:
    db = Database(url)
    try:
        with db.connect() as conn:
            return {
                "systems": conn.scalars(select(AISystem.__table__.c.name)).all(),
                "runs": sorted(conn.scalars(select(Run.__table__.c.id)).all()),
                "ledger": [(r.seq, r.hash) for r in ledger.iter_rows(conn)],
            }
    finally:
        db.dispose()


def _demo_ran(result, tmp_path: Path) -> None:
    assert result.code == 0, result
    assert "evidence chain verified" in result.out
    assert (tmp_path / "aims-demo.db").exists() and (tmp_path / "aims-demo.yaml").exists()


def test_the_demo_leaves_the_sqlite_database_of_aims_database_url_alone(
    aims, monkeypatch, tmp_path
):
    url = f"sqlite:///{tmp_path / 'aims.db'}"
    before = _real_database(aims, monkeypatch, url)
    config = (tmp_path / "aims.yaml").read_bytes()
    assert len(before["ledger"]) > 0 and before["systems"] == ["Fraud model"]

    result = aims("demo", "--quiet")
    _demo_ran(result, tmp_path)
    assert "AIMS_DATABASE_URL" in result.out and "left alone" in result.out
    assert _state(url) == before
    assert (tmp_path / "aims.yaml").read_bytes() == config
    assert len(_state(f"sqlite:///{tmp_path / 'aims-demo.db'}")["ledger"]) > 200

    # a second demo replaces the first (its own database and file), not the real one
    _demo_ran(aims("demo", "--quiet"), tmp_path)
    assert _state(url) == before


def test_a_real_database_named_on_the_command_line_is_refused(aims, monkeypatch, tmp_path):
    url = f"sqlite:///{tmp_path / 'aims.db'}"
    before = _real_database(aims, monkeypatch, url)
    for args in (("--database", url), ("--db", str(tmp_path / "aims.db"))):
        refused = aims("demo", "--quiet", *args)
        assert refused.code == 1
        assert "run(s) the demo did not start" in refused.err and "--force" in refused.err
        assert _state(url) == before
    assert not (tmp_path / "aims-demo.yaml").exists()  # nothing half written


def test_force_replaces_a_real_database_but_never_its_aims_yaml(aims, monkeypatch, tmp_path):
    url = f"sqlite:///{tmp_path / 'aims.db'}"
    _real_database(aims, monkeypatch, url)
    config = (tmp_path / "aims.yaml").read_bytes()
    result = aims("demo", "--quiet", "--database", url, "--force")
    assert result.code == 0, result
    assert "Fraud model" not in _state(url)["systems"]
    assert (tmp_path / "aims.yaml").read_bytes() == config  # the demo's file is aims-demo.yaml


def test_a_configuration_file_the_demo_did_not_write_is_never_overwritten(aims, tmp_path):
    mine = tmp_path / "other.yaml"
    mine.write_text("organisation: Mine\n")
    refused = aims("demo", "--quiet", "--db", str(tmp_path / "other.db"), "--force")
    assert refused.code == 1
    assert "other.yaml exists and was not written by `aims demo`" in refused.err
    assert mine.read_text() == "organisation: Mine\n"
    assert not (tmp_path / "other.db").exists()


def test_a_file_that_is_not_a_database_is_refused(aims, tmp_path):
    notes = tmp_path / "notes.db"
    notes.write_text("my notes")
    refused = aims("demo", "--quiet", "--db", str(notes), "--force")
    assert refused.code == 1 and "is not a database" in refused.err
    assert notes.read_text() == "my notes"


@pytest.mark.postgres
def test_the_demo_leaves_the_postgresql_database_of_aims_database_url_alone(
    aims, monkeypatch, tmp_path, pg_url
):
    before = _real_database(aims, monkeypatch, pg_url)
    _demo_ran(aims("demo", "--quiet"), tmp_path)
    assert _state(pg_url) == before

    refused = aims("demo", "--quiet", "--database", pg_url)
    assert refused.code == 1 and "the demo did not start" in refused.err
    assert _state(pg_url) == before


@pytest.mark.postgres
def test_force_on_postgresql_drops_only_aims_tables(aims, monkeypatch, tmp_path, pg_url):
    _real_database(aims, monkeypatch, pg_url)
    other = Database(pg_url)
    with other.begin() as conn:
        conn.execute(text("CREATE TABLE payroll (id integer)"))
        conn.execute(text("INSERT INTO payroll VALUES (1)"))
    target = demo_target(pg_url, None)
    with pytest.raises(Exception, match="tables that are not aims's \\(payroll\\)"):
        prepare(target)
    db = prepare(target, force=True)
    try:
        with db.connect() as conn:
            assert conn.scalar(select(func.count()).select_from(AISystem.__table__)) == 0
            assert conn.scalar(text("SELECT count(*) FROM payroll")) == 1
        db.require_ready()
    finally:
        db.dispose()
        other.dispose()
