"""Workers starting together on a fresh database each sync aims.yaml's roles into the directory
of people: four real processes doing it at the same moment all start, and everyone is in the
directory once with each role granted once. (Before the sync took its lock, three of four died
on a duplicate person on PostgreSQL; found by bench/scale.py.)"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from sqlalchemy import text

from aims_workflows.store import Database

PEOPLE = [f"person{n}@example.org" for n in range(30)]

SYNC = textwrap.dedent("""
    import sys
    from aims_workflows.app import open_app
    from aims_workflows.config import Settings
    from aims_workflows.testing import InMemoryApprovalChannel, InMemoryNotifier

    app = open_app(Settings(), approvals=InMemoryApprovalChannel(), notifier=InMemoryNotifier())
    print("ready", flush=True)
    sys.stdin.readline()
    app.runtime.people.prepare()
    app.db.dispose()
""")


def test_four_workers_syncing_roles_at_once_all_start_and_add_each_person_once(
    database: Database, db_url: str, tmp_path
):
    config = tmp_path / "aims.yaml"
    config.write_text(
        "organisation: Example Ltd\nroles:\n"
        f"  engineer: [{', '.join(PEOPLE[:20])}]\n"
        f"  risk_owner: [{', '.join(PEOPLE[10:])}]\n",
        encoding="utf-8",
    )
    env = {**os.environ, "AIMS_DATABASE_URL": db_url, "AIMS_CONFIG": str(config)}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", SYNC],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(4)
    ]
    for worker in workers:
        assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write("go\n")
        worker.stdin.flush()
    for worker in workers:
        _, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err[-2000:]
    with database.connect() as conn:
        people = conn.execute(text("SELECT count(*) FROM people")).scalar()
        grants = conn.execute(
            text("SELECT count(*) FROM role_grants WHERE valid_to IS NULL")
        ).scalar()
        granted_rows = conn.execute(
            text("SELECT count(*) FROM evidence WHERE kind = 'role.granted'")
        ).scalar()
    assert people == len(PEOPLE)
    assert grants == granted_rows == 20 + 20
