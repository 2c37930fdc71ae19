"""Migration 0005 on both backends: an existing database keeps its Jira issue mapping (without
the second copy of the task's status) and its Slack copies move out of the outbox results into
the Slack app's own tables; the Jira storage answers what the Jira adapter asks."""

from __future__ import annotations

import json

from sqlalchemy import insert, text

from aims_workflows.engine.evidence import EvidenceRecord
from aims_workflows.store import Database
from aims_workflows.store.jira_issues import JiraIssueRecords
from aims_workflows.store.models import Approval, OutboxItem
from aims_workflows.store.slack_messages import SlackMessageRecords
from aims_workflows.testing import ManualClock, utc

T0 = utc(2026, 6, 1, 9)


def test_upgrading_keeps_the_issue_mapping_and_moves_the_slack_copies(db_url: str) -> None:
    db = Database(db_url)
    db.upgrade("0004")
    with db.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO jira_issues (issue_id, issue_key, idem_key, run_id, step_id, attempt,"
                " fields, status, created_at, updated_at) VALUES ('10001', 'AIMS-1', 'R1/i/1/task',"
                " 'R1', 'identify', 1, :fields, 'completed', :at, :at)"
            ),
            {"at": T0, "fields": json.dumps({"risk": ["customfield_1", "text"]})},
        )
        conn.execute(
            insert(Approval.__table__).values(
                approval_id="R1.sign.1.1",
                run_id="R1",
                step_id="sign",
                content_hash="h" * 64,
                approvers=["top_management"],
                status="open",
                requested_at=T0,
            )
        )
        copy = {
            "approval_id": "R1.sign.1.1",
            "channel": "D0TOM",
            "ts": "1.000100",
            "role": "approver",
            "person": "tom@example.com",
            "user": "U0TOM",
        }
        result = {"card": {"title": "Release"}, "people": ["tom@example.com"], "copies": [copy]}
        # a request as the outbox of that release held it, done: the command's payload as JSON
        # and the Slack copies in its result
        conn.execute(
            insert(OutboxItem.__table__).values(
                key="R1/req",
                run_id="R1",
                kind="approval.request",
                payload=json.dumps({"approval_id": "R1.sign.1.1"}),
                status="done",
                attempts=1,
                next_attempt_at=T0,
                created_at=T0,
                done_at=T0,
                result=json.dumps(result),
            )
        )

    db.upgrade()

    clock = ManualClock(T0)
    issues = JiraIssueRecords(db, clock)
    row = issues.find_issue(key="AIMS-1")
    assert row is not None and "status" not in row
    assert row["fields"] == {"risk": ["customfield_1", "text"]} and row["attempt"] == 1
    slack = SlackMessageRecords(db, clock)
    assert [(c.channel, c.ts, c.person) for c in slack.copies("R1.sign.1.1")] == [
        ("D0TOM", "1.000100", "tom@example.com")
    ]
    [request] = slack.open_requests()
    assert request.card == {"title": "Release"} and request.people == ["tom@example.com"]
    db.dispose()


def test_the_jira_store_records_an_attachment_and_its_ledger_row_once(database: Database) -> None:
    clock = ManualClock(T0)
    issues = JiraIssueRecords(database, clock)
    issues.remember_issue(
        issue_id="10001",
        issue_key="AIMS-1",
        idem_key="R1/identify/1/task",
        run_id="R1",
        step_id="identify",
        attempt=1,
        fields={},
    )
    assert issues.issues_of_run("R1") == ["AIMS-1"] and issues.issues_of_parent("R1") == []
    assert issues.open_since() == T0  # run R1 is not known to be over
    evidence = EvidenceRecord(
        "attachment.recorded", "R1", "identify", "erin@example.com", "jira", T0, {"size": 3}, "K"
    )
    kwargs = {"issue_key": "AIMS-1", "filename": "a.pdf", "size": 3, "sha256": "0" * 64}
    assert issues.record_attachment(attachment_id="9", evidence=evidence, **kwargs)
    assert not issues.record_attachment(attachment_id="9", evidence=evidence, **kwargs)
    assert issues.attachment_recorded("9") and not issues.attachment_recorded("10")
    [row] = issues.evidence_rows(0, 10)
    assert row["kind"] == "attachment.recorded" and row["payload"] == {"size": 3}
    issues.set_cursor("jira.reconcile", T0)
    assert issues.cursor("jira.reconcile") == T0
