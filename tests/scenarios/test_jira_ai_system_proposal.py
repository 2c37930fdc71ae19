"""Scenario: a new AI system proposed in Jira. ``aims jira setup`` gives the project the "AI
system proposal" issue type; someone creates such an issue with the real ``jira`` client over
HTTP; its signed ``jira:issue_created`` webhook reaches the web app, registers the system in the
inventory (at inception, out of scope, owned by the reporter) and starts its intake, whose first
task names the issue. The same webhook again registers nothing more; a name already in the
inventory, or a summary too long for a name, gets a comment on the issue saying what to fix
(once) and waits for the edit; with no webhook at all the poll registers it. Every exchange
with the sandbox is held to Atlassian's OpenAPI description."""

from __future__ import annotations

import json
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from jira import JIRA
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "contract"))
from jira_fixtures import SpecRecorder, jira_openapi, jira_spec_dict  # noqa: E402,F401

from aims_workflows.adapters.jira._adf import to_text  # noqa: E402
from aims_workflows.app import open_app, shipped_workflows_dir  # noqa: E402
from aims_workflows.config import Settings  # noqa: E402
from aims_workflows.demo.jira_loopback import JiraLoopback  # noqa: E402
from aims_workflows.store import Database  # noqa: E402
from aims_workflows.store import inventory as inventory_store  # noqa: E402
from aims_workflows.store import ledger as ledger_store  # noqa: E402
from aims_workflows.store.models import Run  # noqa: E402
from aims_workflows.testing import ManualClock  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:Unsupported scheme type:UserWarning")

PROPOSER = "pia.product@example.com"
CONFIG = f"""
organisation: Example Bank
roles:
  aims_owner: [ana.owner@example.com]
  engineer: [erin.engineer@example.com, {PROPOSER}]
  top_management: [ceo@example.com]
"""


INTAKE = ("ai-system-intake", "ai-risk-assessment", "ai-impact-assessment")


def make_app(
    tmp_path: Path, jira: JiraLoopback, workflows: tuple[str, ...] = INTAKE, url: str = ""
):
    folder = tmp_path / "workflows"
    folder.mkdir()
    for name in workflows:
        shutil.copy(shipped_workflows_dir() / f"{name}.yaml", folder)
    (tmp_path / "aims.yaml").write_text(CONFIG)
    url = url or f"sqlite:///{tmp_path / 'aims.db'}"
    Database(url).upgrade()
    clock = ManualClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    app = open_app(
        Settings(database_url=url, config=tmp_path / "aims.yaml", workflows=folder),
        clock=clock,
        jira=jira.connect,
    )
    return app


@pytest.fixture
def recorder(jira_openapi) -> SpecRecorder:  # noqa: F811
    return SpecRecorder(jira_openapi)


def _world(
    tmp_path, recorder, *, webhooks: bool = True, workflows: tuple[str, ...] = INTAKE, url: str = ""
):
    demo = JiraLoopback(observers=(recorder,))
    app = make_app(tmp_path, demo, workflows, url)
    demo.serve(app, webhooks=webhooks)
    return app, demo


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request) -> str:
    """Each webhook scenario on both backends (PostgreSQL when the test server is set)."""
    return request.getfixturevalue("pg_url") if request.param == "postgresql" else ""


@pytest.fixture
def wired(tmp_path, recorder, database_url):
    app, demo = _world(tmp_path, recorder, url=database_url)
    yield app, demo
    demo.close()
    assert recorder.exchanges
    assert not recorder.errors, "\n".join(recorder.errors)


def proposer_client(demo: JiraLoopback) -> JIRA:
    user = demo.sandbox.user(PROPOSER)
    return JIRA(
        server=demo.sandbox.url,
        basic_auth=(user.email, user.api_token),
        options={"rest_api_version": "3"},
        max_retries=0,
    )


