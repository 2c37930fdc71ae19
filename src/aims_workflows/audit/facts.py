"""What the programme weighs, read from the database and ``aims.yaml``: the catalogue entries a
cycle must cover, the high-risk systems in scope and the clauses of recent or open findings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, or_, select

from ..store.models import AISystem, Finding

__all__ = ["ProgrammeFacts", "programme_facts", "required_ids"]

HIGH_TIERS = ("high", "unacceptable")


@dataclass(frozen=True)
class ProgrammeFacts:
    required: tuple[str, ...]
    excluded: tuple[str, ...]
    high_risk: tuple[str, ...]
    finding_requirements: tuple[str, ...]


def required_ids(soa) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(required, excluded): every leaf clause of 4 to 10 and every Annex A control the
    Statement of Applicability does not exclude; and the excluded controls."""
    from ..catalog import load_catalog

    catalog = load_catalog()
    clauses = [
        e.id
        for e in catalog.clauses()
        if not catalog.children(e.id)
        and e.id.split(".")[0].isdigit()
        and 4 <= int(e.id.split(".")[0]) <= 10
    ]
    controls = [e.id for e in catalog.controls()]
    excluded = tuple(c for c in controls if not soa.control(c).applicable)
    return tuple(clauses) + tuple(c for c in controls if c not in excluded), excluded


def programme_facts(conn: Connection, config, *, now: datetime, years: int) -> ProgrammeFacts:
    required, excluded = required_ids(config.soa)
    s = AISystem.__table__
    high = tuple(
        conn.scalars(
            select(s.c.name)
            .where(s.c.in_scope.is_(True), s.c.risk_tier.in_(HIGH_TIERS))
            .order_by(s.c.name)
        )
    )
    f = Finding.__table__
    since = now - timedelta(days=365 * years)
    clauses = tuple(
        c
        for c in conn.scalars(
            select(f.c.clause).where(
                f.c.clause.is_not(None), or_(f.c.status == "open", f.c.raised_at >= since)
            )
        )
        if c
    )
    return ProgrammeFacts(required, excluded, high, clauses)
