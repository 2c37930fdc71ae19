"""``aims inbox parked | retry`` through the real CLI on a SQLite file: parked deliveries listed
with why (as a table and as JSON), put back in the queue one by one or all at once, and each
retry recorded in the ledger with who did it and why each delivery had been parked."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from aims_workflows.engine import evidence_kinds as ev
from aims_workflows.engine.evidence import canonical_json
from aims_workflows.runtime import Delivery, inbound
from aims_workflows.store import Database, inbox, ledger

pytestmark = pytest.mark.usefixtures("ready")

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def park(tmp_path, source: str, delivery_id: str, reason: str, run_id: str | None = None):
    db = Database(f"sqlite:///{tmp_path / 'aims.db'}")
    with db.begin() as conn:
        inbox.claim(conn, source, delivery_id, '{"issue": 1}', NOW)
        assert inbound.park(conn, Delivery(source, delivery_id, run_id=run_id), reason, NOW)
    db.dispose()


def statuses(tmp_path) -> dict[str, str]:
    db = Database(f"sqlite:///{tmp_path / 'aims.db'}")
    with db.connect() as conn:
        found = {d: inbox.status_of(conn, s, d) for s, d in (("jira", "d-1"), ("slack", "d-2"))}
    db.dispose()
    return {k: str(v) for k, v in found.items()}


def test_parked_deliveries_are_listed_with_why(aims, tmp_path):
    assert "no parked deliveries" in aims("inbox", "parked").out
    park(tmp_path, "jira", "d-1", "cannot be applied: labels is not a list", run_id="R1")
    park(tmp_path, "slack", "d-2", "cannot be applied: KeyError: 'actions'")
    table = aims("inbox", "parked")
    assert table.code == 0, table
    assert "d-1" in table.out and "labels is not a list" in table.out and "R1" in table.out
    listed = json.loads(aims("inbox", "parked", "--format", "json").out)
    assert [(p["source"], p["delivery_id"], p["run_id"]) for p in listed] == [
        ("slack", "d-2", None),
        ("jira", "d-1", "R1"),
    ]
    assert listed[1]["reason"] == "cannot be applied: labels is not a list"
    bad = aims("inbox", "parked", "--format", "xml")
    assert bad.code == 1 and "unknown format 'xml'" in bad.err


def test_retry_puts_one_or_all_back_and_records_it(aims, tmp_path):
    park(tmp_path, "jira", "d-1", "cannot be applied: labels is not a list", run_id="R1")
    park(tmp_path, "slack", "d-2", "cannot be applied: KeyError: 'actions'")
    one = aims("inbox", "retry", "d-1", "--as", "amy@example.com")
    assert one.code == 0 and "1 deliveries put back in the queue" in one.out, one
    assert statuses(tmp_path) == {"d-1": "received", "d-2": "parked"}
    rest = aims("inbox", "retry", "--all")
    assert rest.code == 0 and "1 deliveries put back" in rest.out
    assert statuses(tmp_path) == {"d-1": "received", "d-2": "received"}
    listed = aims("evidence", "list", "--json", "--kind", "inbox.retried", "--limit", "10")
    rows = [json.loads(line) for line in listed.out.splitlines() if line.strip()]
    assert len(rows) == 2
    first = rows[0] if rows[0]["actor"] == "amy@example.com" else rows[1]
    assert first["payload"]["deliveries"] == [
        {
            "source": "jira",
            "delivery_id": "d-1",
            "run_id": "R1",
            "parked_because": "cannot be applied: labels is not a list",
        }
    ]
    assert aims("evidence", "verify").code == 0
    db = Database(f"sqlite:///{tmp_path / 'aims.db'}")
    with db.connect() as conn:
        stored = [r for r in ledger.iter_rows(conn) if r.kind == "inbox.retried"]
    db.dispose()
    for row in stored:  # each row reads back through its model byte for byte
        parsed = ev.parse_evidence(row.kind, row.payload)
        assert canonical_json(ev.evidence_payload(parsed)) == row.payload


def test_retry_says_what_is_wrong_with_its_arguments(aims, tmp_path):
    neither = aims("inbox", "retry")
    assert neither.code == 1 and "name one delivery or give --all" in neither.err
    both = aims("inbox", "retry", "d-1", "--all")
    assert both.code == 1 and "name one delivery or give --all" in both.err
    unknown = aims("inbox", "retry", "d-404")
    assert unknown.code == 1 and "no parked delivery 'd-404'" in unknown.err
    nothing = aims("inbox", "retry", "--all")
    assert nothing.code == 0 and "no parked deliveries" in nothing.out
