"""The Jira adapter where Jira Cloud is harder than its description: a search that trails writes
(the poll sends ``reconcileIssues``), rate limits that pace the poll (``Retry-After``,
``X-RateLimit-*`` on the injected clock), and an assignee Jira will not take (the issue is made
unassigned and the AIMS owner told). Real ``jira`` client, sandbox over HTTP, every exchange
held to Atlassian's OpenAPI description."""

from __future__ import annotations

from datetime import timedelta

import pytest
from jira_fixtures import (  # noqa: F401  (fixtures; tests/contract is on sys.path)
    jira_clock,
    jira_openapi,
    jira_receiver,
    jira_receiver_server,
    jira_sandbox,
    jira_spec_dict,
    jira_spec_recorder,
)
from test_jira_adapter import (  # noqa: F401  (fixtures)
    ENGINEER,
    FORM,
    Clock,
    app,
    conn,
    create_command,
    tracker,
)

from aims_workflows.adapters.jira import (
    InboxProcessor,
    JiraIssueTracker,
    Reconciler,
    setup_project,
)
from aims_workflows.adapters.jira import _adf as adf
from aims_workflows.adapters.jira._rate_limit import poll_not_before, rate_limit_of
from aims_workflows.errors import RetryableError
from aims_workflows.sandbox.jira import _adf as sandbox_adf
from aims_workflows.store.jira_issues import JiraIssueRecords

pytestmark = pytest.mark.filterwarnings("ignore:Unsupported scheme type:UserWarning")


def _recording(app, tracker):
    seen: list[str] = []
    processor = InboxProcessor(app.runtime, tracker, tracker.store)
    processor.apply_change = lambda change, delivery: seen.append(change.issue_key) or True  # type: ignore[method-assign]
    return processor, seen


# --- reconcileIssues --------------------------------------------------------------------------
def test_the_poll_sees_a_completion_the_lagging_search_does_not_show(
    tracker, jira_sandbox, app, jira_clock, jira_spec_recorder
):
    keys = [tracker.perform(create_command(run_id=f"R{n}"))["ref"] for n in range(2)]
    jira_clock.advance(seconds=300)  # both issues indexed long ago
    jira_sandbox.state.search_lag = 60
    with jira_sandbox.person(ENGINEER) as erin:
        erin.complete(keys[0])  # a moment ago: the search index has not caught up
    jql = 'project = "AIMS" AND labels = "aims"'
    assert keys[0] not in [i["key"] for i in tracker.jira.search(jql, fields=["id"], what="s")]

    processor, seen = _recording(app, tracker)
    assert Reconciler(processor, "AIMS").poll() == 1
    assert seen == [keys[0]]
    polls = [
        e
        for e in jira_spec_recorder.exchanges
        if e.path.endswith("/search/jql") and b"updated" in e.query_string
    ]
    asked = polls[-1].query_string.decode()
    issue_ids = sorted(str(i.id) for i in jira_sandbox.state.issues.values())
    assert all(f"reconcileIssues={i}" in asked for i in issue_ids)


def test_reconcile_names_at_most_fifty_issues_newest_first(tracker, jira_sandbox, jira_clock):
    for n in range(3):
        tracker.perform(create_command(run_id=f"R{n}"))
        jira_clock.advance(seconds=1)
    ids = tracker.store.open_issue_ids(2)
    newest = sorted(jira_sandbox.state.issues.values(), key=lambda i: int(i.id))[-2:]
    assert sorted(ids) == sorted(int(i.id) for i in newest)
    assert len(tracker.store.open_issue_ids()) == 3


# --- rate limits pace the poll ----------------------------------------------------------------
def test_a_429_holds_the_poll_until_retry_after(tracker, jira_sandbox, app, jira_clock):
    tracker.perform(create_command())
    processor, _ = _recording(app, tracker)
    reconciler = Reconciler(processor, "AIMS", interval=timedelta(seconds=60))
    jira_sandbox.faults.rate_limit(times=1, retry_after=300, path="/search/jql")
    with pytest.raises(RetryableError) as err:
        reconciler.poll()
    assert err.value.retry_after == 300
    assert reconciler.not_before == jira_clock() + timedelta(seconds=300)
    jira_clock.advance(seconds=61)  # the interval alone would poll again now
    assert not reconciler.due() and reconciler.poll() == 0
    jira_clock.advance(seconds=240)
    assert reconciler.due()
    reconciler.poll()
    assert reconciler.not_before is None  # an ordinary answer: the interval paces it again


