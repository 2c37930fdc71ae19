"""Figures as they stood at a past moment, recomputed from the projections and the inventory
history, so a review can compare the start of its period with the end.

The KPI projections only hold the present (each AI system's current ``risk_valid_until``, the
open tasks). The past is rebuilt from what is kept with dates:

- open tasks, approvals and nonconformities at ``t``: rows created by ``t`` and not closed by
  then (``steps``, ``approvals``, ``findings`` keep both times);
- assessment coverage at ``t``: for each AI system in scope at ``t``, its last completed
  assessment run by ``t`` stays valid for the ``valid_for`` of the workflow version that run was
  pinned to; an impact assessment also ends at a material change to the system, as the runtime
  does. Scope at ``t`` is the current flag, undone by the history rows after ``t`` that changed it.

At the present moment these give the dashboard's numbers; :func:`coverage_check` says so or
names the difference, so a database whose history was edited is not silently trusted.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select

from ...errors import AimsError
from ...inventory import MATERIAL_FIELDS
from ...store.models import AISystem, AISystemHistory, Approval, Finding, Run, StepRecord

__all__ = ["OpenWork", "open_work", "CoverageHistory", "CoverageAt", "coverage_check", "KPI_KINDS"]

KPI_KINDS = ("risk_assessment", "impact_assessment")

_STEPS, _APPROVALS, _FINDINGS = StepRecord.__table__, Approval.__table__, Finding.__table__
_RUNS, _SYSTEMS, _HISTORY = Run.__table__, AISystem.__table__, AISystemHistory.__table__


@dataclass(frozen=True)
class OpenWork:
    tasks: int
    overdue_tasks: int
    approvals: int
    nonconformities: int


def _open_at(created, closed, at: datetime) -> list[Any]:
    return [created <= at, or_(closed.is_(None), closed > at)]


def open_work(conn: Connection, at: datetime) -> OpenWork:
    """What was open at ``at``; an overdue task is
    open and past its due date, as the KPI counts it."""
    s = _STEPS
    tasks = conn.execute(
        select(
            func.count(), func.count().filter(and_(s.c.due_at.is_not(None), s.c.due_at < at))
        ).where(*_open_at(s.c.created_at, s.c.completed_at, at))
    ).one()
    a, f = _APPROVALS, _FINDINGS
    approvals = conn.scalar(
        select(func.count()).select_from(a).where(*_open_at(a.c.requested_at, a.c.closed_at, at))
    )
    findings = conn.scalar(
        select(func.count()).select_from(f).where(*_open_at(f.c.raised_at, f.c.closed_at, at))
    )
    return OpenWork(tasks[0] or 0, tasks[1] or 0, approvals or 0, findings or 0)


@dataclass(frozen=True)
class CoverageAt:
    """In-scope AI systems at one moment and, per KPI, each one's state: current, expired,
    ended_by_change (an impact assessment a material change made stale) or never."""

    at: datetime
    in_scope: frozenset[int]
    states: dict[str, dict[int, str]]

    def current(self, kpi: str) -> int:
        return sum(1 for state in self.states[kpi].values() if state == "current")

    def ratio(self, kpi: str) -> float | None:
        return self.current(kpi) / len(self.in_scope) if self.in_scope else None

    def current_ids(self, kpi: str) -> set[int]:
        return {sid for sid, state in self.states[kpi].items() if state == "current"}


class CoverageHistory:
    """Coverage at any moment from ``earliest`` on. Reads the AI systems once, the history rows
    from ``earliest`` minus the longest validity, and, per moment, one grouped query over the
    completed assessment runs."""

    def __init__(self, conn: Connection, specs: Any, workflows: Any, earliest: datetime) -> None:
        self.conn = conn
        self.notes: list[str] = []
        self.validity = self._validity(specs, workflows)
        longest = max((vf for _, vf in self.validity.values()), default=timedelta(0))
        self.systems = {
            row.id: (row.created_at, bool(row.in_scope))
            for row in conn.execute(
                select(_SYSTEMS.c.id, _SYSTEMS.c.created_at, _SYSTEMS.c.in_scope)
            )
        }
        self.scope_changes: dict[int, list[tuple[datetime, bool]]] = defaultdict(
            list
        )  # (when, value before)
        self.material: dict[int, list[datetime]] = defaultdict(list)
        h = _HISTORY
        query = (
            select(h.c.system_id, h.c.version, h.c.changed_at, h.c.changes)
            .where(h.c.changed_at > earliest - longest)
            .order_by(h.c.changed_at, h.c.id)
        )
        for row in conn.execute(query):
            changes = row.changes or {}
            if row.version > 1 and "in_scope" in changes:
                self.scope_changes[row.system_id].append(
                    (row.changed_at, bool(changes["in_scope"][0]))
                )
            if row.version > 1 and set(changes) & MATERIAL_FIELDS:
                self.material[row.system_id].append(row.changed_at)

    def _validity(self, specs: Any, workflows: Any) -> dict[tuple[str, str], tuple[str, timedelta]]:
        """(workflow, spec hash) -> (KPI, valid_for) for
        every version a completed assessment run used."""
        r = _RUNS
        used = self.conn.execute(
            select(r.c.workflow_id, r.c.spec_hash)
            .where(r.c.subject_type == "ai_system", r.c.status == "completed")
            .distinct()
        ).all()
        validity: dict[tuple[str, str], tuple[str, timedelta]] = {}
        guessed: set[str] = set()
        for workflow_id, spec_hash in used:
            spec = None
            try:
                spec = specs.by_hash(self.conn, spec_hash)
            except (
                AimsError
            ):  # a version that is not stored (or no longer parses): the current file's validity
                if workflow_id in workflows:
                    spec = workflows.get(workflow_id).spec
                    guessed.add(workflow_id)
            if spec is not None and spec.coverage is not None:
                validity[(workflow_id, spec_hash)] = (spec.coverage.kpi, spec.coverage.valid_for)
        for workflow_id in sorted(guessed):
            self.notes.append(
                f"some {workflow_id} runs were pinned to a workflow version that is not stored; "
                "the current version's validity was used for them"
            )
        return validity

    def _in_scope(self, sid: int, at: datetime) -> bool:
        created, flag = self.systems[sid]
        if created > at:
            return False
        later = self.scope_changes.get(sid, ())
        for when, before in later:  # the first change after `at` tells what the flag was at `at`
            if when > at:
                return before
        return flag

    def at(self, at: datetime) -> CoverageAt:
        in_scope = frozenset(sid for sid in self.systems if self._in_scope(sid, at))
        last: dict[tuple[int, str], tuple[datetime, timedelta]] = {}
        pairs = sorted({wf for wf, _ in self.validity})
        if pairs:
            r = _RUNS
            query = (
                select(r.c.subject_id, r.c.workflow_id, r.c.spec_hash, func.max(r.c.completed_at))
                .where(
                    r.c.workflow_id.in_(pairs),
                    r.c.subject_type == "ai_system",
                    r.c.status == "completed",
                    r.c.completed_at <= at,
                )
                .group_by(r.c.subject_id, r.c.workflow_id, r.c.spec_hash)
            )
            for subject_id, workflow_id, spec_hash, completed in self.conn.execute(query):
                kpi_vf = self.validity.get((workflow_id, spec_hash))
                if kpi_vf is None or completed is None or not str(subject_id).isdigit():
                    continue
                key = (int(subject_id), kpi_vf[0])
                if key not in last or completed > last[key][0]:
                    last[key] = (completed, kpi_vf[1])
        states: dict[str, dict[int, str]] = {kpi: {} for kpi in KPI_KINDS}
        for sid in in_scope:
            for kpi in KPI_KINDS:
                states[kpi][sid] = self._state(sid, kpi, last.get((sid, kpi)), at)
        return CoverageAt(at, in_scope, states)

    def _state(
        self, sid: int, kpi: str, last: tuple[datetime, timedelta] | None, at: datetime
    ) -> str:
        if last is None:
            return "never"
        completed, valid_for = last
        lapses = completed + valid_for
        # whichever ended it first: a material change before the validity ran out, or the expiry
        if kpi == "impact_assessment" and _changed_between(
            self.material.get(sid, []), completed, min(at, lapses)
        ):
            return "ended_by_change"
        return "expired" if lapses <= at else "current"


def _changed_between(moments: list[datetime], after: datetime, upto: datetime) -> bool:
    """Whether a sorted list holds a moment in (after, upto]."""
    i = bisect_right(moments, after)
    return i < len(moments) and moments[i] <= upto


def coverage_check(conn: Connection, recomputed: CoverageAt) -> list[str]:
    """At the present moment, the recomputation must agree with the projection the KPIs read;
    a difference is named (it means the history or the projection was changed by hand)."""
    s = _SYSTEMS
    at = recomputed.at
    row = conn.execute(
        select(
            func.count(),
            func.count().filter(s.c.risk_valid_until > at),
            func.count().filter(s.c.impact_valid_until > at),
        ).where(s.c.in_scope.is_(True))
    ).one()
    problems = []
    if row[0] != len(recomputed.in_scope):
        problems.append(
            f"in-scope AI systems: {row[0]:,} in the inventory, {len(recomputed.in_scope):,} "
            "rebuilt from its history"
        )
    for kpi, projected in zip(KPI_KINDS, row[1:], strict=True):
        if projected != recomputed.current(kpi):
            problems.append(
                f"{kpi.replace('_', ' ')}s current: {projected:,} in the KPI projection, "
                f"{recomputed.current(kpi):,} rebuilt from the completed runs"
            )
    return problems