def propose(client: JIRA, summary: str, *, labels: list[str] | None = None):
    return client.create_issue(
        fields={
            "project": {"key": "AIMS"},
            "issuetype": {"name": "AI system proposal"},
            "summary": summary,
            "description": {
                "type": "doc",
                "version": 1,
                "content": [
                    {
                        "type": "paragraph",
                        "content": [{"type": "text", "text": "Drafts replies to card disputes."}],
                    }
                ],
            },
            "labels": labels or [],
        }
    )


def comments(client: JIRA, key: str) -> list[str]:
    return [to_text(c.raw["body"]) for c in client.comments(key)]


def intake_runs(app) -> list[tuple[str, str]]:
    table = Run.__table__
    with app.db.connect() as conn:
        rows = conn.execute(
            select(table.c.id, table.c.subject_name).where(
                table.c.workflow_id == "ai-system-intake"
            )
        ).all()
    return [(r.id, r.subject_name) for r in rows]


def registrations(app) -> list:
    with app.db.connect() as conn:
        return [r for r in ledger_store.iter_rows(conn) if r.kind == "ai_system.registered"]


def test_setup_gives_the_project_the_proposal_type_once(wired):
    app, demo = wired
    assert any("added the issue type 'AI system proposal'" in line for line in demo.setup.changed)
    from aims_workflows.adapters.jira import setup_project, workflow_forms

    again = setup_project(
        demo.integration.connection, "AIMS", "Task", workflow_forms(app.workflows)
    )
    assert again.ok and not again.changed
    assert "issue type 'AI system proposal' available for AI system proposals" in again.done


def test_a_proposal_registers_the_system_once_and_starts_its_intake(wired):
    app, demo = wired
    client = proposer_client(demo)
    issue = propose(
        client,
        "  Dispute reply drafter ",
        labels=[
            "model_type:llm",
            "deployment_scale:pilot",
            "data_sources:crm",
            "data_sources:cards",
        ],
    )
    assert demo.sync() == 1
    with app.db.connect() as conn:
        row = inventory_store.find(conn, "dispute reply drafter")
    assert row is not None
    assert (row["name"], row["owner"], row["lifecycle_stage"], row["in_scope"]) == (
        "Dispute reply drafter",
        PROPOSER,
        "inception",
        False,
    )
    assert row["business_purpose"] == "Drafts replies to card disputes."
    assert (row["model_type"], row["deployment_scale"], row["data_sources"]) == (
        "llm",
        "pilot",
        ["crm", "cards"],
    )
    [(run_id, subject)] = intake_runs(app)
    assert subject == "Dispute reply drafter"
    [registered] = registrations(app)
    payload = json.loads(registered.payload)
    assert payload["tracker_issue"] == issue.key
    assert payload["record"]["lifecycle_stage"] == "inception"
    assert registered.actor == PROPOSER

    # the intake's first task, made in Jira as a task of its own, names the proposal issue
    app.pump()
    task_key = demo.issue_of(run_id, "proposal")
    assert task_key and task_key != issue.key
    description = to_text(demo.sandbox.issue_json(task_key)["fields"]["description"])
    assert f"Proposed in Jira issue {issue.key}." in description
    demo.sync()  # the task's own creation

    # the same webhook again, as a retry and as a second delivery: still one system
    delivered = demo.delivered[0]
    delivered.state = "pending"
    demo.sandbox.webhooks.enqueue(delivered.event, delivered.payload)
    assert demo.sync() == 2
    # and an edit of the proposal after its registration registers nothing either
    issue.update(fields={"labels": ["model_type:llm", "reviewed"]})
    demo.sync()
    assert len(intake_runs(app)) == 1
    assert len(registrations(app)) == 1
    assert comments(client, issue.key) == []
    assert app.runtime.parked_deliveries() == []


