"""A schedule fires once however many workers run: four `aims worker` processes reaching the
same due dates at the same moment on PostgreSQL start one run per (workflow, subject), none
of them dies on a duplicate key, and a start that loses a race is skipped, not an error."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import timedelta

import pytest
from sqlalchemy import text

from aims_workflows.store import ledger

WORKERS = 4
SYSTEMS = 25

WORKER = textwrap.dedent("""
    import sys
    from datetime import datetime
    from aims_workflows.app import open_app
    from aims_workflows.config import Settings
    from aims_workflows.testing import (
        InMemoryApprovalChannel, InMemoryIssueTracker, InMemoryNotifier, ManualClock,
    )

    clock = ManualClock(datetime.fromisoformat(sys.argv[1]))
    app = open_app(
        Settings(), clock=clock, tracker=InMemoryIssueTracker(),
        approvals=InMemoryApprovalChannel(), notifier=InMemoryNotifier(),
    )
    app.runtime.check_database()  # connected before the start line, so all start together
    print("ready", flush=True)
    sys.stdin.readline()
    # the first start of every workflow registers its version: all workers at once
    with app.db.begin() as conn:
        for loaded in app.workflows:
            app.runtime.specs.register(conn, loaded, clock.now())
    started = 0
    for _ in range(3):
        started += len(app.runtime.run_schedules())
    print("started", started, flush=True)
""")


def _count(h, sql: str) -> int:
    with h.db.connect() as conn:
        return int(conn.execute(text(sql)).scalar() or 0)


@pytest.mark.postgres
@pytest.mark.slow
def test_four_workers_at_a_due_date_start_each_scheduled_run_once(
    make_harness, pg_url, tmp_path, clock
):
    from aims_workflows.store import Database

    Database(pg_url).upgrade()
    h = make_harness(pg_url, tmp_path, clock)
    for n in range(SYSTEMS):  # out of scope when registered: nothing starts yet
        h.add_system(f"System {n:02}", in_scope=False)
    with h.db.begin() as conn:  # then in scope, without the change starting anything
        conn.execute(text("UPDATE ai_systems SET in_scope = true"))
    script = tmp_path / "worker.py"
    script.write_text(WORKER, encoding="utf-8")
    env = {
        **os.environ,
        "AIMS_DATABASE_URL": pg_url,
        "AIMS_CONFIG": str(h.config_path),
        "AIMS_WORKFLOWS": str(h.app.settings.workflows),
    }

    def together(now: str) -> list[tuple[int, str, str]]:
        workers = [
            subprocess.Popen(
                [sys.executable, str(script), now],
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(WORKERS)
        ]
        for worker in workers:
            line = worker.stdout.readline()
            assert line.strip() == "ready", (line, worker.stderr.read())
        for worker in workers:  # the start line, to all of them before any reads it
            worker.stdin.write("go\n")
            worker.stdin.flush()
        results = []
        for worker in workers:
            out, err = worker.communicate(timeout=300)
            results.append((worker.returncode, out, err))
        return results

    # the first due date (a year after registration and after the ledger's first row, as
    # aims.yaml sets no other): every scheduled workflow on every subject
    first_due = h.clock.now() + timedelta(days=365)
    results = together(first_due.isoformat())
    for code, _out, err in results:
        assert code == 0 and "Traceback" not in err, err
    # every scheduled shipped workflow: once per system, or once for the organisation
    scheduled = sum(
        SYSTEMS if item.spec.subject == "ai_system" else 1
        for item in h.app.workflows
        if item.spec.trigger.schedule
    )
    runs = _count(h, "SELECT count(*) FROM runs")
    doubled = _count(
        h,
        "SELECT count(*) FROM (SELECT workflow_id, subject_id FROM runs "
        "GROUP BY workflow_id, subject_id HAVING count(*) > 1) d",
    )
    started = sum(int(out.split()[-1]) for _code, out, _err in results)
    print(f"\n{WORKERS} workers, {scheduled} schedules due -> {runs} runs ({doubled} doubled)")
    assert runs == scheduled and started == scheduled and doubled == 0

    # a year later, last year's runs still open: nothing more starts, however many workers
    later = first_due + timedelta(days=366)
    results = together(later.isoformat())
    assert all(code == 0 for code, _out, _err in results), [err for *_, err in results]
    assert _count(h, "SELECT count(*) FROM runs") == scheduled
    with h.db.connect() as conn:
        assert ledger.verify(conn).ok
    h.db.dispose()
