"""Planning the programme: how often each area is audited in the cycle, in which quarters, and
what the plan leaves uncovered. Pure: the facts it weighs are passed in."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from .areas import AuditArea, covers

__all__ = ["PlannedAudit", "AreaPlan", "Coverage", "Programme", "plan_programme", "quarter_start"]


@dataclass(frozen=True)
class PlannedAudit:
    area: AuditArea
    year: int
    """1 .. cycle years"""
    quarter: int
    """1 .. 4 within its year"""
    starts: date
    ends: date
    """the first day after its quarter"""

    @property
    def period(self) -> str:
        return f"Y{self.year} Q{self.quarter}"


@dataclass(frozen=True)
class AreaPlan:
    area: AuditArea
    times: int
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Coverage:
    required: tuple[str, ...]
    missing: tuple[str, ...]
    excluded: tuple[str, ...]
    """Annex A controls the Statement of Applicability excludes (not required)."""

    @property
    def complete(self) -> bool:
        return not self.missing


@dataclass(frozen=True)
class Programme:
    cycle_start: date
    years: int
    areas: tuple[AreaPlan, ...]
    audits: tuple[PlannedAudit, ...]
    coverage: Coverage
    suggestions: dict[str, str] = field(default_factory=dict)
    """missing id -> what to add"""

    def due(self, on: date) -> list[PlannedAudit]:
        """The audits planned for the quarter ``on`` falls in."""
        return [a for a in self.audits if a.starts <= on < a.ends]

    @property
    def ends(self) -> date:
        return quarter_start(self.cycle_start, self.years * 4)


def quarter_start(cycle_start: date, index: int) -> date:
    """The first day of quarter ``index`` (0-based) of a cycle starting ``cycle_start``."""
    months = cycle_start.month - 1 + 3 * index
    year, month = cycle_start.year + months // 12, months % 12 + 1
    day = min(cycle_start.day, 28)
    return date(year, month, day)


def _times(area: AuditArea, years: int, high_risk: Sequence[str], findings: int) -> AreaPlan:
    reasons = []
    weight = 0
    if area.risk_related and high_risk:
        weight += 1
        shown = ", ".join(high_risk[:3]) + (" ..." if len(high_risk) > 3 else "")
        reasons.append(f"high-risk systems in scope ({shown})")
    if findings:
        weight += 1
        reasons.append(f"{findings} finding{'s' if findings != 1 else ''} in the area")
    times = min(years, 1 + weight * math.ceil((years - 1) / 2))
    if not reasons:
        reasons.append("once per cycle")
    return AreaPlan(area, times, tuple(reasons))


def _schedule(plans: Sequence[AreaPlan], cycle_start: date, years: int) -> list[PlannedAudit]:
    """Spread each area's audits evenly over the cycle, starting each area in the least busy
    quarter of its first interval; the areas audited most often are placed first."""
    quarters = years * 4
    load = [0] * quarters
    audits = []
    order = sorted(range(len(plans)), key=lambda i: (-plans[i].times, i))
    for i in order:
        plan = plans[i]
        interval = quarters / plan.times
        window = range(max(1, int(interval)))
        first = min(
            window, key=lambda q: (max(load[int(q + k * interval)] for k in range(plan.times)), q)
        )
        for k in range(plan.times):
            q = int(first + k * interval)
            load[q] += 1
            audits.append(
                PlannedAudit(
                    plan.area,
                    q // 4 + 1,
                    q % 4 + 1,
                    quarter_start(cycle_start, q),
                    quarter_start(cycle_start, q + 1),
                )
            )
    return sorted(audits, key=lambda a: (a.starts, a.area.key))


def plan_programme(
    areas: Sequence[AuditArea],
    *,
    required: Iterable[str],
    excluded: Iterable[str] = (),
    cycle_start: date,
    years: int,
    high_risk: Sequence[str] = (),
    finding_requirements: Iterable[str] = (),
    fallback: Sequence[AuditArea] = (),
) -> Programme:
    """The programme over ``years`` from ``cycle_start``.

    ``required``: the clause and control ids every cycle must cover (leaves of the catalogue);
    ``high_risk``: names of high-risk systems in scope; ``finding_requirements``: the clause or
    control of each recent or open finding; ``fallback``: areas to suggest for what is missing.
    """
    found = list(finding_requirements)
    plans = [
        _times(area, years, high_risk, sum(1 for f in found if covers(area, f))) for area in areas
    ]
    audits = _schedule([p for p in plans if p.times], cycle_start, years)
    required = tuple(required)
    missing = tuple(r for r in required if not any(covers(a, r) for a in areas))
    suggestions = {}
    for requirement in missing:
        home = next((a for a in fallback if covers(a, requirement)), None)
        suggestions[requirement] = (
            f"add {home.covers[0] if home else requirement} to an area's covers"
            + (f" (as the default area '{home.key}' does)" if home else "")
        )
    return Programme(
        cycle_start,
        years,
        tuple(plans),
        tuple(audits),
        Coverage(required, missing, tuple(excluded)),
        suggestions,
    )
