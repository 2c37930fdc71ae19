"""Evidence of the AI system inventory and of findings raised against the AIMS."""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from ._base import EvidencePayload

__all__ = [
    "KINDS",
    "AISystemSnapshot",
    "InventoryValue",
    "AISystemRegistered",
    "AISystemChanged",
    "FindingRaised",
    "FindingSource",
    "FINDING_SOURCES",
]


class AISystemSnapshot(BaseModel):
    """An AI system's inventory record as registered (the fields of ``aims systems add``)."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    name: str = Field(description="the system's name, unique in the inventory")
    owner: str = Field(description="the accountable person's e-mail")
    business_purpose: str = Field(description="what it is for")
    model_type: str = Field(description="the kind of model")
    data_sources: list[str] = Field(description="where its data comes from")
    outputs: str = Field(description="what it produces")
    users: str = Field(description="who uses it")
    deployment_scale: Literal["", "pilot", "internal", "limited", "broad", "public"] = Field(
        description="how widely it is deployed; empty: not stated"
    )
    dependencies: list[str] = Field(description="what it depends on")
    lifecycle_stage: Literal[
        "", "inception", "design", "development", "validation", "deployed", "monitoring", "retired"
    ] = Field(description="where it is in its life cycle; empty: not stated")
    risk_tier: Literal["", "minimal", "limited", "high", "unacceptable"] = Field(
        description="its risk tier; empty: not assessed"
    )
    in_scope: bool = Field(description="whether it is in the scope of the AIMS")
    jurisdictions: list[str] = Field(description="where it is used")


InventoryValue = str | bool | list[str]
"""A value of an inventory field: text, a yes/no, or a list of text."""


class AISystemRegistered(EvidencePayload):
    """An AI system entered the inventory of AI systems in the scope of the AIMS (4.3). Its
    registration starts the workflows that subscribe to it, such as the risk assessment (8.2)
    and the impact assessment (8.4)."""

    KIND = "ai_system.registered"

    system_id: int = Field(description="its inventory id")
    record: AISystemSnapshot = Field(description="the record as registered")
    assurance: str | None = Field(
        None, description="how the person who made it is known: 'claimed (os user ...)' (CLI)"
    )
    tracker_issue: str | None = Field(
        None, description="the tracker issue it was proposed in (an 'AI system proposal' in Jira)"
    )


class AISystemChanged(EvidencePayload):
    """An AI system's inventory record changed. A change of a material field (purpose, model,
    data, users, scale, life cycle, risk tier, scope, jurisdictions) ends the coverage of its
    impact assessment and starts the workflows that re-assess it: a significant change calls for
    a new risk assessment (8.2) and impact assessment (8.4)."""

    KIND = "ai_system.changed"

    system_id: int = Field(description="its inventory id")
    changes: dict[str, Annotated[list[InventoryValue], Field(min_length=2, max_length=2)]] = Field(
        description="each changed field's [before, after] values"
    )
    material: list[str] = Field(description="the changed fields that are material, sorted")
    assurance: str | None = Field(
        None, description="how the person who made it is known: 'claimed (os user ...)' (CLI)"
    )
    decided_in: str | None = Field(
        None, description="the run whose approved decision made the change (an intake), if any"
    )
    approval_id: str | None = Field(
        None, description="the approval in that run that decided it, if any"
    )


FindingSource = Literal[
    "incident", "complaint", "monitoring", "external-audit", "certification-audit", "internal"
]
"""Where a nonconformity came from; 10.2 asks for every one to be acted on."""
FINDING_SOURCES: tuple[str, ...] = get_args(FindingSource)


class FindingRaised(EvidencePayload):
    """A nonconformity was raised (by an internal audit, 9.2; an incident, a complaint, a
    monitoring alert, an external or certification audit; by hand or through a Jira issue) and
    a corrective action run started for it (10.2)."""

    KIND = "finding.raised"

    id: str = Field(description="the finding's id")
    title: str = Field(description="what was found, in short")
    severity: str = Field(description="its severity, as the workflow grades it (minor, major)")
    clause: str | None = Field(description="the clause or control not met, if named")
    description: str | None = Field(description="the finding in full, if given")
    source: str = Field(
        description="what raised it: the workflow and run, 'cli' or the Jira issue ('jira:KEY')"
    )
    system: str | None = Field(
        description="the name of the AI system concerned, if the run was about one"
    )
    source_type: FindingSource | None = Field(
        None,
        description="the kind of source, counted per source; absent in rows before 1.5 "
        "(an internal audit's)",
    )
    tracker_issue: str | None = Field(
        None, description="the Jira issue the nonconformity was reported in, if it was"
    )


KINDS: tuple[type[EvidencePayload], ...] = (AISystemRegistered, AISystemChanged, FindingRaised)
