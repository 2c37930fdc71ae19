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
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, select

from ..engine import Actor
from ..runtime.approvals import approved_request
from ..runtime.subjects import ai_system_subject
from ..store import inventory as inventory_store
from ..store import runs as run_store
from ..store.models import Run
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


class IntakeDecisions:
    """The completion effect of ``ai-system-intake``."""

    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory
        self.rt = inventory.rt

    def apply(self, conn: Connection, run_id: str) -> dict[str, Any]:
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
            return {}
        approver = str((decision.get("decided_by") or ["aims"])[-1])
        actor = Actor(approver, "engine")
        decided = {"decided_in": run_id, "approval_id": approved_request(conn, run_id, _DECISIONS)}
        row = inventory_store.get(conn, int(run.subject.id))
        in_scope = triage.get("recommendation") == "accept_in_scope"
        is_proposal = row["lifecycle_stage"] == _PROPOSAL_STAGE
        # a system past inception moves in or out of scope only through top management's run
        scope = in_scope if is_proposal else bool(row["in_scope"])
        current = inventory_store.record_of(row)
        record = AISystemRecord.model_validate(
            {**current, "risk_tier": triage["risk_tier"], "in_scope": scope}
        )
        changes, started = self.inventory._change(conn, row, record, actor, decided=decided)
        result: dict[str, Any] = {"inventory_changed": sorted(changes)}
        if scope != in_scope:
            result["scope_change"] = self._ask_top_management(conn, row, in_scope, triage, actor)
        if scope and triage.get("recommendation") == "accept_in_scope":
            started += self._start_assessments(conn, run_id, row["id"])
        result["started"] = started
        return result

    def _start_assessments(self, conn: Connection, run_id: str, system_id: int) -> list[str]:
        """Each assessment the system has no open run of (the change itself may have started
        them) and this intake did not start before."""
        subject = ai_system_subject(inventory_store.get(conn, system_id))
        now = self.rt.clock.now()
        started = []
        for workflow in ASSESSMENTS:
            if self.rt._open_run_exists(conn, workflow, subject) or conn.scalar(
                select(_RUNS.c.id).where(
                    _RUNS.c.workflow_id == workflow, _RUNS.c.spawned_by == run_id
                )
            ):
                continue
            loaded = self.rt.specs.current(workflow)
            transition = self.rt._start(
                conn, loaded, subject, now, trigger=f"intake decision in {run_id}"
            )
            run_store.set_spawned_by(conn, transition.run.run_id, run_id)
            started.append(transition.run.run_id)
        return started

    def _ask_top_management(
        self,
        conn: Connection,
        row: dict[str, Any],
        in_scope: bool,
        triage: dict[str, Any],
        actor: Actor,
    ) -> str:
        """Start the scope-change run for a system past inception (unless one is waiting)."""
        waiting = waiting_request(conn, row["id"])
        if waiting is not None:
            return waiting
        subject = ai_system_subject(row)
        reason = str(triage.get("scope_rationale") or "intake decision")
        transition = self.rt._start(
            conn,
            self.rt.specs.current(SCOPE_CHANGE_WORKFLOW),
            subject,
            self.rt.clock.now(),
            inputs={"in_scope": in_scope, "reason": reason, "requested_by": actor.id},
            actor=actor,
            trigger=f"intake decision on {row['name']}",
        )
        return transition.run.run_id
