"""Faults at the Jira edge, through the real web app on a loopback socket, the real ``jira``
client and the Jira sandbox (every sandbox exchange held to Atlassian's OpenAPI description).

Time is injected: an hour of Jira outage and a two-minute lease pass in milliseconds."""

from __future__ import annotations

import logging
import shutil
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "contract"))
from jira_fixtures import SpecRecorder, jira_openapi, jira_spec_dict  # noqa: E402,F401

from aims_workflows.adapters.jira import JiraIntegration  # noqa: E402
from aims_workflows.app import open_app, shipped_workflows_dir  # noqa: E402
from aims_workflows.config import Settings  # noqa: E402
from aims_workflows.demo.jira_loopback import JiraLoopback  # noqa: E402
from aims_workflows.inventory import AISystemRecord  # noqa: E402
from aims_workflows.sandbox.jira import sign  # noqa: E402
from aims_workflows.store import Database  # noqa: E402
from aims_workflows.store.jira_issues import JiraIssueRecords  # noqa: E402
from aims_workflows.store.models import InboxItem, OutboxItem, Run  # noqa: E402
from aims_workflows.testing import ManualClock  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:Unsupported scheme type:UserWarning")

ENGINEER = "erin.engineer@example.com"
ANSWERS = {
    "risk_title": "Wrong fees",
    "risk_description": "Stale fee table",
    "risk_sources": ["data_quality"],
    "affected_parties": "customers",
    "likelihood": 2,
    "impact": 3,
    "rating_rationale": "incident log",
}


def make_app(folder: Path, clock: ManualClock, **integrations):
    settings = Settings(
        database_url=f"sqlite:///{folder / 'aims.db'}",
        config=folder / "aims.yaml",
        workflows=folder / "workflows",
    )
    return open_app(settings, clock=clock, **integrations)


@pytest.fixture
def recorder(jira_openapi) -> SpecRecorder:  # noqa: F811
    return SpecRecorder(jira_openapi)


@pytest.fixture
def env(tmp_path, recorder):
    (tmp_path / "workflows").mkdir()
    # the risk assessment with the workflows it starts (further risks, treatment actions)
    for name in ("ai-risk-assessment", "ai-risk", "risk-treatment"):
        shutil.copy(shipped_workflows_dir() / f"{name}.yaml", tmp_path / "workflows")
    (tmp_path / "aims.yaml").write_text(
        f"roles:\n  engineer: [{ENGINEER}]\n  risk_owner: [rui@example.com]\n"
    )
    Database(f"sqlite:///{tmp_path / 'aims.db'}").upgrade()
    clock = ManualClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    demo = JiraLoopback(observers=(recorder,))
    app = make_app(tmp_path, clock, jira=demo.connect)
    demo.serve(app)
    yield tmp_path, clock, app, demo
    demo.close()
    assert not recorder.errors, "\n".join(recorder.errors)


def start_run(app) -> str:
    app.inventory.add(AISystemRecord(name="Chatbot", owner="olga@example.com", risk_tier="limited"))
    with app.db.connect() as conn:
        return conn.scalar(select(Run.__table__.c.id))


def count(app, table, *where) -> int:
    with app.db.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(table.__table__).where(*where)))


def ledger_kinds(app, run_id: str) -> list[str]:
    from aims_workflows.store import ledger

    with app.db.connect() as conn:
        return [r.kind for r in ledger.iter_rows(conn, run_id=run_id)]


def post(
    demo, body: bytes, *, delivery: str | None = None, signature: str | None = "good", **headers
) -> httpx.Response:
    sent = {"Content-Type": "application/json", **headers}
    if delivery:
        sent["X-Atlassian-Webhook-Identifier"] = delivery
    if signature == "good":
        sent["X-Hub-Signature"] = sign(demo.integration.webhook_secret, body)
    elif signature:
        sent["X-Hub-Signature"] = signature
    return httpx.post(demo.server.url + "/jira/webhook", content=body, headers=sent, timeout=10)


