"""The Jira sandbox's browser pages: the board, ``/browse/KEY``, and the issue form that edits
and transitions the issue through the REST API as the person who signed in.

The sandbox runs with the session's webhook receiver and the OpenAPI recorder: the REST calls
the pages make are held to the vendor's description like any other, and the webhooks they
cause are signed and reach the receiver.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from urllib.parse import urlencode

import httpx
import pytest
from jira_fixtures import (  # noqa: F401  (fixtures; tests/contract is on sys.path)
    WEBHOOK_SECRET,
    jira_clock,
    jira_openapi,
    jira_receiver,
    jira_receiver_server,
    jira_sandbox,
    jira_spec_dict,
    jira_spec_recorder,
)

from aims_workflows.sandbox.jira import API, JiraSandbox, run_jira_sandbox
from aims_workflows.sandbox.jira._browser import COOKIE

FORM = {"content-type": "application/x-www-form-urlencoded"}
pytestmark = pytest.mark.filterwarnings("ignore:Unsupported scheme type:UserWarning")


@pytest.fixture
def site(jira_sandbox: JiraSandbox):
    """The sandbox with three custom fields on its issue pages and one issue, AIMS-1, assigned
    to Erin; ``(sandbox, field ids, a browser-like client)``."""
    ids = {
        "title": jira_sandbox.add_custom_field("Risk title"),
        "likelihood": jira_sandbox.add_custom_field("Likelihood", "float"),
        "treatment": jira_sandbox.add_custom_field("Treatment", "select", ["accept", "mitigate"]),
        "sources": jira_sandbox.add_custom_field("Sources", "multiselect", ["bias", "privacy"]),
        "notes": jira_sandbox.add_custom_field("Notes", "textarea"),
    }
    erin = jira_sandbox.user("erin.engineer@example.com")
    created = httpx.post(
        f"{jira_sandbox.url}{API}/issue",
        auth=jira_sandbox.credentials(),
        json={
            "fields": {
                "project": {"key": "AIMS"},
                "issuetype": {"name": "Task"},
                "summary": "Assess <the> risk",
                "assignee": {"accountId": erin.account_id},
            }
        },
    )
    assert created.status_code == 201
    jira_sandbox.browser.screen = lambda properties: list(ids.values())
    jira_sandbox.deliver_webhooks()
    with httpx.Client(base_url=jira_sandbox.url, follow_redirects=True, timeout=10) as client:
        yield jira_sandbox, ids, client


def _sign_in(client: httpx.Client, sandbox: JiraSandbox, email: str) -> None:
    account = sandbox.user(email).account_id
    answer = client.post("/session", data={"account": account, "next": "/browse/AIMS-1"})
    assert answer.status_code == 200 and client.cookies.get(COOKIE) == account


def _post(client: httpx.Client, pairs: list[tuple[str, str]]) -> httpx.Response:
    return client.post("/browse/AIMS-1", content=urlencode(pairs), headers=FORM)


def _option(sandbox: JiraSandbox, field_id: str, value: str) -> str:
    [options] = sandbox.field_options(field_id).values()
    [context] = sandbox.state.contexts_of(field_id)
    return next(o.id for o in context.options if o.value == value)


def test_the_board_and_the_issue_page_show_the_issue_escaped(site) -> None:
    sandbox, ids, client = site
    board = client.get("/")
    assert board.status_code == 200 and "text/html" in board.headers["content-type"]
    assert 'id="card-AIMS-1"' in board.text and "Erin Engineer" in board.text
    # the summary is the issue's own text, never markup
    assert "Assess &lt;the&gt; risk" in board.text and "<the>" not in board.text
    page = client.get("/browse/AIMS-1")
    assert page.status_code == 200
    for field_id in ids.values():
        assert f'name="f.{field_id}"' in page.text
    assert client.get("/browse/aims-1").status_code == 200  # keys match as Jira's do
    missing = client.get("/browse/AIMS-404")
    assert missing.status_code == 404 and "AIMS-404 does not exist" in missing.text
    assert client.get("/no/such/page").status_code == 404


def test_saving_the_form_edits_and_moves_to_done_over_rest_as_the_person(
    site, jira_receiver, jira_spec_recorder
) -> None:
    sandbox, ids, client = site
    _sign_in(client, sandbox, "erin.engineer@example.com")
    before = len(jira_spec_recorder.exchanges)
    answer = _post(
        client,
        [
            (f"f.{ids['title']}", "Wrong fees quoted"),
            (f"f.{ids['likelihood']}", "3"),
            (f"f.{ids['treatment']}", _option(sandbox, ids["treatment"], "mitigate")),
            (f"f.{ids['sources']}", _option(sandbox, ids["sources"], "bias")),
            (f"f.{ids['sources']}", _option(sandbox, ids["sources"], "privacy")),
            (f"f.{ids['notes']}", "first line\r\nsecond line"),
            ("status", "10001"),
        ],
    )
    assert answer.status_code == 200 and str(answer.url).endswith("/browse/AIMS-1?saved=1")
    fields = sandbox.issue_json("AIMS-1", expand="changelog")
    values = fields["fields"]
    assert values[ids["title"]] == "Wrong fees quoted" and values[ids["likelihood"]] == 3
    assert values[ids["treatment"]]["value"] == "mitigate"
    assert [o["value"] for o in values[ids["sources"]]] == ["bias", "privacy"]
    assert values[ids["notes"]]["content"][1]["content"][0]["text"] == "second line"
    assert values["status"]["name"] == "Done"

    # one edit, then To Do -> In Progress -> Done, each by Erin, through the REST API
    erin = sandbox.user("erin.engineer@example.com")
    histories = fields["changelog"]["histories"]
    assert [h["author"]["accountId"] for h in histories] == [erin.account_id] * 3
    moves = [i["toString"] for h in histories for i in h["items"] if i["field"] == "status"]
    assert moves == ["In Progress", "Done"]
    calls = [(e.method, e.path) for e in jira_spec_recorder.exchanges[before:]]
    assert ("PUT", f"{API}/issue/AIMS-1") in calls
    assert calls.count(("POST", f"{API}/issue/AIMS-1/transitions")) == 2

    # the webhooks of those changes are signed with the site's secret and name Erin
    sandbox.deliver_webhooks()
    updates = [
        (headers, body)
        for headers, body in jira_receiver.received
        if json.loads(body)["webhookEvent"] == "jira:issue_updated"
    ]
    assert len(updates) == 3
    for headers, body in updates:
        digest = hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert headers["x-hub-signature"] == f"sha256={digest}"
        assert json.loads(body)["user"]["accountId"] == erin.account_id

    # saving again without a change records nothing
    page = client.get("/browse/AIMS-1").text
    assert 'value="Wrong fees quoted"' in page and "second line" in page
    again = _post(client, [(f"f.{ids['title']}", "Wrong fees quoted"), ("status", "10001")])
    assert again.status_code == 200
    assert len(sandbox.issue_json("AIMS-1", expand="changelog")["changelog"]["histories"]) == 3


def test_bad_input_changes_nothing_and_says_what_is_wrong(site) -> None:
    sandbox, ids, client = site
    # nobody signed in: refused, nothing changed
    anonymous = _post(client, [(f"f.{ids['title']}", "x"), ("status", "10001")])
    assert anonymous.status_code == 403 and "Choose who you are" in anonymous.text
    _sign_in(client, sandbox, "erin.engineer@example.com")
    not_a_number = _post(
        client, [(f"f.{ids['title']}", "kept"), (f"f.{ids['likelihood']}", "three")]
    )
    assert not_a_number.status_code == 400 and "&#39;three&#39; is not a number" in (
        not_a_number.text
    )
    assert 'value="kept"' in not_a_number.text  # what was typed stays in the form
    # an option the field does not have: Jira's own refusal, shown beside the field
    wrong_option = _post(client, [(f"f.{ids['treatment']}", "99999"), ("status", "10001")])
    assert wrong_option.status_code == 400 and "Option id &#39;99999&#39; is not valid" in (
        wrong_option.text
    )
    issue = sandbox.issue_json("AIMS-1", expand="changelog")
    assert issue["changelog"]["histories"] == [] and issue["fields"]["status"]["name"] == "To Do"
    # a body that is no form at all, and a stranger's cookie: answered, never a 500
    garbage = client.post("/browse/AIMS-1", content=b"\xff\x00%%%=&&", headers=FORM)
    assert garbage.status_code == 200
    client.cookies.set(COOKIE, "nobody")
    assert _post(client, [("status", "10001")]).status_code == 403
    refused = client.post("/session", data={"account": "nobody", "next": "//evil.example"})
    assert refused.status_code == 200 and str(refused.url) == sandbox.url + "/"


def test_the_rest_api_keeps_its_authentication_beside_the_pages(site) -> None:
    sandbox, _, client = site
    assert client.get(f"{API}/myself").status_code == 401
    assert httpx.get(f"{sandbox.url}/").status_code == 200


def test_the_standalone_sandbox_prints_a_webhook_secret_aims_can_use() -> None:
    lines: list[str] = []
    ready, stop = threading.Event(), threading.Event()

    def echo(line: str) -> None:
        lines.append(line)
        if line.startswith("Point aims at it"):
            ready.set()

    runner = threading.Thread(target=run_jira_sandbox, kwargs={"echo": echo, "stop": stop})
    runner.start()
    try:
        assert ready.wait(10)
    finally:
        stop.set()
        runner.join(10)
    [point] = [line for line in lines if line.startswith("Point aims at it")]
    assert "AIMS_JIRA_WEBHOOK_SECRET=" in point
    secret = point.split("AIMS_JIRA_WEBHOOK_SECRET=")[1].split()[0]
    assert len(secret) >= 32
    assert any("/browse/KEY" in line for line in lines)
