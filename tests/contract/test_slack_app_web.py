"""The Slack app inside the real web service (``web.create_app`` over ``open_app`` configured
by ``AIMS_SLACK_*`` settings), against the spec-checked sandbox: the web process records the
decision and dispatches nothing, the worker's pass takes the outcome to every copy, and the
route refuses unsigned requests."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx
from slack_fixtures import SIGNING_SECRET, SpecRecord, make_sandbox

from aims_workflows.adapters.slack import APPROVE
from aims_workflows.app import integrations_from_settings, open_app
from aims_workflows.config import Settings
from aims_workflows.inventory import AISystemRecord
from aims_workflows.sandbox._server import BackgroundServer
from aims_workflows.store import Database
from aims_workflows.testing import InMemoryIssueTracker, ManualClock
from aims_workflows.web import create_app

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scenarios"))
from test_slack_world import T0, WORKFLOW, config_yaml  # noqa: E402

ROLES = {
    "top_management": ["tom@example.com", "tina@example.com"],
    "engineer": ["eve@example.com"],
    "aims_owner": ["amy@example.com"],
}


def test_service_from_settings_serves_slack_and_the_worker_follows_up(
    tmp_path: Path, monkeypatch
) -> None:
    workflows = tmp_path / "workflows"
    workflows.mkdir()
    (workflows / "release.yaml").write_text(
        WORKFLOW
        % {
            "approvers": "top_management",
            "quorum": "any",
            "channel": "direct",
            "sign_off_extra": "",
        }
    )
    (tmp_path / "aims.yaml").write_text(config_yaml(ROLES))
    url = f"sqlite:///{tmp_path / 'aims.db'}"
    Database(url).upgrade()
    record = SpecRecord()
    with make_sandbox(
        record, users=["tom@example.com", "tina@example.com", "eve@example.com", "amy@example.com"]
    ) as slack:
        monkeypatch.setenv("AIMS_SLACK_BOT_TOKEN", slack.bot_token)
        monkeypatch.setenv("AIMS_SLACK_SIGNING_SECRET", SIGNING_SECRET)
        monkeypatch.setenv("AIMS_SLACK_API_URL", slack.api_url)
        settings = Settings(database_url=url, config=tmp_path / "aims.yaml", workflows=workflows)
        assert slack.bot_token not in repr(settings) and SIGNING_SECRET not in repr(settings)
        tracker = InMemoryIssueTracker()
        slack_from_settings = integrations_from_settings(settings).slack
        app = open_app(settings, clock=ManualClock(T0), tracker=tracker, slack=slack_from_settings)
        assert app.slack is not None and app.dispatcher.ports["approval"] is app.slack.channel
        with BackgroundServer(create_app(app, process_in_background=False)) as server:
            slack.app_url = server.url + "/slack/events"
            assert httpx.get(server.url + "/healthz").json()["status"] == "ok"
            assert httpx.post(slack.app_url, content=b"payload=%7B%7D").status_code == 401

            app.inventory.add(AISystemRecord(name="Credit model", owner="olga@example.com"))
            run_id = app.runtime.start("model-release", system="Credit model").run.run_id
            app.pump()
            task = tracker.open_tasks()[0]
            app.runtime.complete_task(
                run_id,
                "prepare",
                {"summary": "Retrained", "risk_score": 4},
                person="eve@example.com",
                via="jira",  # the stand-in tracker is Jira here; the CLI is closed with Slack on
                attempt=task.attempt,
                ref=task.ref,
            )
            app.pump()
            tom = slack.person("tom@example.com")
            assert tom.click(slack.messages("tom@example.com")[-1], APPROVE).ok
            assert app.slack.wait_idle()
            assert tom.submit(
                slack.modal("tom@example.com"), {"reason_text": "Retraining validated"}
            ).ok
            assert app.slack.wait_idle()  # the decision is recorded ...
            # ... and the web process dispatches nothing: the copies still show their buttons
            # until the worker's pass carries the close out
            assert [
                b for b in slack.messages("tina@example.com")[-1].blocks if b["type"] == "actions"
            ]
            app.pump()  # as `aims worker` does
            for person in ("tom@example.com", "tina@example.com"):
                last = slack.messages(person)[-1]
                assert last.text.startswith("Approved") and not [
                    b for b in last.blocks if b["type"] == "actions"
                ]
        app.slack.close()
        app.db.dispose()
    assert not record.failures, "\n".join(record.failures)


def test_the_worker_needs_only_the_token_and_serving_needs_the_secret(
    tmp_path: Path, monkeypatch
) -> None:
    import pytest

    from aims_workflows.errors import ConfigError

    url = f"sqlite:///{tmp_path / 'aims.db'}"
    Database(url).upgrade()
    monkeypatch.setenv("AIMS_SLACK_BOT_TOKEN", "xoxb-1-2-worker")
    monkeypatch.delenv("AIMS_SLACK_SIGNING_SECRET", raising=False)
    (tmp_path / "aims.yaml").write_text("organisation: Example Ltd\n")  # named, so it must exist
    settings = Settings(database_url=url, config=tmp_path / "aims.yaml")
    app = open_app(settings, slack=integrations_from_settings(settings).slack)
    assert app.dispatcher.ports["approval"] is app.slack.channel  # the worker can post
    with pytest.raises(ConfigError) as caught:
        create_app(app)
    assert "AIMS_SLACK_SIGNING_SECRET" in str(caught.value)
    app.slack.close()
    app.db.dispose()
