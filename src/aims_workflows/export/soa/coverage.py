"""The Statement of Applicability and the coverage of clauses 4-10, computed from the database.

For each Annex A control: applicable or excluded (and why, from ``aims.yaml``), how it is
implemented, the workflows whose ``evidences:`` name it, their runs completed and open in the
period, the ledger rows those runs wrote and the latest of them, and a status. An applicable
control that no workflow evidences and no implementation note describes is a **gap**.

Clauses get the same figures; a clause counts what names it, any of its sub-clauses (6.1 counts
what evidences 6.1.2, 6.1.3 and 6.1.4) or a clause above it (a workflow that names 9.2 names the
whole of it, 9.2.1 and 9.2.2 included). A parent clause is implemented only when every one of
its sub-clauses is: evidence for 4.1 alone does not make clause 4 implemented while 4.3 and 4.4
have none; such a parent is ``partial``, with the sub-clauses still lacking in its notes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Connection, and_, case, func, or_, select

from ...catalog import Catalog
from ...config import SoaConfig
from ...store.models import Evidence, Run, SpecVersion
from ..citations import Citations, collect_citations
from ..ledger_slice import seq_range
from ..pack.auditor import OPEN_RUN_STATUSES, coverage_status
from ..period import Period
from .approved import ApprovedSoa, latest_approved_soa

__all__ = ["Coverage", "CoverageReport", "STATUS_LABELS", "build_coverage"]

STATUS_LABELS = {
    "implemented": "implemented, with evidence",
    "in_progress": "in progress: runs open, none completed",
    "described": "implementation described, evidence kept outside aims",
    "partial": "evidence for some sub-clauses, not all",
    "no_evidence": "applicable, no evidence yet",
    "excluded": "excluded",
}
"""Status key -> words for people. Keys are stable (CSV and JSON carry them)."""

OPEN_STATUSES = OPEN_RUN_STATUSES


@dataclass(frozen=True)
class Coverage:
    """One control's (or clause's) row."""

    id: str
    title: str
    kind: str
    group: str | None
    applicable: bool
    justification: str
    implementation: str
    workflows: tuple[str, ...]
    where: dict[str, tuple[str, ...]]
    runs_completed: int
    runs_open: int
    evidence_rows: int
    latest_evidence: str | None
    status: str
    gap: bool
    notes: tuple[str, ...] = ()
    risks: tuple[str, ...] = ()
    """The register's risks whose treatments chose the control, as the approved SoA links them."""

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    def workflows_text(self) -> str:
        """Whole workflows, or the steps that name it:
        ``ai-impact-assessment; change-review (steps: deploy)``."""
        parts = []
        for workflow in self.workflows:
            steps = [s for s in self.where.get(workflow, ()) if s != "workflow"]
            whole = "workflow" in self.where.get(workflow, ())
            parts.append(
                workflow if whole or not steps else f"{workflow} (steps: {', '.join(steps)})"
            )
        return "; ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "kind": self.kind,
            "group": self.group,
            "applicable": self.applicable,
            "justification": self.justification,
            "implementation": self.implementation,
            "workflows": [
                {"id": w, "named_by": list(self.where.get(w, ()))} for w in self.workflows
            ],
            "runs_completed": self.runs_completed,
            "runs_open": self.runs_open,
            "evidence_rows": self.evidence_rows,
            "latest_evidence": self.latest_evidence,
            "status": self.status,
            "status_label": self.status_label,
            "gap": self.gap,
            "notes": list(self.notes),
            "risks": list(self.risks),
        }


