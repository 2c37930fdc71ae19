"""(m) The bare data path: the baseline of the targets b/m >= 0.2 and g/m >= 0.5.

Bare ``sqlite3`` doing, per event and in one transaction, only the storage work that figure (b)
names for a transition (load the run's state, save it, append one hash-chained evidence row and
move the ledger head, enqueue one outbox row), with no workflow engine at all, no secondary
index, no KPI projection, no inbox, no second evidence row: the same five events per instance,
round-robin over the instances, on the same file settings as the baseline (WAL,
synchronous=NORMAL).

It is not an implementation of anything: it is the most a transition could ever cost less than.
Its ratio to (a), m/a, is an upper bound for b/a that no code doing what (b) must do can beat on
this machine; whatever the real engine adds (evaluating the workflow, the projections that keep
the KPI queries fast, the indexes that keep ``aims runs show`` and the dispatcher off a
full scan) comes on top.

    .venv/bin/python bench/data_path.py [instances]
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from pathlib import Path

EVENTS = ("create", "complete_task", "request_approval", "approve", "record")

# Sizes of the real thing, so that the same number of bytes moves (measured on the benchmark's
# workflow: a run's state is ~1.6 kB of JSON, a task.create command ~0.9 kB).
_STATE_PAD = "x" * 1200
_COMMAND_PAD = "y" * 700


def _canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _fresh(path: Path) -> None:
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if p.exists():
            p.unlink()


def data_path_events_per_second(n: int, workdir: Path) -> float:
    """Run ``n`` instances x 5 events through the bare data path; return events per second."""
    if n < 1:
        raise ValueError("n must be at least 1")
    path = Path(workdir) / "data_path.db"
    _fresh(path)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.executescript(
            """
            CREATE TABLE runs (id INTEGER PRIMARY KEY, state TEXT NOT NULL,
                               lock_version INTEGER NOT NULL);
            CREATE TABLE evidence (seq INTEGER PRIMARY KEY, run_id INTEGER, kind TEXT NOT NULL,
                                   payload TEXT NOT NULL, prev_hash TEXT NOT NULL,
                                   hash TEXT NOT NULL);
            CREATE TABLE ledger_head (id INTEGER PRIMARY KEY, seq INTEGER NOT NULL,
                                      hash TEXT NOT NULL);
            CREATE TABLE outbox (id INTEGER PRIMARY KEY, run_id INTEGER, kind TEXT NOT NULL,
                                 payload TEXT NOT NULL);
            """
        )
        conn.execute("INSERT INTO ledger_head VALUES (1, 0, ?)", ("0" * 64,))
        started = time.perf_counter()
        for step, event in enumerate(EVENTS):
            for run_id in range(1, n + 1):
                conn.execute("BEGIN IMMEDIATE")
                if step == 0:
                    state, version = (
                        {"run_id": run_id, "step": 0, "data": {}, "pad": _STATE_PAD},
                        None,
                    )
                else:
                    text, version = conn.execute(
                        "SELECT state, lock_version FROM runs WHERE id = ?", (run_id,)
                    ).fetchone()
                    state = json.loads(text)
                state["step"] = step + 1
                state["data"][event] = {"likelihood": 3, "impact": 4}
                if version is None:
                    conn.execute("INSERT INTO runs VALUES (?, ?, 0)", (run_id, _canonical(state)))
                elif (
                    conn.execute(
                        "UPDATE runs SET state = ?, lock_version = ?"
                        " WHERE id = ? AND lock_version = ?",
                        (_canonical(state), version + 1, run_id, version),
                    ).rowcount
                    != 1
                ):
                    raise RuntimeError("concurrent update in a single-writer benchmark")
                seq, prev = conn.execute(
                    "SELECT seq, hash FROM ledger_head WHERE id = 1"
                ).fetchone()
                payload = _canonical(
                    {"run_id": run_id, "kind": event, "data": state["data"][event]}
                )
                digest = hashlib.sha256(f"{seq + 1}|{prev}|{payload}".encode()).hexdigest()
                conn.execute(
                    "INSERT INTO evidence VALUES (?, ?, ?, ?, ?, ?)",
                    (seq + 1, run_id, event, payload, prev, digest),
                )
                conn.execute(
                    "UPDATE ledger_head SET seq = ?, hash = ? WHERE id = 1", (seq + 1, digest)
                )
                conn.execute(
                    "INSERT INTO outbox (run_id, kind, payload) VALUES (?, ?, ?)",
                    (run_id, event, _canonical({"run_id": run_id, "pad": _COMMAND_PAD})),
                )
                conn.execute("COMMIT")
        elapsed = time.perf_counter() - started
        (rows,) = conn.execute("SELECT count(*) FROM evidence").fetchone()
    finally:
        conn.close()
    if rows != len(EVENTS) * n:
        raise RuntimeError(f"data path: {rows} evidence rows, expected {len(EVENTS) * n}")
    return len(EVENTS) * n / elapsed


if __name__ == "__main__":
    import sys
    import tempfile

    sys.path.insert(0, str(Path(__file__).parent))
    import baseline

    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    with tempfile.TemporaryDirectory(prefix="aims-bench-path-") as tmp:
        for _ in range(3):
            raw = baseline.raw_sqlite_commits_per_second(5000, Path(tmp))
            path = data_path_events_per_second(count, Path(tmp))
            print(
                f"raw {raw:,.0f} commits/s, bare data path "
                f"{path:,.0f} events/s, m/a {path / raw:.3f}"
            )
