"""The result of the latest gap analysis, read back from the ledger for those who build on it.

A completed ``gap-analysis`` run records one ``gap_analysis_result`` artefact: every clause and
Annex A control in place, partial, missing or (a control) proposed as not applicable, and an
owner per area. The readiness check shows that status and owner beside each requirement it has
not found met, so the person who reads "missing" also reads who was to close the gap; a review
of the Statement of Applicability can start from the proposed exclusions and their reasons.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from ..engine import evidence_kinds as ev
from ..store.models import Evidence, Run

__all__ = ["GAP_ANALYSIS_WORKFLOW", "RESULT_ARTEFACT", "GapAnalysis", "latest_gap_analysis"]

GAP_ANALYSIS_WORKFLOW = "gap-analysis"
RESULT_ARTEFACT = "gap_analysis_result"

# the result's lists and the status each gives its ids
_LISTS = (
    ("clauses_in_place", "in place"),
    ("clauses_partial", "partial"),
    ("clauses_missing", "missing"),
    ("controls_in_place", "in place"),
    ("controls_partial", "partial"),
    ("controls_missing", "missing"),
    ("controls_not_applicable", "not applicable"),
)
_GOVERNANCE_GROUPS = ("A.2.", "A.3.", "A.4.", "A.5.")


@dataclass(frozen=True)
class GapAnalysis:
    """One completed gap analysis: its run, reference and the status and owner of each id."""

    run_id: str
    reference: str
    completed_at: datetime
    status: dict[str, str]
    owners: dict[str, str] = field(default_factory=dict)
    not_applicable_reasons: dict[str, str] = field(default_factory=dict)

    def owner_of(self, item: str) -> str | None:
        """The owner of the area ``item`` (a clause or control id) belongs to."""
        if not item.startswith("A."):
            return self.owners.get("clauses")
        area = "A.2 to A.5" if item.startswith(_GOVERNANCE_GROUPS) else "A.6 to A.10"
        return self.owners.get(area)

    def note(self, item: str) -> str | None:
        """``gap analysis GA-1: partial, owner amy@...`` for ``item``, or None when the analysis
        says nothing about it."""
        status = self.status.get(item)
        if status is None:
            return None
        owner = self.owner_of(item)
        return f"gap analysis {self.reference}: {status}" + (f", owner {owner}" if owner else "")

    def proposed_exclusions(self) -> dict[str, str]:
        """Controls the analysis judged not applicable -> the reasons given for their area."""
        return {
            item: self.not_applicable_reasons.get(
                "A.2 to A.5" if item.startswith(_GOVERNANCE_GROUPS) else "A.6 to A.10", ""
            )
            or ""
            for item, status in self.status.items()
            if status == "not applicable"
        }


def latest_gap_analysis(conn: Connection, at: datetime | None = None) -> GapAnalysis | None:
    """The gap analysis completed last (by ``at`` when given), or None when none has been."""
    r = Run.__table__
    query = select(r.c.id, r.c.completed_at).where(
        r.c.workflow_id == GAP_ANALYSIS_WORKFLOW, r.c.status == "completed"
    )
    if at is not None:
        query = query.where(r.c.completed_at <= at)
    latest = conn.execute(query.order_by(r.c.completed_at.desc()).limit(1)).first()
    if latest is None:
        return None
    e = Evidence.__table__
    payloads = conn.scalars(
        select(e.c.payload)
        .where(e.c.run_id == latest.id, e.c.kind == ev.ArtefactRecorded.KIND)
        .order_by(e.c.seq.desc())
    )
    for payload in payloads:
        data = json.loads(payload)
        if data.get("artefact") == RESULT_ARTEFACT:
            return _result(latest.id, latest.completed_at, data.get("fields") or {})
    return None


def _result(run_id: str, completed_at: datetime, fields: dict[str, Any]) -> GapAnalysis:
    status: dict[str, str] = {}
    for name, word in _LISTS:
        for item in fields.get(name) or ():
            status[str(item)] = word
    return GapAnalysis(
        run_id=run_id,
        reference=str(fields.get("reference") or run_id),
        completed_at=completed_at,
        status=status,
        owners={str(k): str(v) for k, v in (fields.get("owners") or {}).items() if v},
        not_applicable_reasons={
            str(k): str(v) for k, v in (fields.get("not_applicable_reasons") or {}).items() if v
        },
    )
