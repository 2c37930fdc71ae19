"""Workers sharing a database claim due timers: a run another worker is ticking is skipped at
once (``SKIP LOCKED`` on PostgreSQL), not waited for, and a run ticked since it was listed is
not ticked again."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text


def _due_run(h) -> str:
    h.add_system("Chatbot", in_scope=False)
    run_id = h.rt.start("ai-risk-assessment", system="Chatbot").run.run_id
    h.pump()
    h.clock.advance(days=40)  # past the task's reminders and due date
    with h.db.connect() as conn:
        due = conn.execute(
            text("SELECT count(*) FROM runs WHERE id = :r AND next_wake_at <= :now"),
            {"r": run_id, "now": h.clock.now()},
        ).scalar()
    assert due == 1
    return run_id


def test_a_run_ticked_since_it_was_listed_is_not_ticked_again(harness):
    h = harness
    run_id = _due_run(h)
    assert h.rt._tick_one(run_id) == 1
    before = h.count("evidence")
    assert h.rt._tick_one(run_id) == 0  # a second worker with the same stale list
    assert h.count("evidence") == before


@pytest.mark.postgres
def test_a_run_another_worker_holds_is_skipped_not_waited_for(
    make_harness, pg_url, tmp_path, clock
):
    from aims_workflows.store import Database

    Database(pg_url).upgrade()
    # this worker's own waits for a lock end after 3 s, so a wait shows as an error, not a hang
    h = make_harness(pg_url + "%20-clock_timeout%3D3000", tmp_path, clock)
    run_id = _due_run(h)
    other = create_engine(pg_url)
    with other.connect() as conn:
        conn.execute(text("SELECT id FROM runs WHERE id = :r FOR UPDATE"), {"r": run_id})
        before = h.kinds(run_id)
        assert h.rt.tick() == 0  # the other worker holds the run: this one moves on at once
        assert h.kinds(run_id) == before
        conn.rollback()
    other.dispose()
    assert h.rt.tick() == 1
    assert len(h.kinds(run_id)) > len(before)
    h.db.dispose()
