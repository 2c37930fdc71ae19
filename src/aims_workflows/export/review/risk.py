"""Section 5 of the management-review input pack: risk and impact assessments and the AI system
inventory over the period, from the risk register, the runs, the inventory and its history."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select

from ...store.models import RiskRegisterEntry, Run
from ..period import ClosedPeriod
from ._queries import within
from .inventory_changes import gather_inventory
from .model import (
    LIST_LIMIT,
    AcceptedRisk,
    Capped,
    Figure,
    RiskSection,
    Tally,
)
from .period import ReviewPeriod
from .state import CoverageAt

__all__ = ["gather_risk"]

_LEVELS = ("high", "medium", "low")
_NOT_RECORDED = "(not recorded)"


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _people(value: Any) -> list[str]:
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value if v]
    return [str(value)] if value else []


def gather_risk(
    conn: Connection,
    rp: ReviewPeriod,
    as_of: datetime,
    snapshots: dict[str, CoverageAt],
    validity: dict[tuple[str, str], tuple[str, timedelta]],
    threshold: float,
) -> RiskSection:
    cur, prev = rp.current, rp.previous
    rr = RiskRegisterEntry.__table__
    entries = conn.execute(
        select(
            rr.c.run_id,
            rr.c.system_name,
            rr.c.risk,
            rr.c.score,
            rr.c.residual_score,
            rr.c.treatment,
            rr.c.fields,
            rr.c.recorded_at,
        )
        .where(rr.c.recorded_at >= prev.start, rr.c.recorded_at < cur.end)
        .order_by(rr.c.recorded_at, rr.c.id)
    ).all()
    mine = {
        "cur": [e for e in entries if within(cur, e.recorded_at)],
        "prev": [e for e in entries if within(prev, e.recorded_at)],
    }

    def fields(e) -> dict[str, Any]:
        return e.fields if isinstance(e.fields, dict) else {}

    def level(e, name: str) -> str:
        value = fields(e).get(name)
        return str(value) if value not in (None, "") else _NOT_RECORDED

    def mean(rows, column: str) -> float | None:
        values = [getattr(e, column) for e in rows if getattr(e, column) is not None]
        return sum(values) / len(values) if values else None

    def above(e) -> bool:
        return e.residual_score is not None and e.residual_score >= threshold

    def count(key: str, test) -> int:
        return sum(1 for e in mine[key] if test(e))

    def count_of(key: str, label: Callable[[Any], str], value: str) -> int:
        """How many of the period's entries ``label`` files under ``value``."""
        return sum(1 for e in mine[key] if label(e) == value)

    def before(e) -> str:
        return level(e, "level")

    def residual(e) -> str:
        return level(e, "residual_level")

    assessments = [
        Figure("Risks entered in the register", len(mine["cur"]), len(mine["prev"])),
        # What is assessed decides the inherent figures:
        # only the residual ones have a good direction.
        Figure(
            "... rated high before treatment",
            count("cur", lambda e: level(e, "level") == "high"),
            count("prev", lambda e: level(e, "level") == "high"),
        ),
        Figure(
            "Mean score before treatment",
            mean(mine["cur"], "score"),
            mean(mine["prev"], "score"),
            "score",
        ),
        Figure(
            "Mean residual score",
            mean(mine["cur"], "residual_score"),
            mean(mine["prev"], "residual_score"),
            "score",
            "down",
        ),
        Figure(
            f"Accepted with a residual score of {_plain(threshold)} or more",
            count("cur", above),
            count("prev", above),
            better="down",
        ),
        Figure(
            "Accepted by top management",
            count("cur", lambda e: fields(e).get("acceptance_level") == "top_management"),
            count("prev", lambda e: fields(e).get("acceptance_level") == "top_management"),
        ),
    ]

    def ordered(names: set[str]) -> list[str]:
        return (
            [n for n in _LEVELS if n in names]
            + sorted(names - set(_LEVELS) - {_NOT_RECORDED})
            + ([_NOT_RECORDED] if _NOT_RECORDED in names else [])
        )

    names = {level(e, n) for e in entries for n in ("level", "residual_level")}
    levels = Tally(
        (
            "before treatment, previous period",
            "before treatment, this period",
            "residual, previous period",
            "residual, this period",
        ),
        [
            (
                name,
                (
                    count_of("prev", before, name),
                    count_of("cur", before, name),
                    count_of("prev", residual, name),
                    count_of("cur", residual, name),
                ),
            )
            for name in ordered(names)
        ],
    )

    def treatment(e) -> str:
        return e.treatment or _NOT_RECORDED

    treatments = Tally(
        ("previous period", "this period"),
        [
            (
                name,
                (count_of("prev", treatment, name), count_of("cur", treatment, name)),
            )
            for name in sorted({treatment(e) for e in entries})
        ],
    )
    high = sorted(
        (e for e in mine["cur"] if above(e)),
        key=lambda e: (-(e.residual_score or 0), e.recorded_at, e.run_id),
    )
    accepted = [
        AcceptedRisk(
            e.run_id,
            e.system_name,
            e.risk,
            e.score,
            fields(e).get("level"),
            e.residual_score,
            fields(e).get("residual_level"),
            e.treatment,
            _people(fields(e).get("accepted_by")),
            fields(e).get("acceptance_level"),
            e.recorded_at,
        )
        for e in high[:LIST_LIMIT]
    ]

    impact, lost = _coverage(conn, rp, snapshots, validity)
    inventory, changes = gather_inventory(conn, rp, snapshots)
    return RiskSection(
        threshold,
        assessments,
        levels,
        treatments,
        Capped(accepted, len(high)),
        impact,
        lost,
        inventory,
        changes,
    )


