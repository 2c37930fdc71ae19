"""An approved role assignment takes effect: when a ``roles-and-competence`` run completes with
top management's approval, its holder is granted its role in the directory of people, in the
transaction that reports the completion, with a ``role.granted`` row naming the run and the
approval. From then on the role's tasks and approvals reach them (``RoleHolders``), and the
segregation of duties rules count the role as theirs.

Applied once: a holder who already holds the role by an approved grant gets no second one (a
completion reported again finds it there). A holder named by aims.yaml still gets the approved
grant, so taking them out of aims.yaml later does not take away a role top management gave.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from ..engine import Actor
from ..engine import evidence_kinds as ev
from ..store import people as store
from ..store import runs as run_store
from .approvals import approved_request
from .directory import CONFIG_ACTOR, is_email

if TYPE_CHECKING:
    from .core import Runtime

__all__ = ["ROLE_ASSIGNMENT_WORKFLOW", "RoleAssignments"]

ROLE_ASSIGNMENT_WORKFLOW = "roles-and-competence"
_ASSIGN, _APPROVE = "assign", "approve"
"""The task that names the role and holder, and the approval that decides it."""


class RoleAssignments:
    """Registers the effect of a completed role assignment with the runtime."""

    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime
        runtime.completion_effects[ROLE_ASSIGNMENT_WORKFLOW] = self.apply

    def apply(self, conn: Connection, run_id: str) -> dict[str, Any]:
        """Grant the approved role, once; what was granted (or why nothing was)."""
        run, _ = run_store.load(conn, run_id)
        decision = run.data.get(_APPROVE) or {}
        assign = run.data.get(_ASSIGN) or {}
        role, holder = assign.get("role"), str(assign.get("holder") or "").strip()
        if decision.get("outcome") != "approved" or not role or not holder:
            return {}
        now = self.rt.clock.now()
        directory = self.rt.people
        person = directory.find_person(conn, holder)
        if person is None and is_email(holder):
            person = directory.ensure_person(conn, holder, now, method="role assignment")
        if person is None:
            reason = (
                f"{holder} is not in the directory of people, so the role {role} approved in "
                f"run {run_id} was not granted: link their account (`aims people link`) and "
                "assign the role again"
            )
            self.rt.record(
                conn,
                ev.DirectoryRefused(
                    action="grant", reason=reason, asked={"role": role, "holder": holder}
                ),
                now,
                actor=Actor(ROLE_ASSIGNMENT_WORKFLOW, "engine"),
            )
            return {"role_not_granted": reason}
        held = store.open_grants(conn, person.person_id)
        if any(g.role == role and g.granted_by != CONFIG_ACTOR.id for g in held):
            return {"role_granted": []}
        approver = str((decision.get("decided_by") or ["aims"])[-1])
        store.grant(conn, person.person_id, role, now, approver)
        self.rt.record(
            conn,
            ev.RoleGranted(
                person_id=person.person_id,
                role=role,
                source=f"{ROLE_ASSIGNMENT_WORKFLOW} run {run_id}",
                valid_from=now,
                decided_in=run_id,
                approval_id=approved_request(conn, run_id, (_APPROVE,)),
            ),
            now,
            actor=Actor(approver, "engine"),
        )
        return {"role_granted": [f"{person.person_id} {role}"]}
