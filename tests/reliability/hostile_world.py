"""The service with both integrations on loopback (the Jira and Slack sandboxes, the real web
app), for the hostile-input tests: the scenarios' world without their end checks, which expect
a full conversation with both."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scenarios"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "contract"))
from jira_fixtures import SpecRecorder  # noqa: E402
from test_jira_and_slack_e2e import OWNER, ROLES, SIGNING_SECRET, T0, World  # noqa: E402

from aims_workflows.app import open_app, shipped_workflows_dir  # noqa: E402
from aims_workflows.config import Settings  # noqa: E402
from aims_workflows.demo.jira_loopback import JiraLoopback  # noqa: E402
from aims_workflows.demo.slack_loopback import SlackLoopback  # noqa: E402
from aims_workflows.testing import ManualClock  # noqa: E402

__all__ = ["hostile_world", "SIGNING_SECRET"]


@contextmanager
def hostile_world(
    db_url: str, tmp_path: Path, recorder: SpecRecorder, *workflows: str
) -> Iterator[World]:
    folder = tmp_path / "workflows"
    folder.mkdir(exist_ok=True)
    # the risk assessment starts an ai-risk run per further risk and a risk-treatment run per plan
    spawned = {"ai-risk", "risk-treatment"} if "ai-risk-assessment" in workflows else set()
    for name in sorted(set(workflows) | spawned):
        shutil.copy(shipped_workflows_dir() / f"{name}.yaml", folder)
    config = tmp_path / "aims.yaml"
    config.write_text(
        "organisation: Example Bank\nroles:\n"
        + "".join(f"  {role}: [{', '.join(p)}]\n" for role, p in ROLES.items()),
        encoding="utf-8",
    )
    clock = ManualClock(T0)
    people = sorted({p for ps in ROLES.values() for p in ps} | {OWNER})
    with SlackLoopback(people=people, signing_secret=SIGNING_SECRET) as slack:
        jira = JiraLoopback(observers=(recorder,), people=people)
        app = open_app(
            Settings(database_url=db_url, config=config, workflows=folder),
            clock=clock,
            jira=jira.connect,
            slack=slack.attach,
        )
        jira.serve(app)
        slack.sandbox.app_url = jira.server.url + "/slack/events"
        try:
            yield World(app, clock, jira, slack, jira.server.url)
        finally:
            slack.wait()
            jira.close()
            app.db.dispose()
    assert not recorder.errors, "Jira exchanges that do not match the spec:\n" + "\n".join(
        recorder.errors
    )
