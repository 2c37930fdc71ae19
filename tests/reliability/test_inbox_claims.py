"""Workers sharing a database take stored deliveries under their own names: two real processes
claiming from one inbox at the same moment never take the same delivery, and between them take
every one (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the write lock on SQLite). Time is
injected: both claim at the same fixed instant, so no lease runs out during the test."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import UTC, datetime

from aims_workflows.runtime import inbound
from aims_workflows.store import Database, inbox

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DELIVERIES = 400

CLAIMER = textwrap.dedent("""
    import sys
    from datetime import datetime
    from aims_workflows.runtime import inbound
    from aims_workflows.store import Database, inbox

    url, owner, now = sys.argv[1], sys.argv[2], datetime.fromisoformat(sys.argv[3])
    db = Database(url)
    print("ready", flush=True)
    sys.stdin.readline()
    while True:
        with db.begin() as conn:
            taken = inbound.claim_stored(conn, "jira", owner, now, limit=7)
        if not taken:
            break
        for delivery in taken:
            with db.begin() as conn:
                inbox.mark(conn, "jira", delivery.id, "processed", now)
            print(delivery.id, flush=True)
    db.dispose()
""")


def test_two_worker_processes_never_take_the_same_delivery(database: Database, db_url: str):
    with database.begin() as conn:
        for n in range(DELIVERIES):
            inbox.claim(conn, "jira", f"d{n:04d}", "{}", NOW)
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", CLAIMER, db_url, f"worker-{w}", NOW.isoformat()],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for w in (1, 2)
    ]
    for worker in workers:
        assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
    for worker in workers:  # both start claiming together
        assert worker.stdin is not None
        worker.stdin.write("go\n")
        worker.stdin.flush()
    taken = []
    for worker in workers:
        out, _ = worker.communicate(timeout=300)
        assert worker.returncode == 0
        taken.append(out.split())
    first, second = (set(t) for t in taken)
    print(f"\n{db_url.split(':')[0]}: worker 1 took {len(first)}, worker 2 took {len(second)}")
    assert len(first) == len(taken[0]) and len(second) == len(taken[1])  # none taken twice
    assert not first & second
    assert first | second == {f"d{n:04d}" for n in range(DELIVERIES)}


def test_a_claim_held_by_another_worker_is_passed_over_until_it_runs_out_or_is_given_back(
    database: Database,
):
    from datetime import timedelta

    with database.begin() as conn:
        for n in range(3):
            inbox.claim(conn, "jira", f"d{n}", "{}", NOW)
        mine = inbound.claim_stored(conn, "jira", "worker-1", NOW, limit=2)
    assert [d.id for d in mine] == ["d0", "d1"]
    with database.begin() as conn:
        theirs = inbound.claim_stored(conn, "jira", "worker-2", NOW, limit=10)
    assert [d.id for d in theirs] == ["d2"]
    later = NOW + inbound.CLAIM_LEASE + timedelta(seconds=1)
    with database.begin() as conn:  # worker 1 stopped: its lease runs out
        taken_over = inbound.claim_stored(conn, "jira", "worker-3", later, limit=10)
    assert [d.id for d in taken_over] == ["d0", "d1", "d2"]
    with database.begin() as conn:
        assert inbound.release(conn, "jira", "worker-3") == 3
        again = inbound.claim_stored(conn, "jira", "worker-2", NOW, limit=10)
    assert [d.id for d in again] == ["d0", "d1", "d2"]


def test_a_later_delivery_of_a_subject_waits_while_another_worker_holds_an_earlier_one(
    database: Database,
):
    from aims_workflows.runtime import Delivery

    with database.begin() as conn:
        for n, subject in enumerate(("issue:1", "issue:2", "issue:1")):
            inbound.store(conn, Delivery("jira", f"d{n}", "{}", subject=subject), NOW)
        first = inbound.claim_stored(conn, "jira", "worker-1", NOW, limit=1)
    assert [d.id for d in first] == ["d0"]
    with database.begin() as conn:  # d2 is issue:1's too: it waits behind d0
        assert [d.id for d in inbound.claim_stored(conn, "jira", "worker-2", NOW, limit=10)] == [
            "d1"
        ]
    with database.begin() as conn:  # worker 1 could not apply d0 and gives it back
        inbound.release(conn, "jira", "worker-1")
        both = inbound.claim_stored(conn, "jira", "worker-3", NOW, limit=10)
    assert [d.id for d in both] == ["d0", "d2"]  # in order, to one worker
    with database.begin() as conn:
        inbox.mark(conn, "jira", "d0", "processed", NOW)
        inbound.release(conn, "jira", "worker-3")
        assert [d.id for d in inbound.claim_stored(conn, "jira", "w4", NOW, limit=10)] == ["d2"]