def _plain(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _coverage(
    conn: Connection,
    rp: ReviewPeriod,
    snapshots: dict[str, CoverageAt],
    validity: dict[tuple[str, str], tuple[str, timedelta]],
) -> tuple[list[Figure], Tally]:
    cur, prev = rp.current, rp.previous
    by_kpi: dict[str, set[str]] = {}
    for (workflow_id, _), (kpi, _) in validity.items():
        by_kpi.setdefault(kpi, set()).add(workflow_id)
    r = Run.__table__

    def completed(kpi: str, p: ClosedPeriod) -> int:
        workflows = sorted(by_kpi.get(kpi, ()))
        if not workflows:
            return 0
        return (
            conn.scalar(
                select(func.count())
                .select_from(r)
                .where(
                    r.c.workflow_id.in_(workflows),
                    r.c.subject_type == "ai_system",
                    r.c.status == "completed",
                    r.c.completed_at >= p.start,
                    r.c.completed_at < p.end,
                )
            )
            or 0
        )

    def lost(kpi: str, before: CoverageAt, after: CoverageAt) -> dict[str, int]:
        """Systems covered at ``before`` and, still in
        scope at ``after``, no longer covered: by why."""
        reasons: dict[str, int] = {}
        for sid in before.current_ids(kpi) & after.in_scope:
            state = after.states[kpi][sid]
            if state != "current":
                reasons[state] = reasons.get(state, 0) + 1
        return reasons

    ends = {
        "cur": (snapshots["start"], snapshots["end"]),
        "prev": (snapshots["previous_start"], snapshots["start"]),
    }
    gone = {
        (kpi, key): lost(kpi, *ends[key])
        for kpi in ("risk_assessment", "impact_assessment")
        for key in ends
    }

    def never(snap: CoverageAt, kpi: str) -> int:
        return sum(1 for state in snap.states[kpi].values() if state == "never")

    start, end = snapshots["start"], snapshots["end"]
    figures = [
        Figure(
            "Risk assessment runs completed",
            completed("risk_assessment", cur),
            completed("risk_assessment", prev),
        ),
        Figure(
            "Impact assessment runs completed",
            completed("impact_assessment", cur),
            completed("impact_assessment", prev),
        ),
        Figure(
            "Risk assessments that lapsed and were not renewed by the end of the period",
            sum(gone[("risk_assessment", "cur")].values()),
            sum(gone[("risk_assessment", "prev")].values()),
            better="down",
        ),
        Figure(
            "Impact assessments that lapsed or went stale "
            "and were not renewed by the end of the period",
            sum(gone[("impact_assessment", "cur")].values()),
            sum(gone[("impact_assessment", "prev")].values()),
            better="down",
        ),
        Figure(
            "In-scope AI systems never risk-assessed",
            never(end, "risk_assessment"),
            never(start, "risk_assessment"),
            better="down",
            state=True,
        ),
        Figure(
            "In-scope AI systems never impact-assessed",
            never(end, "impact_assessment"),
            never(start, "impact_assessment"),
            better="down",
            state=True,
        ),
    ]
    labels = {
        "expired": "expired (validity ran out)",
        "ended_by_change": "made stale by a material change to the system",
    }
    rows = [
        (
            label,
            tuple(
                gone[(kpi, key)].get(state, 0)
                for kpi in ("risk_assessment", "impact_assessment")
                for key in ("prev", "cur")
            ),
        )
        for state, label in labels.items()
    ]
    return figures, Tally(
        (
            "risk, previous period",
            "risk, this period",
            "impact, previous period",
            "impact, this period",
        ),
        rows,
    )
