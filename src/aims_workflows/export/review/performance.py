"""Section 2 of the management-review pack: the performance of the AIMS (runs, tasks,
approvals and coverage, against the KPI targets)."""

from __future__ import annotations

import statistics
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select

from ..period import ClosedPeriod
from ._queries import APPROVALS, RUNS, STEPS, between
from .model import Figure, PerformanceSection, Tally
from .period import ReviewPeriod
from .state import open_work

__all__ = ["gather_performance"]


def gather_performance(
    conn: Connection,
    rp: ReviewPeriod,
    as_of: datetime,
    snapshots: dict,
    targets: Any,
    notes: list[str],
) -> PerformanceSection:

    cur, prev = rp.current, rp.previous
    start, end = snapshots["start"], snapshots["end"]
    work_start, work_end = open_work(conn, cur.start), open_work(conn, as_of)

    def coverage(kpi: str, label: str, target: float) -> Figure:
        return Figure(
            label,
            end.ratio(kpi),
            start.ratio(kpi),
            "ratio",
            "up",
            target,
            f"{start.current(kpi):,} of {len(start.in_scope):,} at the start, "
            f"{end.current(kpi):,} of {len(end.in_scope):,} at the end",
            state=True,
        )

    kpis = [
        coverage(
            "risk_assessment",
            "In-scope AI systems with a current risk assessment",
            targets.risk_assessment_coverage,
        ),
        coverage(
            "impact_assessment",
            "In-scope AI systems with a current impact assessment",
            targets.impact_assessment_coverage,
        ),
        Figure("Open tasks", work_end.tasks, work_start.tasks, state=True),
        Figure(
            "Overdue tasks",
            work_end.overdue_tasks,
            work_start.overdue_tasks,
            better="down",
            target=targets.overdue_tasks,
            state=True,
        ),
        Figure("Open approvals", work_end.approvals, work_start.approvals, state=True),
        Figure(
            "Open nonconformities",
            work_end.nonconformities,
            work_start.nonconformities,
            better="down",
            state=True,
        ),
    ]

    s, a = STEPS, APPROVALS
    # Counted in SQL: a year on 10,000 AI systems completes tens of thousands of tasks.
    late = and_(s.c.due_at.is_not(None), s.c.completed_at > s.c.due_at)
    tasks = conn.execute(
        select(
            func.count().filter(between(s.c.completed_at, cur)),
            func.count().filter(between(s.c.completed_at, prev)),
            func.count().filter(and_(between(s.c.completed_at, cur), late)),
            func.count().filter(and_(between(s.c.completed_at, prev), late)),
        ).where(s.c.status == "done", s.c.completed_at >= prev.start, s.c.completed_at < cur.end)
    ).one()
    decided = a.c.status.in_(("approved", "rejected"))
    approvals = conn.execute(
        select(
            func.count().filter(between(a.c.closed_at, cur)),
            func.count().filter(between(a.c.closed_at, prev)),
            func.count().filter(and_(between(a.c.closed_at, cur), a.c.status == "rejected")),
            func.count().filter(and_(between(a.c.closed_at, prev), a.c.status == "rejected")),
        ).where(decided, a.c.closed_at >= prev.start, a.c.closed_at < cur.end)
    ).one()

    def median_hours(p: ClosedPeriod) -> float | None:
        values = (
            conn.execute(
                select(a.c.latency_seconds).where(
                    decided, between(a.c.closed_at, p), a.c.latency_seconds.is_not(None)
                )
            )
            .scalars()
            .all()
        )
        return statistics.median(values) / 3600 if values else None

    activity = [
        Figure("Tasks completed", tasks[0], tasks[1]),
        Figure("... of which after their due date", tasks[2], tasks[3], better="down"),
        Figure("Approvals decided", approvals[0], approvals[1]),
        Figure("... of which rejected", approvals[2], approvals[3]),
        Figure(
            "Median approval latency",
            median_hours(cur),
            median_hours(prev),
            "hours",
            "down",
            targets.median_approval_latency_hours,
            "approvals decided in the period, from request to decision",
        ),
    ]
    return PerformanceSection(kpis, activity, workflow_tally(conn, rp, as_of), notes)


def workflow_tally(conn: Connection, rp: ReviewPeriod, as_of: datetime) -> Tally:
    cur, prev = rp.current, rp.previous
    r = RUNS
    done = r.c.status == "completed"
    query = (
        select(
            r.c.workflow_id,
            func.count().filter(between(r.c.started_at, prev)),
            func.count().filter(between(r.c.started_at, cur)),
            func.count().filter(and_(done, between(r.c.completed_at, prev))),
            func.count().filter(and_(done, between(r.c.completed_at, cur))),
            func.count().filter(
                and_(
                    r.c.started_at <= as_of,
                    or_(r.c.completed_at.is_(None), r.c.completed_at > as_of),
                )
            ),
        )
        .where(
            r.c.started_at < cur.end,
            or_(r.c.completed_at.is_(None), r.c.completed_at >= prev.start),
        )
        .group_by(r.c.workflow_id)
        .order_by(r.c.workflow_id)
    )
    return Tally(
        (
            "started, previous period",
            "started, this period",
            "completed, previous period",
            "completed, this period",
            "open at the end",
        ),
        [(row[0], tuple(int(v or 0) for v in row[1:])) for row in conn.execute(query)],
    )
