"""The Statement of Applicability as last approved: the ``statement_of_applicability`` record that
the ``soa-review`` workflow writes when top management approves a version.

``aims.yaml`` (``soa: controls:``) says what is decided today; the approved record says what top
management signed, in which version and when. The SoA export shows both: a control that
``aims.yaml`` does not mention takes its applicability and reason from the approved version, and a
control on which the two disagree carries a note, so that a decision changed since the approval is
seen rather than hidden.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from ...store.models import Evidence
from ..pack.auditor import soa_reasons, soa_risk_links

__all__ = ["ApprovedSoa", "latest_approved_soa", "ARTEFACT"]

ARTEFACT = "statement_of_applicability"
"""The artefact name the soa-review workflow records on approval."""


@dataclass(frozen=True)
class ApprovedSoa:
    """One approved version of the SoA."""

    version: str
    approved_by: tuple[str, ...]
    approved_at: str
    run_id: str | None
    excluded: frozenset[str]
    reasons: dict[str, str] = field(default_factory=dict)
    """Control id -> the reason given: why it is excluded, or what chose it."""
    risks: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Control id -> the register's risks whose treatments chose it (the approved links)."""

    def label(self) -> str:
        return (
            f"version {self.version}, approved by {', '.join(self.approved_by) or '-'} "
            f"on {self.approved_at[:10]}"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "approved_by": list(self.approved_by),
            "approved_at": self.approved_at,
            "run": self.run_id,
            "excluded": sorted(self.excluded),
            "risk_links": {c: list(r) for c, r in sorted(self.risks.items())},
        }


def latest_approved_soa(conn: Connection, *, before: datetime | None = None) -> ApprovedSoa | None:
    """The latest approved SoA recorded before ``before`` (all time when None), or None."""
    e = Evidence.__table__
    query = (
        select(e.c.run_id, e.c.effective_at, e.c.payload)
        .where(e.c.kind == "artefact.recorded", e.c.payload.contains(f'"{ARTEFACT}"'))
        .order_by(e.c.seq.desc())
    )
    for run_id, effective_at, payload in conn.execute(query):
        if before is not None and _moment(effective_at) >= before:
            continue
        data = json.loads(payload)
        if data.get("artefact") != ARTEFACT:
            continue  # the name appears in another artefact's text
        return _parse(run_id, effective_at, data.get("fields") or {})
    return None


def _parse(run_id: str | None, effective_at: str, fields: dict[str, Any]) -> ApprovedSoa:
    approvers = fields.get("approved_by") or []
    return ApprovedSoa(
        version=str(fields.get("version") or "?"),
        approved_by=tuple(str(a) for a in approvers),
        approved_at=effective_at,
        run_id=run_id,
        excluded=frozenset(str(c) for c in fields.get("excluded") or []),
        reasons=soa_reasons(fields),
        risks=soa_risk_links(fields),
    )


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
