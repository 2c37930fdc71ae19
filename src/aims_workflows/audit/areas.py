"""Audit areas: what one audit looks at, as clause and control ids of the catalogue."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ConfigError

__all__ = ["AuditArea", "DEFAULT_AREAS", "areas_from_config", "covers"]


@dataclass(frozen=True)
class AuditArea:
    key: str
    title: str
    covers: tuple[str, ...]
    """Clause and control ids; an id covers everything under it (8 covers 8.2, A.7 covers A.7.4)."""
    risk_related: bool = False
    """Audited more often while high-risk AI systems are in scope."""


DEFAULT_AREAS: tuple[AuditArea, ...] = (
    AuditArea("context", "Context, interested parties and scope", ("4",)),
    AuditArea("leadership", "Leadership, AI policy and roles", ("5", "A.2", "A.3")),
    AuditArea("planning", "Risk planning, objectives and changes", ("6",), risk_related=True),
    AuditArea("support", "Resources, competence, awareness and documents", ("7", "A.4")),
    AuditArea("operation", "Operation: risk and impact assessment", ("8", "A.5"), True),
    AuditArea("lifecycle", "AI system life cycle", ("A.6",), risk_related=True),
    AuditArea("data", "Data for AI systems", ("A.7",), risk_related=True),
    AuditArea("information", "Information for interested parties", ("A.8",)),
    AuditArea("use", "Responsible use of AI systems", ("A.9",), risk_related=True),
    AuditArea("third-parties", "Suppliers, partners and customers", ("A.10",)),
    AuditArea("evaluation", "Monitoring, internal audit and management review", ("9",)),
    AuditArea("improvement", "Nonconformities and continual improvement", ("10",)),
)
"""Twelve areas that together cover clauses 4 to 10 and every Annex A control."""


def covers(area: AuditArea, requirement: str) -> bool:
    return any(requirement == root or requirement.startswith(root + ".") for root in area.covers)


def areas_from_config(configured) -> tuple[AuditArea, ...]:
    """The areas of ``aims.yaml``'s ``audit_programme.areas`` (the defaults when it has none),
    their ids checked against the catalogue."""
    if configured is None:
        return DEFAULT_AREAS
    from ..catalog import load_catalog

    catalog = load_catalog()
    problems, areas, keys = [], [], set()
    for area in configured:
        if area.key in keys:
            problems.append(f"area '{area.key}' is listed twice")
        keys.add(area.key)
        ids = []
        for raw in area.covers:
            if not catalog.is_known(raw):
                guess = catalog.suggest(raw)
                problems.append(
                    f"area '{area.key}': '{raw}' is no clause or control"
                    + (f" (did you mean {guess}?)" if guess else "")
                )
                continue
            ids.append(catalog.get(raw).id)
        areas.append(AuditArea(area.key, area.title, tuple(ids), area.risk_related))
    if problems:
        raise ConfigError(
            "aims.yaml audit_programme.areas: " + "; ".join(problems),
            hint="name clauses and controls as the catalogue does (`aims export clauses`)",
        )
    return tuple(areas)
