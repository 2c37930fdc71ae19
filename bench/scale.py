"""Scale-out on PostgreSQL: events per second against the number of `aims worker`-like processes,
with a raw ``SKIP LOCKED`` queue measured in the same run as the baseline.

    .venv/bin/python bench/scale.py                    # 2,000 events, 1 and 4 workers
    .venv/bin/python bench/scale.py --events 500 --workers 1 2 4
    AIMS_BENCH_POSTGRES_URL=postgresql+psycopg://... .venv/bin/python bench/scale.py

Each measurement gets a schema of its own on the server (dropped afterwards).

* raw: bare SQL through psycopg; each worker loops on one transaction per item: claim the oldest
  new row ``FOR UPDATE SKIP LOCKED``, mark it done, commit. The most any queue on this server
  can do per item.
* aims: the five-step approval of ``_aims_workload`` (runs started beforehand, not timed); its
  first task's completion is stored in the inbox as one delivery per run, as ``aims serve`` stores
  a Jira webhook. Each worker process takes deliveries under its own name (``FOR UPDATE SKIP
  LOCKED``) and applies them with group commit (``Runtime.receive_batch``: the engine on a
  snapshot, then one transaction per batch with a savepoint per event), as ``aims worker``
  applies Jira deliveries. Every delivery must end applied exactly once, and the ledger verify.

The workers are separate processes started together; the time is from the start signal until
the last one finds nothing left. Ratios only are comparable across runs (the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SOURCE = "bench"


def say(message: str) -> None:
    print(message, flush=True)


def _in_schema(url: str, schema: str) -> str:
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options={quote(f'-csearch_path={schema}', safe='')}"


def _in_schema_options(url: str, option: str) -> str:
    """``url`` (made by :func:`_in_schema`) with one more server option."""
    return url.replace("options=", f"options={quote(option + ' ', safe='')}", 1)


class Schema:
    """A fresh schema on the server for one measurement."""

    def __init__(self, server_url: str) -> None:
        from sqlalchemy import create_engine

        self.admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
        self.name = f"aims_bench_{uuid.uuid4().hex[:10]}"
        self.url = _in_schema(server_url, self.name)

    def __enter__(self) -> str:
        from sqlalchemy import text

        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{self.name}"'))
        return self.url

    def __exit__(self, *exc: object) -> None:
        from sqlalchemy import text

        with self.admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{self.name}" CASCADE'))
        self.admin.dispose()


def _run_workers(args: list[list[str]]) -> tuple[float, list[str]]:
    """Start the worker processes, wait until each is ready, start them together; the seconds
    until the last one ended, and what each printed at the end."""
    procs = [
        subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), *a],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for a in args
    ]
    for proc in procs:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        if line != "ready":
            raise RuntimeError(f"a worker did not start: {line!r}")
    started = time.perf_counter()
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    outputs = []
    for proc in procs:
        out, _ = proc.communicate(timeout=1800)
        if proc.returncode != 0:
            raise RuntimeError(f"a worker failed (exit {proc.returncode})")
        outputs.append(out.strip())
    return time.perf_counter() - started, outputs


# -- raw SKIP LOCKED queue ----------------------------------------------------------------------
def raw_setup(url: str, items: int) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE queue (id serial PRIMARY KEY, status text NOT NULL)"))
        conn.execute(
            text("INSERT INTO queue (status) SELECT 'new' FROM generate_series(1, :n)"),
            {"n": items},
        )
    engine.dispose()


def raw_worker(url: str) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    sa_url = make_url(url)
    conn = psycopg.connect(
        sa_url.set(drivername="postgresql").render_as_string(hide_password=False)
    )
    say("ready")
    sys.stdin.readline()
    done = 0
    while True:
        with conn.transaction():
            row = conn.execute(
                "SELECT id FROM queue WHERE status = 'new' ORDER BY id LIMIT 1 "
                "FOR UPDATE SKIP LOCKED"
            ).fetchone()
            if row is None:
                break
            conn.execute("UPDATE queue SET status = 'done' WHERE id = %s", (row[0],))
        done += 1
    conn.close()
    say(str(done))


def raw_rate(server_url: str, items: int, workers: int) -> float:
    with Schema(server_url) as url:
        raw_setup(url, items)
        seconds, outputs = _run_workers([["--raw-worker", url] for _ in range(workers)])
        if sum(int(o.splitlines()[-1]) for o in outputs) != items:
            raise RuntimeError("the raw queue lost or doubled items")
    return items / seconds


# -- aims ---------------------------------------------------------------------------------------
def _system_name(instance: int, systems: int) -> str:
    return f"AI system {(instance - 1) % systems + 1:05d}"


def aims_setup(url: str, events: int, systems: int, workdir: Path) -> None:
    """``systems`` AI systems, runs started round-robin over them, and one stored delivery per
    run (not timed; written with ``synchronous_commit`` off, which only the setup uses)."""
    import _aims_workload as aims

    from aims_workflows.inventory import AISystemRecord, Inventory
    from aims_workflows.runtime import Delivery

    rt = _runtime(_in_schema_options(url, "-csynchronous_commit=off"), workdir, fresh=True)
    inventory = Inventory(rt)
    for number in range(1, systems + 1):
        name = _system_name(number, systems)
        inventory.add(AISystemRecord(name=name, owner=aims.SYSTEM_OWNER))
    for instance in range(1, events + 1):
        run_id = rt.start(
            aims.WORKFLOW_ID,
            system=_system_name(instance, systems),
            inputs={"instance": instance, "title": "t", "control": "c"},
            again=True,
        ).run.run_id
        payload = json.dumps({"run_id": run_id, "likelihood": 4, "impact": 3})
        rt.store_delivery(Delivery(SOURCE, f"d-{instance}", payload))
    rt.db.dispose()


def _runtime(url: str, workdir: Path, *, fresh: bool = False):
    import _aims_workload as aims

    from aims_workflows.config import AimsConfig
    from aims_workflows.ports import SystemClock
    from aims_workflows.runtime import Runtime
    from aims_workflows.spec import load_workflows
    from aims_workflows.store import Database

    spec_path = workdir / "five-step-approval.yaml"
    spec_path.write_text(aims.WORKFLOW_YAML, encoding="utf-8")
    config = AimsConfig(
        roles={
            "engineer": [aims.ANALYST],
            "risk_owner": [aims.APPROVER],
            "aims_owner": [aims.SYSTEM_OWNER],
        }
    )
    db = Database(url)
    if fresh:
        db.upgrade()
    workflows = load_workflows([spec_path], roles=config.role_names())
    return Runtime(db, workflows, config, SystemClock())


class _HeadHold:
    """How long this worker held the ledger's head: from the moment its transaction has the
    head's row lock until that transaction has committed (and, apart, how long it waited for
    the lock). Every writer takes the head in turn, so the hold summed over all workers against
    the wall time is the share of the run that was serial by construction."""

    def __init__(self, rt) -> None:
        from contextlib import contextmanager

        from aims_workflows.store import ledger

        self.seconds, self.waited, self.times = 0.0, 0.0, 0
        asked: list[float] = []
        locked: list[float] = []
        append, head = ledger.append_unlinked, ledger.head
        begin = rt.db.begin

        def timed_append(conn, items):
            asked.append(time.perf_counter())
            return append(conn, items)

        def timed_head(conn, *, lock=False):
            answer = head(conn, lock=lock)
            if lock:
                locked.append(time.perf_counter())
            return answer

        @contextmanager
        def timed_begin(**kwargs):
            asked.clear()
            locked.clear()
            with begin(**kwargs) as conn:
                yield conn
            if asked and locked:  # committed: the head's lock is released now
                self.seconds += time.perf_counter() - locked[0]
                self.waited += locked[0] - asked[0]
                self.times += 1

        ledger.append_unlinked = timed_append
        ledger.head = timed_head
        rt.db.begin = timed_begin


def aims_worker(url: str, owner: str, batch: int) -> None:
    import _aims_workload as aims

    from aims_workflows.engine import TaskCompleted
    from aims_workflows.runtime import Queued

    with tempfile.TemporaryDirectory(prefix="aims-scale-") as tmp:
        rt = _runtime(url, Path(tmp))
        head = _HeadHold(rt)
        rt.people.prepare()
        analyst = rt.actor(aims.ANALYST, "jira")
        say("ready")
        sys.stdin.readline()
        applied = 0
        while True:
            taken = rt.claim_deliveries(SOURCE, owner, batch)
            if not taken:
                break
            queued = []
            for delivery in taken:
                body = json.loads(delivery.payload)
                answers = {"likelihood": body["likelihood"], "impact": body["impact"]}
                event = TaskCompleted(actor=analyst, step_id="assess", answers=answers)
                queued.append(Queued(event, run_id=body["run_id"], delivery=delivery))
            for result in rt.receive_batch(queued):
                if isinstance(result, Exception):
                    raise result
                applied += 0 if result.duplicate else 1
            rt.release_deliveries(SOURCE, owner)
        rt.db.dispose()
    say(f"{applied} {head.seconds:.6f} {head.times} {head.waited:.6f}")


def aims_rate(server_url: str, events: int, workers: int, batch: int, systems: int) -> Rate:
    from sqlalchemy import text

    from aims_workflows.store import Database, ledger

    with Schema(server_url) as url, tempfile.TemporaryDirectory(prefix="aims-scale-") as tmp:
        aims_setup(url, events, systems, Path(tmp))
        seconds, outputs = _run_workers(
            [["--aims-worker", url, f"w{w}", str(batch)] for w in range(workers)]
        )
        ends = [o.splitlines()[-1].split() for o in outputs]
        applied = sum(int(end[0]) for end in ends)
        held, holds = sum(float(end[1]) for end in ends), sum(int(end[2]) for end in ends)
        waited = sum(float(end[3]) for end in ends)
        db = Database(url)
        with db.connect() as conn:
            processed = conn.scalar(
                text("SELECT count(*) FROM inbox WHERE source = :s AND status = 'processed'"),
                {"s": SOURCE},
            )
            completed = conn.scalar(
                text("SELECT count(*) FROM evidence WHERE kind = 'task.completed'")
            )
            verified = ledger.verify(conn)
        db.dispose()
        if not (applied == processed == completed == events) or not verified.ok:
            raise RuntimeError(
                f"aims: {events} deliveries, {applied} applied, {processed} processed, "
                f"{completed} completions, ledger {'ok' if verified.ok else verified.problem}"
            )
    return Rate(
        events / seconds, held / seconds, 1000 * held / max(holds, 1), 1000 * waited / max(holds, 1)
    )


@dataclass(frozen=True)
class Rate:
    """An aims measurement: events/s, and the ledger head's share of the wall time (summed over
    the workers), its mean hold per transaction and the mean wait for it."""

    events_per_second: float
    head_share: float
    head_ms: float
    wait_ms: float

    def __str__(self) -> str:
        return (
            f"{self.events_per_second:,.0f} events/s (ledger head held {self.head_share:.0%} "
            f"of the time, {self.head_ms:.1f} ms per transaction after waiting "
            f"{self.wait_ms:.1f} ms for it)"
        )


def _spread(values: list[float]) -> str:
    return f"{min(values):,.0f}-{max(values):,.0f}" if len(values) > 1 else ""


def _keep(rates: dict[str, list[float]], name: str, aims: Rate) -> None:
    rates.setdefault(name, []).append(aims.events_per_second)
    rates.setdefault(f"{name}_head_share", []).append(aims.head_share)
    rates.setdefault(f"{name}_head_ms", []).append(aims.head_ms)


def _measure(args: argparse.Namespace, server: str) -> dict[str, list[float]]:
    """Every rate, once per round; within a round the rows are interleaved, so a burst of load
    elsewhere on the machine hits them alike."""
    rates: dict[str, list[float]] = {}
    for round_number in range(1, args.rounds + 1):
        say(f"round {round_number} of {args.rounds}")
        for w in args.workers:
            rate = raw_rate(server, args.events, w)
            rates.setdefault(f"raw_{w}", []).append(rate)
            say(f"  raw SKIP LOCKED queue, {w} worker(s): {rate:,.0f} items/s")
            systems = args.systems or args.events
            aims = aims_rate(server, args.events, w, args.batch, systems)
            _keep(rates, f"aims_{w}", aims)
            say(f"  aims, {w} worker(s), {systems:,} systems: {aims}")
        if args.one_system:
            w = max(args.workers)
            aims = aims_rate(server, args.events, w, args.batch, 1)
            _keep(rates, f"aims_one_system_{w}", aims)
            say(f"  aims, {w} worker(s), one system: {aims}")
    return rates


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--batch", type=int, default=50, help="events per group commit")
    parser.add_argument(
        "--systems",
        type=int,
        default=0,
        help="AI systems the runs are spread over (default: one run per system, as in a "
        "yearly review of the inventory)",
    )
    parser.add_argument(
        "--one-system",
        action="store_true",
        help="also measure the most workers with every run on one AI system",
    )
    parser.add_argument("--rounds", type=int, default=3, help="figures are the median of these")
    parser.add_argument("--json", type=Path, metavar="PATH")
    parser.add_argument("--raw-worker", nargs=1, help=argparse.SUPPRESS)
    parser.add_argument("--aims-worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.raw_worker:
        raw_worker(args.raw_worker[0])
        return 0
    if args.aims_worker:
        url, owner, batch = args.aims_worker
        aims_worker(url, owner, int(batch))
        return 0

    server = os.environ.get("AIMS_BENCH_POSTGRES_URL", DEFAULT_URL)
    say(
        f"PostgreSQL scale-out: {args.events:,} events, workers {args.workers}, "
        f"{args.rounds} round(s), {os.cpu_count()} cores"
    )
    rates = _measure(args, server)
    figures: dict[str, float] = {name: statistics.median(v) for name, v in rates.items()}
    rows: list[tuple[str, str, str, str, bool | None]] = []
    for w in args.workers:
        ratios = [a / r for a, r in zip(rates[f"aims_{w}"], rates[f"raw_{w}"], strict=True)]
        ratio = figures[f"aims_over_raw_{w}"] = statistics.median(ratios)
        rows.append(
            (
                f"aims events/s, {w} worker(s)",
                f"{figures[f'aims_{w}']:,.0f}",
                _spread(rates[f"aims_{w}"]),
                "",
                None,
            )
        )
        share = rates[f"aims_{w}_head_share"]
        rows.append(
            (
                f"ledger head held, share of wall time, {w} worker(s)",
                f"{statistics.median(share):.0%}",
                f"{min(share):.0%}-{max(share):.0%}",
                "",
                None,
            )
        )
        rows.append(
            (
                f"raw items/s, {w} worker(s)",
                f"{figures[f'raw_{w}']:,.0f}",
                _spread(rates[f"raw_{w}"]),
                "",
                None,
            )
        )
        rows.append(
            (
                f"aims / raw queue, {w} worker(s)",
                f"{ratio:.3f}",
                f"{min(ratios):.3f}-{max(ratios):.3f}",
                ">= 0.25",
                ratio >= 0.25,
            )
        )
    lowest, highest = min(args.workers), max(args.workers)
    if highest != lowest:
        gains = [
            h / lo for h, lo in zip(rates[f"aims_{highest}"], rates[f"aims_{lowest}"], strict=True)
        ]
        gain = figures["aims_scale_gain"] = statistics.median(gains)
        rows.append(
            (
                f"aims {highest} workers / {lowest}",
                f"{gain:.2f}x",
                f"{min(gains):.2f}-{max(gains):.2f}",
                ">= 1.5x",
                gain >= 1.5,
            )
        )
        raw_gains = [
            h / lo for h, lo in zip(rates[f"raw_{highest}"], rates[f"raw_{lowest}"], strict=True)
        ]
        figures["raw_scale_gain"] = statistics.median(raw_gains)
        rows.append(
            (
                f"raw {highest} workers / {lowest}",
                f"{figures['raw_scale_gain']:.2f}x",
                f"{min(raw_gains):.2f}-{max(raw_gains):.2f}",
                "(info)",
                None,
            )
        )
        if args.one_system:
            key = f"aims_one_system_{highest}"
            one = [o / m for o, m in zip(rates[key], rates[f"aims_{highest}"], strict=True)]
            figures["one_system_over_many"] = statistics.median(one)
            rows.append(
                (
                    f"aims {highest} workers, one system / many",
                    f"{statistics.median(one):.2f}x",
                    f"{min(one):.2f}-{max(one):.2f}",
                    "(info)",
                    None,
                )
            )
    width = max(len(r[0]) for r in rows)
    say("")
    say(f"{'figure (median of rounds)':<{width}}  {'value':>8}  {'spread':<13}  {'target':<8}  met")
    for name, value, spread, target, met in rows:
        mark = "" if met is None else ("yes" if met else "NO")
        say(f"{name:<{width}}  {value:>8}  {spread:<13}  {target:<8}  {mark}")
    if args.json:
        payload = {"median": figures, "rounds": rates}
        args.json.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
