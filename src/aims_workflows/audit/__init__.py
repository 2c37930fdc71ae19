"""The internal audit programme over the certification cycle (9.2.2): which areas are audited
in which quarter, weighted by risk and past findings, and whether every clause 4 to 10 and every
applicable Annex A control is covered within the cycle."""

from __future__ import annotations

from .areas import DEFAULT_AREAS, AuditArea, areas_from_config
from .facts import ProgrammeFacts, programme_facts
from .plan import Coverage, PlannedAudit, Programme, plan_programme

__all__ = [
    "AuditArea",
    "DEFAULT_AREAS",
    "Coverage",
    "PlannedAudit",
    "Programme",
    "ProgrammeFacts",
    "areas_from_config",
    "plan_programme",
    "programme_facts",
]
