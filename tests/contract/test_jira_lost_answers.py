"""A create Jira carried out whose outcome the process did not live to act on: the answer was
lost (a 504 from Atlassian's edge after Jira made the issue), or the process stopped between
the create and the comment saying the assignee was refused. On a SQLite file and on
PostgreSQL, real ``jira`` client against the sandbox over HTTP: one issue, one comment."""

from __future__ import annotations

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
from test_jira_adapter import ENGINEER, FORM, Clock, conn, create_command, issues  # noqa: F401

from aims_workflows.adapters.jira import JiraIssueTracker, setup_project
from aims_workflows.adapters.jira import _adf as adf
from aims_workflows.adapters.jira._tracker import SEARCH_SETTLE_SECONDS
from aims_workflows.errors import RetryableError
from aims_workflows.store.jira_issues import JiraIssueRecords

pytestmark = pytest.mark.filterwarnings("ignore:Unsupported scheme type:UserWarning")


@pytest.fixture
def start(database, conn, jira_sandbox, jira_clock):  # noqa: F811
    # database first: where PostgreSQL is not configured it skips before the sandbox starts
    """A tracker as a fresh process makes it: nothing in memory, everything in the database.
    Call it again for the process that runs after a crash."""
    setup_project(conn, "AIMS", "Task", [FORM], manage_options=False)
    owner = jira_sandbox.users[1].email

    def started() -> JiraIssueTracker:
        return JiraIssueTracker(
            conn,
            "AIMS",
            store=JiraIssueRecords(database, Clock(jira_clock)),
            clock=Clock(jira_clock),
            aims_owners=lambda: [owner],
        )

    return started


def _comments(sandbox, key: str) -> list[str]:
    comments = sandbox.issue_json(key)["fields"]["comment"]["comments"]
    return [adf.to_text(c["body"]) for c in comments]


def test_a_stop_between_the_create_and_the_unassignable_comment_still_posts_it_once(
    start, jira_sandbox
):
    jira_sandbox.deny_permission(ENGINEER, "ASSIGNABLE_USER")
    # the process is stopped after Jira made the issue, before its comment got through
    jira_sandbox.faults.unavailable(times=1, path=r"/comment$", method="POST")
    with pytest.raises(RetryableError):
        start().perform(create_command())
    assert issues(jira_sandbox) == ["AIMS-1"] and _comments(jira_sandbox, "AIMS-1") == []

    result = start().perform(create_command())  # after the restart
    assert result == {"ref": "AIMS-1", "assignee": None}
    [said] = _comments(jira_sandbox, "AIMS-1")
    assert f"This task is for {ENGINEER}" in said and "cannot be assigned issues" in said

    # a further restart, and a retry of a command already carried out: nothing said twice
    assert start().perform(create_command()) == {"ref": "AIMS-1", "assignee": None}
    assert len(_comments(jira_sandbox, "AIMS-1")) == 1
    assert issues(jira_sandbox) == ["AIMS-1"]


def test_a_stop_after_the_comment_before_it_was_recorded_does_not_post_it_again(
    start, jira_sandbox
):
    jira_sandbox.deny_permission(ENGINEER, "ASSIGNABLE_USER")
    # Jira posts the comment; the process never hears so (nor records it)
    jira_sandbox.faults.lose_successful_answers(path=r"/comment$", method="POST")
    with pytest.raises(RetryableError, match="504"):
        start().perform(create_command())
    assert len(_comments(jira_sandbox, "AIMS-1")) == 1
    assert start().perform(create_command()) == {"ref": "AIMS-1", "assignee": None}
    assert len(_comments(jira_sandbox, "AIMS-1")) == 1


def test_an_unassigned_create_whose_answer_was_lost_gets_one_issue_and_one_comment(
    start, jira_sandbox
):
    jira_sandbox.deny_permission(ENGINEER, "ASSIGNABLE_USER")
    jira_sandbox.state.search_lag = 10 * SEARCH_SETTLE_SECONDS
    # the first create is refused for its assignee; the unassigned one is made, unheard
    jira_sandbox.faults.lose_successful_answers(path="/issue$", method="POST")
    with pytest.raises(RetryableError, match="504"):
        start().perform(create_command())
    assert issues(jira_sandbox) == ["AIMS-1"]

    assert start().perform(create_command()) == {"ref": "AIMS-1", "assignee": None}
    assert issues(jira_sandbox) == ["AIMS-1"]
    assert len(_comments(jira_sandbox, "AIMS-1")) == 1


def test_a_create_whose_answer_was_lost_is_found_however_long_the_search_lags(
    start, jira_sandbox, jira_clock
):
    """Before, a retry waited out the search's usual settling time and then, the search
    still lagging, made a second issue."""
    tracker = start()
    jira_sandbox.state.search_lag = 10 * SEARCH_SETTLE_SECONDS
    assert tracker.perform(create_command(run_id="R0"))["ref"] == "AIMS-1"  # an earlier issue
    jira_sandbox.faults.gateway_timeout_after_processing(path="/issue$", method="POST")
    with pytest.raises(RetryableError, match="504"):
        tracker.perform(create_command())
    assert issues(jira_sandbox) == ["AIMS-1", "AIMS-2"]

    jira_clock.advance(seconds=SEARCH_SETTLE_SECONDS + 1)
    assert start().perform(create_command())["ref"] == "AIMS-2"
    assert issues(jira_sandbox) == ["AIMS-1", "AIMS-2"]
    property_value = jira_sandbox.issue_json("AIMS-2", properties=["aims.task"])
    assert property_value["properties"]["aims.task"]["key"] == create_command().key


def test_issues_made_elsewhere_since_do_not_hide_the_lost_one(start, jira_sandbox, conn):  # noqa: F811
    """Other projects' issues take ids too: the lost issue is looked for past the first window."""
    tracker = start()
    jira_sandbox.state.search_lag = 10 * SEARCH_SETTLE_SECONDS
    tracker.perform(create_command(run_id="R0"))
    for n in range(60):  # made by people between the last known issue and the lost one
        conn.create_issue(
            {"project": {"key": "AIMS"}, "issuetype": {"name": "Task"}, "summary": f"other {n}"},
            what="create",
        )
    jira_sandbox.faults.gateway_timeout_after_processing(path="/issue$", method="POST")
    with pytest.raises(RetryableError, match="504"):
        tracker.perform(create_command())
    lost = issues(jira_sandbox)
    assert start().perform(create_command())["ref"] == "AIMS-62"
    assert issues(jira_sandbox) == lost
