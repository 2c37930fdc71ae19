"""Baselines the engine is measured against, plus small timing helpers.

* ``raw_sqlite_commits_per_second``: the ceiling for anything that commits one
  transaction per event: bare ``sqlite3`` inserting one evidence-sized row and
  committing, nothing else.  Same settings as the engine and the peers (file in
  ``workdir``, WAL, synchronous=NORMAL).
* ``python_startup_seconds``: wall time of ``python -c pass`` with this
  interpreter, the floor under any command-line start-up.

Every figure is only meaningful as a ratio against another figure taken in the
same run on the same machine.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path


def _measure(fn: Callable[[], object]) -> float:
    """One measurement: fn's own result if it returns a number, else its wall time."""
    started = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - started
    if isinstance(result, (int, float)) and not isinstance(result, bool):
        return float(result)
    return elapsed


def best_of(fn: Callable[[], object], repeats: int, *, higher_is_better: bool = False) -> float:
    """Best of ``repeats`` measurements of ``fn``.

    A measurement is the number ``fn`` returns (e.g. the seconds reported by
    ``run_spiffworkflow``, or a rate), or the wall time of the call when ``fn``
    returns anything else.  Best is the minimum (durations) unless
    ``higher_is_better`` (rates).  On a shared machine noise only ever slows
    things down, so the best run is the least disturbed one.
    """
    if repeats < 1:
        raise ValueError("repeats must be at least 1")
    values = [_measure(fn) for _ in range(repeats)]
    return max(values) if higher_is_better else min(values)


def median_of(fn: Callable[[], object], repeats: int) -> float:
    """Median of ``repeats`` measurements of ``fn`` (same rules as ``best_of``)."""
    if repeats < 1:
        raise ValueError("repeats must be at least 1")
    return statistics.median(_measure(fn) for _ in range(repeats))


def evidence_row(i: int) -> tuple[str, str]:
    """An evidence-sized row: about 400 bytes of JSON and its SHA-256 (64 hex)."""
    body = json.dumps(
        {
            "instance": i,
            "workflow": "five_step_approval",
            "step": "record",
            "actor": "ciso@example.org",
            "decision": "approved",
            "reason": "Residual risk within the documented appetite",
            "control": "ISO/IEC 42001 A.5.2",
            "inputs": {"likelihood": 3, "impact": 4},
            "artefact": {"kind": "risk_assessment", "score": 12},
            "recorded_at": "2025-01-01T00:00:00+00:00",
            "previous_hash": "0" * 64,
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return body, hashlib.sha256(body.encode("utf-8")).hexdigest()


def raw_sqlite_commits_per_second(rows: int, workdir: Path) -> float:
    """Insert ``rows`` evidence rows with bare sqlite3, one commit per row; return rows/s.

    Rows are built before the clock starts, so only INSERT + COMMIT are timed.
    """
    if rows < 1:
        raise ValueError("rows must be at least 1")
    path = Path(workdir) / "baseline_raw.db"
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if p.exists():
            p.unlink()
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(
            "CREATE TABLE evidence (id INTEGER PRIMARY KEY, hash TEXT NOT NULL, body TEXT NOT NULL)"
        )
        conn.commit()
        prepared = [evidence_row(i) for i in range(rows)]

        started = time.perf_counter()
        for body, digest in prepared:
            conn.execute("INSERT INTO evidence (hash, body) VALUES (?, ?)", (digest, body))
            conn.commit()
        elapsed = time.perf_counter() - started

        (count,) = conn.execute("SELECT count(*) FROM evidence").fetchone()
    finally:
        conn.close()
    if count != rows:
        raise RuntimeError(f"raw sqlite: {count} rows stored, expected {rows}")
    return rows / elapsed


def python_startup_seconds(repeats: int) -> float:
    """Median wall time of ``<this interpreter> -c pass`` over ``repeats`` runs."""
    if repeats < 1:
        raise ValueError("repeats must be at least 1")

    def once() -> float:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        return time.perf_counter() - started

    return median_of(once, repeats)


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="aims-bench-baseline-") as tmp:
        rate = best_of(
            lambda: raw_sqlite_commits_per_second(1000, Path(tmp)), 3, higher_is_better=True
        )
    print(f"raw sqlite3, one commit per evidence row: {rate:,.0f} commits/s (best of 3)")
    print(f"python -c pass: {python_startup_seconds(5) * 1000:.1f} ms (median of 5)")
