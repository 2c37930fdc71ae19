"""Written definitions of the KPIs, in the manner of ISO/IEC 27004: the information need, the base
measures counted, the formula that makes the indicator, how to read it, the target, how often it
is measured and reported, and the role that owns it.

A definition names its target by the :class:`~aims_workflows.config.KpiTargets` field that holds
it (a default there, changed by ``aims.yaml``'s ``kpi_targets``); a definition without one is
refused with what to add (:class:`KpiDefinitionError`), so no KPI is ever shown without the level
it is judged against.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..config import KpiTargets
from ..errors import AimsError

__all__ = ["KpiDefinition", "KpiDefinitionError", "check_definition", "SCOPES"]

SCOPES = ("system", "tier", "workflow")
"""The ways a KPI can be cut (``aims kpi --system | --tier | --workflow``)."""

Direction = Literal["at_least", "at_most"]
Unit = Literal["ratio", "count", "hours", "days"]


class KpiDefinitionError(AimsError):
    """A KPI definition that cannot be shown as it is (no target, an unknown scope...)."""


@dataclass(frozen=True)
class KpiDefinition:
    key: str
    label: str
    information_need: str
    base_measures: tuple[str, ...]
    formula: str
    indicator: str
    target: str | None  # the KpiTargets field holding the target
    direction: Direction  # met when the value is at least / at most the target
    unit: Unit
    frequency: str
    owner: str  # a role
    scopes: tuple[str, ...] = SCOPES  # the cuts the KPI is measured for

    def target_value(self, targets: KpiTargets) -> float:
        if self.target is None:  # pragma: no cover - refused by check_definition
            raise KpiDefinitionError(f"KPI '{self.key}' has no target")
        return float(getattr(targets, self.target))

    def met(self, value: float | None, targets: KpiTargets) -> bool | None:
        if value is None:
            return None
        target = self.target_value(targets)
        return value >= target if self.direction == "at_least" else value <= target

    def target_text(self, targets: KpiTargets) -> str:
        target = self.target_value(targets)
        sign = ">=" if self.direction == "at_least" else "<="
        if self.unit == "ratio":
            return f"{sign} {target:.0%}"
        if self.unit == "count":
            return f"{sign} {int(target)}"
        return f"{sign} {target:g} {self.unit}"

    def as_dict(self, targets: KpiTargets) -> dict:
        return {
            "key": self.key,
            "label": self.label,
            "information_need": self.information_need,
            "base_measures": list(self.base_measures),
            "formula": self.formula,
            "indicator": self.indicator,
            "target": self.target_text(targets),
            "target_setting": f"kpi_targets.{self.target}",
            "frequency": self.frequency,
            "owner": self.owner,
            "scopes": list(self.scopes),
        }


def check_definition(definition: KpiDefinition) -> KpiDefinition:
    """``definition`` if it can be shown and judged; else what to add, as an error."""
    key = definition.key
    if definition.target is None or not definition.target.strip():
        raise KpiDefinitionError(
            f"KPI '{key}' has no target",
            hint=(
                f"add target='{key}' to its definition and a field '{key}' with a default to "
                f"KpiTargets (aims.yaml can then set kpi_targets.{key})"
            ),
        )
    if definition.target not in KpiTargets.model_fields:
        raise KpiDefinitionError(
            f"KPI '{key}' names the target '{definition.target}', which KpiTargets does not have",
            hint=f"add a field '{definition.target}' with a default to KpiTargets",
        )
    missing = [
        name
        for name in ("label", "information_need", "formula", "indicator", "frequency", "owner")
        if not getattr(definition, name).strip()
    ]
    if missing or not definition.base_measures:
        what = [*missing, *([] if definition.base_measures else ["base_measures"])]
        raise KpiDefinitionError(
            f"KPI '{key}' has an incomplete definition: no {', '.join(what)}",
            hint="every KPI states its base measures, formula, indicator, target, frequency "
            "and owner",
        )
    unknown = set(definition.scopes) - set(SCOPES)
    if unknown:
        raise KpiDefinitionError(
            f"KPI '{key}' names unknown scopes: {', '.join(sorted(unknown))}",
            hint=f"scopes are {', '.join(SCOPES)}",
        )
    return definition
