"""Decisions on approvals: who may decide (approver roles, segregation of duties, one decision
each, a reason), over which content (the request's hash), and when the request closes (quorum).

A decision that does not count is refused, never ignored: the refusal is evidence and the
person is told why.
"""

from __future__ import annotations

from typing import Literal

from ...spec.model import ApprovalStep
from .. import evidence_kinds as ev
from .._context import Context, Ignored, approval_step
from .._flow import goto
from ..commands import CloseApproval, Notify, RefuseDecision
from ..events import Actor, ApprovalDecided
from ..identity import why_untrusted
from ..state import ApprovalState, Decision
from ..steps.approvals import approved_steps, excluded_people

__all__ = ["on_approval_decided"]

_CHECKS = ["approver_role", "segregation_of_duties", "content_hash", "single_decision", "reason"]


def on_approval_decided(ctx: Context, event: ApprovalDecided) -> Ignored | None:
    run, actor = ctx.run, event.actor
    approval = run.approval
    approval_id = event.approval_id
    if not run.is_open or approval is None or approval.approval_id != approval_id:
        parts = approval_id.split(".")
        step_id = parts[-3] if len(parts) >= 4 else None
        reason = event.closed_note or "this approval is closed or was replaced by a newer request"
        _refuse(ctx, event, reason, step_id)
        return None
    step = approval_step(ctx.spec, approval.step_id)
    problem = _why_not(ctx, event, step, approval)
    if problem is not None:
        _refuse(ctx, event, problem, step.id)
        return None
    decision: Literal["approve", "reject"] = "approve" if event.decision == "approve" else "reject"
    reason = (event.reason or "").strip()
    for_whom = _standing_in_for(ctx, step, actor)
    approval.decisions.append(
        Decision(
            person=actor.id,
            decision=decision,
            reason=reason,
            at=ctx.now,
            ref=event.ref,
            on_behalf_of=for_whom,
        )
    )
    _record_decided(ctx, event, step, approval, decision, reason, for_whom)
    _close_if_decided(ctx, step, approval, event.eligible)
    return None


def _why_not(
    ctx: Context, event: ApprovalDecided, step: ApprovalStep, approval: ApprovalState
) -> str | None:
    """Why this decision does not count, or None when it does."""
    actor = event.actor
    if step.quorum == "all" and event.eligible is None:
        # 'all' cannot be counted without knowing who all is; refusing beats closing on one vote
        return (
            "this approval needs every eligible approver, but the decision did not say who they are"
        )
    if event.content_hash != approval.content_hash:
        return "the content changed since this request was sent; a fresh request has been sent"
    untrusted = why_untrusted(actor, "decide")
    if untrusted:
        return untrusted
    roles = set(actor.roles)
    if actor.id == ctx.run.subject.owner:
        roles.add("system_owner")
    if not roles & set(step.approvers) and not actor.delegated(step.approvers):
        return f"you are not an approver of this step (approvers: {', '.join(step.approvers)})"
    # a delegate is checked as themselves: a delegation never lifts segregation of duties
    violation = _segregation_violation(ctx, step, actor.id, roles, event.edited_by)
    if violation:
        return violation
    for first, second in actor.conflicts:
        if {first, second} & set(step.approvers):
            return (
                f"you hold both {first} and {second}, which aims.yaml keeps apart "
                "(segregation of duties): ask for one of the roles to be revoked"
            )
    for_whom = _standing_in_for(ctx, step, actor)
    if any(
        d.person == actor.id or (for_whom and for_whom in (d.person, d.on_behalf_of))
        for d in approval.decisions
    ):
        return "you have already decided on this request"
    if event.decision not in ("approve", "reject"):
        return "the decision must be approve or reject"
    if not (event.reason or "").strip():
        return "a reason is required"
    return None


def _segregation_violation(
    ctx: Context,
    step: ApprovalStep,
    person: str,
    roles: set[str],
    edited_by: tuple[tuple[str, str], ...] = (),
) -> str | None:
    run = ctx.run
    for task_step in step.separation.not_assignee_of:
        if run.completed_by.get(task_step) == person:
            return f"you completed '{task_step}', so you may not approve it (segregation of duties)"
    covered = set(approved_steps(ctx.spec, step))
    for changed, editor in edited_by:
        if editor == person and changed in covered:
            return (
                f"you changed the answers of '{changed}', so you may not approve them "
                "(segregation of duties)"
            )
    if step.separation.not_subject_owner and person == run.subject.owner:
        return (
            "you own this AI system, so you may not approve its assessment (segregation of duties)"
        )
    forbidden = roles & set(step.separation.forbidden_roles)
    if forbidden:
        return f"people with the role {', '.join(sorted(forbidden))} may not approve this step"
    return None


def _standing_in_for(ctx: Context, step: ApprovalStep, actor: Actor) -> str | None:
    """The role holder a delegate decides for; None when the approver holds the role."""
    roles = set(actor.roles) | ({"system_owner"} if actor.id == ctx.run.subject.owner else set())
    if roles & set(step.approvers):
        return None
    return actor.delegated(step.approvers)


