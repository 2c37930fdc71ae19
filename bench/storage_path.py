"""The storage fast path (``store/_fast.py``) against plain SQLAlchemy Core, same run.

    .venv/bin/python bench/storage_path.py [--instances 300] [--rounds 5]

Both contenders run the engine workload of ``_aims_workload.py`` (five events per instance, one
transaction each, SQLite file, WAL) from an empty database:

* ``fast``: as shipped: each fixed statement compiled once per dialect by ``store/_fast.py`` and
  executed on the DBAPI cursor of the caller's transaction.
* ``plain``: the same statements through ``Connection.execute`` (``plain_sqlalchemy()``):
  SQLAlchemy's compiled cache serves the compiled form, ``executemany`` where a call passes
  several rows, ``exec_driver_sql`` for ``BEGIN IMMEDIATE``.

Rounds alternate the two, and the best round of each is kept. Printed: events per second by wall
clock and by this process's CPU time (less disturbed by other work on a shared machine: SQLite
runs in-process and WAL with synchronous=NORMAL does not wait on the disk at commit), and plain
as a share of fast. The fast path earns its keep only while plain is more than 10% slower.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _aims_workload as aims  # noqa: E402

from aims_workflows.store import _fast  # noqa: E402

CONTENDERS = ("fast", "plain")


def one_round(name: str, instances: int) -> tuple[float, float]:
    """(events/s by wall clock, events/s by CPU time) of one contender, fresh database."""
    mode = _fast.plain_sqlalchemy() if name == "plain" else contextlib.nullcontext()
    with tempfile.TemporaryDirectory(prefix="aims-bench-storage-") as tmp, mode:
        runtime = aims.make_runtime(Path(tmp))
        cpu = time.process_time()
        wall = aims.run_aims(instances, Path(tmp), runtime=runtime)
        cpu = time.process_time() - cpu  # includes the untimed final check, the same for both
        runtime.db.dispose()
    events = 5 * instances
    return events / wall, events / cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)

    import sqlalchemy

    print(
        f"storage path: {args.instances} instances x 5 events, best of {args.rounds} rounds, "
        f"SQLAlchemy {sqlalchemy.__version__}",
        flush=True,
    )
    best = {name: (0.0, 0.0) for name in CONTENDERS}
    for round_ in range(1, args.rounds + 1):
        figures = []
        for name in CONTENDERS:
            wall, cpu = one_round(name, args.instances)
            best[name] = (max(best[name][0], wall), max(best[name][1], cpu))
            figures.append(f"{name} {wall:,.0f}/s wall, {cpu:,.0f}/s cpu")
        print(f"  round {round_}: " + "; ".join(figures), flush=True)

    (fast_wall, fast_cpu), (plain_wall, plain_cpu) = best["fast"], best["plain"]
    print()
    print(f"{'events/s (best round)':<40}{'wall':>10}{'cpu':>10}")
    print(f"{'fast path (store/_fast.py)':<40}{fast_wall:>10,.0f}{fast_cpu:>10,.0f}")
    print(f"{'plain SQLAlchemy Core':<40}{plain_wall:>10,.0f}{plain_cpu:>10,.0f}")
    print(f"{'plain / fast':<40}{plain_wall / fast_wall:>10.2f}{plain_cpu / fast_cpu:>10.2f}")
    within = plain_cpu / fast_cpu >= 0.9
    print(
        "plain SQLAlchemy is within 10% of the fast path: "
        + ("yes, the fast path is not worth its upkeep" if within else "no, keep the fast path")
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
