"""KPI values at past moments: the one place that answers "the KPIs at date D".

A closed day's values come from the KPI history (:mod:`.snapshots`), stored by the first unit of
work after the day closed, for the whole AIMS and each AI system, risk tier and workflow
(:func:`values_on`, which ``aims kpi --at`` reads). What the history does not hold is answered,
in this order:

- a day after the last evidence: nothing moved the projections since, so they are measured at
  the day's close;
- the whole AIMS on a day before the history began: rebuilt from what the database keeps with
  dates (the same rebuild the management review uses,
  :mod:`aims_workflows.export.review.state`): coverage from each system's last assessment by
  then, open and overdue tasks and approvals from their dates; nonconformities, controls and
  findings are measured from their dated rows by the KPI functions themselves.

A trend (:func:`kpi_series`) goes through :meth:`KpiHistory.at`: a midnight is the close of the
day before, read from the history; another moment is rebuilt. The present is read from the live
projections, so a chart ends on the number ``aims kpi`` prints.

>>> points, notes = kpi_series(conn, moments(first_activity(conn), now), targets,
...     specs=app.runtime.specs, workflows=app.workflows, now=now)       # doctest: +SKIP
>>> [p.value("overdue_tasks") for p in points]                           # doctest: +SKIP
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, func, select

from ..config import KpiTargets
from ..errors import NotFound
from ..store.models import AISystem, Approval, Evidence, Finding
from .queries import Kpi, KpiContext, KpiFigures, Scope, compute_kpis
from .snapshots import day_close, day_of, first_stored_day, last_evidence_at, stored

__all__ = [
    "DayValues",
    "values_on",
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
        soa: Any = None,
    ) -> None:
        from ..export.review.state import CoverageHistory

        self.conn, self.targets, self.now = conn, targets, now
        self.context = KpiContext(workflows, soa)
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
        )

    def at(self, at: datetime) -> KpiPoint:
        """The KPIs at ``at``: the live ones for the present (or later); at a midnight, the day
        before as it closed, from the history; else rebuilt."""
        if at >= self.now:
            return KpiPoint(
                self.now, compute_kpis(self.conn, self.now, self.targets, context=self.context)
            )
        if at.astimezone(UTC).time() == time.min:
            kept = stored(self.conn, day_of(at) - timedelta(days=1), Scope())
            if kept is not None:
                return KpiPoint(at, kept)
        return KpiPoint(at, self.rebuilt(at))

    def rebuilt(self, at: datetime) -> list[Kpi]:
        return compute_kpis(
            self.conn, at, self.targets, context=self.context, figures=self.figures_at(at)
        )

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
    soa: Any = None,
) -> tuple[list[KpiPoint], list[str]]:
    """The KPIs at each of ``at`` (sorted; from ``now`` on, the live values), and what the
    rebuild had to guess. Past points come from ``kept`` when it has them. ``soa`` is the
    configured SoA (aims.yaml's), which decides the applicable controls as for ``aims kpi``."""
    past = [moment for moment in at if moment < now]
    known, notes = kept.known(now) if kept is not None else ({}, [])
    missing = [moment for moment in past if moment not in known]
    if missing:
        history = KpiHistory(
            conn, targets, specs=specs, workflows=workflows, now=now, earliest=missing[0], soa=soa
        )
        rebuilt = {moment: history.at(moment) for moment in missing}
        notes = list(dict.fromkeys([*notes, *history.notes]))
        if kept is not None:
            kept.keep_points(rebuilt, history.notes)
        known.update(rebuilt)
    points = [known[moment] for moment in past]
    if len(past) < len(at):
        points.append(
            KpiPoint(now, compute_kpis(conn, now, targets, context=KpiContext(workflows, soa)))
        )
    return points, notes


@dataclass(frozen=True)
class DayValues:
    """The KPIs of ``day`` for a scope, and where they came from: ``live`` (the day is not over),
    ``history`` (stored as the day closed), ``unchanged`` (nothing happened since the day, so
    measured at its close now) or ``rebuilt`` (before the history began; see the module)."""

    day: date
    at: datetime
    kpis: list[Kpi]
    source: str


def values_on(
    conn: Connection,
    day: date,
    targets: KpiTargets,
    *,
    now: datetime,
    scope: Scope | None = None,
    specs: Any = None,
    workflows: Any = None,
    soa: Any = None,
) -> DayValues:
    """The KPIs of ``scope`` as ``day`` closed (today: as they are now). A day to come, or a
    scope the history has no day for, is a NotFound saying why."""
    scope = scope or Scope()
    today = day_of(now)
    context = KpiContext(workflows, soa)
    if day > today:
        raise NotFound(
            f"{day.isoformat()} is after today ({today.isoformat()}): KPIs are known up to now"
        )
    if day == today:
        return DayValues(
            day, now, compute_kpis(conn, now, targets, scope=scope, context=context), "live"
        )
    close = day_close(day)
    kept = stored(conn, day, scope)
    if kept is not None:
        return DayValues(day, close, kept, "history")
    last = last_evidence_at(conn)
    if last is None or last <= close:
        return DayValues(
            day,
            close,
            compute_kpis(conn, close, targets, scope=scope, context=context),
            "unchanged",
        )
    if scope.dimension is None:
        history = KpiHistory(
            conn, targets, specs=specs, workflows=workflows, now=now, earliest=close, soa=soa
        )
        return DayValues(day, close, history.rebuilt(close), "rebuilt")
    began = first_stored_day(conn, scope)
    since = f"its history begins on {began.isoformat()}" if began else "it has no history yet"
    raise NotFound(
        f"no KPI values kept for {scope.describe()} on {day.isoformat()}: {since}",
        hint="values per AI system, tier or workflow are kept from the day it first appears",
    )


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