def _refuse(ctx: Context, event: ApprovalDecided, reason: str, step_id: str | None) -> None:
    person = event.actor.id
    _record_refused(ctx, event, reason, step_id)
    ctx.emit(
        RefuseDecision(
            key=ctx.key(
                f"refuse/{event.ref or event.approval_id}/{person}/"
                f"{ctx.run.events_applied}/{len(ctx.evidence)}"
            ),
            run_id=ctx.run.run_id,
            person=person,
            approval_id=event.approval_id,
            reason=reason,
            response=event.reply_to,
        )
    )


def _needed(ctx: Context, step: ApprovalStep, eligible: tuple[str, ...] | None) -> int:
    if step.quorum == "any":
        return 1
    if step.quorum == "all":
        excluded = set(excluded_people(ctx.run, step))
        return max(1, len([p for p in eligible or () if p not in excluded]))
    return int(step.quorum)


def _close_if_decided(
    ctx: Context, step: ApprovalStep, approval: ApprovalState, eligible: tuple[str, ...] | None
) -> None:
    rejected = [d for d in approval.decisions if d.decision == "reject"]
    approved = {d.person for d in approval.decisions if d.decision == "approve"}
    outcome: Literal["approved", "rejected"]
    if rejected:
        outcome = "rejected"
    elif len(approved) >= _needed(ctx, step, eligible):
        outcome = "approved"
    else:
        return
    run = ctx.run
    run.data[step.id] = {
        "outcome": outcome,
        "decided_by": [d.person for d in approval.decisions],
        "reasons": [d.reason for d in approval.decisions],
        "content_hash": approval.content_hash,
    }
    _record_closed(ctx, step, approval, outcome)
    ctx.emit(
        CloseApproval(
            key=ctx.key(f"{approval.approval_id}/close"),
            run_id=run.run_id,
            approval_id=approval.approval_id,
            outcome="rejected" if outcome == "rejected" else "approved",
            decisions=tuple(approval.decisions),
        )
    )
    _tell_the_requesters(ctx, step, approval, outcome)
    ctx.clear_timers(step.id)
    run.approval = None
    goto(ctx, step.on_reject if outcome == "rejected" else ctx.spec.next_of(step.id))


def _tell_the_requesters(
    ctx: Context,
    step: ApprovalStep,
    approval: ApprovalState,
    outcome: Literal["approved", "rejected"],
) -> None:
    """Whoever did the work the approval covers hears the outcome, who decided and why."""
    run = ctx.run
    requesters = tuple(
        dict.fromkeys(
            run.completed_by[s] for s in approved_steps(ctx.spec, step) if s in run.completed_by
        )
    )
    if not requesters:
        return
    decided = "; ".join(
        f"{d.person}{f' for {d.on_behalf_of}' if d.on_behalf_of else ''} "
        f"{'approved' if d.decision == 'approve' else 'rejected'}: \u201c{d.reason}\u201d"
        for d in approval.decisions
    )
    ctx.emit(
        Notify(
            key=ctx.key(f"{approval.approval_id}/outcome"),
            run_id=run.run_id,
            to=(),
            people=requesters,
            message=f"Run {run.run_id}: '{step.id}' on {run.subject.name} was {outcome}. {decided}",
            subject=run.subject,
        )
    )


# -- evidence -----------------------------------------------------------------------------------
def _record_refused(ctx: Context, event: ApprovalDecided, reason: str, step_id: str | None) -> None:
    ctx.record(
        ev.ApprovalRefused(
            person=event.actor.id,
            approval_id=event.approval_id,
            reason=reason,
            decision=event.decision,
        ),
        step_id=step_id,
        actor=event.actor,
        ref=event.ref,
    )


def _record_decided(
    ctx: Context,
    event: ApprovalDecided,
    step: ApprovalStep,
    approval: ApprovalState,
    decision: Literal["approve", "reject"],
    reason: str,
    for_whom: str | None,
) -> None:
    # the optional fields are written only when they say something, so rows of decisions
    # without them keep the shape they always had
    extra: dict[str, str] = {}
    if for_whom:
        extra["on_behalf_of"] = for_whom
    if event.actor.assurance:
        extra["assurance"] = event.actor.assurance
    ctx.record(
        ev.ApprovalDecided(
            approval_id=approval.approval_id,
            person=event.actor.id,
            decision=decision,
            reason=reason,
            content_hash=approval.content_hash,
            checks=list(_CHECKS),
            **extra,
        ),
        step_id=step.id,
        actor=event.actor,
        ref=event.ref,
    )


def _record_closed(
    ctx: Context,
    step: ApprovalStep,
    approval: ApprovalState,
    outcome: Literal["approved", "rejected"],
) -> None:
    ctx.record(
        ev.ApprovalClosed(
            approval_id=approval.approval_id,
            outcome=outcome,
            latency_seconds=(ctx.now - approval.requested_at).total_seconds(),
            requested_at=approval.requested_at,
        ),
        step_id=step.id,
    )
