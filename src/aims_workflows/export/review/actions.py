"""Section 1 of the management-review pack: the actions decided at previous reviews, and
where each stands."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, or_, select

from ...engine.evidence_kinds import RunStarted
from ..period import ClosedPeriod
from ._queries import (
    REVIEW_ACTION,
    RUNS,
    STEPS,
    artefacts_of,
    chunked,
    is_open_at,
    ledger_of,
    within,
)
from .model import LIST_LIMIT, ActionsSection, Capped, Figure, LastReview, OpenReview, ReviewAction
from .period import MANAGEMENT_REVIEW, ReviewPeriod, last_review

__all__ = ["gather_actions"]


def gather_actions(conn: Connection, rp: ReviewPeriod, as_of: datetime) -> ActionsSection:
    cur, prev = rp.current, rp.previous
    r = RUNS
    found = last_review(conn, cur.end)
    review = None
    if found is not None:
        row = conn.execute(
            select(r.c.id, r.c.started_at, r.c.completed_at).where(r.c.id == found[0])
        ).one()
        recorded = artefacts_of(conn, [row.id]).get(row.id, {})
        review = LastReview(
            row.id,
            row.started_at,
            row.completed_at,
            recorded.get("management_review_minutes", {}),
            recorded.get("management_review_input_pack", {}),
        )
    open_reviews = [
        OpenReview(x.id, x.started_at, x.current_step)
        for x in conn.execute(
            select(r.c.id, r.c.started_at, r.c.current_step)
            .where(r.c.workflow_id == MANAGEMENT_REVIEW, r.c.status.in_(("new", "running")))
            .order_by(r.c.started_at)
        )
    ]
    reviews = (
        conn.execute(
            select(r.c.completed_at).where(
                r.c.workflow_id == MANAGEMENT_REVIEW,
                r.c.status == "completed",
                r.c.completed_at >= prev.start,
                r.c.completed_at < cur.end,
            )
        )
        .scalars()
        .all()
    )

    # Actions active at any time from the start of the
    # previous period, and every action of the last review.
    wanted = [
        r.c.started_at < cur.end,
        or_(r.c.completed_at.is_(None), r.c.completed_at >= prev.start),
    ]
    decided: set[str] = set()
    if review is not None:
        # A review does not wait for its actions, so their
        # runs name no parent: its minutes list them.
        decided = {str(x) for x in review.minutes.get("action_runs") or []}
        wanted = [
            or_(
                and_(*wanted),
                r.c.parent_run_id == review.run_id,
                r.c.id.in_(sorted(decided) or [""]),
            )
        ]
    runs = conn.execute(
        select(r.c.id, r.c.parent_run_id, r.c.status, r.c.started_at, r.c.completed_at)
        .where(r.c.workflow_id == REVIEW_ACTION, *wanted)
        .order_by(r.c.started_at, r.c.id)
    ).all()
    ids = [x.id for x in runs]
    inputs: dict[str, dict[str, Any]] = {}
    spawned_by: dict[str, str] = {}
    for run_id, _, run_started in ledger_of(conn, ids, RunStarted):
        inputs[run_id] = run_started.inputs
        trigger = run_started.trigger
        if trigger.startswith("spawned by "):
            spawned_by[run_id] = trigger.removeprefix("spawned by ")
    status_of = {
        run_id: artefacts.get("review_action_status", {})
        for run_id, artefacts in artefacts_of(conn, ids).items()
    }
    tasks = tasks_of(conn, ids)

    def overdue_at(run_id: str, at: datetime) -> bool:
        return any(
            is_open_at(t.created_at, t.completed_at, at) and t.due_at is not None and t.due_at < at
            for t in tasks.get(run_id, [])
        )

    def state(x) -> str:
        done = x.completed_at is not None and x.completed_at <= as_of
        if done:
            outcome = status_of.get(x.id, {}).get("outcome")
            return str(outcome) if x.status == "completed" and outcome else x.status
        return "overdue" if overdue_at(x.id, as_of) else "open"

    def of_last(x) -> bool:
        return review is not None and (
            x.id in decided or review.run_id in (x.parent_run_id, spawned_by.get(x.id))
        )

    shown = [x for x in runs if of_last(x) or cur.overlaps(x.started_at, x.completed_at)]
    rank = {"overdue": 0, "open": 1}
    shown.sort(key=lambda x: (rank.get(state(x), 2), x.started_at, x.id))
    items = []
    for x in shown[:LIST_LIMIT]:
        task = (tasks.get(x.id) or [None])[-1]
        made = status_of.get(x.id, {})
        items.append(
            ReviewAction(
                x.id,
                str(
                    inputs.get(x.id, {}).get("action")
                    or made.get("action")
                    or "(action text not recorded)"
                ),
                inputs.get(x.id, {}).get("review_date") or made.get("review_date"),
                x.parent_run_id or spawned_by.get(x.id),
                (task.assignee or f"({task.role})") if task else None,
                task.due_at if task else None,
                state(x),
                x.started_at,
                x.completed_at if x.completed_at and x.completed_at <= as_of else None,
                made.get("what_was_done"),
            )
        )

    def count(period: ClosedPeriod, test) -> int:
        return sum(1 for x in runs if test(x, period))

    def started(x, p: ClosedPeriod) -> bool:
        return within(p, x.started_at)

    def completed(x, p: ClosedPeriod) -> bool:
        return x.status == "completed" and within(p, x.completed_at)

    def not_done(x, p: ClosedPeriod) -> bool:
        return completed(x, p) and status_of.get(x.id, {}).get("outcome") in (
            "dropped",
            "partly_done",
        )

    figures = [
        Figure(
            "Management reviews completed",
            sum(within(cur, t) for t in reviews),
            sum(within(prev, t) for t in reviews),
        ),
        Figure("Review actions started", count(cur, started), count(prev, started)),
        Figure(
            "Review actions completed", count(cur, completed), count(prev, completed), better="up"
        ),
        Figure(
            "... of which dropped or only partly done",
            count(cur, not_done),
            count(prev, not_done),
            better="down",
        ),
        Figure(
            "Review actions open",
            sum(is_open_at(x.started_at, x.completed_at, as_of) for x in runs),
            sum(is_open_at(x.started_at, x.completed_at, cur.start) for x in runs),
            state=True,
        ),
        Figure(
            "Review actions overdue",
            sum(
                is_open_at(x.started_at, x.completed_at, as_of) and overdue_at(x.id, as_of)
                for x in runs
            ),
            sum(
                is_open_at(x.started_at, x.completed_at, cur.start) and overdue_at(x.id, cur.start)
                for x in runs
            ),
            better="down",
            state=True,
        ),
    ]
    return ActionsSection(review, open_reviews, Capped(items, len(shown)), figures)


def tasks_of(conn: Connection, run_ids: list[str]) -> dict[str, list[Any]]:
    s = STEPS
    found: dict[str, list[Any]] = {}
    for chunk in chunked(run_ids):
        for row in conn.execute(
            select(s.c.run_id, s.c.role, s.c.assignee, s.c.created_at, s.c.due_at, s.c.completed_at)
            .where(s.c.run_id.in_(chunk))
            .order_by(s.c.created_at, s.c.id)
        ):
            found.setdefault(row.run_id, []).append(row)
    return found
