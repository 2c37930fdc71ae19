"""The documented information ISO/IEC 42001 requires, as the register and the readiness check
know it.

Each requirement is either a **document** the organisation writes and approves (the scope, the
AI policy, the risk criteria ...) or a **record** of results that runs of the shipped workflows
produce (risk assessments, audits, reviews ...). Either kind may instead be kept outside aims
and entered in the register with where it is kept. ``stage`` is the certification stage from
which an auditor expects it: documents at Stage 1, operational records at Stage 2 (the risk
and impact assessments already at Stage 1, since the Statement of Applicability rests on them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["Requirement", "REQUIREMENTS", "requirement", "requirement_keys"]


@dataclass(frozen=True)
class Requirement:
    """One piece of mandatory documented information."""

    key: str
    clause: str
    title: str
    kind: Literal["document", "record"]
    stage: Literal[1, 2]
    workflows: tuple[str, ...] = ()
    """Workflows whose completed runs produce it (when they are in use)."""
    measure: str | None = None
    """For records: how the readiness check reads the runs (see ``readiness``)."""
    start_with: str | None = None
    """The command that produces it, when it is not ``aims start`` of its workflow."""


REQUIREMENTS: tuple[Requirement, ...] = (
    Requirement(
        "scope", "4.3", "Scope of the AI management system", "document", 1, ("aims-scope",)
    ),
    Requirement("policy", "5.2", "AI policy", "document", 1, ("ai-policy",)),
    Requirement(
        "risk-criteria", "6.1.2", "AI risk criteria and risk assessment process", "document", 1
    ),
    Requirement("risk-treatment-process", "6.1.3", "AI risk treatment process", "document", 1),
    # The SoA is a document, but each approved soa-review run is a version of it: listed in the
    # register as the SoA, with its run as the reference.
    Requirement(
        "soa", "6.1.3", "Statement of Applicability", "document", 1, ("soa-review",), "held"
    ),
    Requirement("impact-process", "6.1.4", "AI system impact assessment process", "document", 1),
    Requirement(
        "objectives",
        "6.2",
        "AI objectives and plans to achieve them",
        "document",
        1,
        ("ai-objectives",),
    ),
    Requirement(
        "competence",
        "7.2",
        "Evidence of competence",
        "record",
        1,
        ("roles-and-competence", "training", "training-record"),
        "held",
    ),
    Requirement(
        "risk-results",
        "8.2",
        "Results of the AI risk assessments",
        "record",
        1,
        ("ai-risk-assessment",),
        "risk_per_system",
    ),
    Requirement(
        "treatment-results",
        "8.3",
        "Results of the AI risk treatment",
        "record",
        1,
        ("ai-risk-assessment",),
        "treatment_per_system",
    ),
    Requirement(
        "impact-results",
        "8.4",
        "Results of the AI system impact assessments",
        "record",
        1,
        ("ai-impact-assessment",),
        "impact_per_system",
    ),
    Requirement(
        "monitoring-results",
        "9.1",
        "Monitoring and measurement results",
        "record",
        2,
        ("management-review",),
        "held",
    ),
    Requirement(
        "audit-programme",
        "9.2.2",
        "Internal audit programme",
        "document",
        1,
        ("audit-programme",),
        "held",
        "aims audit programme --submit",
    ),
    Requirement(
        "audit-results", "9.2.2", "Internal audit results", "record", 2, ("internal-audit",), "held"
    ),
    Requirement(
        "review-results",
        "9.3.3",
        "Management review results",
        "record",
        2,
        ("management-review",),
        "held",
    ),
    Requirement(
        "nonconformities",
        "10.2",
        "Nonconformities and corrective actions",
        "record",
        2,
        ("corrective-action",),
        "findings",
    ),
)
"""In the standard's order."""

_BY_KEY = {r.key: r for r in REQUIREMENTS}


def requirement_keys() -> list[str]:
    return [r.key for r in REQUIREMENTS]


def requirement(key: str) -> Requirement:
    """The requirement named ``key``; :class:`ConfigError` naming the keys when there is none."""
    from difflib import get_close_matches

    from ..errors import ConfigError

    found = _BY_KEY.get(key.strip().lower())
    if found is not None:
        return found
    close = get_close_matches(key, _BY_KEY, n=1, cutoff=0.6)
    hint = f"did you mean '{close[0]}'? " if close else ""
    raise ConfigError(
        f"'{key}' is not a kind of mandatory documented information",
        hint=hint + "one of: " + ", ".join(_BY_KEY) + " (see `aims documents list`)",
    )
