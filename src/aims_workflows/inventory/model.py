"""The AI system inventory record: its fields and their validation.

A record is validated as a whole; a change is validated against the record it changes, and every
bad field is named at once (reading import files is ``importer``).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..errors import InventoryError

__all__ = [
    "AISystemRecord",
    "MATERIAL_FIELDS",
    "LIFECYCLE_STAGES",
    "RISK_TIERS",
    "field_problems",
    "validate_changes",
    "LIST_FIELDS",
]

LIFECYCLE_STAGES = (
    "inception",
    "design",
    "development",
    "validation",
    "deployed",
    "monitoring",
    "retired",
)
RISK_TIERS = ("minimal", "limited", "high", "unacceptable")
DEPLOYMENT_SCALES = ("pilot", "internal", "limited", "broad", "public")
LIST_FIELDS = ("data_sources", "dependencies", "jurisdictions")
MATERIAL_FIELDS = frozenset(
    {
        "business_purpose",
        "model_type",
        "data_sources",
        "outputs",
        "users",
        "deployment_scale",
        "dependencies",
        "lifecycle_stage",
        "risk_tier",
        "in_scope",
        "jurisdictions",
    }
)
"""Changing one of these emits ``ai_system.changed``; renaming or a new owner is history only."""

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _split(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in re.split(r"[;,]", value) if part.strip()]
    return value


class AISystemRecord(BaseModel):
    """One AI system as the inventory holds it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200)
    owner: str = Field(description="accountable person's e-mail")
    business_purpose: str = ""
    model_type: str = Field("", max_length=100)
    data_sources: list[str] = Field(default_factory=list)
    outputs: str = ""
    users: str = ""
    deployment_scale: Literal["", "pilot", "internal", "limited", "broad", "public"] = ""
    dependencies: list[str] = Field(default_factory=list)
    lifecycle_stage: Literal[
        "", "inception", "design", "development", "validation", "deployed", "monitoring", "retired"
    ] = ""
    risk_tier: Literal["", "minimal", "limited", "high", "unacceptable"] = ""
    in_scope: bool = True
    jurisdictions: list[str] = Field(default_factory=list)

    @field_validator("owner")
    @classmethod
    def _owner_email(cls, value: str) -> str:
        if not _EMAIL.match(value):
            raise ValueError(f"'{value}' is not an e-mail address: the owner is named by e-mail")
        return value.lower()

    @field_validator(*LIST_FIELDS, mode="before")
    @classmethod
    def _lists(cls, value: Any) -> Any:
        return _split(value)

    @field_validator("in_scope", mode="before")
    @classmethod
    def _yes_no(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().lower() in (
            "yes",
            "y",
            "true",
            "1",
            "no",
            "n",
            "false",
            "0",
        ):
            return value.strip().lower() in ("yes", "y", "true", "1")
        return value


def field_problems(err: ValidationError) -> list[tuple[str, str]]:
    """(column, reason) for each problem pydantic found in one record."""
    out = []
    for e in err.errors():
        column = ".".join(str(p) for p in e["loc"][:1]) or "(row)"
        message = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            message = f"unknown column; columns are {', '.join(AISystemRecord.model_fields)}"
        out.append((column, message))
    return out


def validate_changes(current: dict[str, Any], changes: dict[str, Any]) -> AISystemRecord:
    """The record after applying ``changes``; raises InventoryError naming each bad field."""
    unknown = sorted(set(changes) - set(AISystemRecord.model_fields))
    if unknown:
        raise InventoryError(
            f"unknown field(s): {', '.join(unknown)}",
            hint=f"fields are {', '.join(AISystemRecord.model_fields)}",
        )
    try:
        return AISystemRecord.model_validate({**current, **changes})
    except ValidationError as err:
        problems = field_problems(err)
        raise InventoryError(
            "; ".join(f"{c}: {m}" for c, m in problems), problems=problems
        ) from None
