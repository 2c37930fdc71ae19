"""Contract tests: the Jira adapter (tracker, setup, inbound mapping, poll) against the Jira
sandbox over HTTP with the real ``jira`` client, every exchange held to Atlassian's OpenAPI
description (the ``jira_sandbox`` fixture fails the test on any nonconforming exchange)."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

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
from sqlalchemy import select

from aims_workflows.adapters.jira import (
    FieldMap,
    InboxProcessor,
    JiraConnection,
    JiraIssueTracker,
    Reconciler,
    answers_from_issue,
    idem_label,
    parse_change,
    setup_project,
    to_event,
    translate,
)
from aims_workflows.adapters.jira import _adf as adf
from aims_workflows.app import open_app
from aims_workflows.config import Settings
from aims_workflows.engine import TaskCompleted
from aims_workflows.engine.commands import (
    AttachEvidence,
    CancelTask,
    CreateTask,
    EscalateTask,
    InvalidateApproval,
    RecordAttachments,
    RefuseAnswers,
    RemindTask,
)
from aims_workflows.engine.evidence import canonical_json
from aims_workflows.engine.evidence_kinds import evidence_payload, parse_evidence
from aims_workflows.engine.state import Subject
from aims_workflows.errors import ConfigError, PermanentError, RetryableError
from aims_workflows.store import Database
from aims_workflows.store import ledger as ledger_store
from aims_workflows.store.jira_issues import JiraIssueRecords
from aims_workflows.store.models_jira import JiraIssue

pytestmark = pytest.mark.filterwarnings("ignore:Unsupported scheme type:UserWarning")

ENGINEER = "erin.engineer@example.com"
FORM = [
    {
        "id": "risk_title",
        "type": "text",
        "label": "Risk title",
        "max_length": 120,
        "required": True,
    },
    {"id": "risk_description", "type": "text", "label": "Risk description", "required": True},
    {"id": "likelihood", "type": "number", "label": "Likelihood", "required": True},
    {
        "id": "treatment",
        "type": "choice",
        "label": "Treatment",
        "choices": ["accept", "mitigate"],
        "required": True,
    },
    {
        "id": "sources",
        "type": "multi_choice",
        "label": "Risk sources",
        "choices": ["privacy", "safety"],
        "required": True,
    },
    {"id": "target_date", "type": "date", "label": "Plan completed by", "required": False},
    {"id": "action_owner", "type": "user", "label": "Person responsible", "required": False},
    {"id": "link", "type": "url", "label": "Test report", "required": False},
    {"id": "tested", "type": "bool", "label": "Tested", "required": False},
]


class Clock:
    def __init__(self, fake) -> None:
        self.fake = fake

    def now(self) -> datetime:
        return self.fake()


@pytest.fixture
def app(tmp_path, jira_clock):
    (tmp_path / "aims.yaml").write_text(f"roles:\n  engineer: [{ENGINEER}]\n")
    url = f"sqlite:///{tmp_path / 'aims.db'}"
    Database(url).upgrade()
    return open_app(
        Settings(database_url=url, config=tmp_path / "aims.yaml"), clock=Clock(jira_clock)
    )


@pytest.fixture
def conn(jira_sandbox) -> JiraConnection:
    return JiraConnection(jira_sandbox.url, *jira_sandbox.credentials())


@pytest.fixture
def tracker(conn, app, jira_clock) -> JiraIssueTracker:
    setup_project(conn, "AIMS", "Task", [FORM], manage_options=False)
    store = JiraIssueRecords(app.db, Clock(jira_clock))
    return JiraIssueTracker(conn, "AIMS", store=store, clock=Clock(jira_clock))


CHATBOT = Subject(type="ai_system", id="1", name="Chatbot")


def create_command(
    run_id: str = "R1", step: str = "identify", attempt: int = 1, **extra
) -> CreateTask:
    fields = {
        "step_id": step,
        "attempt": attempt,
        "workflow": "ai-risk-assessment",
        "title": "Identify a risk of Chatbot",
        "description": "Describe one risk.\nThen rate it.",
        "role": "engineer",
        "assignee": ENGINEER,
        "subject": CHATBOT,
        "form": FORM,
        "due_at": "2025-01-16T09:00:00.000000Z",
        "priority": "high",
        "previous_answers": None,
        **extra,
    }
    return CreateTask(key=f"{run_id}/{step}/{attempt}/task", run_id=run_id, **fields)


def issues(sandbox) -> list[str]:
    with sandbox.state.lock:
        return sorted(i.key for i in sandbox.state.issues.values())


# --- setup ------------------------------------------------------------------------------------
def test_setup_creates_the_fields_once_and_maps_them_the_second_time(conn, jira_sandbox):
    first = setup_project(conn, "AIMS", "Task", [FORM, FORM[:2]], manage_options=False)
    assert first.ok, first.problems
    created = [line for line in first.done if line.startswith("created")]
    assert len(created) == len(FORM)
    second = setup_project(conn, "AIMS", "Task", [FORM], manage_options=False)
    assert not [line for line in second.done if line.startswith("created")]
    assert second.fields == first.fields
    kinds = {
        f.name: f.schema["custom"].rsplit(":", 1)[-1]
        for f in jira_sandbox.state.fields.values()
        if f.custom
    }
    assert kinds["Risk title"] == "textfield" and kinds["Risk description"] == "textarea"
    assert (
        kinds["Treatment"] == "select"
        and kinds["Risk sources"] == "multiselect"
        and kinds["Tested"] == "select"
    )


def test_setup_reports_a_missing_issue_type_a_type_clash_and_a_missing_project(conn, jira_sandbox):
    with pytest.raises(ConfigError, match="no issue type 'AIMS Task'"):
        setup_project(conn, "AIMS", "AIMS Task", [FORM], manage_options=False)
    report = setup_project(conn, "AIMS", "Task", [FORM], manage_options=False, dry_run=True)
    assert any(line.startswith("would create 'Risk title'") for line in report.done)
    assert not report.changed
    jira_sandbox.add_custom_field("Likelihood", "textfield")
    fields_before = set(jira_sandbox.state.fields)
    # a clash stops setup before its first change: nothing half-done
    with pytest.raises(ConfigError, match="'Likelihood' exists with type textfield, not float"):
        setup_project(conn, "AIMS", "Task", [FORM], manage_options=False)
    assert set(jira_sandbox.state.fields) == fields_before
    with pytest.raises(ConfigError, match="cannot use Jira project NOPE") as err:
        setup_project(conn, "NOPE", "Task", [FORM], manage_options=False)
    assert "AIMS_JIRA_PROJECT" in err.value.hint


def test_aims_jira_setup_command_against_the_sandbox(jira_sandbox, monkeypatch, tmp_path, capsys):
    from aims_workflows.cli import main

    email, token = jira_sandbox.credentials()
    for name, value in {
        "URL": jira_sandbox.url,
        "EMAIL": email,
        "API_TOKEN": token,
        "PROJECT": "AIMS",
    }.items():
        monkeypatch.setenv(f"AIMS_JIRA_{name}", value)
    monkeypatch.setenv("AIMS_CONFIG", str(tmp_path / "none.yaml"))
    main(["jira", "setup", "--no-options"])
    out = capsys.readouterr().out
    assert "project AIMS" in out and "created 'Risk title'" in out
    assert token not in out


# --- task.create ------------------------------------------------------------------------------
def test_create_sets_summary_description_assignee_due_date_labels_priority_and_property(
    tracker, jira_sandbox
):
    result = tracker.perform(create_command())
    key = result["ref"]
    assert result["assignee"] == ENGINEER
    fields = jira_sandbox.issue_json(key)["fields"]
    assert fields["summary"] == "Identify a risk of Chatbot"
    assert fields["assignee"]["accountId"] == jira_sandbox.user(ENGINEER).account_id
    assert fields["duedate"] == "2025-01-16"
    assert fields["priority"]["name"] == "High"
    assert set(fields["labels"]) == {
        "aims",
        idem_label("R1/identify/1/task"),
        "aims-ai-risk-assessment",
    }
    text = adf.to_text(fields["description"])
    assert (
        "Describe one risk." in text
        and "Risk title (required)" in text
        and "Tested (optional)" in text
    )
    with jira_sandbox.state.lock:
        prop = jira_sandbox.state.issue(key).properties["aims.task"]
    assert prop["key"] == "R1/identify/1/task" and prop["step_id"] == "identify"
    assert set(prop["fields"]) == {f["id"] for f in FORM}


def test_a_retried_create_returns_the_same_issue(tracker, conn, jira_sandbox, app):
    first = tracker.perform(create_command())
    again = tracker.perform(create_command())
    assert again["ref"] == first["ref"]
    # Without the mapping table (another worker, a lost commit) the label still finds it.
    bare = JiraIssueTracker(conn, "AIMS")
    assert bare.perform(create_command())["ref"] == first["ref"]
    assert issues(jira_sandbox) == [first["ref"]]
    with app.db.connect() as c:
        assert c.execute(select(JiraIssue.__table__.c.issue_key)).scalars().all() == [first["ref"]]


def test_previous_answers_are_filled_in_on_a_reopened_task(tracker, jira_sandbox):
    previous = {
        "risk_title": "Drift",
        "risk_description": "Line one\nLine two",
        "likelihood": 3,
        "treatment": "mitigate",
        "sources": ["privacy"],
        "target_date": "2025-02-01",
        "action_owner": ENGINEER,
        "tested": True,
        "link": "https://example.com/report",
    }
    key = tracker.perform(create_command(attempt=2, previous_answers=previous))["ref"]
    issue = jira_sandbox.issue_json(key)
    with jira_sandbox.state.lock:
        mapping = {
            k: tuple(v)
            for k, v in jira_sandbox.state.issue(key).properties["aims.task"]["fields"].items()
        }
    # Erin's e-mail is private in Jira: the user field holds her accountId only
    assert "emailAddress" not in issue["fields"][mapping["action_owner"][0]]
    assert answers_from_issue(mapping, issue["fields"])["action_owner"].startswith("712020:")
    # the tracker knows whose account it assigned (it found it by her full address)
    answers = answers_from_issue(mapping, issue["fields"], tracker.email_of)
    assert answers == {**previous, "action_owner": ENGINEER, "tested": "Yes"}


def test_unknown_assignee_leaves_the_issue_unassigned(tracker, jira_sandbox):
    key = tracker.perform(create_command(assignee="nobody@example.com"))["ref"]
    assert jira_sandbox.issue_json(key)["fields"]["assignee"] is None


# --- errors ----------------------------------------------------------------------------------
def test_429_and_503_are_retryable_with_retry_after(tracker, jira_sandbox, jira_clock):
    tracker.account_of(ENGINEER)
    jira_sandbox.faults.rate_limit(times=1, retry_after=7, path="/search/jql")
    with pytest.raises(RetryableError) as err:
        tracker.perform(create_command())
    assert err.value.retry_after == 7 and "429" in str(err.value)
    jira_sandbox.faults.unavailable(times=1, retry_after=30, path="/issue$")
    with pytest.raises(RetryableError) as err:
        tracker.perform(create_command())
    assert err.value.retry_after == 30
    jira_sandbox.faults.server_error(times=1, path="/issue$")
    with pytest.raises(RetryableError) as err:
        tracker.perform(create_command())
    assert err.value.retry_after is None
    assert issues(jira_sandbox) == []
    # a 500 does not say whether the issue was made: the search gets time to show it first
    with pytest.raises(RetryableError, match="does not show it yet"):
        tracker.perform(create_command())
    jira_clock.advance(seconds=121)
    assert tracker.perform(create_command())["ref"] == "AIMS-1"


def test_a_retried_creation_under_search_lag_makes_one_issue(tracker, jira_sandbox, jira_clock):
    """Jira creates the issue but the answer is lost (a 504 from its edge), and its search
    does not show new issues for a minute: the retry finds it at once, asking the search to
    reconcile the ids an issue made since could have, instead of creating a second."""
    tracker.account_of(ENGINEER)
    jira_sandbox.state.search_lag = 60
    jira_sandbox.faults.gateway_timeout_after_processing(path="/issue$", method="POST")
    with pytest.raises(RetryableError, match="504"):
        tracker.perform(create_command())
    assert issues(jira_sandbox) == ["AIMS-1"]  # made, though the caller never heard

    jira_clock.advance(seconds=20)
    assert tracker.perform(create_command())["ref"] == "AIMS-1"
    assert issues(jira_sandbox) == ["AIMS-1"]
    assert tracker.perform(create_command())["ref"] == "AIMS-1"  # now from the mapping


def test_a_long_multi_line_title_becomes_a_summary_jira_accepts(tracker, jira_sandbox, conn):
    title = "Assess the risk of\nChatbot   for " + "customers " * 40
    ref = tracker.perform(create_command(title=title))["ref"]
    summary = conn.issue(ref, fields="summary", what="read")["fields"]["summary"]
    assert "\n" not in summary and len(summary) == 255 and summary.endswith("\u2026")
    assert summary.startswith("Assess the risk of Chatbot for customers")
    # what Jira itself says to a summary with a newline, and to a label with a space
    with pytest.raises(PermanentError, match="newline"):
        conn.create_issue(
            {"project": {"key": "AIMS"}, "issuetype": {"name": "Task"}, "summary": "a\nb"},
            what="create",
        )
    with pytest.raises(PermanentError, match="contains spaces"):
        conn.create_issue(
            {
                "project": {"key": "AIMS"},
                "issuetype": {"name": "Task"},
                "summary": "x",
                "labels": ["two words"],
            },
            what="create",
        )


def test_search_lag_hides_new_issues_unless_reconciled(conn, jira_sandbox, jira_clock):
    jira_sandbox.state.search_lag = 30
    created = conn.create_issue(
        {"project": {"key": "AIMS"}, "issuetype": {"name": "Task"}, "summary": "fresh"},
        what="create",
    )
    jql = 'project = "AIMS"'
    assert list(conn.search(jql, fields=["summary"], what="search")) == []
    found = conn.call(
        "POST",
        "search/jql",
        what="search",
        json={"jql": jql, "fields": ["summary"], "reconcileIssues": [int(created["id"])]},
    )
    assert [i["key"] for i in found["issues"]] == [created["key"]]
    jira_clock.advance(seconds=31)
    assert [i["key"] for i in conn.search(jql, fields=["summary"], what="search")] == [
        created["key"]
    ]


def test_a_deleted_project_and_a_removed_field_are_permanent_with_a_reason(tracker, jira_sandbox):
    field_id = FieldMap(tracker.jira.call("GET", "field", what="x")).by_key[("Likelihood", "float")]
    jira_sandbox.faults.remove_field(field_id)
    with pytest.raises(PermanentError, match="no custom field for 'Likelihood'") as err:
        tracker.perform(create_command())
    assert "aims jira setup" in str(err.value)
    jira_sandbox.faults.delete_project("AIMS")
    with pytest.raises(PermanentError, match="Jira answered (400|404)"):
        tracker.perform(create_command(run_id="R2", form=FORM[:1]))


def test_wrong_credentials_are_permanent_and_never_show_the_token(jira_sandbox):
    conn = JiraConnection(jira_sandbox.url, "aims-bot@example.com", "ATATT-wrong-token-123")
    with pytest.raises(PermanentError) as err:
        conn.call("GET", "myself", what="read the account")
    assert "401" in str(err.value) and "AIMS_JIRA_API_TOKEN" in str(err.value)
    assert "ATATT-wrong-token-123" not in str(err.value) + repr(conn)


def test_connection_refused_is_retryable():
    conn = JiraConnection("http://127.0.0.1:9", "a@example.com", "t", timeout=2)
    with pytest.raises(RetryableError, match="not reachable"):
        conn.call("GET", "myself", what="read the account")
    assert translate(ValueError("x"), "y").__class__ is ValueError


# --- other commands ---------------------------------------------------------------------------
def _comments(sandbox, key: str) -> list[str]:
    return [
        adf.to_text(c["body"]) for c in sandbox.issue_json(key)["fields"]["comment"]["comments"]
    ]


def test_refusal_moves_the_issue_back_with_a_plain_comment_once(tracker, jira_sandbox):
    key = tracker.perform(create_command())["ref"]
    with jira_sandbox.person(ENGINEER) as erin:
        erin.complete(key)
    refuse = RefuseAnswers(
        key="R1/identify/1/refused/3",
        run_id="R1",
        step_id="identify",
        ref=key,
        problems=("Risk title: an answer is required.",),
        task_key="R1/identify/1/task",
    )
    tracker.perform(refuse)
    tracker.perform(refuse)
    fields = jira_sandbox.issue_json(key)["fields"]
    assert fields["status"]["statusCategory"]["key"] != "done"
    comments = _comments(jira_sandbox, key)
    assert len(comments) == 1
    assert (
        "Risk title: an answer is required." in comments[0]
        and "move it to Done again" in comments[0]
    )


def test_reminder_escalation_and_cancel(tracker, jira_sandbox, app):
    key = tracker.perform(create_command())["ref"]
    remind = RemindTask(
        key="R1/identify.1.reminder.1",
        run_id="R1",
        step_id="identify",
        ref=key,
        to=("engineer",),
        subject=CHATBOT,
    )
    tracker.perform(remind)
    tracker.perform(remind)
    tracker.perform(
        EscalateTask(
            key="R1/identify.1.escalate",
            run_id="R1",
            step_id="identify",
            ref=key,
            to=("aims_owner",),
            people=("ana@example.com",),
            subject=CHATBOT,
        )
    )
    assert jira_sandbox.issue_json(key)["fields"]["priority"]["name"] == "High"
    tracker.perform(
        CancelTask(
            key="R1/identify/1/cancel",
            run_id="R1",
            ref=key,
            task_key="R1/identify/1/task",
            reason="the system was retired",
        )
    )
    fields = jira_sandbox.issue_json(key)["fields"]
    assert (
        fields["status"]["statusCategory"]["key"] == "done" and "aims-cancelled" in fields["labels"]
    )
    comments = _comments(jira_sandbox, key)
    assert (
        len(comments) == 3
        and "escalated to ana@example.com" in comments[1]
        and "retired" in comments[2]
    )
    unissued = RemindTask(
        key="R9/x", run_id="R9", step_id="identify", ref=None, to=("engineer",), subject=CHATBOT
    )
    assert tracker.perform(unissued)["skipped"]
    # whether the task is open is the run's to say: the mapping only says which task it is
    assert tracker.store.find_issue(key=key)["run_id"] == "R1"
    assert "status" not in JiraIssue.__table__.c


def test_evidence_is_attached_once_and_engineer_attachments_are_hashed_into_the_ledger(
    tracker, jira_sandbox, app
):
    key = tracker.perform(create_command())["ref"]
    attach = AttachEvidence(
        key="R1/identify/1/jira-evidence",
        run_id="R1",
        ref=key,
        filename="aims-evidence-identify-1.json",
        content=json.dumps({"records": [1]}),
    )
    tracker.perform(attach)
    assert tracker.perform(attach)["existing"]
    report = b"%PDF-1.4 model card"
    with jira_sandbox.person(ENGINEER) as erin:
        erin.attach(key, "model-card.pdf", report, "application/pdf")
    record = RecordAttachments(
        key="R1/jira-attachments/a", run_id="R1", ref=key, step_id="identify"
    )
    first = tracker.perform(record)
    assert len(first["recorded"]) == 1
    assert (
        tracker.perform(RecordAttachments(key="R1/jira-attachments/b", run_id="R1", ref=key))[
            "recorded"
        ]
        == []
    )
    with app.db.connect() as c:
        rows = [r for r in ledger_store.iter_rows(c, kind="attachment.recorded")]
    assert len(rows) == 1
    # the row keeps to the evidence contract and writes back to its stored bytes
    recorded = parse_evidence(rows[0].kind, rows[0].payload)
    assert canonical_json(evidence_payload(recorded)) == rows[0].payload
    payload = json.loads(rows[0].payload) if isinstance(rows[0].payload, str) else rows[0].payload
    assert (
        payload["sha256"] == hashlib.sha256(report).hexdigest()
        and payload["filename"] == "model-card.pdf"
    )
    assert rows[0].actor == ENGINEER and rows[0].via == "jira"
    names = [a["filename"] for a in jira_sandbox.issue_json(key)["fields"]["attachment"]]
    assert names == ["aims-evidence-identify-1.json", "model-card.pdf"]


def test_unknown_command_kind_is_permanent(tracker):
    with pytest.raises(PermanentError):
        tracker.perform(
            InvalidateApproval(key="k", run_id="R1", approval_id="R1.a.1.1", reason="changed")
        )


# --- inbound --------------------------------------------------------------------------------
def test_webhook_payloads_map_to_completed_and_updated_events(
    tracker, jira_sandbox, jira_receiver, app
):
    key = tracker.perform(create_command())["ref"]
    with app.db.connect() as c:
        row = {**c.execute(select(JiraIssue.__table__)).first()._mapping, "status": "open"}
    mapping = row["fields"]
    with jira_sandbox.person(ENGINEER) as erin:
        erin.fill_in(
            key,
            {
                mapping["risk_title"][0]: "Drift",
                mapping["treatment"][0]: {"value": "accept"},
                mapping["risk_description"][0]: adf.from_text("Model drifts\nquietly"),
                mapping["sources"][0]: [{"value": "privacy"}],
                mapping["likelihood"][0]: 2.0,
            },
        )
        erin.comment(key, "done soon")
        erin.complete(key)
    jira_sandbox.deliver_webhooks()
    payloads = jira_receiver.payloads()
    decisions = [to_event(parse_change(p), row, person=ENGINEER) for p in payloads]
    completed = [d.event for d in decisions if d.event is not None]
    assert len(completed) == 1
    event = completed[0]
    assert (
        event.kind == "task.completed"
        and event.step_id == "identify"
        and event.attempt == 1
        and event.ref == key
    )
    assert isinstance(event, TaskCompleted) and event.answers == {
        "risk_title": "Drift",
        "treatment": "accept",
        "risk_description": "Model drifts\nquietly",
        "sources": ["privacy"],
        "likelihood": 2.0,
    }
    assert {d.reason for d in decisions if d.event is None} == {"no change the engine acts on"}
    done = {**row, "status": "completed"}
    edit = {
        **payloads[0],
        "changelog": {
            "id": "1",
            "items": [{"field": "Risk title", "fieldId": mapping["risk_title"][0]}],
        },
    }
    assert to_event(parse_change(edit), done, person=ENGINEER).event.kind == "task.updated"
    assert to_event(parse_change(payloads[-1]), None, person=ENGINEER).reason.endswith(
        "is not an issue of the engine"
    )
    assert (
        to_event(parse_change(payloads[-1]), {**row, "status": "cancelled"}, person=ENGINEER).event
        is None
    )
    assert parse_change({"webhookEvent": "comment_created"}) is None and parse_change([1]) is None


def test_reconciliation_polls_search_jql_page_by_page(
    tracker, jira_sandbox, app, jira_spec_recorder
):
    keys = [tracker.perform(create_command(run_id=f"R{n}"))["ref"] for n in range(5)]
    seen = []
    processor = InboxProcessor(app.runtime, tracker, tracker.store)
    processor.apply_change = lambda change, delivery: seen.append(change.issue_key) or True  # type: ignore[method-assign]
    with jira_sandbox.person(ENGINEER) as erin:
        for key in keys[:3]:
            erin.complete(key)
    assert Reconciler(processor, "AIMS").poll() == 3
    assert sorted(seen) == sorted(keys[:3])
    pages = [
        e
        for e in jira_spec_recorder.exchanges
        if e.path.endswith("/search/jql")
        and b"labels" in e.query_string
        and b"updated" in e.query_string
    ]
    assert len(pages) == 3 and sum(b"nextPageToken" in e.query_string for e in pages) == 2
