"""Scenario: a nonconformity reported in Jira. ``aims jira setup`` gives the project the
Nonconformity issue type; someone creates such an issue with the real ``jira`` client over
HTTP; its signed ``jira:issue_created`` webhook reaches the web app and raises one finding, with
its source, whose corrective action starts. The same webhook again raises nothing more; an
issue without a source label is set aside with what to add; with no webhook at all the poll
raises it. Every exchange with the sandbox is held to Atlassian's OpenAPI description."""

from __future__ import annotations

import json
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from jira import JIRA

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "contract"))
from jira_fixtures import SpecRecorder, jira_openapi, jira_spec_dict  # noqa: E402,F401

from aims_workflows.app import open_app, shipped_workflows_dir  # noqa: E402
from aims_workflows.config import Settings  # noqa: E402
from aims_workflows.demo.jira_loopback import JiraLoopback  # noqa: E402
from aims_workflows.findings import count_by_source, list_findings  # noqa: E402
from aims_workflows.store import Database  # noqa: E402
from aims_workflows.store import ledger as ledger_store  # noqa: E402
from aims_workflows.testing import ManualClock  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:Unsupported scheme type:UserWarning")

REPORTER = "cara.complaints@example.com"
CONFIG = f"""
organisation: Example Bank
roles:
  aims_owner: [ana.owner@example.com]
  engineer: [erin.engineer@example.com, {REPORTER}]
  top_management: [ceo@example.com]
"""


def make_app(tmp_path: Path, jira: JiraLoopback):
    folder = tmp_path / "workflows"
    folder.mkdir()
    shutil.copy(shipped_workflows_dir() / "corrective-action.yaml", folder)
    (tmp_path / "aims.yaml").write_text(CONFIG)
    url = f"sqlite:///{tmp_path / 'aims.db'}"
    Database(url).upgrade()
    clock = ManualClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    app = open_app(
        Settings(database_url=url, config=tmp_path / "aims.yaml", workflows=folder),
        clock=clock,
        jira=jira.connect,
    )
    return app, clock


@pytest.fixture
def recorder(jira_openapi) -> SpecRecorder:  # noqa: F811
    return SpecRecorder(jira_openapi)


def _world(tmp_path, recorder, *, webhooks: bool = True):
    demo = JiraLoopback(observers=(recorder,))
    app, clock = make_app(tmp_path, demo)
    demo.serve(app, webhooks=webhooks)
    return app, clock, demo


@pytest.fixture
def wired(tmp_path, recorder):
    app, clock, demo = _world(tmp_path, recorder)
    yield app, clock, demo
    demo.close()
    assert recorder.exchanges
    assert not recorder.errors, "\n".join(recorder.errors)


def reporter_client(demo: JiraLoopback) -> JIRA:
    user = demo.sandbox.user(REPORTER)
    return JIRA(
        server=demo.sandbox.url,
        basic_auth=(user.email, user.api_token),
        options={"rest_api_version": "3"},
        max_retries=0,
    )


def report(
    client: JIRA, *, labels: list[str], priority: str = "High", issuetype: str = "Nonconformity"
):
    return client.create_issue(
        fields={
            "project": {"key": "AIMS"},
            "issuetype": {"name": issuetype},
            "summary": "Loan chatbot refused an applicant without giving a reason",
            "description": {
                "type": "doc",
                "version": 1,
                "content": [
                    {
                        "type": "paragraph",
                        "content": [{"type": "text", "text": "Complaint CS-4411, 28 Feb."}],
                    }
                ],
            },
            "priority": {"name": priority},
            "labels": labels,
        }
    )


def test_setup_gives_the_project_the_nonconformity_type_once(wired):
    app, _, demo = wired
    assert any("added the issue type 'Nonconformity'" in line for line in demo.setup.changed)
    from aims_workflows.adapters.jira import setup_project, workflow_forms

    again = setup_project(
        demo.integration.connection, "AIMS", "Task", workflow_forms(app.workflows)
    )
    assert again.ok and not again.changed
    assert "issue type 'Nonconformity' available for nonconformities" in again.done


