"""``aims db copy | backup | restore`` on real databases: every row of every table arrives, the
ledger chain verifies in the copy to the source's head, ids handed out after a copy to
PostgreSQL do not collide, a target holding aims data is refused (and replaced with --force),
and a copy that cannot be proved leaves the target as it was."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from aims_workflows.errors import StoreError
from aims_workflows.store import Database, inbox, ledger
from aims_workflows.store.copy import backup, copy_database, restore
from aims_workflows.store.models import Base


def everything(url: str) -> dict[str, list[tuple]]:
    """Every row of every aims table, in primary-key order, as Python values."""
    db = Database(url)
    try:
        with db.connect() as conn:
            found = {}
            for table in Base.metadata.sorted_tables:
                rows = conn.execute(select(table).order_by(*table.primary_key.columns)).all()
                found[table.name] = [tuple(r) for r in rows]
            return found
    finally:
        db.dispose()


def with_history(h) -> None:
    """Runs, tasks, decisions, people, outbox and inbox rows: a bit of everything."""
    _, started = h.add_system("Chatbot")
    h.pump()
    [run_id] = [r for r in started if h.run_row(r).workflow_id == "ai-risk-assessment"]
    task = h.open_task("identify", run_id)
    h.rt.complete_task(
        run_id, "identify", ANSWERS, person=task.assignee, via="jira", attempt=task.attempt
    )
    h.pump()


ANSWERS = {
    "risk_title": "Biased answers",
    "risk_description": "Training data under-represents some groups",
    "risk_sources": ["bias_fairness"],
    "affected_parties": "customers",
    "likelihood": 2,
    "impact": 3,
    "rating_rationale": "seen once",
}


@pytest.mark.postgres
def test_sqlite_to_postgresql_keeps_every_row_and_the_chain(harness, db_url, pg_url):
    if not db_url.startswith("sqlite"):
        pytest.skip("the source is the SQLite file here")
    with_history(harness)
    harness.app.db.dispose()
    report = copy_database(db_url, pg_url)
    before, after = everything(db_url), everything(pg_url)
    assert after == before
    assert report.rows["evidence"] == len(before["evidence"]) > 10
    target = Database(pg_url)
    with target.connect() as conn:
        assert ledger.verify(conn).ok
        assert ledger.head(conn) == (report.head_seq, report.head_hash)
    # the copy goes on: new rows get ids past the copied ones
    with target.begin() as conn:
        assert inbox.claim(conn, "jira", "after-the-copy", "{}", harness.clock.now())
    target.dispose()


def test_a_target_holding_aims_data_is_refused_and_replaced_only_with_force(
    harness, db_url, tmp_path
):
    with_history(harness)
    harness.app.db.dispose()
    target = f"sqlite:///{tmp_path / 'copy.db'}"
    copy_database(db_url, target)
    kept = everything(target)
    with pytest.raises(StoreError, match="is not empty: it holds") as refused:
        copy_database(db_url, target)
    assert "--force" in (refused.value.hint or "")
    assert everything(target) == kept
    copy_database(db_url, target, force=True)
    assert everything(target) == everything(db_url)


def test_a_copy_whose_ledger_does_not_verify_writes_nothing(tmp_path, harness, db_url):
    if not db_url.startswith("sqlite"):
        pytest.skip("tampered on the SQLite file")
    with_history(harness)
    harness.app.db.dispose()
    source = Database(db_url)
    with source.begin() as conn:  # someone with write access edits a ledger row
        conn.execute(text("DROP TRIGGER evidence_no_update"))
        conn.execute(text("UPDATE evidence SET actor = 'mallory@example.com' WHERE seq = 3"))
    source.dispose()
    target = f"sqlite:///{tmp_path / 'copy.db'}"
    with pytest.raises(StoreError, match="the copied ledger does not verify"):
        copy_database(db_url, target)
    copied = Database(target)
    assert copied.current_revision() is None  # not even the tables: all of it rolled back
    copied.dispose()


def test_backup_and_restore_round_trip(harness, db_url, tmp_path):
    with_history(harness)
    harness.app.db.dispose()
    file = tmp_path / "aims-backup.db"
    report = backup(db_url, file)
    assert file.is_file() and not (tmp_path / "aims-backup.db-wal").exists()
    assert not list(tmp_path.glob("*.partial*"))
    with pytest.raises(StoreError, match="exists"):
        backup(db_url, file)
    fresh = f"sqlite:///{tmp_path / 'restored.db'}"
    restored = restore(file, fresh)
    assert (restored.head_seq, restored.head_hash) == (report.head_seq, report.head_hash)
    assert everything(fresh) == everything(db_url)
    with pytest.raises(StoreError, match="is not empty"):
        restore(file, fresh)
    not_a_backup = tmp_path / "notes.txt"
    not_a_backup.write_text("hello")
    with pytest.raises(StoreError, match="not a backup"):
        restore(not_a_backup, fresh)


def test_the_cli_commands(ready, tmp_path):
    aims = ready
    assert aims("people", "list").code == 0  # aims.yaml's roles granted: ledger rows to keep
    backed = aims("db", "backup", str(tmp_path / "b.db"))
    assert backed.code == 0 and "ledger verified" in backed.out, backed
    again = aims("db", "backup", str(tmp_path / "b.db"))
    assert again.code == 1 and "exists" in again.err
    same = aims("db", "copy", "--to", f"sqlite:///{tmp_path / 'aims.db'}")
    assert same.code == 1 and "the same database" in same.err
    copied = aims("db", "copy", "--to", f"sqlite:///{tmp_path / 'c.db'}")
    assert copied.code == 0 and "rows copied" in copied.out
    over = aims("db", "restore", str(tmp_path / "b.db"))
    assert over.code == 1 and "is not empty" in over.err
    forced = aims("db", "restore", str(tmp_path / "b.db"), "--force")
    assert forced.code == 0 and "restored" in forced.out
    assert aims("evidence", "verify").code == 0
