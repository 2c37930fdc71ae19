"""Scenario: an AI risk assessment run end to end through the real web app and the Jira
sandbox. Issues are made by the Jira tracker, engineers answer through the sandbox's REST API,
signed webhooks reach ``POST /jira/webhook`` over loopback HTTP, and every exchange with the
sandbox is held to Atlassian's OpenAPI description."""

from __future__ import annotations

import json
import shutil
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "contract"))
from jira_fixtures import SpecRecorder, jira_openapi, jira_spec_dict  # noqa: E402,F401

from aims_workflows.app import open_app, shipped_workflows_dir  # noqa: E402
from aims_workflows.config import Settings  # noqa: E402
from aims_workflows.demo.jira_loopback import JiraLoopback  # noqa: E402
from aims_workflows.engine import Actor  # noqa: E402
from aims_workflows.inventory import AISystemRecord  # noqa: E402
from aims_workflows.store import Database  # noqa: E402
from aims_workflows.store import ledger as ledger_store  # noqa: E402
from aims_workflows.testing import ManualClock  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:Unsupported scheme type:UserWarning")

ENGINEER = "erin.engineer@example.com"
RISK_OWNER = "rui.risk@example.com"
CONFIG = f"""
organisation: Example Bank
roles:
  aims_owner: [ana.owner@example.com]
  risk_owner: [{RISK_OWNER}]
  engineer: [{ENGINEER}]
  top_management: [ceo@example.com]
"""
IDENTIFY = {
    "risk_title": "Chatbot gives wrong card fees",
    "risk_description": "Retrieval misses the latest fee table.\nCustomers act on wrong figures.",
    "risk_sources": ["data_quality", "model_behaviour"],
    "affected_parties": "retail customers",
    "likelihood": 3,
    "impact": 4,
    "rating_rationale": "two incidents last quarter",
}


def make_app(tmp_path: Path, *workflows: str, jira: JiraLoopback):
    folder = tmp_path / "workflows"
    folder.mkdir()
    # the risk assessment starts an ai-risk run per further risk and a risk-treatment run per plan
    spawned = {"ai-risk", "risk-treatment"} if "ai-risk-assessment" in workflows else set()
    for name in sorted(set(workflows) | spawned):
        shutil.copy(shipped_workflows_dir() / f"{name}.yaml", folder)
    (tmp_path / "aims.yaml").write_text(CONFIG)
    url = f"sqlite:///{tmp_path / 'aims.db'}"
    Database(url).upgrade()
    clock = ManualClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    return open_app(
        Settings(database_url=url, config=tmp_path / "aims.yaml", workflows=folder),
        clock=clock,
        jira=jira.connect,
    ), clock


@pytest.fixture
def recorder(jira_openapi) -> SpecRecorder:  # noqa: F811
    return SpecRecorder(jira_openapi)


@pytest.fixture
def wired(tmp_path, recorder):
    demo = JiraLoopback(observers=(recorder,))
    app, clock = make_app(tmp_path, "ai-risk-assessment", jira=demo)
    demo.serve(app)
    yield app, clock, demo
    demo.close()
    assert recorder.exchanges
    assert not recorder.errors, "\n".join(recorder.errors)


def add_system(app) -> None:
    app.inventory.add(
        AISystemRecord(
            name="Support chatbot",
            owner="olga.owner@example.com",
            risk_tier="limited",
            deployment_scale="public",
            lifecycle_stage="deployed",
        )
    )


def run_of(app) -> str:
    from sqlalchemy import select

    from aims_workflows.store.models import Run

    with app.db.connect() as conn:
        return conn.scalar(select(Run.__table__.c.id))


def test_risk_assessment_runs_through_jira_issues_and_signed_webhooks(wired):
    app, clock, demo = wired
    add_system(app)
    app.pump()
    run_id = run_of(app)
    key = demo.issue_of(run_id, "identify")
    assert key and key.startswith("AIMS-")
    issue = demo.sandbox.issue_json(key)
    fields = issue["fields"]
    assert fields["assignee"]["emailAddress"] == ENGINEER
    assert "aims" in fields["labels"] and fields["duedate"] == "2026-03-12"
    assert fields["summary"].startswith("Risk assessment: identify")

    # The engineer forgets the rationale: the issue comes back with a comment in plain words.
    partial = {k: v for k, v in IDENTIFY.items() if k != "rating_rationale"}
    demo.answer(key, partial, by=ENGINEER)
    assert demo.sync() >= 1
    app.pump()
    demo.sync()
    issue = demo.sandbox.issue_json(key)
    assert issue["fields"]["status"]["statusCategory"]["key"] != "done"
    comments = [json.dumps(c["body"]) for c in issue["fields"]["comment"]["comments"]]
    assert any("Why these ratings: an answer is required." in c for c in comments)

    # Corrected: the run moves on to the risk owner's treatment task.
    demo.answer(key, {"rating_rationale": "two incidents last quarter"}, by=ENGINEER)
    demo.sync()
    app.pump()
    demo.sync()
    treat = demo.issue_of(run_id, "treat")
    assert treat and treat != key
    with app.db.connect() as conn:
        kinds = [r.kind for r in ledger_store.iter_rows(conn, run_id=run_id)]
    assert kinds.count("task.answers_refused") == 1
    assert "task.completed" in kinds and "artefact.recorded" in kinds
    # The evidence of the completed step is attached to its issue.
    names = [a["filename"] for a in demo.sandbox.issue_json(key)["fields"]["attachment"]]
    assert names == ["aims-evidence-identify-1.json"]
    assert demo.sandbox.issue_json(treat)["fields"]["assignee"]["emailAddress"] == RISK_OWNER


