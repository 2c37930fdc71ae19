"""KPI values at past moments, for trends.

No KPI history is stored yet, so the past is rebuilt from what the database keeps with dates
(the same rebuild the management review uses, :mod:`aims_workflows.export.review.state`):

- coverage at ``t``: each AI system in scope at ``t`` and its last assessment completed by ``t``,
  valid for its workflow version's ``valid_for`` (an impact assessment also ends at a material
  change to the system);
- open and overdue tasks, open nonconformities: rows created by ``t`` and not closed by then;
- median approval latency: the approvals decided by ``t``, in the same whole-minute buckets as
  the live histogram;
- mean time to close a nonconformity: the ones closed by ``t``.

:meth:`KpiHistory.at` is the one place that answers "the KPIs at date D" (:func:`kpis_at` for
one date and :func:`kpi_series` for a trend go through it): when stored KPI snapshots exist, it is
the method to switch to them. The present is read from the live projections, so a chart ends on
the number ``aims kpi`` prints.

>>> points, notes = kpi_series(conn, moments(first_activity(conn), now), targets,
...     specs=app.runtime.specs, workflows=app.workflows, now=now)       # doctest: +SKIP
>>> [p.value("overdue_tasks") for p in points]                           # doctest: +SKIP
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select

from ..config import KpiTargets
from ..risks.queries import count_overdue_treatments
from ..store.models import AISystem, Approval, Evidence, Finding
from .queries import Kpi, KpiFigures, compute_kpis, kpis_from

__all__ = [
    "KpiPoint",
    "KpiHistory",
    "PastKpis",
    "kpi_series",
    "kpis_at",
    "moments",
    "first_activity",
]

_APPROVALS, _FINDINGS = Approval.__table__, Finding.__table__


@dataclass(frozen=True)
class KpiPoint:
    """The KPIs as they stood at ``at``."""

    at: datetime
    kpis: list[Kpi]

    def kpi(self, key: str) -> Kpi:
        return next(k for k in self.kpis if k.key == key)

    def value(self, key: str) -> float | None:
        return self.kpi(key).value


class KpiHistory:
    """KPI values at any moment from ``earliest`` on. Reads the decided approvals' latencies and
    the closed nonconformities once; per moment, a few counting queries."""

    def __init__(
        self,
        conn: Connection,
        targets: KpiTargets,
        *,
        specs: Any,
        workflows: Any,
        now: datetime,
        earliest: datetime | None = None,
    ) -> None:
        from ..export.review.state import CoverageHistory

        self.conn, self.targets, self.now = conn, targets, now
        self.coverage = CoverageHistory(conn, specs, workflows, earliest or now)
        a, f = _APPROVALS, _FINDINGS
        decided = conn.execute(
            select(a.c.closed_at, a.c.latency_seconds)
            .where(a.c.latency_seconds.is_not(None), a.c.closed_at.is_not(None))
            .order_by(a.c.closed_at)
        ).all()
        self._decided_at = [row[0] for row in decided]
        self._latencies = [float(row[1]) for row in decided]
        closed = conn.execute(
            select(f.c.closed_at, f.c.raised_at)
            .where(f.c.closed_at.is_not(None))
            .order_by(f.c.closed_at)
        ).all()
        self._closed_at = [row[0] for row in closed]
        self._close_seconds = [(row[0] - row[1]).total_seconds() for row in closed]

    @property
    def notes(self) -> list[str]:
        """What the rebuild had to guess (a workflow version that is not stored)."""
        return list(self.coverage.notes)

    def figures_at(self, at: datetime) -> KpiFigures:
        from ..export.review.state import open_work

        coverage = self.coverage.at(at)
        work = open_work(self.conn, at)
        decided = bisect_right(self._decided_at, at)
        buckets = Counter(int(seconds // 60) for seconds in self._latencies[:decided])
        closed = bisect_right(self._closed_at, at)
        return KpiFigures(
            in_scope=len(coverage.in_scope),
            risk_current=coverage.current("risk_assessment"),
            impact_current=coverage.current("impact_assessment"),
            open_tasks=work.tasks,
            overdue_tasks=work.overdue_tasks,
            latency_buckets=sorted(buckets.items()),
            nonconformities_closed=closed,
            nonconformity_close_seconds=sum(self._close_seconds[:closed]),
            nonconformities_open=work.nonconformities,
            overdue_treatments=count_overdue_treatments(self.conn, at),
        )

    def at(self, at: datetime) -> KpiPoint:
        """The KPIs at ``at``: the live ones for the present (or later), rebuilt before it."""
        if at >= self.now:
            return KpiPoint(self.now, compute_kpis(self.conn, self.now, self.targets))
        return KpiPoint(at, kpis_from(self.figures_at(at), self.targets))

    def series(self, at: list[datetime]) -> list[KpiPoint]:
        return [self.at(moment) for moment in at]


def kpis_at(
    conn: Connection,
    at: datetime,
    targets: KpiTargets,
    *,
    specs: Any,
    workflows: Any,
    now: datetime,
) -> list[Kpi]:
    """The KPIs as they stood at ``at`` (``now`` is the present: from it on, the live values)."""
    return (
        KpiHistory(conn, targets, specs=specs, workflows=workflows, now=now, earliest=at)
        .at(at)
        .kpis
    )


class PastKpis:
    """Past points kept between calls (the dashboard's), for ``keep`` of the clock's time.

    A past moment's KPIs are rebuilt from rows written then, which later transitions do not
    move, so a point once rebuilt holds; it is dropped after ``keep`` anyway, so a database
    repaired by hand shows through. The present is never kept."""

    def __init__(self, keep: timedelta = timedelta(minutes=10)) -> None:
        self.keep = keep
        self._points: dict[datetime, KpiPoint] = {}
        self._notes: list[str] = []
        self._since: datetime | None = None

    def known(self, now: datetime) -> tuple[dict[datetime, KpiPoint], list[str]]:
        if self._since is None or now - self._since > self.keep or now < self._since:
            self._points, self._notes, self._since = {}, [], now
        return dict(self._points), list(self._notes)

    def keep_points(self, points: dict[datetime, KpiPoint], notes: list[str]) -> None:
        self._points.update(points)
        self._notes = list(dict.fromkeys([*self._notes, *notes]))


def kpi_series(
    conn: Connection,
    at: list[datetime],
    targets: KpiTargets,
    *,
    specs: Any,
    workflows: Any,
    now: datetime,
    kept: PastKpis | None = None,
) -> tuple[list[KpiPoint], list[str]]:
    """The KPIs at each of ``at`` (sorted; from ``now`` on, the live values), and what the
    rebuild had to guess. Past points come from ``kept`` when it has them."""
    past = [moment for moment in at if moment < now]
    known, notes = kept.known(now) if kept is not None else ({}, [])
    missing = [moment for moment in past if moment not in known]
    if missing:
        history = KpiHistory(
            conn, targets, specs=specs, workflows=workflows, now=now, earliest=missing[0]
        )
        rebuilt = {moment: history.at(moment) for moment in missing}
        notes = list(dict.fromkeys([*notes, *history.notes]))
        if kept is not None:
            kept.keep_points(rebuilt, history.notes)
        known.update(rebuilt)
    points = [known[moment] for moment in past]
    if len(past) < len(at):
        points.append(KpiPoint(now, compute_kpis(conn, now, targets)))
    return points, notes


def first_activity(conn: Connection) -> datetime | None:
    """When the AIMS began to hold anything: the first AI system or the first ledger row."""
    first_system = conn.scalar(select(func.min(AISystem.__table__.c.created_at)))
    ledger = Evidence.__table__.c
    # the first row by sequence (the primary key): min(effective_at) would read every row
    first_row = conn.scalar(select(ledger.effective_at).order_by(ledger.seq).limit(1))
    found = [first_system] if first_system is not None else []
    if first_row:
        found.append(datetime.fromisoformat(first_row.replace("Z", "+00:00")))
    return min(found) if found else None


def moments(
    start: datetime | None, now: datetime, *, longest: timedelta = timedelta(days=366)
) -> list[datetime]:
    """The moments a trend is drawn at: ``start`` (at most ``longest`` ago, then from the midnight
    before), every midnight, every
    Monday or every first of the month after it (whichever gives between a handful and ~30
    points), and ``now``."""
    if start is None or start >= now:
        return [now]
    if start < now - longest:  # from a midnight, so the moments stay the same all day
        start = (now - longest).replace(hour=0, minute=0, second=0, microsecond=0)
    span = now - start
    day = start.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    marks: list[datetime] = []
    if span <= timedelta(days=21):
        step = day + timedelta(days=1)
        while step < now:
            marks.append(step)
            step += timedelta(days=1)
    elif span <= timedelta(days=150):
        step = day + timedelta(days=7 - day.weekday())  # the next Monday
        while step < now:
            marks.append(step)
            step += timedelta(days=7)
    else:
        step = _next_month(day)
        while step < now:
            marks.append(step)
            step = _next_month(step)
    return [start, *marks, now]


def _next_month(moment: datetime) -> datetime:
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    return moment.replace(year=year, month=month, day=1)
