"""Reading findings back: the list ``aims findings list`` shows, and the count per source a KPI
reads (at any past moment, from when each finding was raised and closed)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, or_, select

from ..store.models import Finding
from .report import SOURCES

__all__ = ["FindingRow", "list_findings", "count_by_source"]

_TABLE = Finding.__table__


@dataclass(frozen=True)
class FindingRow:
    id: str
    source_type: str
    severity: str
    title: str
    clause: str | None
    system: str | None
    status: str
    raised_at: datetime
    closed_at: datetime | None
    corrective_run_id: str | None
    tracker_issue: str | None

    def as_row(self) -> dict[str, Any]:
        return {
            "finding": self.id,
            "source": self.source_type,
            "severity": self.severity,
            "title": self.title,
            "clause": self.clause or "",
            "system": self.system or "",
            "raised": f"{self.raised_at:%Y-%m-%d}",
            "status": self.status,
            "corrective_run": self.corrective_run_id or "",
            "tracker_issue": self.tracker_issue or "",
        }


def list_findings(
    conn: Connection, *, source: str | None = None, open_only: bool = False
) -> list[FindingRow]:
    """Findings, oldest first; of one source type and/or still open when asked."""
    query = select(_TABLE).order_by(_TABLE.c.raised_at, _TABLE.c.id)
    if source is not None:
        query = query.where(_source_type() == source)
    if open_only:
        query = query.where(_TABLE.c.status == "open")
    return [
        FindingRow(
            id=r.id,
            source_type=r.source_type or "internal",
            severity=r.severity,
            title=r.title,
            clause=r.clause,
            system=r.system_name,
            status=r.status,
            raised_at=r.raised_at,
            closed_at=r.closed_at,
            corrective_run_id=r.corrective_run_id,
            tracker_issue=r.tracker_issue,
        )
        for r in conn.execute(query)
    ]


def _source_type() -> Any:
    # a row from before sources were kept was raised by an internal audit
    return func.coalesce(_TABLE.c.source_type, "internal")


def count_by_source(
    conn: Connection, *, at: datetime | None = None, open_only: bool = False
) -> dict[str, int]:
    """How many findings each source raised (every source listed, 0 when none), up to ``at``
    when given; ``open_only``: only those not closed (at ``at``, when given)."""
    # grouped by the column, not the coalesce: PostgreSQL takes each bound default in the
    # coalesce for a parameter of its own and refuses the grouping
    column = _TABLE.c.source_type
    query = select(column, func.count()).group_by(column)
    if at is not None:
        query = query.where(_TABLE.c.raised_at <= at)
    if open_only:
        if at is None:
            query = query.where(_TABLE.c.status == "open")
        else:
            query = query.where(or_(_TABLE.c.closed_at.is_(None), _TABLE.c.closed_at > at))
    counts = dict.fromkeys(SOURCES, 0)
    for source, n in conn.execute(query):
        # a row from before sources were kept was raised by an internal audit
        kind = str(source or "internal")
        counts[kind] = counts.get(kind, 0) + int(n)
    return counts