def test_a_name_already_in_the_inventory_is_refused_with_a_comment(wired):
    app, demo = wired
    client = proposer_client(demo)
    first = propose(client, "Fraud scorer")
    demo.sync()
    second = propose(client, "FRAUD SCORER")
    demo.sync()
    assert len(intake_runs(app)) == 1
    parked = app.runtime.parked_deliveries()
    assert len(parked) == 1
    assert f"{second.key} cannot be registered" in parked[0].reason
    assert "'Fraud scorer' is in the inventory already" in parked[0].reason
    [said] = comments(client, second.key)
    assert "did not register this proposal" in said
    assert "is in the inventory already" in said and "name of its own" in said
    # the comment is an edit of the issue: seen again, it is not said twice
    demo.sync()
    assert len(comments(client, second.key)) == 1
    assert comments(client, first.key) == []
    # renamed, the proposal registers
    second.update(fields={"summary": "Fraud scorer for card payments"})
    demo.sync()
    assert sorted(name for _, name in intake_runs(app)) == [
        "Fraud scorer",
        "Fraud scorer for card payments",
    ]


def test_a_summary_too_long_for_a_name_waits_for_the_edit(wired):
    app, demo = wired
    client = proposer_client(demo)
    issue = propose(client, "A system that " + "drafts replies " * 15)
    demo.sync()
    assert intake_runs(app) == []
    [parked] = app.runtime.parked_deliveries()
    assert "at most 200" in parked.reason
    [said] = comments(client, issue.key)
    assert "characters long" in said and "move the rest to the description" in said
    with app.db.connect() as conn:
        assert inventory_store.list_all(conn) == []
    # fixed by someone else: the proposer (the reporter) stays the owner
    editor = demo.sandbox.user("erin.engineer@example.com")
    JIRA(
        server=demo.sandbox.url,
        basic_auth=(editor.email, editor.api_token),
        options={"rest_api_version": "3"},
        max_retries=0,
    ).issue(issue.key).update(fields={"summary": "Reply drafter"})
    demo.sync()
    assert [name for _, name in intake_runs(app)] == ["Reply drafter"]
    with app.db.connect() as conn:
        assert inventory_store.find(conn, "Reply drafter")["owner"] == PROPOSER
    [registered] = registrations(app)
    assert registered.actor == "erin.engineer@example.com"


def test_with_no_webhook_the_poll_registers_the_proposal(tmp_path, recorder):
    app, demo = _world(tmp_path, recorder, webhooks=False)
    try:
        client = proposer_client(demo)
        issue = propose(client, "Branch queue forecaster", labels=["jurisdictions:EU"])
        too_long = propose(client, "x" * 201)
        assert demo.integration.reconciler.poll(force=True) == 2  # one registered, one parked
        assert [name for _, name in intake_runs(app)] == ["Branch queue forecaster"]
        [registered] = registrations(app)
        assert json.loads(registered.payload)["tracker_issue"] == issue.key
        assert registered.actor == PROPOSER
        assert len(comments(client, too_long.key)) == 1
        # polled again (the comment changed the long one): nothing more, nothing said twice
        demo.integration.reconciler.poll(force=True)
        assert len(intake_runs(app)) == 1
        assert len(comments(client, too_long.key)) == 1
    finally:
        demo.close()
    assert not recorder.errors, "\n".join(recorder.errors)


def test_without_an_intake_workflow_nothing_is_registered(tmp_path, recorder):
    app, demo = _world(tmp_path, recorder, workflows=INTAKE[1:])
    try:
        client = proposer_client(demo)
        issue = propose(client, "Chat summariser")
        demo.sync()
        with app.db.connect() as conn:
            assert inventory_store.list_all(conn) == []
        [parked] = app.runtime.parked_deliveries()
        assert f"{issue.key}: no workflow starts on the AI system proposed" in parked.reason
        assert "ship ai-system-intake" in parked.reason
        # the site's own setup is not the proposer's to fix: nothing is said on the issue
        assert comments(client, issue.key) == []
    finally:
        demo.close()
    assert not recorder.errors, "\n".join(recorder.errors)
