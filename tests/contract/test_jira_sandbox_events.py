"""Jira sandbox behaviour beyond request/response: signed webhooks and their retries on an
injected clock, injected faults, people working through REST, and the standalone runner."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
from datetime import timedelta

import httpx
import pytest
from jira import JIRA, JIRAError
from jira_fixtures import (  # noqa: F401  (fixtures; tests/contract is on sys.path)
    WEBHOOK_SECRET,
    jira_client,
    jira_clock,
    jira_openapi,
    jira_receiver,
    jira_receiver_server,
    jira_sandbox,
    jira_spec_dict,
    jira_spec_recorder,
)
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from aims_workflows.sandbox._server import BackgroundServer
from aims_workflows.sandbox.jira import API, JiraSandbox, run_jira_sandbox
from aims_workflows.sandbox.jira import _adf as adf

pytestmark = pytest.mark.filterwarnings("ignore:Unsupported scheme type:UserWarning")

TASK = {"name": "Task"}


def _verified(headers: dict[str, str], body: bytes) -> bool:
    expected = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(headers["x-hub-signature"], expected)


def _new_issue(client: JIRA, summary: str = "Run the AI system impact assessment"):
    return client.create_issue(project="AIMS", summary=summary, issuetype=TASK)


# --- webhooks ---------------------------------------------------------------------------------
def test_webhooks_are_signed_and_describe_the_change(jira_client, jira_sandbox, jira_receiver):
    issue = _new_issue(jira_client)
    jira_client.transition_issue(issue, "Start Progress")
    jira_client.add_comment(issue, adf.doc("Started"))
    assert jira_receiver.received == [], "nothing is sent until deliveries are driven"

    sent = jira_sandbox.deliver_webhooks()
    assert [d.state for d in sent] == ["delivered"] * 3
    assert all(_verified(h, b) for h, b in jira_receiver.received)
    ids = [h["x-atlassian-webhook-identifier"] for h, _ in jira_receiver.received]
    assert len(set(ids)) == 3
    assert not any("x-atlassian-webhook-retry" in h for h, _ in jira_receiver.received)

    created, updated, commented = jira_receiver.payloads()
    assert created["webhookEvent"] == "jira:issue_created"
    assert created["issue"]["key"] == issue.key
    assert created["issue"]["self"].startswith(jira_sandbox.url)
    assert created["timestamp"] == 1736154000000  # 2025-01-06 09:00 UTC, from the clock
    assert updated["webhookEvent"] == "jira:issue_updated"
    status = next(i for i in updated["changelog"]["items"] if i["field"] == "status")
    assert (status["fromString"], status["toString"]) == ("To Do", "In Progress")
    assert updated["issue"]["fields"]["status"]["statusCategory"]["key"] == "indeterminate"
    assert updated["user"]["emailAddress"] == "aims-bot@example.com"
    assert commented["webhookEvent"] == "comment_created"
    assert adf.to_text(commented["comment"]["body"]) == "Started"
    assert jira_sandbox.deliver_webhooks() == []


def test_webhook_retried_on_500_with_the_same_identifier(
    jira_client, jira_sandbox, jira_receiver, jira_clock
):
    jira_receiver.answers = [500, 503]
    _new_issue(jira_client)
    (delivery,) = jira_sandbox.deliver_webhooks()
    assert delivery.state == "pending" and delivery.outcomes == ["500"]
    assert jira_sandbox.deliver_webhooks(now=jira_clock.now + timedelta(seconds=9)) == []
    jira_sandbox.deliver_webhooks(now=jira_clock.now + timedelta(seconds=10))
    jira_sandbox.deliver_webhooks(now=jira_clock.now + timedelta(minutes=1))
    assert delivery.state == "delivered" and delivery.outcomes == ["500", "503", "200"]
    headers = [h for h, _ in jira_receiver.received]
    assert len({h["x-atlassian-webhook-identifier"] for h in headers}) == 1
    assert [h.get("x-atlassian-webhook-retry") for h in headers] == [None, "1", "2"]
    assert len({b for _, b in jira_receiver.received}) == 1, "a retry re-sends the same body"
    assert all(_verified(h, b) for h, b in jira_receiver.received)


def test_webhook_retries_stop_after_about_30_minutes(
    jira_client, jira_sandbox, jira_receiver, jira_clock
):
    jira_receiver.answers = [429] * 10
    _new_issue(jira_client)
    moment = jira_clock.now
    for _ in range(10):
        jira_sandbox.deliver_webhooks(now=moment)
        due = jira_sandbox.webhooks.next_due_at()
        if due is None:
            break
        moment = due
    (delivery,) = jira_sandbox.webhooks.deliveries
    assert delivery.state == "failed" and delivery.attempts == 6
    assert moment - delivery.created_at == timedelta(minutes=30)


def test_webhook_not_retried_on_a_client_error_but_retried_on_connection_errors(
    jira_client, jira_sandbox, jira_receiver, jira_clock
):
    jira_receiver.answers = [400]
    _new_issue(jira_client)
    (refused,) = jira_sandbox.deliver_webhooks()
    assert refused.state == "failed" and refused.outcomes == ["400"]

    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        dead_url = f"http://127.0.0.1:{closed.getsockname()[1]}/hook"
    jira_sandbox.webhooks.url = dead_url
    _new_issue(jira_client, "second")
    (unreachable,) = jira_sandbox.deliver_webhooks()
    assert unreachable.state == "pending" and unreachable.outcomes == ["ConnectError"]
    jira_sandbox.webhooks.url = jira_receiver.url
    jira_sandbox.deliver_webhooks(now=jira_clock.now + timedelta(seconds=10))
    assert unreachable.state == "delivered"
    assert jira_receiver.received[-1][0]["x-atlassian-webhook-retry"] == "1"


def test_dropped_webhooks_are_never_sent(jira_client, jira_sandbox, jira_receiver):
    jira_sandbox.faults.drop_webhooks(1)
    _new_issue(jira_client, "lost")
    _new_issue(jira_client, "kept")
    jira_sandbox.deliver_webhooks()
    assert [p["issue"]["fields"]["summary"] for p in jira_receiver.payloads()] == ["kept"]
    assert [d.state for d in jira_sandbox.webhooks.deliveries] == ["dropped", "delivered"]


# --- faults -----------------------------------------------------------------------------------
def test_429_with_retry_after_is_honoured_by_the_client(jira_client, jira_sandbox):
    issue = _new_issue(jira_client)
    jira_sandbox.faults.rate_limit(times=1, retry_after=1, path=r"/issue/AIMS-1$")
    assert jira_client.issue(issue.key).key == issue.key  # one 429, then the retry succeeds
    assert jira_sandbox.faults.injected == 1


def test_injected_answers_carry_jira_headers_and_respect_the_path(jira_sandbox):
    auth = jira_sandbox.credentials()
    jira_sandbox.faults.rate_limit(times=1, retry_after=7, path=r"/search/jql")
    jira_sandbox.faults.unavailable(times=1, path=r"/search/jql")
    jira_sandbox.faults.server_error(times=1, method="GET", path=r"/myself")
    assert httpx.get(f"{jira_sandbox.url}{API}/field", auth=auth).status_code == 200
    limited = httpx.get(
        f"{jira_sandbox.url}{API}/search/jql", auth=auth, params={"jql": "project = AIMS"}
    )
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "7"
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    assert limited.headers["X-RateLimit-Reset"] == "2025-01-06T09:00:07Z"
    assert limited.headers["RateLimit-Reason"] == "jira-quota-global-based"
    assert limited.json()["errorMessages"]
    unavailable = httpx.get(
        f"{jira_sandbox.url}{API}/search/jql", auth=auth, params={"jql": "project = AIMS"}
    )
    assert unavailable.status_code == 503
    assert httpx.get(f"{jira_sandbox.url}{API}/myself", auth=auth).status_code == 500
    assert httpx.get(f"{jira_sandbox.url}{API}/myself", auth=auth).status_code == 200
    assert jira_sandbox.faults.injected == 3


def test_deleted_project_and_removed_field(jira_client, jira_sandbox):
    field_id = jira_sandbox.add_custom_field("Impact", "textfield")
    issue = jira_client.create_issue(
        project="AIMS", summary="x", issuetype=TASK, **{field_id: "high"}
    )
    jira_sandbox.faults.remove_field(field_id)
    assert field_id not in {f["id"] for f in jira_client.fields()}
    assert field_id not in jira_client.issue(issue.key).raw["fields"]
    with pytest.raises(JIRAError) as excinfo:
        issue.update(fields={field_id: "low"})
    assert excinfo.value.status_code == 400
    assert field_id in excinfo.value.response.json()["errors"]

    jira_sandbox.faults.delete_project("AIMS")
    for call in (lambda: jira_client.project("AIMS"), lambda: jira_client.issue(issue.key)):
        with pytest.raises(JIRAError) as excinfo:
            call()
        assert excinfo.value.status_code == 404
    created = httpx.post(
        f"{jira_sandbox.url}{API}/issue",
        auth=jira_sandbox.credentials(),
        json={"fields": {"project": {"key": "AIMS"}, "issuetype": TASK, "summary": "y"}},
    )
    assert created.status_code == 400 and "project" in created.json()["errors"]


# --- people -----------------------------------------------------------------------------------
def test_a_person_works_the_issue_through_rest(
    jira_client, jira_sandbox, jira_receiver, jira_spec_recorder
):
    treatment = jira_sandbox.add_custom_field("Risk treatment", "select")
    issue = _new_issue(jira_client, "Treat the bias risk")
    jira_sandbox.deliver_webhooks()
    erin = jira_sandbox.user("erin.engineer@example.com")
    with jira_sandbox.person(erin.email) as person:
        person.fill_in(
            issue.key,
            {treatment: {"value": "Mitigate"}, "description": "Re-weighted the training set"},
        )
        person.comment(issue.key, "Evidence attached")
        person.attach(issue.key, "bias-report.csv", b"group,rate\nA,0.91\n", "text/csv")
        person.complete(issue.key)
        person.reopen(issue.key)
    seen = [
        e
        for e in jira_spec_recorder.exchanges
        if e.request_header("authorization").startswith("Basic ")
        and e.path.startswith(f"{API}/issue/")
    ]
    assert seen, "the person used the REST API"

    jira_sandbox.deliver_webhooks()
    payloads = jira_receiver.payloads()[1:]
    assert payloads and all(p["user"]["accountId"] == erin.account_id for p in payloads)
    fields_changed = [i["field"] for p in payloads for i in p.get("changelog", {}).get("items", [])]
    assert {"Risk treatment", "description", "Attachment", "status"} <= set(fields_changed)
    statuses = [
        i["toString"]
        for p in payloads
        for i in p.get("changelog", {}).get("items", [])
        if i["field"] == "status"
    ]
    assert statuses == ["In Progress", "Done", "To Do"]

    fresh = jira_client.issue(issue.key, expand="changelog")
    assert {h["author"]["accountId"] for h in fresh.raw["changelog"]["histories"]} == {
        erin.account_id
    }
    assert fresh.raw["fields"][treatment] == {"value": "Mitigate"}
    assert fresh.fields.attachment[0].author.accountId == erin.account_id


# --- running it -------------------------------------------------------------------------------
def test_background_server_serves_any_asgi_app_on_a_free_port():
    app = Starlette(routes=[Route("/healthz", lambda request: PlainTextResponse("ok"))])
    with BackgroundServer(app) as first, BackgroundServer(app) as second:
        assert first.url != second.url
        assert httpx.get(first.url + "/healthz").text == "ok"
    assert not first.running


def test_run_jira_sandbox_blocks_until_stopped_and_prints_its_url():
    lines: list[str] = []
    printed, stop = threading.Event(), threading.Event()

    def echo(line: str) -> None:
        lines.append(line)
        printed.set()

    runner = threading.Thread(
        target=run_jira_sandbox, kwargs={"echo": echo, "stop": stop, "project": "GOV"}
    )
    runner.start()
    try:
        assert printed.wait(10)
        url = lines[0].split()[3]
        assert url.startswith("http://127.0.0.1:")
        user_line = next(line for line in lines if "aims-bot@example.com" in line)
        token = user_line.split()[-1]
        project = httpx.get(f"{url}{API}/project/GOV", auth=("aims-bot@example.com", token))
        assert project.json()["key"] == "GOV"
    finally:
        stop.set()
        runner.join(10)
    assert not runner.is_alive()


def test_in_process_sandbox_without_webhooks_queues_nothing():
    with JiraSandbox() as sandbox:
        client = JIRA(
            server=sandbox.url,
            basic_auth=sandbox.credentials(),
            options={"rest_api_version": "3"},
            max_retries=0,
        )
        client.create_issue(project="AIMS", summary="quiet", issuetype=TASK)
        assert sandbox.webhooks.deliveries == [] and sandbox.deliver_webhooks() == []
        assert json.loads(json.dumps(sandbox.issue_json("AIMS-1")))["key"] == "AIMS-1"
