"""Jira webhook throughput: signed deliveries into ``aims serve``'s app on loopback.

    .venv/bin/python bench/webhooks.py [--deliveries 5000] [--duplicates 0.1] [--clients 8]

Set-up (not timed): a one-step task workflow, one run per distinct delivery, each task mapped
to a Jira issue (as the tracker records it). Timed: every delivery is a signed
``jira:issue_updated`` moving its issue to Done, sent as fast as ``--clients`` concurrent HTTP
clients can; 10 % repeat an earlier delivery with the same ``X-Atlassian-Webhook-Identifier``
(Jira's retries). Reports accepted deliveries per second, p50/p99 time to answer, the time until
the background processor has applied every stored delivery, and checks that every distinct
delivery produced exactly one task completion and no duplicate did. Target: p99 < 50 ms.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import func, select

from aims_workflows.adapters.jira import JiraConnection, JiraIntegration, _store
from aims_workflows.app import open_app
from aims_workflows.config import Settings
from aims_workflows.engine import Actor, TaskCreated
from aims_workflows.sandbox._server import BackgroundServer
from aims_workflows.sandbox.jira import sign
from aims_workflows.store import Database
from aims_workflows.store.models import Evidence, InboxItem
from aims_workflows.web import create_app

WORKFLOW = """\
id: bench-task
version: 1
title: One task
subject: organisation
trigger: {manual: true}
steps:
  - id: check
    kind: task
    role: engineer
    title: Check one thing
    form:
      - {id: result, type: text, label: Result}
