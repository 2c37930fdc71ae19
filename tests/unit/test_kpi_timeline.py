"""The plain-words line of a ledger row (``aims runs show``, the dashboard's run page)."""

from __future__ import annotations

import json

from aims_workflows.engine.evidence import ChainedEvidence
from aims_workflows.kpi.timeline import describe


def _row(kind: str, payload: dict) -> ChainedEvidence:
    return ChainedEvidence(
        7,
        kind,
        "R1",
        "assess",
        "ana@example.com",
        "jira",
        "2026-03-01T09:00:00Z",
        "2026-03-01T09:00:00Z",
        json.dumps(payload),
        None,
        "0" * 64,
        "1" * 64,
    )


def test_long_answers_are_cut_with_a_mark_and_short_ones_kept_whole():
    short = describe(
        _row(
            "task.completed",
            {"answers": {"likelihood": 3}, "by": "ana@example.com", "attempt": 1, "overdue": False},
        )
    )
    assert short == "task 'assess' completed by ana@example.com via jira: likelihood=3"
    long = describe(
        _row(
            "task.completed",
            {
                "answers": {"rationale": "x" * 1000},
                "by": "ana@example.com",
                "attempt": 1,
                "overdue": True,
            },
        )
    )
    assert len(long) == 400 and long.endswith("x…")


def test_a_row_missing_a_field_still_gets_a_line():
    assert (
        describe(_row("approval.closed", {"outcome": "approved"}))
        == "approval.closed by ana@example.com via jira"
    )


def test_a_row_of_a_kind_outside_the_contract_gets_the_generic_line():
    assert describe(_row("note", {"n": 1})) == "note by ana@example.com via jira"


def test_timestamps_are_shown_as_their_day():
    overdue = _row("approval.overdue", {"due_at": "2026-03-02T23:59:59.000000Z"})
    assert describe(overdue) == "'assess' is overdue (due 2026-03-02)"
    waiting = _row("wait.started", {"until": "2026-04-01T00:00:00.000000Z", "duration_seconds": 60})
    assert describe(waiting) == "waiting until 2026-04-01"
