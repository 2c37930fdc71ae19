"""A trigger fires once however many processes fire it: two `aims` processes on PostgreSQL
that both see a system change at once (each in its own transaction, neither seeing the
other's uncommitted run) start one run per triggered workflow; the one that loses the race
skips the start, without an error and without undoing the rest of its transaction."""

from __future__ import annotations

import os
import selectors
import subprocess
import sys
import textwrap
import uuid

import pytest
from sqlalchemy import text

from aims_workflows.store import ledger

WORKER = textwrap.dedent("""
    import sys
    from datetime import datetime
    from aims_workflows.app import open_app
    from aims_workflows.config import Settings
    from aims_workflows.runtime.subjects import ai_system_subject
    from aims_workflows.store import inventory
    from aims_workflows.testing import (
        InMemoryApprovalChannel, InMemoryIssueTracker, InMemoryNotifier, ManualClock,
    )

    clock = ManualClock(datetime.fromisoformat(sys.argv[1]))
    app = open_app(
        Settings(), clock=clock, tracker=InMemoryIssueTracker(),
        approvals=InMemoryApprovalChannel(), notifier=InMemoryNotifier(),
    )
    app.runtime.check_database()
    print("ready", flush=True)
    sys.stdin.readline()
    with app.db.begin() as conn:
        subject = ai_system_subject(inventory.get(conn, sys.argv[2]))
        started = app.runtime._fire_triggers(
            conn, "ai_system.changed", subject, clock.now(), fields=["risk_tier"]
        )
        print("fired", len(started), flush=True)
        sys.stdin.readline()  # the transaction stays open until the test lets it commit
    print("committed", flush=True)
""")


def _line(proc: subprocess.Popen) -> str:
    line = proc.stdout.readline()
    assert line, proc.stderr.read()
    return line.strip()


def _blocked_or_fired(proc: subprocess.Popen, admin, name: str) -> str:
    """Wait until ``proc`` either prints its next line (it fired without waiting) or is seen
    waiting on a lock held by the other process's open transaction (it reached the start)."""
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    try:
        for _ in range(6000):
            if selector.select(timeout=0.05):
                return _line(proc)
            with admin.connect() as conn:
                waiting = conn.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                        "AND application_name = :name"
                    ),
                    {"name": name},
                ).scalar()
            if waiting:
                return "blocked"
        raise AssertionError("the second process neither fired nor waited")
    finally:
        selector.close()


@pytest.mark.postgres
@pytest.mark.slow
def test_two_processes_firing_the_same_trigger_start_one_run(
    make_harness, pg_url, pg_admin, tmp_path, clock
):
    from aims_workflows.store import Database

    Database(pg_url).upgrade()
    h = make_harness(pg_url, tmp_path, clock)
    h.add_system("Support chatbot", in_scope=False)  # out of scope: registering starts nothing
    with h.db.begin() as conn:
        conn.execute(text("UPDATE ai_systems SET in_scope = true"))
        before = conn.execute(text("SELECT count(*) FROM runs")).scalar()
    script = tmp_path / "worker.py"
    script.write_text(WORKER, encoding="utf-8")
    name = f"aims_trigger_race_{uuid.uuid4().hex[:8]}"  # finds the workers' sessions
    env = {
        **os.environ,
        "AIMS_DATABASE_URL": pg_url + ("&" if "?" in pg_url else "?") + f"application_name={name}",
        "AIMS_CONFIG": str(h.config_path),
        "AIMS_WORKFLOWS": str(h.app.settings.workflows),
    }

    def process() -> subprocess.Popen:
        proc = subprocess.Popen(
            [sys.executable, str(script), h.clock.now().isoformat(), "Support chatbot"],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert _line(proc) == "ready"
        return proc

    def say(proc: subprocess.Popen) -> None:
        proc.stdin.write("go\n")
        proc.stdin.flush()

    first, second = process(), process()
    say(first)
    assert _line(first) == "fired 2"  # risk and impact assessment, not committed yet
    say(second)  # fires while the first's runs are uncommitted
    seen = _blocked_or_fired(second, pg_admin, name)
    say(first)
    assert _line(first) == "committed"
    if seen == "blocked":
        seen = _line(second)
    say(second)
    out, err = second.communicate(timeout=120)
    first.communicate(timeout=120)
    assert second.returncode == 0 and "Traceback" not in err, err
    with h.db.connect() as conn:
        runs = conn.execute(text("SELECT count(*) FROM runs")).scalar() - before
        doubled = conn.execute(
            text(
                "SELECT count(*) FROM (SELECT workflow_id FROM runs WHERE status IN "
                "('new', 'running') GROUP BY workflow_id, subject_id HAVING count(*) > 1) d"
            )
        ).scalar()
        assert ledger.verify(conn).ok
    print(f"\n2 processes fire one change at once: {runs} runs started ({doubled} doubled)")
    assert seen == "fired 0", seen  # the second skipped both starts, without an error
    assert runs == 2 and doubled == 0
    h.db.dispose()
