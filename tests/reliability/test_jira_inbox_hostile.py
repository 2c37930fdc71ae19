"""Odd and out-of-order Jira deliveries: one that cannot be applied is parked with its reason
and the ones behind it go on (the worker never stops on it); an older edit delivered after a
newer one is recorded as ignored and does not set the answers back. SQLite and PostgreSQL."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scenarios"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "contract"))
from hostile_world import hostile_world  # noqa: E402
from jira_fixtures import SpecRecorder, jira_openapi, jira_spec_dict  # noqa: E402,F401
from test_jira_and_slack_e2e import ENGINEER, IDENTIFY, start_risk_assessment  # noqa: E402

from aims_workflows.runtime import Delivery  # noqa: E402
from aims_workflows.store.models import InboxItem  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:Unsupported scheme type:UserWarning")


@pytest.fixture
def recorder(jira_openapi) -> SpecRecorder:  # noqa: F811
    return SpecRecorder(jira_openapi)


EVENT = '{"webhookEvent":"jira:issue_updated",'


def odd_deliveries(issue_id: str, key: str) -> dict[str, str]:
    """Signed deliveries of shapes the processor did not expect (stored as they came)."""
    issue = {"id": issue_id, "key": key, "fields": {"labels": ["aims"]}}
    return {
        "labels a number": json.dumps(
            {"webhookEvent": "jira:issue_updated", "issue": {**issue, "fields": {"labels": 7}}}
        ),
        "changelog a string": json.dumps(
            {"webhookEvent": "jira:issue_updated", "issue": issue, "changelog": "status"}
        ),
        "changelog a list": json.dumps(
            {"webhookEvent": "jira:issue_updated", "issue": issue, "changelog": [1, 2]}
        ),
        "status a string": json.dumps(
            {
                "webhookEvent": "jira:issue_updated",
                "issue": {**issue, "fields": {"status": "Done"}},
            }
        ),
        "status a list": json.dumps(
            {"webhookEvent": "jira:issue_updated", "issue": {**issue, "fields": {"status": []}}}
        ),
        # escaped in the JSON text, as Jira would send them
        "NUL in an id": EVENT + '"issue":{"id":"1\\u0000","key":"A-1"}}',
        "lone surrogate": EVENT + '"issue":{"id":"1","key":"A-\\ud800"}}',
    }


def failing_inside(issue_id: str, key: str) -> str:
    """Passes the edge's checks and still fails inside, on an edit after completion: a
    changelog item's fieldId is a list."""
    return json.dumps(
        {
            "webhookEvent": "jira:issue_updated",
            "issue": {"id": issue_id, "key": key, "fields": {"labels": ["aims"]}},
            "changelog": {"id": "1", "items": [{"field": "x", "fieldId": ["x"]}]},
        }
    )


def inbox_rows(world) -> dict[str, tuple[str, str | None, str | None]]:
    table = InboxItem.__table__
    with world.app.db.connect() as conn:
        return {
            r.delivery_id: (r.status, r.error, r.run_id)
            for r in conn.execute(select(table).where(table.c.source == "jira"))
        }


def test_odd_deliveries_are_parked_with_their_reason_and_the_rest_go_on(
    db_url, database, tmp_path, recorder
):
    with hostile_world(db_url, tmp_path, recorder, "ai-risk-assessment") as world:
        run_id = start_risk_assessment(world)
        identify = world.jira.issue_of(run_id, "identify")
        issue_id = world.issue(identify)["id"]
        # Odd deliveries stored first (as an older version stored them, before the edge checked
        # their shape), then the engineer's real answers: they must not wait behind them.
        for name, text in odd_deliveries(issue_id, identify).items():
            assert world.rt.store_delivery(Delivery("jira", f"odd-{name}", text))
        world.jira.answer(identify, IDENTIFY, by=ENGINEER)
        world.settle()
        assert world.run(run_id) == ("running", "treat")  # the real completion was applied
        # after completion: one that fails inside the processor, then a real edit behind it
        text = failing_inside(issue_id, identify)
        assert world.rt.store_delivery(Delivery("jira", "odd-fieldId a list", text))
        world.jira.answer(identify, {"likelihood": 5}, by=ENGINEER, complete=False)
        world.settle()
        [changed] = world.evidence(run_id, "task.answers_changed")
        assert changed["payload"]["after"]["likelihood"] == 5

        rows = inbox_rows(world)
        odd = {k: v for k, v in rows.items() if k.startswith("odd-")}
        assert {status for status, _, _ in odd.values()} == {"parked"}, odd
        assert all(error for _, error, _ in odd.values())
        assert "labels" in odd["odd-labels a number"][1]
        assert "NUL" in odd["odd-NUL in an id"][1]
        # the one that failed inside names its run, and the reason says what failed
        assert odd["odd-fieldId a list"][2] == run_id
        assert "TypeError" in odd["odd-fieldId a list"][1]
        # nothing waits: another pass has nothing left to do
        assert world.app.jira.processor.process_pending() == 0

        parked = world.rt.parked_deliveries(run_id)
        assert [p.id for p in parked] == ["odd-fieldId a list"]
        assert world.rt.inbox_parked() == {"jira": len(odd)}
        metrics = httpx.get(world.web_url + "/metrics").text
        assert f'aims_inbox_parked{{source="jira"}} {float(len(odd))}' in metrics
        dashboard = httpx.get(world.web_url + "/dashboard").text
        assert f"{len(odd)} parked" in dashboard
        run_page = httpx.get(world.web_url + f"/dashboard/runs/{run_id}").text
        assert "odd-fieldId a list" in run_page