def test_a_nearly_used_quota_holds_the_poll_until_it_resets(tracker, jira_sandbox, app, jira_clock):
    tracker.perform(create_command())
    processor, _ = _recording(app, tracker)
    reconciler = Reconciler(processor, "AIMS", interval=timedelta(seconds=60))
    jira_sandbox.faults.quota(limit=100, remaining=40, reset_in=600)
    reconciler.poll()
    assert reconciler.not_before is None  # plenty left
    jira_clock.advance(seconds=61)
    jira_sandbox.faults.quota(limit=100, remaining=3, reset_in=600)
    reconciler.poll()
    held = reconciler.not_before
    assert held is not None and held > jira_clock() + timedelta(seconds=590)
    jira_clock.advance(seconds=120)
    assert not reconciler.due()
    jira_clock.advance(seconds=500)
    assert reconciler.due()


def test_rate_limit_headers_are_read_as_jira_writes_them():
    limited = rate_limit_of(
        429,
        {
            "Retry-After": "7",
            "X-RateLimit-Limit": "100",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": "2026-01-05T10:15:30Z",
            "RateLimit-Reason": "jira-quota-global-based",
        },
    )
    assert limited is not None and limited.retry_after == 7 and limited.low
    assert limited.reset is not None and limited.reset.isoformat() == "2026-01-05T10:15:30+00:00"
    assert rate_limit_of(200, {"Content-Type": "application/json"}) is None
    odd = rate_limit_of(503, {"Retry-After": "soon", "X-RateLimit-Reset": "tomorrow"})
    assert odd is not None and odd.retry_after is None and odd.reset is None
    now = limited.reset - timedelta(seconds=100)
    # a 503 without Retry-After still waits a minute; a 429 with one waits what it says
    assert poll_not_before(now, odd) == now + timedelta(seconds=60)
    assert poll_not_before(now, limited) == limited.reset  # the later of the two


# --- an assignee Jira will not take -----------------------------------------------------------
def test_an_unassignable_assignee_gets_an_unassigned_issue_and_the_owner_is_told(
    conn, app, jira_sandbox, jira_clock
):
    setup_project(conn, "AIMS", "Task", [FORM], manage_options=False)
    owner = jira_sandbox.users[1].email
    tracker = JiraIssueTracker(
        conn,
        "AIMS",
        store=JiraIssueRecords(app.db, Clock(jira_clock)),
        clock=Clock(jira_clock),
        aims_owners=lambda: [owner],
    )
    jira_sandbox.deny_permission(ENGINEER, "ASSIGNABLE_USER")
    result = tracker.perform(create_command())
    assert result["assignee"] is None  # the ledger will not say she was assigned
    issue = jira_sandbox.issue_json(result["ref"])
    assert issue["fields"]["assignee"] is None
    [comment] = issue["fields"]["comment"]["comments"]
    text = adf.to_text(comment["body"])
    assert f"This task is for {ENGINEER}" in text and "cannot be assigned issues" in text
    assert "Assignable User permission" in text and owner in text
    assert sandbox_adf.schema_problem(comment["body"]) is None
    owner_account = jira_sandbox.user(owner).account_id
    mentions = [
        n
        for block in comment["body"]["content"]
        for n in block.get("content") or []
        if n.get("type") == "mention"
    ]
    assert [m["attrs"]["id"] for m in mentions] == [owner_account]
    # a retry finds the issue and says nothing twice
    assert tracker.perform(create_command())["ref"] == result["ref"]
    assert len(jira_sandbox.issue_json(result["ref"])["fields"]["comment"]["comments"]) == 1
