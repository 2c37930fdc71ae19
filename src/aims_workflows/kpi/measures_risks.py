"""The KPI of the risk register: risk treatment actions past their target date (6.1.3, 8.3).

Read from the register's treatment rows, which keep when each action started, when it was
completed and its target date, so the value at a past moment is the same query with that moment.
"""

from __future__ import annotations

from sqlalchemy import select

from ..risks.queries import count_overdue_treatments
from .definitions import KpiDefinition
from .queries import _SYSTEMS, Measure, Reading, measure, read


@measure(
    KpiDefinition(
        key="overdue_treatments",
        label="Overdue risk treatments",
        information_need="Are the risk treatments the assessments chose carried out by their "
        "target dates (6.1.3, 8.3)?",
        base_measures=(
            "risk treatment actions started and not yet completed or cancelled",
            "their target dates",
        ),
        formula="count of open risk treatment actions whose target date has passed",
        indicator="above target: the risks stay at their inherent level; chase the owners "
        "listed by `aims risks list --overdue`",
        target="overdue_treatments",
        direction="at_most",
        unit="count",
        frequency="measured daily; reported monthly and at each management review",
        owner="risk_owner",
        scopes=("system", "tier"),
    ),
)
def _overdue_treatments(m: Measure) -> Reading:
    systems = None
    if m.scope.system or m.scope.tier:
        systems = select(_SYSTEMS.c.name).where(*m.systems_where())
    late = count_overdue_treatments(m.conn, m.at, systems)
    return read({"formula": "overdue_treatments", "count": late})
