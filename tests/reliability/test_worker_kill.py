"""Kill a worker with SIGKILL in the middle of a batch, start another, and check that every
command was carried out exactly once and the evidence chain still verifies.

The worker runs in a subprocess with a journal-backed issue tracker: the journal file is the
outside system's durable state (what Jira would hold), keyed by the command's idempotency key.
The worker announces each call on stdout; after the third it blocks, between the call and the
bookkeeping, and the test kills it there: the worst moment, when the outside system has acted
and the database does not know yet.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from aims_workflows.inventory import AISystemRecord
from aims_workflows.store import ledger
from aims_workflows.store.outbox import LEASE

WORKER = textwrap.dedent('''
    import json, os, sys
    from datetime import datetime
    from aims_workflows.app import open_app
    from aims_workflows.config import Settings
    from aims_workflows.testing import InMemoryApprovalChannel, InMemoryNotifier, ManualClock

    journal_path = os.environ["TEST_JOURNAL"]
    block_after = int(os.environ.get("TEST_BLOCK_AFTER", "0"))

    class JournalTracker:
        """Creates issues in a journal file; a key already there is not created again."""

        def __init__(self):
            self.calls = 0

        def _load(self):
            if not os.path.exists(journal_path):
                return {}
            with open(journal_path) as f:
                return {e["key"]: e for e in map(json.loads, f)}

        def perform(self, command):
            seen = self._load()
            if command.key in seen:
                entry = seen[command.key]
            else:
                entry = {"key": command.key, "kind": command.kind, "ref": f"AIMS-{len(seen) + 1}",
                         "assignee": getattr(command, "assignee", None), "pid": os.getpid()}
                with open(journal_path, "a") as f:
                    f.write(json.dumps(entry) + "\\n")
                    f.flush()
                    os.fsync(f.fileno())
            self.calls += 1
            print("performed", command.key, flush=True)
            if self.calls == block_after:
                # wait here, between the call and the bookkeeping, to be killed
                sys.stdin.readline()
            return {"ref": entry["ref"], "assignee": entry["assignee"]}

    clock = ManualClock(datetime.fromisoformat(os.environ["TEST_NOW"]))
    app = open_app(
        Settings(),
        clock=clock,
        tracker=JournalTracker(),
        approvals=InMemoryApprovalChannel(),
        notifier=InMemoryNotifier(),
    )
    report = app.pump()
    print("report", report.done, report.retried, report.dead, flush=True)
''')

SYSTEMS = 5  # each starts a risk and an impact assessment: 10 task.create commands


def _worker(
    tmp_path: Path, env: dict[str, str], *, now: str, block_after: int = 0
) -> subprocess.Popen:
    script = tmp_path / "worker.py"
    script.write_text(WORKER, encoding="utf-8")
    child_env = {**os.environ, **env, "TEST_NOW": now, "TEST_BLOCK_AFTER": str(block_after)}
    return subprocess.Popen(
        [sys.executable, str(script)],
        env=child_env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )


def _journal(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.mark.slow
def test_a_worker_killed_mid_batch_and_restarted_carries_out_every_command_once(
    harness, db_url, tmp_path
):
    h = harness
    for n in range(SYSTEMS):  # registered without pumping: the commands wait in the outbox
        h.app.inventory.add(AISystemRecord(name=f"System {n}", owner="olga@example.com"))
    with h.db.connect() as conn:
        pending = conn.execute(
            text("SELECT count(*) FROM outbox WHERE status = 'pending' AND kind = 'task.create'")
        ).scalar()
    assert pending == 2 * SYSTEMS

    journal = tmp_path / "journal.jsonl"
    env = {
        "AIMS_DATABASE_URL": db_url,
        "AIMS_CONFIG": str(h.config_path),
        "AIMS_WORKFLOWS": str(h.app.settings.workflows),
        "TEST_JOURNAL": str(journal),
    }
    start = h.clock.now()

    first = _worker(tmp_path, env, now=start.isoformat(), block_after=3)
    announced = [first.stdout.readline() for _ in range(3)]
    assert all(line.startswith("performed ") for line in announced), (
        announced,
        first.stderr.read() if first.poll() is not None else "",
    )
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    first.stdout.close()
    first.stderr.close()
    first.stdin.close()
    assert first.returncode == -signal.SIGKILL

    # the killed worker called out three times and recorded the first two only
    assert len(_journal(journal)) == 3
    with h.db.connect() as conn:
        statuses = dict(
            conn.execute(
                text(
                    "SELECT status, count(*) FROM outbox WHERE kind = 'task.create' GROUP BY status"
                )
            ).all()
        )
    assert statuses.get("done", 0) == 2
    assert statuses.get("inflight", 0) >= 1
    assert h.verify().ok

    # a new worker, once the dead one's lease has run out
    second = _worker(tmp_path, env, now=(start + LEASE + timedelta(seconds=1)).isoformat())
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    assert "Traceback" not in err

    entries = _journal(journal)
    keys = [e["key"] for e in entries]
    refs = [e["ref"] for e in entries]
    with h.db.connect() as conn:
        statuses = dict(
            conn.execute(
                text(
                    "SELECT status, count(*) FROM outbox WHERE kind = 'task.create' GROUP BY status"
                )
            ).all()
        )
        wanted = set(
            conn.execute(text("SELECT key FROM outbox WHERE kind = 'task.create'")).scalars()
        )
        issued = [r for r in ledger.iter_rows(conn, kind="task.issued")]
        step_refs = sorted(conn.execute(text("SELECT external_ref FROM steps")).scalars())
        report = ledger.verify(conn)
    # the assessments of the five systems, plus the yearly workflows the restarted worker's
    # schedules started
    assert len(wanted) >= 2 * SYSTEMS
    assert len(keys) == len(set(keys)), "a command was carried out twice"
    assert set(keys) == wanted, "a command was not carried out"
    assert len(set(refs)) == len(refs)
    assert statuses == {"done": len(wanted)}
    assert len(issued) == len(wanted)
    assert sorted(json.loads(r.payload)["ref"] for r in issued) == sorted(refs)
    assert step_refs == sorted(refs)
    assert report.ok and report.rows == report.head_seq