@dataclass(frozen=True)
class CoverageReport:
    generated_at: str
    organisation: str
    standard: str
    period: Period
    controls: list[Coverage]
    clauses: list[Coverage]
    group_titles: dict[str, str] = field(default_factory=dict)
    approved_soa: ApprovedSoa | None = None
    """The latest SoA version top management approved (soa-review) before the period's end."""

    def summary(self) -> dict[str, Any]:
        def count(rows: list[Coverage], status: str) -> int:
            return sum(1 for r in rows if r.status == status)

        return {
            "controls": len(self.controls),
            "applicable": sum(1 for c in self.controls if c.applicable),
            "excluded": count(self.controls, "excluded"),
            "implemented": count(self.controls, "implemented"),
            "in_progress": count(self.controls, "in_progress"),
            "described": count(self.controls, "described"),
            "no_evidence": count(self.controls, "no_evidence"),
            "gaps": [c.id for c in self.controls if c.gap],
            "clauses": len(self.clauses),
            "clauses_evidenced": count(self.clauses, "implemented"),
            "clauses_partial": [c.id for c in self.clauses if c.status == "partial"],
            "clauses_without_workflow": [c.id for c in self.clauses if c.gap],
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "generated_at": self.generated_at,
            "organisation": self.organisation,
            "standard": self.standard,
            "period": self.period.as_dict(),
            "summary": self.summary(),
            "approved_soa": self.approved_soa.as_dict() if self.approved_soa else None,
            "controls": [c.as_dict() for c in self.controls],
            "clauses": [c.as_dict() for c in self.clauses],
        }


@dataclass
class _Facts:
    """What the database says, grouped small enough to hold whatever the ledger's size."""

    # (workflow, version, step) -> (rows, latest effective_at)
    evidence: dict[tuple[str, int, str | None], tuple[int, str]]
    # (workflow, version) -> (completed, open)
    runs: dict[tuple[str, int], tuple[int, int]]


def build_coverage(
    conn: Connection,
    *,
    catalog: Catalog,
    workflows: Iterable[Any],
    soa: SoaConfig,
    period: Period,
    generated_at: str,
    organisation: str,
) -> CoverageReport:
    """The SoA rows (every Annex A control) and the clause rows, for ``period``."""
    stored = [
        (r.workflow_id, r.version, r.text)
        for r in conn.execute(
            select(
                SpecVersion.__table__.c.workflow_id,
                SpecVersion.__table__.c.version,
                SpecVersion.__table__.c.text,
            )
        )
    ]
    citations = collect_citations(workflows, stored)
    facts = _Facts(_evidence_groups(conn, period), _run_groups(conn, period))
    approved = latest_approved_soa(conn, before=period.end)

    controls = []
    for entry in catalog.controls():
        decision = soa.control(entry.id)
        applicable, justification, notes = _decided(entry.id, soa, approved)
        row = _row(
            entry,
            frozenset({entry.id}),
            citations,
            facts,
            applicable,
            justification,
            decision.implementation,
            notes,
        )
        controls.append(replace(row, risks=approved.risks.get(entry.id, ())) if approved else row)
    clauses = []
    for entry in catalog.clauses():
        wanted = frozenset(
            {entry.id}
            | {c.id for c in catalog.clauses() if c.id.startswith(entry.id + ".")}
            | {c.id for c in catalog.clauses() if entry.id.startswith(c.id + ".")}
        )
        clauses.append(_row(entry, wanted, citations, facts, True, "", ""))
    clauses = _roll_up(clauses)
    groups = {g.id: g.title for g in catalog.groups()}
    return CoverageReport(
        generated_at, organisation, catalog.standard, period, controls, clauses, groups, approved
    )


def _decided(
    control_id: str, soa: SoaConfig, approved: ApprovedSoa | None
) -> tuple[bool, str, tuple[str, ...]]:
    """Applicable or not, why, and notes: aims.yaml's decision where it states one, else the
    approved SoA's; a disagreement between the two is noted, never settled silently."""
    decision = soa.control(control_id)
    if approved is None:
        return decision.applicable, decision.justification, ()
    signed_applicable = control_id not in approved.excluded
    signed_reason = approved.reasons.get(control_id, "")
    if control_id not in soa.controls:
        return signed_applicable, signed_reason, ()
    notes: tuple[str, ...] = ()
    if decision.applicable != signed_applicable:
        notes = (
            f"aims.yaml {'includes' if decision.applicable else 'excludes'} it, the approved "
            f"SoA version {approved.version} {'includes' if signed_applicable else 'excludes'} "
            "it: review the SoA (aims start soa-review)",
        )
    justification = decision.justification or (
        signed_reason if decision.applicable == signed_applicable else ""
    )
    return decision.applicable, justification, notes


