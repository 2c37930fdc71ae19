"""The KPIs a compliance lead tracks, each read from projections kept current with the ledger
(a few indexed lookups, not a scan of the evidence)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import Connection, func, select

from ..config import KpiTargets
from ..risks.queries import count_overdue_treatments
from ..store.models import AISystem, ApprovalLatencyBucket, Finding, KpiCounter, StepRecord

__all__ = [
    "Kpi",
    "KpiFigures",
    "compute_kpis",
    "kpis_from",
    "median_from_histogram",
    "read_figures",
]


@dataclass(frozen=True)
class Kpi:
    key: str
    label: str
    value: float | None
    unit: str
    target: float | None
    met: bool | None
    detail: str

    def as_dict(self) -> dict:
        return asdict(self)


def median_from_histogram(buckets: list[tuple[int, int]]) -> float | None:
    """Median of values grouped in whole-minute buckets [(minute, count)], in minutes.

    Within half a minute of the exact median: each value is taken as the middle of its bucket,
    and for an even count the two middle values are averaged, as a plain median does.
    """
    total = sum(count for _, count in buckets)
    if total == 0:
        return None
    ordered = sorted((minute, count) for minute, count in buckets if count > 0)

    def value_at(position: int) -> float:  # 1-based position in the sorted values
        seen = 0
        for minute, count in ordered:
            seen += count
            if seen >= position:
                return minute + 0.5
        raise AssertionError("unreachable: position <= total")  # pragma: no cover

    if total % 2:
        return value_at(total // 2 + 1)
    return (value_at(total // 2) + value_at(total // 2 + 1)) / 2


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass(frozen=True)
class KpiFigures:
    """The counts the KPIs are made of, as of one moment: read from the projections for the
    present (:func:`read_figures`) or rebuilt for a past moment (:mod:`.history`)."""

    in_scope: int
    risk_current: int
    impact_current: int
    open_tasks: int
    overdue_tasks: int
    latency_buckets: list[tuple[int, int]]  # (whole minutes, closed approvals)
    nonconformities_closed: int
    nonconformity_close_seconds: float
    nonconformities_open: int
    # open risk treatment actions past their target date (None: not known, no KPI shown)
    overdue_treatments: int | None = None


def read_figures(conn: Connection, now: datetime) -> KpiFigures:
    """The present figures, from the projections kept current with the ledger."""
    systems = AISystem.__table__
    steps = StepRecord.__table__
    findings = Finding.__table__
    in_scope = (
        conn.scalar(select(func.count()).select_from(systems).where(systems.c.in_scope.is_(True)))
        or 0
    )
    risk_current = (
        conn.scalar(
            select(func.count())
            .select_from(systems)
            .where(systems.c.in_scope.is_(True), systems.c.risk_valid_until > now)
        )
        or 0
    )
    impact_current = (
        conn.scalar(
            select(func.count())
            .select_from(systems)
            .where(systems.c.in_scope.is_(True), systems.c.impact_valid_until > now)
        )
        or 0
    )
    open_tasks = (
        conn.scalar(select(func.count()).select_from(steps).where(steps.c.status == "open")) or 0
    )
    overdue = (
        conn.scalar(
            select(func.count())
            .select_from(steps)
            .where(steps.c.status == "open", steps.c.due_at < now)
        )
        or 0
    )
    # Unpacked, not read as r.count: on SQLAlchemy 2.0 a Row's .count is the tuple method.
    histogram = ApprovalLatencyBucket.__table__.c
    buckets: list[tuple[int, int]] = [
        (minute, count)
        for minute, count in conn.execute(select(histogram.bucket_minutes, histogram.count))
    ]
    counters = dict(
        conn.execute(select(KpiCounter.__table__.c.name, KpiCounter.__table__.c.value)).all()
    )
    open_ncs = (
        conn.scalar(select(func.count()).select_from(findings).where(findings.c.status == "open"))
        or 0
    )
    return KpiFigures(
        in_scope,
        risk_current,
        impact_current,
        open_tasks,
        overdue,
        buckets,
        int(counters.get("nonconformities_closed", 0)),
        float(counters.get("nonconformity_close_seconds", 0)),
        open_ncs,
        count_overdue_treatments(conn, now),
    )


def compute_kpis(conn: Connection, now: datetime, targets: KpiTargets) -> list[Kpi]:
    """The KPIs as of ``now``, from the projections."""
    return kpis_from(read_figures(conn, now), targets)


def kpis_from(figures: KpiFigures, targets: KpiTargets) -> list[Kpi]:
    """The KPIs, with their targets and details, made of ``figures``."""
    f = figures
    in_scope, risk_current, impact_current = f.in_scope, f.risk_current, f.impact_current
    open_tasks, overdue, buckets = f.open_tasks, f.overdue_tasks, f.latency_buckets
    closed, open_ncs = f.nonconformities_closed, f.nonconformities_open
    median_minutes = median_from_histogram(buckets)
    mean_days = f.nonconformity_close_seconds / closed / 86400 if closed else None

    risk_cov, impact_cov = _ratio(risk_current, in_scope), _ratio(impact_current, in_scope)
    median_hours = median_minutes / 60 if median_minutes is not None else None
    return [
        Kpi(
            "risk_assessment_coverage",
            "In-scope AI systems with a current risk assessment",
            risk_cov,
            "ratio",
            targets.risk_assessment_coverage,
            None if risk_cov is None else risk_cov >= targets.risk_assessment_coverage,
            f"{risk_current} of {in_scope}",
        ),
        Kpi(
            "impact_assessment_coverage",
            "In-scope AI systems with a current impact assessment",
            impact_cov,
            "ratio",
            targets.impact_assessment_coverage,
            None if impact_cov is None else impact_cov >= targets.impact_assessment_coverage,
            f"{impact_current} of {in_scope}",
        ),
        Kpi("open_tasks", "Open tasks", open_tasks, "count", None, None, f"{open_tasks} open"),
        Kpi(
            "overdue_tasks",
            "Overdue tasks",
            overdue,
            "count",
            targets.overdue_tasks,
            overdue <= targets.overdue_tasks,
            f"{overdue} past their due date",
        ),
        Kpi(
            "median_approval_latency_hours",
            "Median approval latency",
            median_hours,
            "hours",
            targets.median_approval_latency_hours,
            None if median_hours is None else median_hours <= targets.median_approval_latency_hours,
            f"over {sum(c for _, c in buckets)} closed approvals",
        ),
        Kpi(
            "mean_days_to_close_nonconformity",
            "Mean time to close a nonconformity",
            mean_days,
            "days",
            targets.mean_days_to_close_nonconformity,
            None if mean_days is None else mean_days <= targets.mean_days_to_close_nonconformity,
            f"{int(closed)} closed, {open_ncs} open",
        ),
    ] + _overdue_treatments(f, targets)


def _overdue_treatments(f: KpiFigures, targets: KpiTargets) -> list[Kpi]:
    if f.overdue_treatments is None:
        return []
    late = f.overdue_treatments
    return [
        Kpi(
            "overdue_treatments",
            "Overdue risk treatments",
            late,
            "count",
            targets.overdue_treatments,
            late <= targets.overdue_treatments,
            f"{late} past their target date (aims risks list --overdue)",
        )
    ]
