"""What the compliance dashboard shows, gathered from the projections in a few indexed queries.

Every list is capped (or paged, for the AI systems) and carries its full count, so the page says
"N more" instead of loading ten thousand rows; nothing here reads the evidence ledger (its chain
status comes from :mod:`.chain_status`, which caches it).

>>> with db.connect() as conn:                                                    # doctest: +SKIP
...     data = gather(conn, clock.now(), organisation="Example Ltd", targets=KpiTargets())
>>> data.overdue.total, [t.run_id for t in data.overdue.items]                    # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, and_, case, func, or_, select

from ..config import KpiTargets
from ..store.models import AISystem, Approval, Finding, InboxItem, Run, StepRecord
from .capped import Capped
from .chain_status import ChainStatus
from .queries import Kpi, KpiContext, compute_kpis

__all__ = [
    "DashboardData",
    "Capped",
    "Assessment",
    "SystemRow",
    "Coverage",
    "OverdueTask",
    "OpenApproval",
    "OpenFinding",
    "RecentRun",
    "gather",
    "EXPIRING_WITHIN",
    "LIST_LIMIT",
    "SYSTEMS_PAGE_SIZE",
    "RECENT_RUNS",
]

EXPIRING_WITHIN = timedelta(days=30)
"""An assessment that lapses within this is flagged, so it can be renewed before coverage drops."""
LIST_LIMIT = 50
SYSTEMS_PAGE_SIZE = 50
RECENT_RUNS = 20

_SYSTEMS, _STEPS, _APPROVALS = AISystem.__table__, StepRecord.__table__, Approval.__table__
_FINDINGS, _RUNS = Finding.__table__, Run.__table__


@dataclass(frozen=True)
class Assessment:
    """A risk or impact assessment of one AI system, as of ``now``."""

    state: str  # "current", "expiring", "expired" or "never"
    valid_until: datetime | None
    days: int | None  # days left (negative: days since it lapsed)

    @property
    def gap(self) -> bool:
        return self.state in ("expired", "never")

    @classmethod
    def of(
        cls, valid_until: datetime | None, now: datetime, soon: timedelta = EXPIRING_WITHIN
    ) -> Assessment:
        if valid_until is None:
            return cls("never", None, None)
        days = (valid_until - now).days  # floor: lapsed an hour ago is day -1
        if valid_until <= now:
            return cls("expired", valid_until, days)
        return cls("expiring" if valid_until - now <= soon else "current", valid_until, days)


@dataclass(frozen=True)
class SystemRow:
    name: str
    owner: str
    risk_tier: str
    lifecycle_stage: str
    risk: Assessment
    impact: Assessment


@dataclass(frozen=True)
class Coverage:
    """A page of in-scope AI systems, worst first, and counts over all of them."""

    rows: list[SystemRow]
    in_scope: int
    page: int
    page_size: int
    risk_gaps: int  # expired or never assessed
    impact_gaps: int
    expiring: int  # either assessment lapses within EXPIRING_WITHIN

    @property
    def first(self) -> int:
        return (self.page - 1) * self.page_size + 1 if self.rows else 0

    @property
    def last(self) -> int:
        return (self.page - 1) * self.page_size + len(self.rows)

    @property
    def pages(self) -> int:
        return max((self.in_scope + self.page_size - 1) // self.page_size, 1)


@dataclass(frozen=True)
class OverdueTask:
    run_id: str
    workflow_id: str | None
    subject_name: str | None
    step_id: str
    title: str
    who: str  # the assignee, or the role when the task was not assigned yet
    due_at: datetime
    overdue_for: timedelta
    ref: str | None  # the Jira issue key (or other tracker reference)
    escalated: bool  # the engine has marked it overdue (reminders and escalation ran)


@dataclass(frozen=True)
class OpenApproval:
    approval_id: str
    run_id: str
    workflow_id: str | None
    subject_name: str | None
    step_id: str
    approvers: list[str]  # as the step names them: roles (or people)
    people: list[str]  # who holds those roles in aims.yaml
    requested_at: datetime
    age: timedelta


@dataclass(frozen=True)
class OpenFinding:
    id: str
    title: str
    severity: str
    clause: str | None
    system_name: str | None
    raised_at: datetime
    age: timedelta
    corrective_run_id: str | None


@dataclass(frozen=True)
class RecentRun:
    id: str
    workflow_id: str
    spec_version: int
    subject_name: str
    status: str
    current_step: str | None
    started_at: datetime
    completed_at: datetime | None


@dataclass(frozen=True)
class DashboardData:
    organisation: str
    generated_at: datetime
    targets: KpiTargets
    kpis: list[Kpi]
    coverage: Coverage
    open_tasks: int
    due_soon: int  # open tasks due within the next 7 days
    overdue: Capped[OverdueTask]
    approvals: Capped[OpenApproval]
    findings: Capped[OpenFinding]
    runs: list[RecentRun]
    chain: ChainStatus | None = None
    parked: int = 0  # inbound deliveries set aside because they cannot be applied
    expired_approvals: int = 0  # requests nobody decided in time (not rejections)


def _count(conn: Connection, table, *where) -> int:
    return conn.scalar(select(func.count()).select_from(table).where(*where)) or 0


def _coverage(conn: Connection, now: datetime, page: int, page_size: int) -> Coverage:
    s = _SYSTEMS
    risk, impact = s.c.risk_valid_until, s.c.impact_valid_until
    soon = now + EXPIRING_WITHIN
    in_scope = s.c.in_scope.is_(True)
    # Worst first: never assessed, then lapsed, then lapsing soon, then current; within a group the
    # earlier of the two dates first (the one to act on), then by name for a stable order.
    rank = case(
        (or_(risk.is_(None), impact.is_(None)), 0),
        (or_(risk <= now, impact <= now), 1),
        (or_(risk <= soon, impact <= soon), 2),
        else_=3,
    )
    earliest = case(
        (and_(risk.is_not(None), impact.is_not(None), risk <= impact), risk), else_=impact
    )
    total = _count(conn, s, in_scope)
    pages = max((total + page_size - 1) // page_size, 1)
    page = min(max(page, 1), pages)
    rows = conn.execute(
        select(s.c.name, s.c.owner, s.c.risk_tier, s.c.lifecycle_stage, risk, impact)
        .where(in_scope)
        .order_by(rank, earliest.nulls_first(), s.c.name)
        .limit(page_size)
        .offset((page - 1) * page_size)
    ).all()
    gaps = conn.execute(
        select(
            func.count().filter(or_(risk.is_(None), risk <= now)),
            func.count().filter(or_(impact.is_(None), impact <= now)),
            func.count().filter(
                or_(and_(risk > now, risk <= soon), and_(impact > now, impact <= soon))
            ),
        ).where(in_scope)
    ).one()
    return Coverage(
        [
            SystemRow(
                r.name,
                r.owner,
                r.risk_tier,
                r.lifecycle_stage,
                Assessment.of(r.risk_valid_until, now),
                Assessment.of(r.impact_valid_until, now),
            )
            for r in rows
        ],
        total,
        page,
        page_size,
        gaps[0] or 0,
        gaps[1] or 0,
        gaps[2] or 0,
    )


def _overdue(conn: Connection, now: datetime, limit: int) -> Capped[OverdueTask]:
    t, r = _STEPS, _RUNS
    late = (t.c.status == "open", t.c.due_at < now)
    rows = conn.execute(
        select(
            t.c.run_id,
            t.c.step_id,
            t.c.title,
            t.c.assignee,
            t.c.role,
            t.c.due_at,
            t.c.external_ref,
            t.c.overdue,
            r.c.workflow_id,
            r.c.subject_name,
        )
        .select_from(t.outerjoin(r, r.c.id == t.c.run_id))
        .where(*late)
        .order_by(t.c.due_at, t.c.id)
        .limit(limit)
    ).all()
    items = [
        OverdueTask(
            x.run_id,
            x.workflow_id,
            x.subject_name,
            x.step_id,
            x.title,
            x.assignee or f"({x.role})",
            x.due_at,
            now - x.due_at,
            x.external_ref,
            bool(x.overdue),
        )
        for x in rows
    ]
    return Capped(items, _count(conn, t, *late))


def _approvals(
    conn: Connection, now: datetime, limit: int, roles: Mapping[str, list[str]]
) -> Capped[OpenApproval]:
    a, r = _APPROVALS, _RUNS
    rows = conn.execute(
        select(
            a.c.approval_id,
            a.c.run_id,
            a.c.step_id,
            a.c.approvers,
            a.c.requested_at,
            r.c.workflow_id,
            r.c.subject_name,
        )
        .select_from(a.outerjoin(r, r.c.id == a.c.run_id))
        .where(a.c.status == "open")
        .order_by(a.c.requested_at, a.c.approval_id)
        .limit(limit)
    ).all()

    def people(approvers: list[str]) -> list[str]:
        return list(
            dict.fromkeys(
                person
                for name in approvers
                for person in roles.get(name, [name] if "@" in name else [])
            )
        )

    items = [
        OpenApproval(
            x.approval_id,
            x.run_id,
            x.workflow_id,
            x.subject_name,
            x.step_id,
            list(x.approvers or []),
            people(list(x.approvers or [])),
            x.requested_at,
            now - x.requested_at,
        )
        for x in rows
    ]
    return Capped(items, _count(conn, a, a.c.status == "open"))


def _findings(conn: Connection, now: datetime, limit: int) -> Capped[OpenFinding]:
    f = _FINDINGS
    rows = conn.execute(
        select(
            f.c.id,
            f.c.title,
            f.c.severity,
            f.c.clause,
            f.c.system_name,
            f.c.raised_at,
            f.c.corrective_run_id,
        )
        .where(f.c.status == "open")
        .order_by(f.c.raised_at, f.c.id)
        .limit(limit)
    ).all()
    items = [
        OpenFinding(
            x.id,
            x.title,
            x.severity,
            x.clause,
            x.system_name,
            x.raised_at,
            now - x.raised_at,
            x.corrective_run_id,
        )
        for x in rows
    ]
    return Capped(items, _count(conn, f, f.c.status == "open"))


def _recent_runs(conn: Connection, limit: int) -> list[RecentRun]:
    r = _RUNS
    rows = conn.execute(
        select(
            r.c.id,
            r.c.workflow_id,
            r.c.spec_version,
            r.c.subject_name,
            r.c.status,
            r.c.current_step,
            r.c.started_at,
            r.c.completed_at,
        )
        .order_by(r.c.started_at.desc(), r.c.id.desc())
        .limit(limit)
    ).all()
    return [RecentRun(*x) for x in rows]


def gather(
    conn: Connection,
    now: datetime,
    *,
    organisation: str,
    targets: KpiTargets,
    roles: Mapping[str, list[str]] | None = None,
    systems_page: int = 1,
    page_size: int = SYSTEMS_PAGE_SIZE,
    list_limit: int = LIST_LIMIT,
    recent_runs: int = RECENT_RUNS,
    chain: ChainStatus | None = None,
    context: KpiContext | None = None,
) -> DashboardData:
    """Everything the dashboard shows as of ``now`` (the runtime's clock, never the wall clock).
    ``roles`` (from aims.yaml) names the people behind the roles an approval is asked of;
    ``context`` (the workflows and the SoA) lets the controls' KPI be measured."""
    steps = _STEPS
    return DashboardData(
        organisation=organisation,
        generated_at=now,
        targets=targets,
        kpis=compute_kpis(conn, now, targets, context=context),
        coverage=_coverage(conn, now, systems_page, page_size),
        open_tasks=_count(conn, steps, steps.c.status == "open"),
        due_soon=_count(
            conn,
            steps,
            steps.c.status == "open",
            steps.c.due_at >= now,
            steps.c.due_at < now + timedelta(days=7),
        ),
        overdue=_overdue(conn, now, list_limit),
        approvals=_approvals(conn, now, list_limit, roles or {}),
        findings=_findings(conn, now, list_limit),
        runs=_recent_runs(conn, recent_runs),
        chain=chain,
        parked=_count(conn, InboxItem.__table__, InboxItem.__table__.c.status == "parked"),
        expired_approvals=_count(conn, _APPROVALS, _APPROVALS.c.status == "expired"),
    )
