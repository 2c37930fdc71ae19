"""Management reviews and their actions, driven through the real runtime, for the review-pack
tests (``from review_world import ...``)."""

from __future__ import annotations

from typing import Any

REVIEW_ANSWERS: dict[str, dict[str, Any]] = {
    "previous_actions": {"summary": "First review", "open_actions": 0, "overdue_actions": 0},
    "context_changes": {
        "external_issues": "New AI regulation in force",
        "internal_issues": "A new product line",
        "interested_parties": "Customers ask how answers are made",
        "scope_affected": False,
    },
    "performance": {
        "nonconformities": "one minor",
        "monitoring_results": "on target",
        "audit_results": "IA-2026-1: one minor",
        "objectives": "met",
    },
    "risk_status": {
        "open_risks": 2,
        "above_appetite": 0,
        "overdue_treatments": 0,
        "summary": "all treated",
    },
    "opportunities": {"opportunities": "Automate the evidence collection"},
}


def management_review(
    h,
    actions: list[str],
    *,
    conclusion: str = "needs_improvement",
    review_date: str = "2026-03-20",
    improvements: str = "Speed up approvals",
) -> str:
    """A management review from start to minutes: inputs, proposed decisions, two members of top
    management approving, one review-action run per line of ``actions``. Returns its run id."""
    run = h.rt.start("management-review").run.run_id
    h.pump()
    for step, answers in REVIEW_ANSWERS.items():
        h.complete(step, dict(answers), run_id=run)
    h.complete(
        "decisions",
        {
            "review_date": review_date,
            "attendees": "Tom, Tina, Amy",
            "conclusion": conclusion,
            "improvements": improvements,
            "aims_changes": False,
            "resources": "One more auditor",
            "actions": "\n".join(actions),
        },
        run_id=run,
    )
    h.decide("tom@example.com", reason="agreed", run_id=run)
    h.decide("tina@example.com", reason="agreed too", run_id=run)
    h.pump()
    assert h.run_row(run).status == "completed", h.run_row(run)
    return run


def action_runs(h, review: str) -> list[str]:
    """The review-action runs a review started, in the order of its action lines."""
    from sqlalchemy import text

    with h.db.connect() as conn:
        return list(
            conn.execute(
                text(
                    "SELECT id FROM runs WHERE workflow_id = "
                    "'review-action' AND id LIKE :p ORDER BY id"
                ),
                {"p": f"{review}.%"},
            ).scalars()
        )


def carry_out(h, run_id: str, outcome: str = "done", what: str = "Done as decided") -> None:
    answers = {"outcome": outcome, "what_was_done": what}
    if outcome != "done":
        answers["reason_dropped"] = "No budget this year"
    h.complete("carry_out", answers, run_id=run_id)
    assert h.run_row(run_id).status == "completed"


HIGH_RISK = {
    "identify": {
        "risk_title": "Unfair scores",
        "risk_description": "Scores depend on postcode",
        "risk_sources": ["bias_fairness"],
        "affected_parties": "applicants",
        "likelihood": 4,
        "impact": 4,
        "rating_rationale": "seen in tests",
    },
    "treat": {
        "treatment": "mitigate",
        "treatment_plan": "Drop the postcode feature",
        "action_owner": "eve@example.com",
        "target_date": "2026-04-01",
        "residual_likelihood": 3,
        "residual_impact": 4,
        "rationale": "still material",
    },
}
"""Inherent 16 (high), residual 12 (medium): above the appetite, so top management accepts it."""


def assess_high_risk(h, run_id: str, *, accepted_by: str = "tom@example.com") -> None:
    h.complete("identify", dict(HIGH_RISK["identify"]), run_id=run_id)
    h.complete("treat", dict(HIGH_RISK["treat"]), run_id=run_id)
    h.decide(accepted_by, reason="accepted while the plan runs", run_id=run_id)
    assert h.run_row(run_id).status == "completed"
