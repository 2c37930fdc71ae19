"""An approved intake decision reaches the inventory: when an ``ai-system-intake`` run completes
(it completes only once its decision was approved), the system gets the risk tier the triage
gave and the place in the scope the decision gave, as the approver's change, in one
``ai_system.changed`` row naming the run and the approval; then, for a system taken into scope,
the risk and impact assessments start.

A proposal (a system still at the inception stage) enters or stays out of the scope on the
intake's own approval: that approval is the decision ``ai-system-scope-change`` would otherwise
ask for, so no second one is started. A system past inception taken through intake by hand has
a place in the scope already; moving it needs top management as always, so its tier is applied
and a scope-change run is started with the triage's reason.

Applied once: a completion reported again finds the inventory where the decision put it (no
change, no row) and the assessments this intake started already there.

The change, the runs it triggers, the scope-change run and the assessments are planned on a
snapshot before the dispatcher's write transaction (their templates evaluated there), which
stores them after checking the plan still holds (runtime/completion_effects).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, select

from ..engine import Actor
from ..engine.state import Subject
from ..runtime.approvals import approved_request
from ..runtime.internal_plans import PlannedStart
from ..runtime.starts import CLI
from ..runtime.subjects import ai_system_subject
from ..store import inventory as inventory_store
from ..store import runs as run_store
from ..store.models import Run
from .change_plans import PlannedChange, plan_change
from .model import AISystemRecord
from .scope_change import SCOPE_CHANGE_WORKFLOW, waiting_request

if TYPE_CHECKING:
    from .service import Inventory

__all__ = ["ASSESSMENTS", "INTAKE_WORKFLOW", "IntakeDecisions"]

INTAKE_WORKFLOW = "ai-system-intake"
ASSESSMENTS = ("ai-risk-assessment", "ai-impact-assessment")
"""What a system taken into scope needs first (8.2, 8.4)."""

_TRIAGE = "triage"
_DECISIONS = ("decide_top", "decide")
_PROPOSAL_STAGE = "inception"
_RUNS = Run.__table__


@dataclass(frozen=True)
class _Decision:
    """What an approved intake decided, as read from its completed run and the inventory."""

    actor: Actor
    row: dict[str, Any]
    record: AISystemRecord
    in_scope: bool
    """Where the triage put the system (``record.in_scope`` is where it goes now)."""
    triage: dict[str, Any]


@dataclass(frozen=True)
class IntakePlan:
    """An intake decision planned on a snapshot. ``scope_change``: the scope-change run to start
    (a run id when one was waiting already, None when none is asked for). ``assessments``: by
    workflow, the start planned, or None where the system had one open or this intake had
    started one."""

    decision: _Decision
    change: PlannedChange
    scope_change: PlannedStart | str | None
    assessments: dict[str, PlannedStart | None]


class IntakeDecisions:
    """The completion effect of ``ai-system-intake``."""

    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory
        self.rt = inventory.rt

    @staticmethod
    def _decision(conn: Connection, run_id: str) -> _Decision | None:
        run, _ = run_store.load(conn, run_id)
        triage = run.data.get(_TRIAGE) or {}
        decision = next(
            (
                run.data[s]
                for s in _DECISIONS
                if (run.data.get(s) or {}).get("outcome") == "approved"
            ),
            None,
        )
        if decision is None or not triage.get("risk_tier"):
            return None
        approver = str((decision.get("decided_by") or ["aims"])[-1])
        row = inventory_store.get(conn, int(run.subject.id))
        in_scope = triage.get("recommendation") == "accept_in_scope"
        is_proposal = row["lifecycle_stage"] == _PROPOSAL_STAGE
        # a system past inception moves in or out of scope only through top management's run
        scope = in_scope if is_proposal else bool(row["in_scope"])
        current = inventory_store.record_of(row)
        record = AISystemRecord.model_validate(
            {**current, "risk_tier": triage["risk_tier"], "in_scope": scope}
        )
        return _Decision(Actor(approver, "engine"), row, record, in_scope, triage)

    def plan(self, run_id: str, now: datetime) -> IntakePlan | None:
        """The decision's change and the runs it starts, on a snapshot (no write lock)."""
        with self.rt.db.connect() as read:
            decision = self._decision(read, run_id)
            if decision is None:
                return None
            change = plan_change(self.rt, read, decision.row, decision.record, now, decision.actor)
            scope_change: PlannedStart | str | None = None
            if decision.record.in_scope != decision.in_scope:
                scope_change = waiting_request(read, decision.row["id"]) or self._plan_start(
                    read, SCOPE_CHANGE_WORKFLOW, ai_system_subject(decision.row), now,
                    inputs=self._scope_inputs(decision), actor=decision.actor,
                    trigger=f"intake decision on {decision.row['name']}",
                )  # fmt: skip
            assessments: dict[str, PlannedStart | None] = {}
            if decision.record.in_scope and decision.in_scope:
                for workflow in ASSESSMENTS:
                    assessments[workflow] = (
                        None
                        if self._has_assessment(read, workflow, change.subject, run_id)
                        else self._plan_start(
                            read,
                            workflow,
                            change.subject,
                            now,
                            trigger=f"intake decision in {run_id}",
                        )  # fmt: skip
                    )
        return IntakePlan(decision, change, scope_change, assessments)

    def store(
        self, conn: Connection, run_id: str, plan: IntakePlan | None, now: datetime
    ) -> dict[str, Any]:
        """Store ``plan`` in the dispatcher's write transaction (nothing is evaluated here);
        ``ConcurrentUpdate`` when what it was planned from changed."""
        decision = self._decision(conn, run_id)
        if decision is None and plan is None:
            return {}
        if decision is None or plan is None or decision != plan.decision:
            raise run_store.ConcurrentUpdate(f"intake {run_id} was planned on another decision")
        actor = decision.actor
        decided = {"decided_in": run_id, "approval_id": approved_request(conn, run_id, _DECISIONS)}
        changes, started = self.inventory._store_change(
            conn, plan.change, now, actor, decided=decided
        )
        result: dict[str, Any] = {"inventory_changed": sorted(changes)}
        if decision.record.in_scope != decision.in_scope:
            result["scope_change"] = self._store_scope_change(conn, decision, plan, now)
        # the change itself may have started an assessment: stored after it, as it is skipped
        for workflow, planned in plan.assessments.items():
            has = self._has_assessment(conn, workflow, plan.change.subject, run_id)
            if planned is None and not has:
                raise run_store.ConcurrentUpdate(f"the open {workflow} ended since the plan")
            if planned is None or has:
                continue
            self._store_start(conn, planned, now)
            run_store.set_spawned_by(conn, planned.transition.run.run_id, run_id)
            started.append(planned.transition.run.run_id)
        result["started"] = started
        return result

    def _has_assessment(
        self, conn: Connection, workflow: str, subject: Subject, run_id: str
    ) -> bool:
        """Whether the system has an open run of ``workflow``, or this intake started one."""
        return self.rt._open_run_exists(conn, workflow, subject) or (
            conn.scalar(
                select(_RUNS.c.id).where(
                    _RUNS.c.workflow_id == workflow, _RUNS.c.spawned_by == run_id
                )
            )
            is not None
        )

    @staticmethod
    def _scope_inputs(decision: _Decision) -> dict[str, Any]:
        reason = str(decision.triage.get("scope_rationale") or "intake decision")
        return {"in_scope": decision.in_scope, "reason": reason, "requested_by": decision.actor.id}

    def _store_scope_change(
        self, conn: Connection, decision: _Decision, plan: IntakePlan, now: datetime
    ) -> str:
        """The scope-change run for a system past inception (unless one is waiting)."""
        waiting = waiting_request(conn, decision.row["id"])
        if waiting is not None:
            return waiting
        if not isinstance(plan.scope_change, PlannedStart):
            raise run_store.ConcurrentUpdate(f"the scope change {plan.scope_change} ended")
        self._store_start(conn, plan.scope_change, now, self._scope_inputs(decision))
        return plan.scope_change.transition.run.run_id

    def _plan_start(
        self,
        read: Connection,
        workflow: str,
        subject: Subject,
        now: datetime,
        *,
        trigger: str,
        inputs: dict[str, Any] | None = None,
        actor: Actor = CLI,
    ) -> PlannedStart:
        """A start on ``read`` (no write lock), its inputs as the database completes them."""
        loaded = self.rt.specs.current(workflow)
        given = self.rt._start_inputs(read, loaded.spec, subject, inputs, now)
        transition = self.rt._started(
            loaded, subject, now, inputs=given, actor=actor, trigger=trigger
        )
        return PlannedStart(loaded, subject, given, transition)

    def _store_start(
        self,
        conn: Connection,
        planned: PlannedStart,
        now: datetime,
        inputs: dict[str, Any] | None = None,
    ) -> None:
        """Store a planned start once the database completes ``inputs`` as it did then."""
        spec = planned.loaded.spec
        if self.rt._start_inputs(conn, spec, planned.subject, inputs, now) != planned.inputs:
            raise run_store.ConcurrentUpdate(f"what {spec.id} starts from changed since the plan")
        self.rt._store_start(conn, planned.loaded, planned.transition, now)