def done_webhook(app, demo, run_id: str) -> tuple[str, bytes]:
    """Make the engineer finish the identify task; return its issue key and the signed body Jira
    sends."""
    app.pump()
    key = demo.issue_of(run_id, "identify")
    before = len(demo.sandbox.webhooks.deliveries)
    demo.answer(key, ANSWERS, by=ENGINEER)  # queued, not sent: only demo.sync() sends
    last = [
        d
        for d in demo.sandbox.webhooks.deliveries[before:]
        if d.payload.get("changelog")
        and any(
            i["field"] == "status" and i["toString"] == "Done"
            for i in d.payload["changelog"]["items"]
        )
    ][0]
    for d in demo.sandbox.webhooks.deliveries[before:]:
        d.state = "dropped"  # the test sends them itself
    return key, last.body


# --- signatures -----------------------------------------------------------------------------
def test_bad_or_missing_signature_gets_401_writes_nothing_and_logs_a_security_line(env, caplog):
    _, _, app, demo = env
    body = b'{"webhookEvent":"jira:issue_updated","issue":{"id":"1","key":"AIMS-1"}}'
    with caplog.at_level(logging.WARNING, logger="aims.security"):
        assert post(demo, body, delivery="d1", signature=None).status_code == 401
        assert post(demo, body, delivery="d2", signature="sha256=" + "0" * 64).status_code == 401
        assert (
            post(demo, body, delivery="d3", signature=sign("other-secret", body)).status_code == 401
        )
        assert (
            post(
                demo,
                body + b" ",
                delivery="d4",
                signature=sign(demo.integration.webhook_secret, body),
            ).status_code
            == 401
        )
    assert count(app, InboxItem) == 0
    lines = [r.getMessage() for r in caplog.records if r.name == "aims.security"]
    assert len(lines) == 4 and "missing signature" in lines[0] and "does not match" in lines[1]
    assert not any("AIMS-1" in line or demo.integration.webhook_secret in line for line in lines)
    metrics = httpx.get(demo.server.url + "/metrics").text
    assert 'aims_webhook_deliveries_total{outcome="bad_signature",source="jira"} 4.0' in metrics


def test_malformed_json_and_non_webhooks_are_refused_and_not_stored(env):
    _, _, app, demo = env
    assert post(demo, b'{"webhookEvent": "jira:issue_updated", ', delivery="m1").status_code == 400
    assert post(demo, b'["a list"]', delivery="m2").status_code == 400
    assert post(demo, b"\xff\xfe not utf-8", delivery="m3").status_code == 400
    assert count(app, InboxItem) == 0


def test_a_10_mb_body_is_refused_with_413(env):
    _, _, app, demo = env
    big = b'{"webhookEvent":"x","pad":"' + b"a" * (10 * 1024 * 1024) + b'"}'
    assert post(demo, big, delivery="big").status_code == 413

    def chunks():  # no Content-Length: the limit is enforced while reading
        for _ in range(11):
            yield b"a" * (1024 * 1024)

    streamed = httpx.post(
        demo.server.url + "/jira/webhook", content=chunks(), headers={"X-Hub-Signature": "sha256=0"}
    )
    assert streamed.status_code == 413
    assert count(app, InboxItem) == 0
    health = httpx.get(demo.server.url + "/healthz").json()
    assert (health["status"], health["database"]) == ("ok", "ok")
    assert health["integrations"]["jira"] == {"configured": True, "mode": "webhook"}
    assert "token" not in str(health) and "secret" not in str(health)


# --- de-duplication -------------------------------------------------------------------------
def test_a_replayed_delivery_changes_nothing_twice(env):
    _, _, app, demo = env
    run_id = start_run(app)
    key, body = done_webhook(app, demo, run_id)
    first = post(demo, body, delivery="dlv-1")
    assert first.status_code == 202 and first.json()["status"] == "accepted"
    demo.integration.processor.process_pending()
    again = post(demo, body, delivery="dlv-1", **{"X-Atlassian-Webhook-Retry": "1"})
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    # A replay under a new identifier is stored, but the task is no longer open: ignored.
    assert post(demo, body, delivery="dlv-2").status_code == 202
    demo.integration.processor.process_pending()
    assert ledger_kinds(app, run_id).count("task.completed") == 1
    with app.db.connect() as conn:
        statuses = dict(
            conn.execute(
                select(InboxItem.__table__.c.delivery_id, InboxItem.__table__.c.status)
            ).all()
        )
    assert statuses == {"dlv-1": "processed", "dlv-2": "ignored"}


