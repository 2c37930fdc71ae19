"""Section 3 of the management-review pack: nonconformities, their corrective actions and
the effectiveness checks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, or_, select

from ...engine.evidence_kinds import TaskCompleted
from ..period import ClosedPeriod
from ._queries import (
    FINDINGS,
    capped_tally,
    days_between,
    is_open_at,
    ledger_of,
    parse_time,
    within,
)
from .model import LIST_LIMIT, Capped, Figure, NonconformityRow, NonconformitySection, Tally
from .period import ReviewPeriod

__all__ = ["findings_between", "gather_nonconformities", "source_label"]


def findings_between(conn: Connection, since: datetime, until: datetime) -> Sequence[Any]:
    """Findings active at any time from ``since`` to ``until`` (the two periods)."""
    f = FINDINGS
    return conn.execute(
        select(f)
        .where(f.c.raised_at < until, or_(f.c.closed_at.is_(None), f.c.closed_at >= since))
        .order_by(f.c.raised_at, f.c.id)
    ).all()


def source_label(source: str) -> str:
    """``internal-audit/R0A1...`` -> ``internal-audit``: the workflow that raised it."""
    return source.split("/", 1)[0] if source else "(not stated)"


def effectiveness_checks(conn: Connection, run_ids: list[str]) -> list[tuple[str, datetime, bool]]:
    """Effectiveness checks: task answers with a yes/no ``effective`` in these corrective runs."""
    found = []
    for run_id, recorded_at, completed in ledger_of(conn, run_ids, TaskCompleted):
        effective = completed.answers.get("effective")
        if isinstance(effective, bool):
            found.append((run_id, parse_time(recorded_at), effective))
    return found


def gather_nonconformities(
    conn: Connection, rp: ReviewPeriod, as_of: datetime, findings: Sequence[Any], targets: Any
) -> NonconformitySection:

    cur, prev = rp.current, rp.previous
    checks = effectiveness_checks(
        conn, [f.corrective_run_id for f in findings if f.corrective_run_id]
    )
    last_check = {run_id: effective for run_id, _, effective in checks}

    def closed_in(f, p: ClosedPeriod) -> bool:
        return f.status == "closed" and within(p, f.closed_at)

    def mean_days(at: datetime) -> float | None:
        # the KPI itself (from the finding to its corrective action implemented, open ones by
        # their age), as it stood at that moment: the review and `aims kpi` give one figure
        from ...kpi.measures import nonconformity_days

        return nonconformity_days(conn, at, targets).value

    def open_at(f, at: datetime) -> bool:
        return is_open_at(f.raised_at, f.closed_at if f.status == "closed" else None, at)

    def n(test, p) -> int:
        return sum(1 for f in findings if test(f, p))

    def raised(f, p: ClosedPeriod) -> bool:
        return within(p, f.raised_at)

    def major(f, p: ClosedPeriod) -> bool:
        return raised(f, p) and f.severity == "major"

    figures = [
        # Fewer nonconformities raised may mean fewer problems or less looking: no verdict on it.
        Figure("Nonconformities raised", n(raised, cur), n(raised, prev)),
        Figure("... of which major", n(major, cur), n(major, prev)),
        Figure("Nonconformities closed", n(closed_in, cur), n(closed_in, prev)),
        Figure(
            "Nonconformities open",
            sum(open_at(f, as_of) for f in findings),
            sum(open_at(f, cur.start) for f in findings),
            better="down",
            state=True,
        ),
        Figure(
            "Mean days to close",
            mean_days(as_of),
            mean_days(cur.start),
            "days",
            "down",
            targets.mean_days_to_close_nonconformity,
            "to the corrective action implemented, open ones by their age; at the end and "
            "the start of the period, as aims kpi",
            state=True,
        ),
        Figure(
            "Effectiveness checks: effective",
            sum(1 for _, at, ok in checks if ok and within(cur, at)),
            sum(1 for _, at, ok in checks if ok and within(prev, at)),
        ),
        Figure(
            "Effectiveness checks: not effective (back to root cause)",
            sum(1 for _, at, ok in checks if not ok and within(cur, at)),
            sum(1 for _, at, ok in checks if not ok and within(prev, at)),
            better="down",
        ),
    ]

    def tally(key, others: str) -> Tally:
        counts: dict[str, list[int]] = {}
        for f in findings:
            marks = (raised(f, prev), raised(f, cur), closed_in(f, cur), open_at(f, as_of))
            if any(marks):
                row = counts.setdefault(key(f), [0, 0, 0, 0])
                for i, mark in enumerate(marks):
                    row[i] += mark
        return capped_tally(
            (
                "raised, previous period",
                "raised, this period",
                "closed, this period",
                "open at the end",
            ),
            counts,
            others,
        )

    shown = [f for f in findings if raised(f, cur) or closed_in(f, cur) or open_at(f, as_of)]
    shown.sort(key=lambda f: (0 if open_at(f, as_of) else 1, f.raised_at, f.id))
    items = []
    for f in shown[:LIST_LIMIT]:
        closed = f.closed_at if f.status == "closed" and f.closed_at <= as_of else None
        items.append(
            NonconformityRow(
                f.id,
                f.title,
                f.severity,
                source_label(f.source),
                f.system_name,
                "closed" if closed else "open",
                f.raised_at,
                closed,
                days_between(f.raised_at, closed or as_of),
                f.corrective_run_id,
                last_check.get(f.corrective_run_id),
            )
        )
    return NonconformitySection(
        figures,
        tally(lambda f: source_label(f.source), "other sources"),
        tally(lambda f: f.severity or "(not rated)", "other severities"),
        Capped(items, len(shown)),
    )