"""
SECRET = "bench-webhook-secret"
NO_PROCESS = False
ENGINEER = "erin.engineer@example.com"
FIELD = "customfield_10050"


def prepare(workdir: Path, n: int):
    (workdir / "workflows").mkdir()
    (workdir / "workflows" / "bench-task.yaml").write_text(WORKFLOW)
    (workdir / "aims.yaml").write_text(f"roles:\n  engineer: [{ENGINEER}]\n")
    url = f"sqlite:///{workdir / 'aims.db'}"
    Database(url).upgrade()
    app = open_app(
        Settings(database_url=url, config=workdir / "aims.yaml", workflows=workdir / "workflows"),
        # Never called: the mapping is recorded and the payloads carry the fields.
        jira=lambda runtime: JiraIntegration(
            JiraConnection("http://127.0.0.1:9", "bot@example.com", "unused"),
            "AIMS",
            runtime,
            webhook_secret=SECRET,
        ),
    )
    bodies = []
    for i in range(n):
        run_id = app.runtime.start("bench-task").run.run_id
        key, issue_id = f"AIMS-{i + 1}", str(10000 + i)
        app.runtime.handle(
            run_id,
            TaskCreated(
                actor=Actor("aims", "dispatcher"),
                step_id="check",
                attempt=1,
                assignee=ENGINEER,
                ref=key,
            ),
        )
        with app.db.begin() as conn:
            _store.remember_issue(
                conn,
                issue_id=issue_id,
                issue_key=key,
                idem_key=f"{run_id}/check/1/task",
                run_id=run_id,
                step_id="check",
                attempt=1,
                fields={"result": [FIELD, "text"]},
                now=datetime.now(UTC),
            )
        payload = {
            "timestamp": 1767600000000 + i,
            "webhookEvent": "jira:issue_updated",
            "issue_event_type_name": "issue_generic",
            "user": {
                "accountId": "712020:bench",
                "emailAddress": ENGINEER,
                "displayName": "Erin Engineer",
            },
            "issue": {
                "id": issue_id,
                "key": key,
                "self": f"https://example.atlassian.net/rest/api/3/issue/{issue_id}",
                "fields": {
                    "labels": ["aims"],
                    FIELD: "looks fine",
                    "status": {
                        "name": "Done",
                        "id": "10001",
                        "statusCategory": {"key": "done", "id": 3},
                    },
                },
            },
            "changelog": {
                "id": str(20000 + i),
                "items": [
                    {
                        "field": "status",
                        "fieldId": "status",
                        "fieldtype": "jira",
                        "from": "3",
                        "fromString": "In Progress",
                        "to": "10001",
                        "toString": "Done",
                    }
                ],
            },
        }
        bodies.append((f"dlv-{i:05d}", json.dumps(payload, separators=(",", ":")).encode()))
    return app, bodies


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--deliveries", type=int, default=5000)
    parser.add_argument("--duplicates", type=float, default=0.10)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args(argv)
    distinct = round(args.deliveries * (1 - args.duplicates))
    rng = random.Random(42)
    with tempfile.TemporaryDirectory() as tmp:
        print(f"set-up: {distinct} runs with a Jira task each ...", flush=True)
        app, bodies = prepare(Path(tmp), distinct)
        sends = list(bodies)
        for _ in range(args.deliveries - distinct):  # a repeat comes after its original
            position = rng.randrange(len(sends) // 2, len(sends) + 1)
            sends.insert(position, bodies[rng.randrange(0, max(1, position // 2))])
        web = create_app(app, process_in_background=not NO_PROCESS)
        latencies: list[float] = []
        statuses: dict[int, int] = {}
        lock = threading.Lock()
        with BackgroundServer(web) as server:
            local = threading.local()

            def send(item: tuple[str, bytes]) -> None:
                client = getattr(local, "client", None) or httpx.Client(
                    base_url=server.url, timeout=30
                )
                local.client = client
                delivery, body = item
                started = time.perf_counter()
                response = client.post(
                    "/jira/webhook",
                    content=body,
                    headers={
                        "Content-Type": "application/json",
                        "X-Atlassian-Webhook-Identifier": delivery,
                        "X-Hub-Signature": sign(SECRET, body),
                    },
                )
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
                    statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

            started = time.perf_counter()
            with ThreadPoolExecutor(args.clients) as pool:
                list(pool.map(send, sends))
            sent_in = time.perf_counter() - started
            table = InboxItem.__table__
            while True:
                with app.db.connect() as conn:
                    waiting = conn.scalar(
                        select(func.count())
                        .select_from(table)
                        .where(table.c.status.in_(("received", "processing")))
                    )
                if not waiting:
                    break
                time.sleep(0.05)
            processed_in = time.perf_counter() - started
            web.state.inbox_worker.stop()
        with app.db.connect() as conn:
            completed = conn.execute(
                select(Evidence.__table__.c.run_id, func.count())
                .where(Evidence.__table__.c.kind == "task.completed")
                .group_by(Evidence.__table__.c.run_id)
            ).all()
            inbox_rows = dict(
                conn.execute(select(table.c.status, func.count()).group_by(table.c.status)).all()
            )
        latencies.sort()
        p50 = statistics.median(latencies) * 1000
        p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
        accepted = statuses.get(202, 0)
        print(
            f"deliveries sent:          {len(sends)} ({len(sends) - distinct} duplicates), "
            f"{args.clients} clients"
        )
        print(f"answers:                  {statuses}")
        print(
            f"accepted per second:      {accepted / sent_in:,.0f} "
            f"({len(sends) / sent_in:,.0f} answered/s)"
        )
        print(f"time to answer:           p50 {p50:.1f} ms, p99 {p99:.1f} ms (target p99 < 50 ms)")
        print(
            f"all sent in:              {sent_in:.2f} s; all processed after {processed_in:.2f} s"
        )
        print(f"inbox:                    {inbox_rows}")
        once = len(completed) == distinct and all(c == 1 for _, c in completed)
        print(
            f"exactly one transition:   {'yes' if once else 'NO'} ({len(completed)} "
            f"runs completed, {sum(c for _, c in completed)} completions)"
        )
        ok = (
            once
            and accepted == distinct
            and statuses.get(200, 0) == len(sends) - distinct
            and p99 < 50
        )
        print("result:                   " + ("PASS" if ok else "FAIL"))
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