def test_the_same_delivery_100_times_at_once_is_applied_once(env):
    _, _, app, demo = env
    run_id = start_run(app)
    _, body = done_webhook(app, demo, run_id)
    answers: list[int] = []

    def send() -> None:
        answers.append(post(demo, body, delivery="same-one").status_code)

    threads = [threading.Thread(target=send) for _ in range(100)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers) == [200] * 99 + [202]
    demo.integration.processor.process_pending()
    assert count(app, InboxItem) == 1
    assert ledger_kinds(app, run_id).count("task.completed") == 1


def test_a_webhook_for_an_issue_the_engine_does_not_own_is_recorded_and_ignored(env):
    _, _, app, demo = env
    with demo.person(ENGINEER) as erin:
        pass
    own = demo.sandbox.person(demo.sandbox.service_account.email)
    own._http.post(
        "/issue",
        json={
            "fields": {
                "project": {"key": "AIMS"},
                "issuetype": {"name": "Task"},
                "summary": "Coffee",
            }
        },
    )
    own.close()
    demo.sync()
    with demo.person(ENGINEER) as erin:
        erin.complete("AIMS-1")
    assert demo.sync() >= 1
    with app.db.connect() as conn:
        rows = conn.execute(select(InboxItem.__table__.c.status, InboxItem.__table__.c.error)).all()
    assert rows and {r.status for r in rows} == {"ignored"}
    assert any("AIMS-1 is not an issue of the engine" in (r.error or "") for r in rows)
    assert count(app, Run) == 0


# --- Jira misbehaving -----------------------------------------------------------------------
def test_429_bursts_are_retried_after_retry_after_and_make_one_issue(env):
    _, clock, app, demo = env
    run_id = start_run(app)
    demo.sandbox.faults.rate_limit(times=6, retry_after=1)
    waits = []
    for _ in range(12):
        app.pump()
        with app.db.connect() as conn:
            row = conn.execute(
                select(OutboxItem.__table__).where(OutboxItem.__table__.c.kind == "task.create")
            ).first()
        if row.status == "done":
            break
        assert row.status == "pending" and "429" in (row.last_error or "")
        waits.append((row.next_attempt_at - clock.now()).total_seconds())
        clock.advance(seconds=max(1.0, waits[-1]))
    assert all(w >= 1 for w in waits)
    assert demo.issue_of(run_id, "identify") == "AIMS-1"
    with demo.sandbox.state.lock:
        assert len(demo.sandbox.state.issues) == 1


def test_jira_down_for_an_hour_loses_nothing(env):
    _, clock, app, demo = env
    run_id = start_run(app)
    demo.sandbox.faults.unavailable(times=10**6)
    start = clock.now()
    while clock.now() - start < timedelta(hours=1):
        report = app.pump()  # as `aims worker` does every few seconds
        assert report.dead == 0, report.errors
        clock.advance(seconds=30)
    with app.db.connect() as conn:
        row = conn.execute(
            select(OutboxItem.__table__).where(OutboxItem.__table__.c.kind == "task.create")
        ).first()
    assert row.status == "pending" and row.attempts >= 5 and "503" in row.last_error
    demo.sandbox.faults.clear()
    clock.advance(hours=2)
    app.pump()
    assert demo.issue_of(run_id, "identify") == "AIMS-1"
    assert "task.issued" in ledger_kinds(app, run_id)