def _engineer_left(app, clock) -> None:
    """The engineer's work is handed to the AIMS owner: only a delegate may complete it."""
    app.runtime.people.delegate(
        ENGINEER,
        "ana.owner@example.com",
        "engineer",
        clock.now() + timedelta(days=30),
        "Erin left; Ana finishes her assessments",
        by=Actor("ana.owner@example.com", "cli"),
    )


def test_a_task_completed_outside_jira_closes_its_issue_with_the_evidence(wired):
    """Completed from the CLI (say, by the AIMS owner for an engineer who left): Jira must not
    keep showing the work as open, and the issue carries the same evidence as one closed in Jira."""
    app, clock, demo = wired
    add_system(app)
    app.pump()
    run_id = run_of(app)
    key = demo.issue_of(run_id, "identify")
    assert demo.sandbox.issue_json(key)["fields"]["status"]["statusCategory"]["key"] != "done"

    _engineer_left(app, clock)
    outcome = app.runtime.complete_task(
        run_id, "identify", IDENTIFY, person="ana.owner@example.com", via="cli"
    )
    assert outcome.transition.ignored is None
    app.pump()
    demo.sync()  # the webhook of our own move to Done is read, and is not taken for new answers

    issue = demo.sandbox.issue_json(key)
    assert issue["fields"]["status"]["statusCategory"]["key"] == "done"
    comments = [json.dumps(c["body"]) for c in issue["fields"]["comment"]["comments"]]
    closing = [
        c for c in comments if "Completed in aims-workflows by ana.owner@example.com (via cli)" in c
    ]
    assert len(closing) == 1
    [attachment] = issue["fields"]["attachment"]
    assert attachment["filename"] == "aims-evidence-identify-1.json"
    bot = demo.sandbox.service_account  # downloaded over HTTP, as a Jira user would
    answer = httpx.get(
        attachment["content"], auth=(bot.email, bot.api_token), follow_redirects=True, timeout=10
    )
    answer.raise_for_status()
    attached = json.loads(answer.content)
    with app.db.connect() as conn:
        ledger_rows = {r.seq: r for r in ledger_store.iter_rows(conn, run_id=run_id)}
        kinds = [r.kind for r in ledger_rows.values()]
    # exactly the ledger's rows of that unit of work, hashes included, starting with the completion
    assert attached["records"][0]["kind"] == "task.completed"
    for record in attached["records"]:
        assert ledger_rows[record["seq"]].hash == record["hash"]
    assert kinds.count("task.completed") == 1  # the move to Done did not complete it again

    # carried out again (a retry after a crash), nothing is posted or attached twice
    app.pump()
    demo.sync()
    issue = demo.sandbox.issue_json(key)
    assert len(issue["fields"]["attachment"]) == 1
    assert (
        sum(
            "Completed in aims-workflows" in json.dumps(c["body"])
            for c in issue["fields"]["comment"]["comments"]
        )
        == 1
    )


def test_a_task_completed_before_its_issue_was_made_still_gets_it_closed(wired):
    """Completed from the CLI while its task.create was still queued: the outbox makes the issue
    first, then closes it, found by the task's key (the engine never learnt the issue key)."""
    app, clock, demo = wired
    app.inventory.add(
        AISystemRecord(
            name="Support chatbot",
            owner="olga.owner@example.com",
            risk_tier="limited",
            deployment_scale="public",
            lifecycle_stage="deployed",
        )
    )
    run_id = run_of(app)  # the run is started; its first task is not yet an issue
    assert demo.issue_of(run_id, "identify") is None
    _engineer_left(app, clock)
    outcome = app.runtime.complete_task(
        run_id, "identify", IDENTIFY, person="ana.owner@example.com", via="cli"
    )
    assert outcome.transition.ignored is None
    app.pump()
    demo.sync()
    key = demo.issue_of(run_id, "identify")
    assert key is not None
    issue = demo.sandbox.issue_json(key)
    assert issue["fields"]["status"]["statusCategory"]["key"] == "done"
    assert [a["filename"] for a in issue["fields"]["attachment"]] == [
        "aims-evidence-identify-1.json"
    ]


