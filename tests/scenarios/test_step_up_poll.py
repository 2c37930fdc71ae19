"""Step-up confirmations on a site Jira cannot call back, and a comment both paths see.

The shipped risk assessment asks for a step-up on the acceptance of a risk at the top of the
matrix (inherent score 20 here). With ``webhooks=False`` the confirmation comment reaches aims
only through the worker's reconciliation poll (``GET /issue/{key}/comment`` with the real
``jira`` client against the Jira sandbox, exchanges held to Atlassian's description), with the
same checks as the webhook: a board member's comment on someone else's approval is refused and
recorded, the approver's own counts. With webhooks on, the same comment seen by the webhook and
by the poll counts once. SQLite and PostgreSQL, injected clock.
"""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from starlette.middleware import Middleware

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "contract"))
from jira_fixtures import jira_openapi, jira_spec_dict  # noqa: E402,F401
from slack_fixtures import SpecCheckMiddleware, SpecRecord, slack_spec  # noqa: E402
from test_jira_and_slack_e2e import (  # noqa: E402,F401 - fixtures
    ENGINEER,
    IDENTIFY,
    MITIGATE,
    OWNER,
    RISK_OWNER,
    ROLES,
    SYSTEM,
    T0,
    TINA,
    TOM,
    jira_and_slack,
    recorder,
    risk_assessment_world,
    start_risk_assessment,
)

from aims_workflows.app import open_app  # noqa: E402
from aims_workflows.config import Settings  # noqa: E402
from aims_workflows.demo.jira_loopback import JiraLoopback  # noqa: E402
from aims_workflows.demo.slack_loopback import SlackLoopback  # noqa: E402
from aims_workflows.inventory import AISystemRecord  # noqa: E402
from aims_workflows.store import ledger, runs  # noqa: E402
from aims_workflows.store.models import InboxItem  # noqa: E402
from aims_workflows.testing import ManualClock  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:Unsupported scheme type:UserWarning")

POLL = timedelta(minutes=1, seconds=1)
TOP_OF_THE_MATRIX = {**IDENTIFY, "likelihood": 4, "impact": 5}  # inherent score 20


def _evidence(app, run_id: str, kind: str) -> list:
    with app.db.connect() as conn:
        return [
            (r, json.loads(r.payload))
            for r in ledger.iter_rows(conn, run_id=run_id)
            if r.kind == kind
        ]


def _inbox(app, subject: str) -> list[tuple[str, str, str | None]]:
    table = InboxItem.__table__
    with app.db.connect() as conn:
        rows = conn.execute(
            select(table.c.source, table.c.status, table.c.error)
            .where(table.c.subject == subject)
            .order_by(table.c.id)
        ).all()
    return [tuple(r) for r in rows]