@pytest.mark.parametrize(
    "name,body",
    [
        ("labels a number", {"issue": {"id": "1", "key": "A-1", "fields": {"labels": 7}}}),
        ("changelog a string", {"issue": {"id": "1", "key": "A-1"}, "changelog": "x"}),
        ("changelog a list", {"issue": {"id": "1", "key": "A-1"}, "changelog": []}),
        ("status a string", {"issue": {"id": "1", "key": "A-1", "fields": {"status": "Done"}}}),
        ("status a list", {"issue": {"id": "1", "key": "A-1", "fields": {"status": []}}}),
        ("issue a list", {"issue": [1]}),
        ("NUL in an id", {"issue": {"id": "1\u0000", "key": "A-1"}}),
        ("lone surrogate", {"issue": {"id": "1", "key": "A-\ud800"}}),
        ("timestamp a text", {"timestamp": "soon"}),
    ],
)
def test_the_webhook_edge_refuses_odd_shapes_with_400(
    tmp_path, recorder, name: str, body: dict
) -> None:
    import hashlib
    import hmac

    url = f"sqlite:///{tmp_path / 'aims.db'}"
    from aims_workflows.store import Database

    Database(url).upgrade()
    with hostile_world(url, tmp_path, recorder, "ai-risk-assessment") as world:
        raw = json.dumps({"webhookEvent": "jira:issue_updated", **body}).encode()
        secret = world.app.jira.webhook_secret.encode()
        answer = httpx.post(
            world.web_url + "/jira/webhook",
            content=raw,
            headers={
                "Content-Type": "application/json",
                "X-Hub-Signature": "sha256=" + hmac.new(secret, raw, hashlib.sha256).hexdigest(),
            },
        )
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"] and "\n" not in answer.json()["error"]
        assert inbox_rows(world) == {}


def test_an_older_edit_delivered_after_a_newer_one_is_ignored(db_url, database, tmp_path, recorder):
    with hostile_world(db_url, tmp_path, recorder, "ai-risk-assessment") as world:
        run_id = start_risk_assessment(world)
        identify = world.jira.issue_of(run_id, "identify")
        world.jira.answer(identify, IDENTIFY, by=ENGINEER)
        world.settle()
        # Eve edits the likelihood twice on her Done issue (4 -> 2, then 2 -> 3); Jira delivers
        # the second edit first.
        world.jira.answer(identify, {"likelihood": 2}, by=ENGINEER, complete=False)
        world.clock.advance(minutes=1)
        world.jira.answer(identify, {"likelihood": 3}, by=ENGINEER, complete=False)
        world.jira.sandbox.webhooks.reverse_pending()
        world.settle()

        assert world.field(identify, "likelihood") == 3
        changes = [
            (e["payload"]["before"]["likelihood"], e["payload"]["after"]["likelihood"])
            for e in world.evidence(run_id, "task.answers_changed")
        ]
        assert changes == [(4, 3)], changes  # the late 4 -> 2 did not set it back to 2
        late = [
            (status, error)
            for status, error, _ in inbox_rows(world).values()
            if error and "older than" in error
        ]
        assert [status for status, _ in late] == ["ignored"]