def _roll_up(clauses: list[Coverage]) -> list[Coverage]:
    """Each parent clause implemented only when all of its sub-clauses are: deepest first, so
    that clause 9 sees what 9.2 and 9.3 became."""
    by_id = {c.id: c for c in clauses}
    for clause_id in sorted(by_id, key=lambda i: -i.count(".")):
        row = by_id[clause_id]
        children = [c for c in by_id.values() if c.id.rpartition(".")[0] == clause_id]
        lacking = [c.id for c in children if c.status != "implemented"]
        if children and lacking and row.status == "implemented":
            by_id[clause_id] = replace(
                row,
                status="partial",
                notes=(*row.notes, "sub-clauses without evidence: " + ", ".join(lacking)),
            )
    return [by_id[c.id] for c in clauses]


def _row(
    entry,
    wanted: frozenset[str],
    citations: Citations,
    facts: _Facts,
    applicable: bool,
    justification: str,
    implementation: str,
    decided_notes: tuple[str, ...] = (),
) -> Coverage:
    where = citations.naming(wanted)
    rows, latest = 0, None
    for (workflow, version, step), (count, newest) in facts.evidence.items():
        if citations.counts_for((workflow, version), step, wanted):
            rows += count
            latest = newest if latest is None or newest > latest else latest
    completed = opened = 0
    for (workflow, version), (done, running) in facts.runs.items():
        if citations.names_anywhere((workflow, version), wanted):
            completed, opened = completed + done, opened + running
    is_control = entry.kind == "control"

    status = coverage_status(applicable, completed, rows, opened, implementation)
    gap = applicable and not where and not implementation
    notes = list(decided_notes)  # the gap itself is a column of its own
    if not applicable and (where or rows):
        notes.append("excluded, yet workflows evidence it: review the exclusion")
    if is_control and applicable and not justification:
        notes.append("no justification for inclusion in aims.yaml or an approved SoA")
    return Coverage(
        id=entry.id,
        title=entry.title,
        kind=entry.kind,
        group=entry.group,
        applicable=applicable,
        justification=justification,
        implementation=implementation,
        workflows=tuple(sorted(where)),
        where={w: tuple(sorted(p, key=lambda s: (s != "workflow", s))) for w, p in where.items()},
        runs_completed=completed,
        runs_open=opened,
        evidence_rows=rows,
        latest_evidence=latest,
        status=status,
        gap=gap,
        notes=tuple(notes),
    )


def _evidence_groups(
    conn: Connection, period: Period
) -> dict[tuple[str, int, str | None], tuple[int, str]]:
    bounds = seq_range(conn, period)
    if bounds is None:
        return {}
    e, r = Evidence.__table__, Run.__table__
    query = (
        select(
            r.c.workflow_id, r.c.spec_version, e.c.step_id, func.count(), func.max(e.c.effective_at)
        )
        .select_from(e.join(r, e.c.run_id == r.c.id))
        .where(e.c.seq >= bounds[0], e.c.seq <= bounds[1])
        .group_by(r.c.workflow_id, r.c.spec_version, e.c.step_id)
    )
    return {(w, v, s): (n, latest) for w, v, s, n, latest in conn.execute(query)}


def _run_groups(conn: Connection, period: Period) -> dict[tuple[str, int], tuple[int, int]]:
    r = Run.__table__
    done = [r.c.status == "completed"]
    if period.start is not None:
        done.append(r.c.completed_at >= period.start)
    if period.end is not None:
        done.append(r.c.completed_at < period.end)
    # open at the end of the period: still running, or completed only after it
    still = r.c.status.in_(OPEN_STATUSES)
    opened: list[Any] = [still]
    if period.end is not None:
        opened = [
            r.c.started_at < period.end,
            or_(still, and_(r.c.status == "completed", r.c.completed_at >= period.end)),
        ]
    query = select(
        r.c.workflow_id,
        r.c.spec_version,
        func.sum(case((and_(*done), 1), else_=0)),
        func.sum(case((and_(*opened), 1), else_=0)),
    ).group_by(r.c.workflow_id, r.c.spec_version)
    groups: dict[tuple[str, int], tuple[int, int]] = defaultdict(lambda: (0, 0))
    for workflow, version, completed, running in conn.execute(query):
        groups[(workflow, version)] = (int(completed or 0), int(running or 0))
    return dict(groups)
