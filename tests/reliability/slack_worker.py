"""What the kill -9 tests of the Slack worker share (``from slack_worker import ...``): the
opening of a worker script run as its own process, the environment that points it at the test's
database and Slack sandbox, and an approval request left waiting in the outbox for it."""

from __future__ import annotations

import os
import textwrap

# The start of each worker script: the app on the test's settings at the moment given as its
# first argument, with Slack's chat_postMessage kept as ``real_post`` for the script to wrap.
WORKER_APP = textwrap.dedent("""
    import sys
    from datetime import datetime
    from aims_workflows.app import integrations_from_settings, open_app
    from aims_workflows.config import Settings
    from aims_workflows.testing import InMemoryIssueTracker, ManualClock

    settings = Settings()
    app = open_app(
        settings,
        clock=ManualClock(datetime.fromisoformat(sys.argv[1])),
        tracker=InMemoryIssueTracker(),
        slack=integrations_from_settings(settings).slack,
    )
    client = app.slack.ports.client
    real_post = client.chat_postMessage
    posts = 0
""")


def worker_env(world) -> dict[str, str]:
    """The environment of a worker process on ``world``'s database, workflows and Slack
    sandbox; without a signing secret, as a worker needs none."""
    env = {
        **os.environ,
        "AIMS_DATABASE_URL": str(world.app.settings.database_url),
        "AIMS_CONFIG": str(world.app.settings.config),
        "AIMS_WORKFLOWS": str(world.app.settings.workflows),
        "AIMS_SLACK_BOT_TOKEN": world.sandbox.bot_token,
        "AIMS_SLACK_API_URL": world.sandbox.api_url,
    }
    env.pop("AIMS_SLACK_SIGNING_SECRET", None)
    return env


def approval_request_waiting(world) -> str:
    """Start a model release and answer its first task, not pumping after: the approval request
    to its approvers waits in the outbox for the worker. Returns the run."""
    run_id = world.rt.start("model-release", system="Support chatbot").run.run_id
    world.pump()
    task = world.tracker.open_tasks()[0]
    world.rt.complete_task(
        run_id,
        "prepare",
        {"summary": "New retrieval index", "risk_score": 6},
        person="eve@example.com",
        via="jira",
        attempt=task.attempt,
        ref=task.ref,
    )
    world.tracker.mark_done(task.ref)
    return run_id