def test_a_nonconformity_issue_raises_one_finding_and_starts_corrective_action(wired):
    app, _, demo = wired
    issue = report(reporter_client(demo), labels=["complaint", "A.8.2"])
    assert demo.sync() == 1
    with app.db.connect() as conn:
        findings = list_findings(conn)
    assert [(f.id, f.source_type, f.severity, f.clause, f.tracker_issue) for f in findings] == [
        (f"NC-{issue.key}", "complaint", "major", "A.8.2", issue.key)
    ]
    finding = findings[0]
    assert finding.corrective_run_id and finding.status == "open"
    with app.db.connect() as conn:
        raised = [
            r
            for r in ledger_store.iter_rows(conn)
            if r.kind == "finding.raised" and r.ref == finding.id
        ]
    assert len(raised) == 1
    payload = json.loads(raised[0].payload)
    assert payload["source_type"] == "complaint"
    assert payload["tracker_issue"] == issue.key
    assert payload["source"] == f"jira:{issue.key}"
    assert payload["description"] == "Complaint CS-4411, 28 Feb."
    assert raised[0].actor == REPORTER
    # corrective action's first task is made in Jira as a task of its own; the reported issue
    # stays the finding's, it is not copied
    app.pump()
    task_key = demo.issue_of(finding.corrective_run_id, "correct")
    assert task_key and task_key != issue.key
    assert f"Nonconformity {finding.id}" in demo.sandbox.issue_json(task_key)["fields"]["summary"]

    demo.sync()  # the task's own creation

    # the same webhook again, as a retry and as a second delivery: still one finding
    delivered = demo.delivered[0]
    delivered.state = "pending"
    demo.sandbox.webhooks.enqueue(delivered.event, delivered.payload)
    assert demo.sync() == 2
    with app.db.connect() as conn:
        assert [f.id for f in list_findings(conn)] == [finding.id]
        assert count_by_source(conn)["complaint"] == 1
        kinds = [r.kind for r in ledger_store.iter_rows(conn) if r.kind == "finding.raised"]
    assert kinds == ["finding.raised"]


def test_an_issue_without_a_source_is_set_aside_until_its_label_is_added(wired):
    app, _, demo = wired
    client = reporter_client(demo)
    issue = report(client, labels=["rumour"], priority="Low")
    demo.sync()
    parked = app.runtime.parked_deliveries()
    assert len(parked) == 1
    assert f"{issue.key} cannot be raised" in parked[0].reason
    assert "incident, complaint, monitoring" in parked[0].reason
    with app.db.connect() as conn:
        assert list_findings(conn) == []
    issue.update(fields={"labels": ["monitoring"]})
    demo.sync()
    with app.db.connect() as conn:
        findings = list_findings(conn)
    assert [(f.source_type, f.severity) for f in findings] == [("monitoring", "minor")]


def test_with_no_webhook_the_poll_raises_the_finding(tmp_path, recorder):
    app, clock, demo = _world(tmp_path, recorder, webhooks=False)
    try:
        issue = report(reporter_client(demo), labels=["source-external-audit", "9.2"])
        assert demo.integration.reconciler.poll(force=True) == 1
        assert demo.integration.reconciler.poll(force=True) == 0
        with app.db.connect() as conn:
            findings = list_findings(conn)
        assert [(f.id, f.source_type, f.clause) for f in findings] == [
            (f"NC-{issue.key}", "external-audit", "9.2")
        ]
        with app.db.connect() as conn:
            raised = [r for r in ledger_store.iter_rows(conn) if r.kind == "finding.raised"]
        assert [r.actor for r in raised] == [REPORTER]
    finally:
        demo.close()
    assert not recorder.errors, "\n".join(recorder.errors)


def test_a_site_without_the_issue_type_polls_on_with_a_warning(tmp_path, recorder, caplog):
    demo = JiraLoopback(observers=(recorder,))
    app, clock = make_app(tmp_path, demo)
    try:
        demo.serve(app, webhooks=False)
        with demo.sandbox.state.lock:  # as on a site where setup has not added it yet
            for type_id, name in list(demo.sandbox.state.issue_types.items()):
                if name == "Nonconformity":
                    del demo.sandbox.state.issue_types[type_id]
        caplog.set_level("WARNING", logger="aims.jira")
        assert demo.integration.reconciler.poll(force=True) == 0
        assert "Nonconformity issues not polled" in caplog.text
        assert "aims jira setup" in caplog.text
    finally:
        demo.close()


def test_a_site_that_reports_nonconformities_as_bugs_names_the_type(tmp_path, recorder):
    """AIMS_JIRA_NONCONFORMITY_TYPE=Bug: a Bug raises the finding, a Nonconformity does not."""
    from aims_workflows.adapters.jira import JiraIntegration

    app, clock, demo = _world(tmp_path, recorder, webhooks=False)
    try:
        bot = demo.sandbox.service_account
        settings = Settings(
            database_url=app.settings.database_url,
            jira_url=demo.sandbox.url,
            jira_email=bot.email,
            jira_api_token=bot.api_token,
            jira_nonconformity_type="Bug",
        )
        integration = JiraIntegration.from_settings(settings, app.runtime)
        client = reporter_client(demo)
        report(client, labels=["complaint"], issuetype="Nonconformity")
        bug = report(client, labels=["complaint", "A.8.2"], issuetype="Bug")
        assert integration.reconciler.poll(force=True) == 1
        with app.db.connect() as conn:
            findings = list_findings(conn)
        assert [(f.id, f.source_type, f.tracker_issue) for f in findings] == [
            (f"NC-{bug.key}", "complaint", bug.key)
        ]
    finally:
        demo.close()
    assert not recorder.errors, "\n".join(recorder.errors)
