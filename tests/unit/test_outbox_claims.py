"""Outbox claims are small, renewed while the work is in flight and owned: two dispatchers on
one database behind a slow issue tracker carry each command out once, and a dispatcher that lost
a claim records nothing over the holder's outcome."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text

from aims_workflows.engine.commands import Command, CreateTask
from aims_workflows.inventory import AISystemRecord
from aims_workflows.runtime import Dispatcher
from aims_workflows.runtime.heartbeat import Heartbeat
from aims_workflows.store import outbox
from aims_workflows.testing import InMemoryApprovalChannel, InMemoryNotifier

SYSTEMS = 40  # each starts a risk and an impact assessment: 80 tasks
CALL = timedelta(seconds=90)  # each call to the tracker: under the lease, but two are not


class SlowTracker:
    """A tracker whose every call takes 90 s of the test's clock, and that counts the issues it
    makes per command. While the first dispatcher waits on a call, the second one works (as a
    second `aims worker` would)."""

    def __init__(self, clock) -> None:
        self.clock = clock
        self.issues: Counter[str] = Counter()
        self.other: Dispatcher | None = None
        self._nested = threading.local()

    def perform(self, command: Command) -> dict[str, Any]:
        self.clock.advance(CALL)
        if not isinstance(command, CreateTask):
            return {}
        self.issues[command.key] += 1
        ref = f"AIMS-{sum(self.issues.values())}"
        if self.other is not None and not getattr(self._nested, "on", False):
            self._nested.on = True
            try:
                self.other.pump(rounds=1, limit=3)
            finally:
                self._nested.on = False
        return {"ref": ref, "assignee": command.assignee}


def _dispatcher(h, tracker, owner: str) -> Dispatcher:
    return Dispatcher(
        h.rt,
        tracker=tracker,
        approvals=InMemoryApprovalChannel(),
        notifier=InMemoryNotifier(),
        owner=owner,
    )


def test_two_dispatchers_behind_a_slow_tracker_make_one_issue_per_task(harness):
    h = harness
    for n in range(SYSTEMS):  # registered without dispatching: the commands wait in the outbox
        h.app.inventory.add(AISystemRecord(name=f"System {n:02}", owner="olga@example.com"))
    tracker = SlowTracker(h.clock)
    first, second = _dispatcher(h, tracker, "worker-1"), _dispatcher(h, tracker, "worker-2")
    tracker.other = second
    for _ in range(40):
        report = first.pump()
        report += second.pump()
        if not report.done and not report.lost:
            break
    with h.db.connect() as conn:
        tasks = conn.execute(
            text("SELECT count(*) FROM outbox WHERE kind = 'task.create'")
        ).scalar()
        issued = conn.execute(
            text("SELECT count(*) FROM evidence WHERE kind = 'task.issued'")
        ).scalar()
        refs = conn.execute(text("SELECT external_ref FROM steps")).scalars().all()
        statuses = dict(
            conn.execute(text("SELECT status, count(*) FROM outbox GROUP BY status")).all()
        )
    issues = sum(tracker.issues.values())
    print(f"\n{tasks} tasks -> {issues} issues, {issued} task.issued rows (two dispatchers)")
    assert tasks == 2 * SYSTEMS
    assert issues == tasks, [k for k, n in tracker.issues.items() if n > 1][:5]
    assert issued == tasks
    assert len(refs) == tasks and len(set(refs)) == tasks and None not in refs
    assert statuses == {"done": statuses["done"]}


def test_a_lost_claim_records_nothing_and_the_holder_records_once(harness):
    h = harness
    h.app.inventory.add(AISystemRecord(name="Chatbot", owner="olga@example.com"))
    now = h.clock.now()
    with h.db.begin() as conn:
        [mine] = outbox.claim_due(conn, now, owner="a", kinds=["task.create"], limit=1)
    h.clock.advance(outbox.LEASE + timedelta(seconds=1))
    later = h.clock.now()
    with h.db.begin() as conn:
        [theirs] = outbox.claim_due(conn, later, owner="b", kinds=["task.create"], limit=1)
        assert theirs.id == mine.id and theirs.attempts == mine.attempts + 1
        # the first claimant comes back from its slow call: its claim is gone
        assert outbox.renew(conn, "a", later, item=mine) == 0
        assert not outbox.complete(conn, mine, later, {"ref": "AIMS-1"})
        assert not outbox.retry_later(conn, mine, later, "late")
        assert not outbox.bury(conn, mine, later, "late")
        assert outbox.complete(conn, theirs, later, {"ref": "AIMS-2"})
        row = conn.execute(
            text("SELECT status, result, claimed_by FROM outbox WHERE id = :id"), {"id": mine.id}
        ).one()
    assert row.status == "done" and "AIMS-2" in row.result and row.claimed_by is None


def test_claims_are_renewed_while_the_work_is_in_flight(harness):
    h = harness
    h.app.inventory.add(AISystemRecord(name="Chatbot", owner="olga@example.com"))
    with h.db.begin() as conn:
        claimed = outbox.claim_due(conn, h.clock.now(), owner="a", kinds=["task.create"])
    assert len(claimed) == 2
    h.clock.advance(minutes=1)
    with h.db.begin() as conn:
        assert outbox.renew(conn, "a", h.clock.now()) == 2
    h.clock.advance(minutes=1, seconds=30)  # past the first lease, within the renewed one
    with h.db.begin() as conn:
        assert outbox.claim_due(conn, h.clock.now(), owner="b", kinds=["task.create"]) == []


def test_the_heartbeat_renews_until_the_work_is_through():
    beaten = threading.Event()
    calls: list[int] = []

    def renew() -> None:
        calls.append(1)
        beaten.set()

    with Heartbeat(renew, every=0.001) as beat:
        assert beaten.wait(10)
    count = len(calls)
    assert count >= 1 and beat.beats == count
    assert len(calls) == count  # stopped with the block


def test_a_dispatcher_claims_a_few_commands_at_a_time(harness):
    h = harness
    for n in range(6):
        h.app.inventory.add(AISystemRecord(name=f"System {n}", owner="olga@example.com"))
    seen: list[int] = []

    class Watching:
        def perform(self, command: Command) -> dict[str, Any]:
            with h.db.connect() as conn:
                seen.append(
                    conn.execute(
                        text("SELECT count(*) FROM outbox WHERE status = 'inflight'")
                    ).scalar()
                )
            return {"ref": f"T-{len(seen)}"} if isinstance(command, CreateTask) else {}

    dispatcher = Dispatcher(
        h.rt,
        tracker=Watching(),
        approvals=InMemoryApprovalChannel(),
        notifier=InMemoryNotifier(),
        claim_size=4,
    )
    dispatcher.pump()
    assert len(seen) >= 12 and max(seen) <= 4


@pytest.mark.postgres
def test_dispatchers_claiming_at_once_take_different_commands_without_waiting(
    make_harness, pg_url, tmp_path, clock
):
    """On PostgreSQL a claim skips the rows another dispatcher is claiming (SKIP LOCKED)
    instead of queueing behind its transaction."""
    from aims_workflows.store import Database

    Database(pg_url).upgrade()
    # this process's waits for a row lock end after 3 s: a wait shows as an error, not a hang
    h = make_harness(pg_url + "%20-clock_timeout%3D3000", tmp_path, clock)
    for n in range(3):
        h.app.inventory.add(AISystemRecord(name=f"System {n}", owner="olga@example.com"))
    now = h.clock.now()
    with h.db.begin() as first:
        mine = outbox.claim_due(first, now, owner="a", kinds=["task.create"], limit=4)
        with h.db.begin() as second:  # another dispatcher, while the first has not committed
            theirs = outbox.claim_due(second, now, owner="b", kinds=["task.create"], limit=4)
    assert len(mine) == 4 and len(theirs) == 2
    assert not {c.id for c in mine} & {c.id for c in theirs}
    h.db.dispose()


def test_a_database_problem_during_an_internal_command_does_not_park_it(harness, monkeypatch):
    """The worker waits a database outage out; the command was not at fault and stays queued."""
    from aims_workflows.engine.commands import CancelChildRun
    from aims_workflows.errors import DatabaseUnavailable

    h = harness
    run_id = h.start_audit()
    command = CancelChildRun(
        key=f"{run_id}/cancel-test", run_id=run_id, child_run_id=run_id, reason="test"
    )
    with h.db.begin() as conn:
        outbox.enqueue(conn, [command], h.clock.now())

    def unavailable(self, conn, command, now, *planned):
        raise DatabaseUnavailable("database x is not reachable: connection refused")

    monkeypatch.setattr(Dispatcher, "_carry_out_internal", unavailable)
    with pytest.raises(DatabaseUnavailable):
        h.pump()
    monkeypatch.undo()
    with h.db.connect() as conn:
        status = conn.execute(
            text("SELECT status FROM outbox WHERE key = :k"), {"k": command.key}
        ).scalar()
    assert status == "inflight"  # not dead: taken again once its claim runs out
    h.clock.advance(outbox.LEASE + timedelta(seconds=1))
    h.pump()
    assert "run.cancelled" in h.kinds(run_id)
