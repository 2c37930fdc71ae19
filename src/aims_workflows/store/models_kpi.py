"""The KPI history (migration 0012): each KPI's values as one day closed, for the whole AIMS and
for each AI system, risk tier and workflow, so ``aims kpi --at`` answers from what was stored
then instead of rebuilding it. Written by :mod:`aims_workflows.kpi.snapshots`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base

__all__ = ["KpiSnapshot"]


class KpiSnapshot(Base):
    """The KPIs of one scope as of the close of one UTC day (``day``: YYYY-MM-DD). ``scope`` is
    empty for the whole AIMS, else ``system:NAME``, ``tier:TIER`` or ``workflow:ID``."""

    __tablename__ = "kpi_snapshots"
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    scope: Mapped[str] = mapped_column(String(300), primary_key=True)
    taken_at: Mapped[datetime]
    kpis: Mapped[list[Any]]
