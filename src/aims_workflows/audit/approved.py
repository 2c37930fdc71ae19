"""The approved audit programme: the record of the latest completed ``audit-programme`` run,
which the internal audits of the cycle follow (not a plan computed again, whose weights may
have moved since top management approved it)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, select

from ..engine.evidence_kinds import ArtefactRecorded, parse_evidence
from ..store.models import Evidence, Run

__all__ = ["ApprovedProgramme", "ScheduledArea", "approved_programme", "WORKFLOW"]

WORKFLOW = "audit-programme"
ARTEFACT = "audit_programme"


@dataclass(frozen=True)
class ScheduledArea:
    period: str
    starts: date
    ends: date
    area: str
    covers: str

    @property
    def label(self) -> str:
        return f"{self.area} ({self.covers})"


@dataclass(frozen=True)
class ApprovedProgramme:
    run_id: str
    reference: str
    approved_by: str | None
    schedule: tuple[ScheduledArea, ...]

    def due(self, on: date) -> list[ScheduledArea]:
        return [a for a in self.schedule if a.starts <= on < a.ends]

    def next_after(self, on: date) -> ScheduledArea | None:
        return next((a for a in self.schedule if a.starts > on), None)


def schedule_json(programme) -> str:
    """A computed programme's audits as the approval keeps them (the workflow's ``schedule``)."""
    return json.dumps(
        [
            {
                "period": a.period,
                "starts": f"{a.starts:%Y-%m-%d}",
                "ends": f"{a.ends:%Y-%m-%d}",
                "area": a.area.title,
                "covers": ", ".join(a.area.covers),
            }
            for a in programme.audits
        ],
        separators=(",", ":"),
    )


def approved_programme(conn: Connection) -> ApprovedProgramme | None:
    """The programme of the latest completed audit-programme run; None when none completed."""
    r = Run.__table__
    run_id = conn.scalar(
        select(r.c.id)
        .where(r.c.workflow_id == WORKFLOW, r.c.status == "completed")
        .order_by(r.c.completed_at.desc())
        .limit(1)
    )
    if run_id is None:
        return None
    e = Evidence.__table__
    rows = conn.execute(
        select(e.c.kind, e.c.payload)
        .where(e.c.run_id == run_id, e.c.kind == ArtefactRecorded.KIND)
        .order_by(e.c.seq)
    ).all()
    fields: dict | None = None
    for kind, payload in rows:
        recorded = parse_evidence(kind, payload)
        if isinstance(recorded, ArtefactRecorded) and recorded.artefact == ARTEFACT:
            fields = dict(recorded.fields)
    if fields is None:
        return None
    try:
        entries = json.loads(str(fields.get("schedule") or "[]"))
        schedule = tuple(
            ScheduledArea(
                str(x["period"]),
                date.fromisoformat(x["starts"]),
                date.fromisoformat(x["ends"]),
                str(x["area"]),
                str(x["covers"]),
            )
            for x in entries
        )
    except (ValueError, KeyError, TypeError):
        schedule = ()
    approved_by = fields.get("approved_by")
    return ApprovedProgramme(
        run_id,
        str(fields.get("reference") or run_id),
        str(approved_by) if approved_by else None,
        schedule,
    )