def test_a_crash_between_creating_the_issue_and_recording_it_still_makes_one_issue(
    env, monkeypatch
):
    folder, clock, app, demo = env
    run_id = start_run(app)

    class Crash(BaseException):
        """The process dies: nothing after this point runs."""

    real = JiraIssueRecords.remember_issue

    def die(*args, **kwargs):
        raise Crash()

    monkeypatch.setattr(JiraIssueRecords, "remember_issue", die)
    with pytest.raises(Crash):
        app.pump()
    with demo.sandbox.state.lock:
        assert len(demo.sandbox.state.issues) == 1
    monkeypatch.setattr(JiraIssueRecords, "remember_issue", real)
    # Restart: a new process on the same database; the claimed command is taken back after its
    # lease.
    restarted = make_app(
        folder,
        clock,
        jira=lambda runtime: JiraIntegration(
            demo.integration.connection,
            "AIMS",
            runtime,
            webhook_secret=demo.integration.webhook_secret,
        ),
    )
    restarted.pump()
    assert demo.issue_of(run_id, "identify") is None  # still inside the dead worker's lease
    clock.advance(minutes=3)
    restarted.pump()
    with demo.sandbox.state.lock:
        assert [i.key for i in demo.sandbox.state.issues.values()] == ["AIMS-1"]
    assert demo.issue_of(run_id, "identify") == "AIMS-1"
    assert ledger_kinds(restarted, run_id).count("task.issued") == 1


def test_a_lost_webhook_is_found_by_the_reconciliation_poll_and_applied_once(env):
    _, clock, app, demo = env
    run_id = start_run(app)
    app.pump()
    key = demo.issue_of(run_id, "identify")
    demo.sandbox.faults.drop_webhooks(10)
    demo.answer(key, ANSWERS, by=ENGINEER)
    demo.sync()
    assert "task.completed" not in ledger_kinds(app, run_id)
    clock.advance(minutes=2)
    app.pump()
    kinds = ledger_kinds(app, run_id)
    assert kinds.count("task.completed") == 1
    with app.db.connect() as conn:
        actor = conn.execute(select(InboxItem.__table__.c.source)).scalars().all()
    assert actor.count("jira-poll") == 1
    clock.advance(minutes=2)
    app.pump()
    assert ledger_kinds(app, run_id).count("task.completed") == 1
    assert demo.issue_of(run_id, "treat")


def test_a_pass_with_jira_down_ends_and_gives_its_deliveries_back(env):
    """Deliveries that need Jira to be applied (an issue aims made but had not recorded yet)
    while Jira answers 503: the pass takes each once, leaves them stored and unclaimed for the
    next pass, and ends (it used to take the same batch again and again)."""
    import json

    from aims_workflows.runtime import Delivery

    _, _, app, demo = env
    for n in range(5):
        body = {
            "webhookEvent": "jira:issue_updated",
            "timestamp": 1767600000000 + n,
            "issue": {"id": str(90000 + n), "key": f"AIMS-{900 + n}",
                      "fields": {"labels": ["aims"], "status": {"name": "Done"}}},
        }  # fmt: skip
        app.runtime.store_delivery(Delivery("jira", f"down-{n}", json.dumps(body)))
    demo.sandbox.faults.unavailable(times=10**6)
    assert demo.integration.processor.process_pending(batch=2) == 0
    with app.db.connect() as conn:
        rows = conn.execute(
            select(
                InboxItem.__table__.c.status,
                InboxItem.__table__.c.claimed_by,
            ).where(InboxItem.__table__.c.delivery_id.like("down-%"))
        ).all()
    assert [tuple(r) for r in rows] == [("received", None)] * 5
    demo.sandbox.faults.clear()


def test_a_stored_webhook_names_the_issue_it_changes(env):
    """So that workers apply one issue's deliveries in the order Jira sent them."""
    import json

    _, _, app, demo = env
    run_id = start_run(app)
    _, body = done_webhook(app, demo, run_id)
    assert post(demo, body, delivery="dlv-subject").status_code == 202
    with app.db.connect() as conn:
        subject = conn.scalar(
            select(InboxItem.__table__.c.subject).where(
                InboxItem.__table__.c.delivery_id == "dlv-subject"
            )
        )
    assert subject == f"issue:{json.loads(body)['issue']['id']}"
