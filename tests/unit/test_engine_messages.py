"""Events and commands are typed: one frozen model per kind, read back from JSON through the
union, and the outbox stores and reads them (rows of older releases included)."""

from __future__ import annotations

import json
from typing import get_args

import pytest
from pydantic import ValidationError
from sqlalchemy import insert, select

from aims_workflows.engine import (
    COMMAND_KINDS,
    EVENT_KINDS,
    Actor,
    CancelChildRun,
    Command,
    CreateTask,
    Event,
    RefuseDecision,
    ReplyTo,
    SpawnRun,
    Subject,
    TaskCompleted,
    advance,
    command_from_json,
    command_to_json,
    parse_event,
)
from aims_workflows.store import Database, outbox
from aims_workflows.store.models import OutboxItem
from aims_workflows.testing import utc
from conftest import AUDITOR, ENGINEER, RISK_OWNER, Driver, ai_system, fixture_spec, organisation

T0 = utc(2026, 6, 1, 9)


def _members(union) -> list[type]:
    return list(get_args(get_args(union)[0]))


def test_every_kind_has_exactly_one_model():
    commands = [m.model_fields["kind"].default for m in _members(Command)]
    events = [m.model_fields["kind"].default for m in _members(Event)]
    assert sorted(commands) == sorted(COMMAND_KINDS) and len(set(commands)) == len(commands)
    assert sorted(events) == sorted(EVENT_KINDS) and len(set(events)) == len(events)


def test_messages_are_frozen():
    event = TaskCompleted(step_id="assess", answers={})
    with pytest.raises(ValidationError):
        event.step_id = "other"  # type: ignore[misc]  # the assignment under test


def _commands_of_a_whole_run() -> list[Command]:
    """Every command the risk and audit fixtures produce, from request to close."""
    risk = Driver(fixture_spec("risk-assessment"), ai_system())
    risk.start()
    risk.send("task.created", ENGINEER, step_id="assess", attempt=1, ref="AIMS-1")
    risk.tick(days=40)
    risk.complete("assess", answers={"likelihood": 3, "impact": 4, "rationale": "customer facing"})
    risk.decide(RISK_OWNER, reason="")
    risk.decide(RISK_OWNER, reason="fine")
    audit = Driver(fixture_spec("internal-audit"), organisation(), run_id="audit-1")
    audit.start()
    audit.complete(audit.run.current, AUDITOR, answers={"failed_areas": ["risk"]})
    audit.send("run.cancel", reason="withdrawn")
    return risk.commands + audit.commands


def test_every_command_survives_its_json_round_trip():
    commands = _commands_of_a_whole_run()
    assert {"task.create", "approval.request", "run.start", "run.cancel"} <= {
        c.kind for c in commands
    }
    for command in commands:
        text = command_to_json(command)
        assert json.loads(text)["kind"] == command.kind
        assert command_from_json(text) == command


def test_a_stored_command_of_an_unknown_kind_is_refused():
    with pytest.raises(ValidationError, match="task.fly"):
        command_from_json('{"kind": "task.fly", "key": "k", "run_id": "r"}')


def test_events_parse_from_plain_data_with_their_actor():
    event = parse_event(
        {
            "kind": "approval.decided",
            "actor": {"id": "rita@example.com", "via": "slack", "roles": ["risk_owner"]},
            "approval_id": "R1.signoff.1.1",
            "decision": "approve",
            "eligible": ["rita@example.com"],
            "reply_to": {"channel": "C1", "user": "U1"},
        }
    )
    assert event.actor == Actor("rita@example.com", "slack", ("risk_owner",))
    assert event.eligible == ("rita@example.com",) and event.reply_to == ReplyTo(
        channel="C1", user="U1"
    )


def test_a_refusal_answers_where_the_person_clicked():
    d = Driver(fixture_spec("risk-assessment"), ai_system())
    d.start()
    d.complete("assess", answers={"likelihood": 3, "impact": 4, "rationale": "customer facing"})
    where = ReplyTo(channel="C042", user="U0RITA")
    t = d.decide(RISK_OWNER, reason="", reply_to=where)
    [refusal] = t.commands
    assert isinstance(refusal, RefuseDecision) and refusal.response == where


def test_advance_without_the_copy_changes_the_given_run_and_gives_the_same_result():
    d = Driver(fixture_spec("risk-assessment"), ai_system())
    d.start()
    event = TaskCompleted(actor=ENGINEER, step_id="assess", attempt=1, answers={"impact": 1})
    copied = advance(d.spec, d.run, event, T0)
    run = d.run.model_copy(deep=True)
    owned = advance(d.spec, run, event, T0, copy=False)
    assert owned == copied and owned.run is run and d.run != run


# -- the outbox -------------------------------------------------------------------------------


@pytest.fixture
def db(tmp_path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 'aims.db'}")
    database.upgrade()
    return database


def test_the_outbox_stores_the_model_and_reads_it_back(db):
    subject = Subject(type="ai_system", id="7", name="Chatbot")
    command = SpawnRun(
        key="R1/raise/1/spawn/1",
        run_id="R1",
        child_run_id="R1.raise1.1",
        workflow="nonconformity",
        inputs={"area": "risk"},
        subject=subject,
    )
    with db.begin() as conn:
        outbox.enqueue(conn, [command], T0)
        [claimed] = outbox.claim_due(conn, T0)
    assert claimed.command == command


def _legacy_row(db, kind: str, key: str, payload: dict) -> None:
    """A row as releases before typed commands wrote it: the payload without kind, key, run."""
    with db.begin() as conn:
        conn.execute(
            insert(OutboxItem.__table__).values(
                key=key,
                run_id="R1",
                kind=kind,
                payload=json.dumps(payload),
                status="pending",
                attempts=0,
                next_attempt_at=T0,
                created_at=T0,
            )
        )


def test_rows_written_before_commands_were_typed_are_still_carried_out(db):
    _legacy_row(db, "run.cancel", "R1/cancel-child/R1.x1.1", {"run_id": "R1.x1.1", "reason": "r"})
    _legacy_row(
        db,
        "task.create",
        "R1/assess/1/task",
        {
            "step_id": "assess",
            "attempt": 1,
            "workflow": "risk",
            "title": "Assess",
            "description": "",
            "role": "engineer",
            "subject": {"type": "ai_system", "id": "7", "name": "Chatbot", "owner": None},
            "form": [{"id": "impact", "type": "number", "label": "Impact"}],
            "due_at": None,
            "priority": "medium",
            "previous_answers": None,
        },
    )
    with db.begin() as conn:
        cancel, create = (c.command for c in outbox.claim_due(conn, T0))
    assert cancel == CancelChildRun(
        key="R1/cancel-child/R1.x1.1", run_id="R1", child_run_id="R1.x1.1", reason="r"
    )
    assert isinstance(create, CreateTask) and create.form[0].id == "impact"


def test_a_row_that_cannot_be_read_is_parked_with_the_reason_not_claimed_forever(db):
    _legacy_row(db, "task.cancel", "R1/a/1/cancel", {"ref": 12})
    with db.begin() as conn:
        assert outbox.claim_due(conn, T0) == []
    table = OutboxItem.__table__
    with db.connect() as conn:
        status, error = conn.execute(select(table.c.status, table.c.last_error)).one()
    assert status == "dead" and error.startswith("the stored command cannot be read: ")
    assert "task_key" in error or "ref" in error