def _answer_in_jira(app, demo, run_id: str, step: str, answers: dict, by: str) -> str:
    key = demo.issue_of(run_id, step)
    assert key, f"no issue for {step} of {run_id}"
    demo.answer(key, answers, by=by)
    demo.sync()
    app.pump()
    demo.sync()
    return key


def _spawned(app, spawner: str, workflow: str) -> str:
    from sqlalchemy import select

    from aims_workflows.store.models import Run

    t = Run.__table__
    with app.db.connect() as conn:
        (run_id,) = conn.scalars(
            select(t.c.id).where(t.c.spawned_by == spawner, t.c.workflow_id == workflow)
        ).all()
    return run_id


def test_several_risks_and_their_treatments_become_jira_issues(wired):
    """The register through Jira: a further risk listed in the assessment's issue becomes its own
    analysis issue (controls chosen from the catalogue in a multi-select), and each mitigation
    a treatment issue due on its target date."""
    from aims_workflows.risks.queries import list_risks

    app, clock, demo = wired
    add_system(app)
    app.pump()
    run_id = run_of(app)
    further = "Personal data in chats reused for training\nPrompt injection leaks the system prompt"
    _answer_in_jira(app, demo, run_id, "identify", {**IDENTIFY, "further_risks": further}, ENGINEER)
    plan = {
        "treatment": "mitigate",
        "treatment_plan": "Answer fees from the tariff table only",
        "controls": ["A.6.2.4"],
        "action_owner": ENGINEER,
        "target_date": "2026-04-30",
        "residual_likelihood": 2,
        "residual_impact": 2,
        "rationale": "grounding",
    }
    _answer_in_jira(app, demo, run_id, "treat", plan, RISK_OWNER)
    app.runtime.decide(
        f"{run_id}.accept_owner.1.1", person=RISK_OWNER, decision="approve", reason="sound plan"
    )
    app.pump()
    demo.sync()

    treatment = _spawned(app, run_id, "risk-treatment")
    issue = demo.sandbox.issue_json(demo.issue_of(treatment, "carry_out"))["fields"]
    assert issue["duedate"] == "2026-04-30"
    assert issue["summary"] == (
        "Risk treatment RISK-1: Chatbot gives wrong card fees (due 2026-04-30)"
    )
    from sqlalchemy import select

    from aims_workflows.store.models import Run

    with app.db.connect() as conn:
        analyses = conn.scalars(
            select(Run.__table__.c.id).where(Run.__table__.c.workflow_id == "ai-risk")
        ).all()
    assert len(analyses) == 2
    titles = sorted(
        demo.sandbox.issue_json(demo.issue_of(r, "analyse"))["fields"]["summary"] for r in analyses
    )
    assert titles == [
        "Risk analysis: Personal data in chats reused for training (Support chatbot)",
        "Risk analysis: Prompt injection leaks the system prompt (Support chatbot)",
    ]
    privacy = next(
        r
        for r in analyses
        if "Personal data"
        in demo.sandbox.issue_json(demo.issue_of(r, "analyse"))["fields"]["summary"]
    )
    analysis = {
        "risk_description": "Chats feed the training set with names and account numbers.",
        "risk_sources": ["privacy"],
        "affected_parties": "customers",
        "likelihood": 4,
        "impact": 4,
        "rating_rationale": "61 of 200 sampled chats held personal data",
    }
    _answer_in_jira(app, demo, privacy, "analyse", analysis, ENGINEER)
    _answer_in_jira(
        app,
        demo,
        privacy,
        "treat",
        {**plan, "controls": ["A.7.4", "A.8.2"], "treatment_plan": "Redact before training"},
        RISK_OWNER,
    )
    app.runtime.decide(
        f"{privacy}.accept_top.1.1", person="ceo@example.com", decision="approve", reason="ok"
    )
    app.pump()
    with app.db.connect() as conn:
        risks = list_risks(conn, today=clock.now().date())
    assert [(r["risk_id"], r["title"], r["level"], r["controls"]) for r in risks] == [
        ("RISK-1", "Chatbot gives wrong card fees", "medium", ["A.6.2.4"]),
        ("RISK-2", "Personal data in chats reused for training", "high", ["A.7.4", "A.8.2"]),
    ]
