"""What the charts show, gathered from one connection: the KPIs now and at past moments, overdue
work by who holds it, by AI system owner and by AI system, the approval latency histogram, open
nonconformities by age, and the Statement of Applicability.

The KPI figures come from :mod:`aims_workflows.kpi` (the same code as ``aims kpi``); the other
breakdowns are counted from the same projections, so their totals equal the KPIs they explain.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from ..config import KpiTargets
from ..kpi import Kpi
from ..kpi.history import KpiPoint, PastKpis, first_activity, kpi_series, moments
from ..store.models import AISystem, ApprovalLatencyBucket, Finding, Run, StepRecord

__all__ = ["ChartData", "gather_charts", "LATENCY_BINS", "AGE_BINS", "TOP"]

LATENCY_BINS: tuple[tuple[str, int], ...] = (
    ("< 1 h", 60),
    ("1–4 h", 4 * 60),
    ("4–8 h", 8 * 60),
    ("8–24 h", 24 * 60),
    ("1–2 d", 2 * 1440),
    ("2–4 d", 4 * 1440),
    ("4–7 d", 7 * 1440),
    ("≥ 7 d", 10**12),
)
"""Approval latency bins: (label, upper bound in whole minutes, exclusive)."""

AGE_BINS: tuple[tuple[str, int], ...] = (
    ("0–30 d", 31),
    ("31–60 d", 61),
    ("61–90 d", 91),
    ("91–180 d", 181),
    ("> 180 d", 10**9),
)
"""Nonconformity age bins: (label, upper bound in whole days, exclusive)."""

NOT_A_SYSTEM = "(not about one AI system)"

TOP = 12
"""Rows of a breakdown drawn; the rest are counted together."""

_STEPS, _RUNS, _FINDINGS = StepRecord.__table__, Run.__table__, Finding.__table__


@dataclass(frozen=True)
class ChartData:
    organisation: str
    generated_at: datetime
    targets: KpiTargets
    kpis: list[Kpi]
    history: list[KpiPoint]
    overdue_by_who: list[tuple[str, int]]  # most first
    overdue_by_owner: list[tuple[str, int]]  # by the owner of the AI system
    overdue_by_system: list[tuple[str, int]]
    latency: list[tuple[str, int]]  # per LATENCY_BINS
    latency_minutes: list[tuple[int, int]]  # the histogram as stored: (minute, count)
    ageing: list[tuple[str, dict[str, int]]]  # per AGE_BINS: severity -> open findings
    soa: Any  # export.soa.CoverageReport, or None when not asked for
    notes: list[str]

    def kpi(self, key: str) -> Kpi:
        return next(k for k in self.kpis if k.key == key)


def _overdue(conn: Connection, now: datetime) -> tuple[list[tuple[str, int]], ...]:
    """Overdue tasks counted by who holds them, by the owner of the AI system they are about
    (who is accountable for it) and by AI system; most first."""
    t, r, s = _STEPS, _RUNS, AISystem.__table__
    rows = conn.execute(
        select(t.c.assignee, t.c.role, r.c.subject_type, r.c.subject_name, func.count())
        .select_from(t.outerjoin(r, r.c.id == t.c.run_id))
        .where(t.c.status == "open", t.c.due_at < now)
        .group_by(t.c.assignee, t.c.role, r.c.subject_type, r.c.subject_name)
    ).all()
    names = {name for _, _, kind, name, _ in rows if kind == "ai_system"}
    owners = (
        dict(conn.execute(select(s.c.name, s.c.owner).where(s.c.name.in_(sorted(names)))).all())
        if names
        else {}
    )
    who: Counter[str] = Counter()
    owner: Counter[str] = Counter()
    system: Counter[str] = Counter()
    for assignee, role, subject_type, subject_name, count in rows:
        who[assignee or f"({role}, not assigned)"] += count
        if subject_type == "ai_system":
            system[subject_name] += count
            owner[owners.get(subject_name) or "(system no longer listed)"] += count
        else:
            system[NOT_A_SYSTEM] += count
            owner[NOT_A_SYSTEM] += count

    def order(counts: Counter[str]) -> list[tuple[str, int]]:
        return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))

    return order(who), order(owner), order(system)


def _latency(conn: Connection) -> tuple[list[tuple[str, int]], list[tuple[int, int]]]:
    h = ApprovalLatencyBucket.__table__.c
    stored = sorted((int(m), int(c)) for m, c in conn.execute(select(h.bucket_minutes, h.count)))
    counts = [0] * len(LATENCY_BINS)
    for minute, count in stored:
        index = next(i for i, (_, upper) in enumerate(LATENCY_BINS) if minute < upper)
        counts[index] += count
    return [(label, n) for (label, _), n in zip(LATENCY_BINS, counts, strict=True)], stored


def _ageing(conn: Connection, now: datetime) -> list[tuple[str, dict[str, int]]]:
    f = _FINDINGS
    bins: list[dict[str, int]] = [{} for _ in AGE_BINS]
    for raised_at, severity in conn.execute(
        select(f.c.raised_at, f.c.severity).where(f.c.status == "open")
    ):
        days = max((now - raised_at).days, 0)
        index = next(i for i, (_, upper) in enumerate(AGE_BINS) if days < upper)
        bins[index][severity] = bins[index].get(severity, 0) + 1
    return [(label, counts) for (label, _), counts in zip(AGE_BINS, bins, strict=True)]


def gather_charts(
    conn: Connection,
    now: datetime,
    *,
    organisation: str,
    targets: KpiTargets,
    specs: Any,
    workflows: Any,
    soa: Any = None,
    since: datetime | None = None,
    kept: PastKpis | None = None,
    configured_soa: Any = None,
) -> ChartData:
    """Everything the charts draw, as of ``now``. ``soa`` is a ready
    :class:`~aims_workflows.export.soa.CoverageReport` (or None: no heat map). The trend starts at
    ``since``, else at the first activity (at most a year back); ``kept`` keeps its past points
    between calls; ``configured_soa`` is aims.yaml's SoA, for the KPIs (as ``aims kpi``)."""
    at = moments(since, now, longest=now - since) if since else moments(first_activity(conn), now)
    series, notes = kpi_series(
        conn, at, targets, specs=specs, workflows=workflows, now=now, kept=kept, soa=configured_soa
    )
    by_who, by_owner, by_system = _overdue(conn, now)
    latency, stored = _latency(conn)
    return ChartData(
        organisation=organisation,
        generated_at=now,
        targets=targets,
        kpis=series[-1].kpis,
        history=series,
        overdue_by_who=by_who,
        overdue_by_owner=by_owner,
        overdue_by_system=by_system,
        latency=latency,
        latency_minutes=stored,
        ageing=_ageing(conn, now),
        soa=soa,
        notes=notes,
    )
