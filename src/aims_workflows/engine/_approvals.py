"""Approval steps: requests bound to a content hash, decisions with segregation of duties, quorum."""

from __future__ import annotations

import hashlib

from ..spec.expressions import evaluate, render
from ..spec.model import ApprovalStep, RecordStep, TaskStep
from .commands import CloseApproval, RefuseDecision, RequestApproval
from .evidence import canonical_json, iso
from .state import ApprovalState, Decision

__all__ = ["ApprovalSteps"]


class ApprovalSteps:
    """Requesting approvals and deciding them: content hash, segregation of duties, quorum."""

    def _approved_steps(self, step: ApprovalStep) -> list[str]:
        if step.approves:
            return list(step.approves)
        ids = [s.id for s in self.spec.steps]
        earlier = ids[: ids.index(step.id)]
        return [s for s in earlier if isinstance(self.spec.step(s), (TaskStep, RecordStep))]

    def _content_hash(self, step: ApprovalStep) -> str:
        content = {s: self.run.data.get(s) for s in self._approved_steps(step)}
        return hashlib.sha256(canonical_json(content).encode()).hexdigest()

    def _request_approval(self, step: ApprovalStep, *, round_: int) -> None:
        attempt = self.visit(step.id)
        approval_id = f"{self.run.run_id}.{step.id}.{attempt}.{round_}"
        content_hash = self._content_hash(step)
        due_at = self.now + step.due if step.due else None
        self.run.approval = ApprovalState(
            step_id=step.id,
            approval_id=approval_id,
            round=round_,
            content_hash=content_hash,
            requested_at=self.now,
            due_at=due_at,
        )
        self._add_timers(step, self.now, due_at, attempt, round_)
        context = self.context()
        shown = {label: evaluate(expr, context) for label, expr in step.show.items()}
        title = (
            render(step.title, context)
            if step.title
            else f"{self.spec.title}: {self.run.subject.name}"
        )
        # a record step may have a field named 'issue' too: shown as text, as the card shows it
        issues = [
            str(self.run.data[s]["issue"])
            for s in self._approved_steps(step)
            if s in self.run.data and self.run.data[s].get("issue")
        ]
        self.emit(
            RequestApproval(
                key=self.key(f"{approval_id}/request"),
                run_id=self.run.run_id,
                approval_id=approval_id,
                step_id=step.id,
                workflow=self.spec.id,
                title=title,
                approvers=step.approvers,
                quorum=step.quorum,
                channel=step.channel,
                content_hash=content_hash,
                show=shown,
                issues=tuple(issues),
                subject=self.run.subject,
                due_at=iso(due_at) if due_at else None,
                exclude=tuple(self._excluded_people(step)),
                forbidden_roles=step.separation.forbidden_roles,
                asked_by=tuple(
                    dict.fromkeys(
                        self.run.completed_by[s]
                        for s in self._approved_steps(step)
                        if s in self.run.completed_by
                    )
                ),
            )
        )
        self.record(
            "approval.requested",
            {
                "approval_id": approval_id,
                "approvers": list(step.approvers),
                "quorum": step.quorum,
                "content_hash": content_hash,
                "round": round_,
                "shown": shown,
            },
            step_id=step.id,
        )

    def _excluded_people(self, step: ApprovalStep) -> list[str]:
        people = {
            self.run.completed_by[s]
            for s in step.separation.not_assignee_of
            if s in self.run.completed_by
        }
        if step.separation.not_subject_owner and self.run.subject.owner:
            people.add(self.run.subject.owner)
        return sorted(people)

    def _refuse(self, reason: str, *, step_id: str | None, approval_id: str | None) -> None:
        actor = self.event.actor
        self.record(
            "approval.refused",
            {
                "person": actor.id,
                "approval_id": approval_id,
                "reason": reason,
                "decision": self.event.data.get("decision"),
            },
            step_id=step_id,
            actor=actor,
            ref=self.event.ref,
        )
        self.emit(
            RefuseDecision(
                key=self.key(
                    f"refuse/{self.event.ref or approval_id}/{actor.id}/{self.run.events_applied}/{len(self.evidence)}"
                ),
                run_id=self.run.run_id,
                person=actor.id,
                approval_id=approval_id if isinstance(approval_id, str) else None,
                reason=reason,
                response=self.event.data.get("response"),
            )
        )

    def _sod_violation(self, step: ApprovalStep, person: str, roles: set[str]) -> str | None:
        for task_step in step.separation.not_assignee_of:
            if self.run.completed_by.get(task_step) == person:
                return f"you completed '{task_step}', so you may not approve it (segregation of duties)"
        if step.separation.not_subject_owner and person == self.run.subject.owner:
            return "you own this AI system, so you may not approve its assessment (segregation of duties)"
        forbidden = roles & set(step.separation.forbidden_roles)
        if forbidden:
            return f"people with the role {', '.join(sorted(forbidden))} may not approve this step"
        return None

    def _on_approval_decided(self) -> None:
        data, actor = self.event.data, self.event.actor
        approval = self.run.approval
        approval_id = data.get("approval_id")
        if not self.run.is_open or approval is None or approval.approval_id != approval_id:
            step_id = (
                approval_id.split(".")[-3]
                if isinstance(approval_id, str) and approval_id.count(".") >= 3
                else None
            )
            self._refuse(
                "this approval is closed or was replaced by a newer request",
                step_id=step_id,
                approval_id=approval_id,
            )
            return
        step: ApprovalStep = self.spec.step(approval.step_id)
        if step.quorum == "all" and not isinstance(data.get("eligible"), list):
            # 'all' cannot be counted without knowing who all is; refusing beats closing on one vote
            self._refuse(
                "this approval needs every eligible approver, but the decision did not say who they are",
                step_id=step.id,
                approval_id=approval_id,
            )
            return
        if data.get("content_hash") != approval.content_hash:
            self._refuse(
                "the content changed since this request was sent; a fresh request has been sent",
                step_id=step.id,
                approval_id=approval_id,
            )
            return
        roles = set(actor.roles)
        if actor.id == self.run.subject.owner:
            roles.add("system_owner")
        if not roles & set(step.approvers):
            self._refuse(
                f"you are not an approver of this step (approvers: {', '.join(step.approvers)})",
                step_id=step.id,
                approval_id=approval_id,
            )
            return
        violation = self._sod_violation(step, actor.id, roles)
        if violation:
            self._refuse(violation, step_id=step.id, approval_id=approval_id)
            return
        if any(d.person == actor.id for d in approval.decisions):
            self._refuse(
                "you have already decided on this request", step_id=step.id, approval_id=approval_id
            )
            return
        reason = str(data.get("reason") or "").strip()
        decision = data.get("decision")
        if decision not in ("approve", "reject"):
            self._refuse(
                "the decision must be approve or reject", step_id=step.id, approval_id=approval_id
            )
            return
        if not reason:
            self._refuse("a reason is required", step_id=step.id, approval_id=approval_id)
            return
        approval.decisions.append(
            Decision(
                person=actor.id, decision=decision, reason=reason, at=self.now, ref=self.event.ref
            )
        )
        self.record(
            "approval.decided",
            {
                "approval_id": approval_id,
                "person": actor.id,
                "decision": decision,
                "reason": reason,
                "content_hash": approval.content_hash,
                "checks": [
                    "approver_role",
                    "segregation_of_duties",
                    "content_hash",
                    "single_decision",
                    "reason",
                ],
            },
            step_id=step.id,
            actor=actor,
            ref=self.event.ref,
        )
        self._maybe_close(step, approval, data.get("eligible"))

    def _needed(self, step: ApprovalStep, eligible: list[str] | None) -> int:
        if step.quorum == "any":
            return 1
        if step.quorum == "all":
            excluded = set(self._excluded_people(step))
            people = [
                p for p in (eligible if isinstance(eligible, list) else []) if p not in excluded
            ]
            return max(1, len(people))
        return int(step.quorum)

    def _maybe_close(
        self, step: ApprovalStep, approval: ApprovalState, eligible: list[str] | None
    ) -> None:
        rejected = [d for d in approval.decisions if d.decision == "reject"]
        approved = {d.person for d in approval.decisions if d.decision == "approve"}
        if rejected:
            outcome = "rejected"
        elif len(approved) >= self._needed(step, eligible):
            outcome = "approved"
        else:
            return
        self.run.data[step.id] = {
            "outcome": outcome,
            "decided_by": [d.person for d in approval.decisions],
            "reasons": [d.reason for d in approval.decisions],
            "content_hash": approval.content_hash,
        }
        latency = (self.now - approval.requested_at).total_seconds()
        self.record(
            "approval.closed",
            {
                "approval_id": approval.approval_id,
                "outcome": outcome,
                "latency_seconds": latency,
                "requested_at": iso(approval.requested_at),
            },
            step_id=step.id,
        )
        self.emit(
            CloseApproval(
                key=self.key(f"{approval.approval_id}/close"),
                run_id=self.run.run_id,
                approval_id=approval.approval_id,
                outcome=outcome,
                decisions=tuple(approval.decisions),
            )
        )
        self._clear_timers(step.id)
        self.run.approval = None
        self.goto(step.on_reject if outcome == "rejected" else self.spec.next_of(step.id))
