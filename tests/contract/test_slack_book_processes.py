"""Two processes (`aims serve` and `aims worker`) see the same Slack message copies: the book
keeps them in the Slack app's own tables, so a repost made by the other process is not missed;
and a database upgraded from before those tables keeps what the outbox results recorded."""

from __future__ import annotations

import json

from sqlalchemy import insert, text

from aims_workflows.adapters.slack._book import Copy, MessageBook
from aims_workflows.engine.commands import Command, command_from_dict, command_to_json
from aims_workflows.engine.state import Subject
from aims_workflows.store import Database
from aims_workflows.store.models import Approval
from aims_workflows.store.slack_messages import SlackMessageRecords
from aims_workflows.testing import ManualClock, utc

T0 = utc(2026, 6, 1, 9)
APPROVAL = "R1.signoff.1.1"
RITA = "rita@example.com"


def _open_approval(db: Database) -> None:
    with db.begin() as conn:
        conn.execute(
            insert(Approval.__table__).values(
                approval_id=APPROVAL,
                run_id="R1",
                step_id="signoff",
                content_hash="h" * 64,
                approvers=["risk_owner"],
                status="open",
                requested_at=T0,
            )
        )


def test_a_copy_reposted_by_another_process_is_seen(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'aims.db'}")
    db.upgrade()
    _open_approval(db)
    clock = ManualClock(T0)
    worker = MessageBook(SlackMessageRecords(db, clock))
    serve = MessageBook(SlackMessageRecords(db, clock), deciders=lambda run, approval: {RITA})
    first = Copy(APPROVAL, "D0AAA", "1717232400.000100", "approver", RITA, "U0RITA")
    worker.set_card("R1", APPROVAL, {"title": "Risk"}, [RITA])
    worker.add(first)
    assert [c.ts for c in serve.copies("R1", APPROVAL)] == [first.ts]

    # the worker's reminder reposts the card and retires the old copy
    second = Copy(APPROVAL, "D0AAA", "1717318800.000200", "approver", RITA, "U0RITA")
    worker.retire(APPROVAL, first.channel, first.ts)
    worker.add(second)
    worker.add(second)  # a retried command adds nothing twice

    assert [c.ts for c in serve.copies("R1", APPROVAL)] == [second.ts]
    assert serve.card("R1", APPROVAL) == {"title": "Risk"}
    assert serve.people("R1", APPROVAL) == [RITA]
    assert serve.known() == [(APPROVAL, {"title": "Risk"}, [RITA])]
    assert serve.decided("R1", APPROVAL) == {RITA} and worker.decided("R1", APPROVAL) == set()
    db.dispose()


SUBJECT = Subject(type="ai_system", id="1", name="Chatbot")


def _command(kind: str, key: str) -> Command:
    fields = {
        "approval.request": {
            "step_id": "signoff",
            "workflow": "risk",
            "title": "Risk",
            "approvers": ["risk_owner"],
            "quorum": "any",
            "channel": "direct",
            "content_hash": "ab" * 32,
            "show": {},
            "issues": [],
            "subject": SUBJECT,
        },
        "approval.remind": {"step_id": "signoff", "to": ["risk_owner"], "subject": SUBJECT},
        "approval.close": {"outcome": "approved"},
    }[kind]
    return command_from_dict(
        {"kind": kind, "key": key, "run_id": "R1", "approval_id": APPROVAL, **fields}
    )


def _done(db: Database, kind: str, key: str, result: dict) -> None:
    """A done command as the 0004 release left it (its outbox had no claim columns yet)."""
    command = _command(kind, key)
    with db.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO outbox (key, run_id, kind, payload, status, attempts, "
                "next_attempt_at, created_at, done_at, result) VALUES (:key, :run, :kind, "
                ":payload, 'done', 1, :at, :at, :at, :result)"
            ),
            {
                "key": key,
                "run": command.run_id,
                "kind": kind,
                "payload": command_to_json(command),
                "at": T0,
                "result": json.dumps(result),
            },
        )


def test_upgrading_moves_the_copies_out_of_the_outbox_results(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'aims.db'}")
    db.upgrade("0004")  # a database of the release that read copies back from the outbox
    _open_approval(db)
    first = Copy(APPROVAL, "D0AAA", "1717232400.000100", "approver", RITA, "U0RITA")
    channel = Copy(APPROVAL, "C0AIMS", "1717232400.000300", "channel")
    result = {"card": {"title": "Risk"}, "people": [RITA], "copies": [first.to_dict()]}
    _done(db, "approval.request", "R1/request", result)
    second = Copy(APPROVAL, "D0AAA", "1717318800.000200", "approver", RITA, "U0RITA")
    reminded = {"copies": [second.to_dict(), channel.to_dict()], "retired": [["D0AAA", first.ts]]}
    _done(db, "approval.remind", "R1/remind", reminded)
    _done(db, "approval.close", "R1/close", {"updated": 2})

    db.upgrade()

    book = MessageBook(SlackMessageRecords(db, ManualClock(T0)))
    assert {c.ts for c in book.copies("R1", APPROVAL)} == {second.ts, channel.ts}
    assert book.card("R1", APPROVAL) == {"title": "Risk"} and book.people("R1", APPROVAL) == [RITA]
    with db.connect() as conn:  # the outbox keeps its record of what each command did
        results = [json.loads(r) for (r,) in conn.exec_driver_sql("SELECT result FROM outbox")]
    assert results[0] == result
    db.dispose()
