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
            "task.completed", {"answers": {"likelihood": 3}, "by": "ana@example.com", "attempt": 1}
        )
    )
    assert short == "task 'assess' completed by ana@example.com via jira: likelihood=3"
    long = describe(
        _row(
            "task.completed",
            {"answers": {"rationale": "x" * 1000}, "by": "ana@example.com", "attempt": 1},
        )
    )
    assert len(long) == 400 and long.endswith("x…")


def test_a_row_missing_a_field_still_gets_a_line():
    assert (
        describe(_row("approval.closed", {"outcome": "approved"}))
        == "approval.closed by ana@example.com via jira"
    )
