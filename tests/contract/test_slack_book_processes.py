"""Two processes (`aims serve` and `aims worker`) see the same Slack message copies: the book
reads the outbox results every time, so a repost made by the other process is not missed."""

from __future__ import annotations

from aims_workflows.adapters.slack._book import Copy, MessageBook
from aims_workflows.engine.commands import Command, command_from_dict
from aims_workflows.engine.state import Subject
from aims_workflows.store import Database, outbox
from aims_workflows.testing import utc

T0 = utc(2026, 6, 1, 9)
APPROVAL = "R1.signoff.1.1"


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
    }[kind]
    return command_from_dict(
        {"kind": kind, "key": key, "run_id": "R1", "approval_id": APPROVAL, **fields}
    )


def _done(db: Database, kind: str, key: str, result: dict) -> None:
    with db.begin() as conn:
        outbox.enqueue(conn, [_command(kind, key)], T0)
        item = outbox.claim_due(conn, T0, kinds=[kind])[0]
        outbox.complete(conn, item.id, T0, result)


def test_a_copy_reposted_by_another_process_is_seen(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'aims.db'}")
    db.upgrade()
    first = Copy(APPROVAL, "D0AAA", "1717232400.000100", "approver", "rita@example.com", "U0RITA")
    _done(
        db,
        "approval.request",
        "R1/request",
        {"card": {"title": "Risk"}, "people": ["rita@example.com"], "copies": [first.to_dict()]},
    )
    serve = MessageBook(db)
    assert [c.ts for c in serve.copies("R1", APPROVAL)] == [first.ts]

    # the worker's reminder reposts the card and retires the old copy
    second = Copy(APPROVAL, "D0AAA", "1717318800.000200", "approver", "rita@example.com", "U0RITA")
    _done(
        db,
        "approval.remind",
        "R1/remind",
        {"copies": [second.to_dict()], "retired": [["D0AAA", first.ts]]},
    )

    assert [c.ts for c in serve.copies("R1", APPROVAL)] == [second.ts]
    assert serve.card("R1", APPROVAL) == {"title": "Risk"} and serve.people("R1", APPROVAL) == [
        "rita@example.com"
    ]
    db.dispose()