def test_a_step_up_is_confirmed_through_the_poll_with_no_webhook(
    db_url, database, tmp_path, recorder
):
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

        def settle() -> None:
            """What `aims worker` does minute by minute: poll Jira, apply, carry out."""
            for _ in range(6):
                slack.wait()
                clock.advance(POLL)
                report = app.pump(schedules=False)
                slack.wait()
                if not report.done:
                    return

        def run_state():
            with app.db.connect() as conn:
                return runs.load(conn, run_id)[0]

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
            jira.answer(identify, TOP_OF_THE_MATRIX, by=ENGINEER)
            settle()
            treat = jira.issue_of(run_id, "treat")
            assert treat is not None
            jira.answer(treat, MITIGATE, by=RISK_OWNER)
            settle()
            assert run_state().current == "accept_top"

            [approval] = slack.open_approvals(TOM)
            approval_id = approval.approval_id
            assert slack.approve(TOM, approval_id, "The retrain removes the proxies").ok
            settle()
            [(asked, step_up)] = _evidence(app, run_id, "approval.step_up_requested")
            assert (asked.actor, asked.via) == (TOM, "slack")
            assert step_up["condition"] == "evaluate.score >= 20 or residual.score >= 15"
            code = step_up["code"]
            assert _evidence(app, run_id, "approval.decided") == []
            # aims asked on the issue; its own comment quotes the code mid-sentence and is not
            # read as a confirmation by the poll that follows
            issue = step_up["issues"][0]
            with jira.person(TOM) as tom:
                comments = tom.issue(issue)["fields"]["comment"]["comments"]
            assert any(code in json.dumps(c["body"]) for c in comments)

            # Tina is on the board but did not approve: her confirmation is refused, recorded
            with jira.person(TINA) as tina:
                hers = tina.comment(issue, code)
            settle()
            settle()  # the poll reads the comment again: it is not applied twice
            [(refused, why)] = _evidence(app, run_id, "approval.refused")
            assert (refused.actor, refused.via) == (TINA, "jira")
            assert refused.ref == f"{issue}#comment-{hers['id']}"
            assert "only the person who approved in Slack can confirm it" in why["reason"]
            assert run_state().current == "accept_top"
            assert _inbox(app, f"comment:{hers['id']}") == [("jira-poll", "processed", None)]

            # Tom confirms under his own Jira account: the poll brings it, the approval counts
            with jira.person(TOM) as tom:
                his = tom.comment(issue, f"{code} - confirmed, the retrain is scheduled")
            settle()
            [(decided, payload)] = _evidence(app, run_id, "approval.decided")
            assert (decided.actor, decided.via) == (TOM, "jira")
            assert decided.ref == f"{issue}#comment-{his['id']}"
            assert payload["reason"] == "The retrain removes the proxies"
            assert payload["assurance"].startswith("stepped up: verified by jira")
            settle()
            assert len(_evidence(app, run_id, "approval.decided")) == 1
            assert len(_evidence(app, run_id, "approval.refused")) == 1
            assert run_state().current != "accept_top"
            with app.db.connect() as conn:
                assert ledger.verify(conn).ok
        finally:
            slack.wait()
            jira.close()
            app.db.dispose()
        # no request ever came in by HTTP: the confirmation came through the poll
        assert jira.server is None and jira.delivered == []
    assert not record.failures, "\n".join(record.failures)
    assert not recorder.errors, "\n".join(recorder.errors)
    assert any(e.method == "GET" and e.path.endswith("/comment") for e in recorder.exchanges), (
        "the poll did not read comments"
    )


@pytest.mark.parametrize("first", ["poll", "webhook"])
def test_a_confirmation_seen_by_the_webhook_and_the_poll_counts_once(
    db_url, database, tmp_path, recorder, first
):
    with jira_and_slack(db_url, tmp_path, recorder, "ai-risk-assessment") as world:
        run_id = start_risk_assessment(world)
        identify = world.jira.issue_of(run_id, "identify")
        world.jira.answer(identify, TOP_OF_THE_MATRIX, by=ENGINEER)
        world.settle()
        world.jira.answer(world.jira.issue_of(run_id, "treat"), MITIGATE, by=RISK_OWNER)
        world.settle()
        approval_id = world.open_approval(run_id)["approval_id"]
        assert world.slack.approve(TOM, approval_id, "The retrain removes the proxies").ok
        world.settle()
        [asked] = world.evidence(run_id, "approval.step_up_requested")
        issue, code = asked["payload"]["issues"][0], asked["payload"]["code"]

        with world.jira.person(TOM) as tom:
            his = tom.comment(issue, code)
        reconciler = world.jira.integration.reconciler
        if first == "poll":
            # the webhook is late: the poll applies the comment, then the webhook arrives
            world.clock.advance(POLL)
            reconciler.poll(force=True)
            assert len(world.evidence(run_id, "approval.decided")) == 1
            world.settle()
        else:
            world.settle()
            assert len(world.evidence(run_id, "approval.decided")) == 1
            world.clock.advance(POLL)
            reconciler.poll(force=True)
        world.settle()

        [decided] = world.evidence(run_id, "approval.decided")
        assert decided["actor"] == TOM and decided["ref"] == f"{issue}#comment-{his['id']}"
        assert world.evidence(run_id, "approval.refused") == []
        seen = _inbox(world.app, f"comment:{his['id']}")
        if first == "poll":
            # the late webhook is recorded, as ignored, naming the poll's delivery
            [(source, status, _), (late, ignored, why)] = seen
            assert (source, status, late, ignored) == ("jira-poll", "processed", "jira", "ignored")
            assert why == f"the confirmation was applied already (jira-poll/comment:{his['id']})"
        else:
            # applied by the webhook, the approval closed: the poll no longer reads its comments
            assert seen == [("jira", "processed", None)]
