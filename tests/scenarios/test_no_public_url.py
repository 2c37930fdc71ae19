"""A company with no public URL: Slack over Socket Mode and Jira polled, not calling back.

A whole risk assessment (two Jira tasks, a top-management acceptance by two approvers in
Slack, stepped up with a confirmation comment in Jira) runs with no HTTP request into aims at
all: the engineer's and the risk owner's answers reach aims only through the worker's poll of
``/search/jql``, the confirmation through its reading of the issue's comments; clicks and the
reason modal come over the app's socket. Jira exchanges are held to Atlassian's description,
Slack answers to Slack's; on SQLite and PostgreSQL with the injected clock.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import pytest
from starlette.middleware import Middleware

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "contract"))
from jira_fixtures import SpecRecorder, jira_openapi, jira_spec_dict  # noqa: E402,F401
from slack_fixtures import SpecCheckMiddleware, SpecRecord, slack_spec  # noqa: E402
from test_jira_and_slack_e2e import (  # noqa: E402
    ACCEPT_AS_IS,
    ENGINEER,
    IDENTIFY,
    OWNER,
    RISK_OWNER,
    ROLES,
    SYSTEM,
    T0,
    TINA,
    TOM,
    risk_assessment_world,
)

from aims_workflows.app import open_app  # noqa: E402
from aims_workflows.config import Settings  # noqa: E402
from aims_workflows.demo.jira_loopback import JiraLoopback  # noqa: E402
from aims_workflows.demo.slack_loopback import SlackLoopback  # noqa: E402
from aims_workflows.inventory import AISystemRecord  # noqa: E402
from aims_workflows.store import ledger  # noqa: E402
from aims_workflows.testing import ManualClock  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:Unsupported scheme type:UserWarning")

POLL = timedelta(minutes=1, seconds=1)


@pytest.fixture
def recorder(jira_openapi) -> SpecRecorder:  # noqa: F811
    return SpecRecorder(jira_openapi)


def test_a_risk_assessment_runs_with_no_inbound_http(db_url, database, tmp_path, recorder):
    folder, config = risk_assessment_world(tmp_path)
    clock = ManualClock(T0)
    record = SpecRecord()
    people = sorted({p for ps in ROLES.values() for p in ps} | {OWNER})
    spec_check = Middleware(
        SpecCheckMiddleware, spec=slack_spec(), failures=record.failures, checked=record.checked
    )
    with SlackLoopback(people=people, middleware=[spec_check], socket_mode=True) as slack:
        jira = JiraLoopback(observers=(recorder,), people=people)
        app = open_app(
            Settings(database_url=db_url, config=config, workflows=folder),
            clock=clock,
            jira=jira.connect,
            slack=slack.attach,
        )
        jira.serve(app, webhooks=False)
        polls = 0

        def settle() -> None:
            """What `aims worker` does minute by minute: poll Jira, apply, carry out."""
            nonlocal polls
            for _ in range(6):
                slack.wait()
                clock.advance(POLL)
                report = app.pump(schedules=False)
                polls += 1
                slack.wait()
                if not report.done:
                    return

        try:
            _, [run_id] = app.inventory.add(
                AISystemRecord(
                    name=SYSTEM,
                    owner=OWNER,
                    risk_tier="limited",
                    deployment_scale="public",
                    lifecycle_stage="deployed",
                )
            )
            settle()
            identify = jira.issue_of(run_id, "identify")
            assert identify is not None
            jira.answer(identify, IDENTIFY, by=ENGINEER)
            settle()
            treat = jira.issue_of(run_id, "treat")
            assert treat is not None and treat != identify
            # Eve corrects an answer on her Done issue: no webhook tells aims, the poll does
            jira.answer(identify, {"likelihood": 5}, by=ENGINEER, complete=False)
            settle()
            with app.db.connect() as conn:
                [changed] = [
                    r
                    for r in ledger.iter_rows(conn, run_id=run_id)
                    if r.kind == "task.answers_changed"
                ]
            assert (changed.actor, changed.via, changed.step_id) == (ENGINEER, "jira", "identify")
            assert '"likelihood":5' in changed.payload
            jira.answer(treat, ACCEPT_AS_IS, by=RISK_OWNER)
            settle()

            # both members of top management are asked; the first decision settles it
            [approval] = slack.open_approvals(TOM)
            assert [a.approval_id for a in slack.open_approvals(TINA)] == [approval.approval_id]
            decided = slack.approve(TOM, approval.approval_id, "The fee table changes rarely")
            assert decided.ok, decided
            settle()
            # accepting a residual score of 20 as it is needs a step-up: Tom confirms with a
            # comment in Jira, which reaches aims through the poll too
            with app.db.connect() as conn:
                [asked] = [
                    r
                    for r in ledger.iter_rows(conn, run_id=run_id)
                    if r.kind == "approval.step_up_requested"
                ]
            assert (asked.actor, asked.via) == (TOM, "slack")
            with jira.person(TOM) as tom:
                tom.comment(treat, f"aims confirm {approval.approval_id}")
            settle()
            assert slack.open_approvals(TINA) == []

            with app.db.connect() as conn:
                from aims_workflows.store import runs

                run, _ = runs.load(conn, run_id)
                assert ledger.verify(conn).ok
            assert run.status == "completed", (run.status, run.current)
        finally:
            slack.wait()
            jira.close()
            app.db.dispose()
        # no request ever came in by HTTP: Jira sent no webhook, Slack used the socket
        assert jira.server is None and jira.delivered == []
        assert jira.sandbox is not None and jira.sandbox.webhooks.url is None
        assert slack.sandbox.app_url is None and slack.sandbox.deliveries
        assert {d.url for d in slack.sandbox.deliveries} == {"socket-mode"}
        print(f"no inbound HTTP: {polls} polls, {len(slack.sandbox.deliveries)} socket envelopes")
    assert not record.failures, "\n".join(record.failures)
    assert not recorder.errors, "\n".join(recorder.errors)
