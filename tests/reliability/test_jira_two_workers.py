"""Two `aims worker` processes against a slow Jira (the sandbox answering every request late):
80 tasks make 80 issues, one ``task.issued`` row each, and the mapping and the steps name the
same issue. Before claims were small, renewed and owned, the second worker took over the first
one's batch when it outlasted the lease and both created the issues (80 tasks, 98-99 issues).

Time is injected: each worker's clock runs 30 times faster than the wall, so the two-minute
lease passes in four seconds while the slow site keeps the first worker busy for longer.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import pytest
from sqlalchemy import text

from aims_workflows.app import open_app, shipped_workflows_dir
from aims_workflows.config import Settings
from aims_workflows.demo.jira_loopback import JiraLoopback
from aims_workflows.inventory import AISystemRecord
from aims_workflows.store import Database

pytestmark = pytest.mark.filterwarnings("ignore:Unsupported scheme type:UserWarning")

SYSTEMS = 40  # a risk and an impact assessment each: 80 tasks
FACTOR = 30.0  # the workers' clocks run this much faster than the wall
LATENCY = 0.02  # seconds the sandbox waits before answering any request

WORKER = textwrap.dedent("""
    import sys, time
    from datetime import datetime, timedelta
    from sqlalchemy import text
    from aims_workflows.app import integrations_from_settings, open_app
    from aims_workflows.config import Settings
    from aims_workflows.testing import InMemoryApprovalChannel, InMemoryNotifier

    start, wall0 = datetime.fromisoformat(sys.argv[1]), float(sys.argv[2])
    factor = float(sys.argv[3])

    class FastClock:
        def now(self):
            return start + timedelta(seconds=(time.time() - wall0) * factor)

    settings = Settings()
    app = open_app(
        settings, clock=FastClock(), jira=integrations_from_settings(settings).jira,
        approvals=InMemoryApprovalChannel(), notifier=InMemoryNotifier(),
    )
    dispatcher = app.dispatcher
    if hasattr(dispatcher, "renew_every"):  # a quarter of the lease, on the fast clock
        dispatcher.renew_every = dispatcher.renew_every / factor
    print("ready", flush=True)
    sys.stdin.readline()
    done = 0
    while True:
        done += dispatcher.pump().done
        with app.db.connect() as conn:
            left = conn.execute(text(
                "SELECT count(*) FROM outbox WHERE kind = 'task.create' AND status <> 'done'"
            )).scalar()
        if not left:
            break
        time.sleep(0.05)  # the worker's pause between passes
    print("done", done, flush=True)
""")


@pytest.mark.slow
def test_two_workers_behind_a_slow_jira_make_one_issue_per_task(db_url, tmp_path, clock, roles):
    Database(db_url).upgrade()
    config = tmp_path / "aims.yaml"
    lines = ["roles:"] + [f"  {role}: [{', '.join(people)}]" for role, people in roles.items()]
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    settings = Settings(database_url=db_url, config=config, workflows=shipped_workflows_dir())
    demo = JiraLoopback(people=["olga@example.com"])
    app = open_app(settings, clock=clock, jira=demo.connect)
    demo.serve(app)
    try:
        for n in range(SYSTEMS):  # registered without dispatching: the creates wait in the outbox
            app.inventory.add(AISystemRecord(name=f"System {n:02}", owner="olga@example.com"))
        sandbox = demo.sandbox
        assert sandbox is not None
        sandbox.faults.slow(LATENCY)
        bot = sandbox.service_account
        env = {
            **os.environ,
            "AIMS_DATABASE_URL": db_url,
            "AIMS_CONFIG": str(config),
            "AIMS_WORKFLOWS": str(shipped_workflows_dir()),
            "AIMS_JIRA_URL": sandbox.url,
            "AIMS_JIRA_EMAIL": bot.email,
            "AIMS_JIRA_API_TOKEN": bot.api_token,
            "AIMS_JIRA_PROJECT": "AIMS",
        }
        script = tmp_path / "worker.py"
        script.write_text(WORKER, encoding="utf-8")
        args = [clock.now().isoformat(), repr(time.time()), str(FACTOR)]
        workers = [
            subprocess.Popen(
                [sys.executable, str(script), *args],
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        for worker in workers:
            line = worker.stdout.readline()
            assert line.strip() == "ready", (line, worker.stderr.read())
        for worker in workers:
            worker.stdin.write("go\n")
            worker.stdin.flush()
        outputs = [worker.communicate(timeout=600) for worker in workers]
        for worker, (_out, err) in zip(workers, outputs, strict=True):
            assert worker.returncode == 0 and "Traceback" not in err, err
        sandbox.faults.slow(0)

        with app.db.connect() as conn:
            tasks = conn.execute(
                text("SELECT count(*) FROM outbox WHERE kind = 'task.create'")
            ).scalar()
            issued = conn.execute(
                text("SELECT count(*) FROM evidence WHERE kind = 'task.issued'")
            ).scalar()
            refs = conn.execute(text("SELECT external_ref FROM steps")).scalars().all()
            mapped = conn.execute(text("SELECT issue_key FROM jira_issues")).scalars().all()
        with sandbox.state.lock:
            issues = len(sandbox.state.issues)
        by_worker = [int(out.split()[-1]) for out, _err in outputs]
        print(
            f"\n{tasks} tasks -> {issues} Jira issues, {issued} task.issued rows "
            f"(two workers did {by_worker[0]} and {by_worker[1]})"
        )
        assert tasks == 2 * SYSTEMS
        assert issues == tasks
        assert issued == tasks
        assert sorted(refs) == sorted(mapped) and len(set(refs)) == tasks
        assert all(by_worker), "both workers took part"
    finally:
        demo.close()
        app.db.dispose()
