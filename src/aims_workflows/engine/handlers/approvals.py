"""Decisions on approvals: who may decide (approver roles, segregation of duties, one decision
each, a reason), over which content (the request's hash), and when the request closes (quorum).

A decision that does not count is refused, never ignored: the refusal is evidence and the
person is told why.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from ...spec.durations import format_duration
from ...spec.model import ApprovalStep
from .. import evidence_kinds as ev
from .._context import Context, Ignored, approval_step
from .._flow import goto
from ..commands import AskStepUp, CloseApproval, Notify, RefuseDecision, ReopenApproval
from ..events import Actor, ApprovalDecided
from ..evidence import iso
from ..identity import why_untrusted
from ..state import ApprovalState, Decision
from ..steps.approvals import approved_steps, excluded_people, request_approval

__all__ = ["on_approval_decided", "close_if_decided", "expire_request"]

WITHDRAW = "withdraw"
"""The decision word that takes back one's own decision within the step's withdraw window."""
CONFIRM = "confirm"
"""The decision word of a step-up confirmation (a comment in Jira by the approver)."""

_CHECKS = ["approver_role", "segregation_of_duties", "content_hash", "single_decision", "reason"]


def on_approval_decided(ctx: Context, event: ApprovalDecided) -> Ignored | None:
    run, actor = ctx.run, event.actor
    approval = run.approval
    approval_id = event.approval_id
    if not run.is_open or approval is None or approval.approval_id != approval_id:
        parts = approval_id.split(".")
        step_id = parts[-3] if len(parts) >= 4 else None
        reason = event.closed_note or "this approval is closed or was replaced by a newer request"
        if event.decision == WITHDRAW:
            reason = (
                f"{reason.split('; your decision')[0]}; the workflow has acted on it, so a "
                "decision on it can no longer be withdrawn"
            )
        _refuse(ctx, event, reason, step_id)
        return None
    step = approval_step(ctx.spec, approval.step_id)
    if event.decision == WITHDRAW:
        _withdraw(ctx, event, step, approval)
        return None
    if event.decision == CONFIRM:
        _confirm(ctx, event, step, approval)
        return None
    problem = _why_not(ctx, event, step, approval)
    if problem is not None:
        _refuse(ctx, event, problem, step.id)
        return None
    decision: Literal["approve", "reject"] = "approve" if event.decision == "approve" else "reject"
    reason = (event.reason or "").strip()
    for_whom = _standing_in_for(ctx, step, actor)
    made = Decision(
        person=actor.id,
        decision=decision,
        reason=reason,
        at=ctx.now,
        ref=event.ref,
        on_behalf_of=for_whom,
    )
    if event.eligible is not None and step.withdraw_within is not None:
        # kept only where it is needed later: a quorum of 'all' settled when the withdraw
        # window ends is counted against who was eligible at the last decision
        approval.eligible = list(event.eligible)
    if approval.step_up and decision == "approve":
        # a rejection is the safe direction and counts at once; an approval waits for the
        # same person's confirmation in the second channel
        _ask_step_up(ctx, event, step, approval, made)
        return None
    _count(ctx, event, step, approval, made)
    return None


def _count(
    ctx: Context,
    event: ApprovalDecided,
    step: ApprovalStep,
    approval: ApprovalState,
    made: Decision,
    assurance: str | None = None,
) -> None:
    """A decision that counts: recorded, then the request closes (or settles after the
    withdraw window) when the decisions reach an outcome."""
    approval.decisions.append(made)
    _record_decided(
        ctx, event, step, approval, made.decision, made.reason, made.on_behalf_of, assurance
    )
    if step.withdraw_within is None:
        close_if_decided(ctx, step, approval, event.eligible)
    else:
        _settle_later(ctx, step, approval)


def _ask_step_up(
    ctx: Context,
    event: ApprovalDecided,
    step: ApprovalStep,
    approval: ApprovalState,
    made: Decision,
) -> None:
    run = ctx.run
    condition = step.step_up.when if step.step_up else ""
    issues = tuple(
        str(run.data[s]["issue"])
        for s in approved_steps(ctx.spec, step)
        if s in run.data and run.data[s].get("issue")
    )
    code = f"aims confirm {approval.approval_id}"
    approval.awaiting.append(made)
    ctx.record(
        ev.ApprovalStepUpRequested(
            approval_id=approval.approval_id,
            person=made.person,
            reason=made.reason,
            condition=condition,
            confirm_in="jira",
            issues=list(issues),
            code=code,
        ),
        step_id=step.id,
        actor=event.actor,
        ref=event.ref,
    )
    title = f"'{step.id}' on {run.subject.name}"
    where = f"on {', '.join(issues)}" if issues else "on any issue of the aims project in Jira"
    ctx.emit(
        AskStepUp(
            key=ctx.key(f"{approval.approval_id}/step-up/{made.person}/{run.events_applied}"),
            run_id=run.run_id,
            approval_id=approval.approval_id,
            person=made.person,
            title=title,
            issues=issues,
            code=code,
        )
    )
    ctx.emit(
        Notify(
            key=ctx.key(
                f"{approval.approval_id}/step-up-notice/{made.person}/{run.events_applied}"
            ),
            run_id=run.run_id,
            to=(),
            people=(made.person,),
            message=(
                f"Your approval of {title} does not count yet: it is above the step-up "
                f"threshold ({condition}). Confirm it in Jira under your own account with a "
                f"comment reading “{code}” {where}."
            ),
            subject=run.subject,
        )
    )


def _confirm(
    ctx: Context, event: ApprovalDecided, step: ApprovalStep, approval: ApprovalState
) -> None:
    """The second channel of a step-up: the same person, through Jira, confirms the approval
    they gave in Slack; only then does it count."""
    actor = event.actor
    untrusted = why_untrusted(actor, "confirm an approval")
    if untrusted:
        _refuse(ctx, event, untrusted, step.id)
        return
    if actor.via != "jira":
        _refuse(
            ctx,
            event,
            f"a step-up is confirmed in Jira under your own account, not through {actor.via}",
            step.id,
        )
        return
    waiting = next((d for d in approval.awaiting if d.person == actor.id), None)
    if waiting is None:
        _refuse(
            ctx,
            event,
            "there is no approval of yours on this request waiting for confirmation: only the "
            "person who approved in Slack can confirm it, under the Jira account linked to them",
            step.id,
        )
        return
    approval.awaiting.remove(waiting)
    first = waiting.ref or "slack"
    assurance = (
        f"stepped up: {actor.assurance or 'verified by jira'} ({event.ref or 'jira'}) "
        f"confirmed the approval given at {first}"
    )
    _count(ctx, event, step, approval, waiting, assurance)


def _settle_later(ctx: Context, step: ApprovalStep, approval: ApprovalState) -> None:
    """With a withdraw window the workflow acts on decisions only once the window of the last
    one has passed: until then each approver may take theirs back."""
    window = step.withdraw_within
    if window is None:  # pragma: no cover - callers check
        return
    ctx.run.timers = [
        t for t in ctx.run.timers if not (t.step_id == step.id and t.kind == "settle")
    ]
    if _outcome(ctx, step, approval, approval.eligible) is None or not approval.decisions:
        return
    last = max(d.at for d in approval.decisions)
    ctx.settle_at(step.id, last + window, ctx.visit(step.id), approval.round)


def _withdraw(
    ctx: Context, event: ApprovalDecided, step: ApprovalStep, approval: ApprovalState
) -> None:
    """Take back one's own decision: refused outside the window, appended as evidence (the
    decision's row stays), and the request is open again for this person."""
    actor = event.actor
    window = step.withdraw_within
    untrusted = why_untrusted(actor, "decide")
    if untrusted:
        _refuse(ctx, event, untrusted, step.id)
        return
    if window is None:
        _refuse(
            ctx,
            event,
            f"decisions on '{step.id}' cannot be withdrawn: the workflow sets no "
            "withdraw_within on this step",
            step.id,
        )
        return
    # an approval still waiting for its step-up confirmation can be taken back too
    mine = [d for d in approval.decisions + approval.awaiting if d.person == actor.id]
    if not mine:
        _refuse(ctx, event, "you have no decision on this request to withdraw", step.id)
        return
    decision = mine[-1]
    until = decision.at + window
    if ctx.now > until:
        _refuse(
            ctx,
            event,
            f"your decision of {iso(decision.at)} could be withdrawn until {iso(until)} "
            f"({format_duration(window)} after it); it stands",
            step.id,
        )
        return
    reason = (event.reason or "").strip()
    if not reason:
        _refuse(ctx, event, "a reason is required to withdraw a decision", step.id)
        return
    if decision in approval.awaiting:
        approval.awaiting.remove(decision)
    else:
        approval.decisions.remove(decision)
    extra = {"on_behalf_of": decision.on_behalf_of} if decision.on_behalf_of else {}
    ctx.record(
        ev.ApprovalWithdrawn(
            approval_id=approval.approval_id,
            person=actor.id,
            decision=decision.decision,
            decided_at=decision.at,
            reason=reason,
            **extra,
        ),
        step_id=step.id,
        actor=actor,
        ref=event.ref,
    )
    ctx.emit(
        ReopenApproval(
            key=ctx.key(f"{approval.approval_id}/reopen/{actor.id}/{ctx.run.events_applied}"),
            run_id=ctx.run.run_id,
            approval_id=approval.approval_id,
            person=actor.id,
            reason=reason,
        )
    )
    _settle_later(ctx, step, approval)


def expire_request(ctx: Context, step: ApprovalStep) -> None:
    """The request passed its due date (and the step's ``expire.after``) without an outcome:
    it expires, which is not a rejection, and a fresh request goes to the alternate role. A
    request that went to the alternate already does not expire again."""
    run, approval = ctx.run, ctx.run.approval
    if approval is None or approval.step_id != step.id:
        return
    pending = [t for t in run.timers if t.step_id == step.id and t.kind == "settle"]
    if pending:
        # decisions that meet the quorum wait out their withdraw window: the request is
        # decided, not expired, unless they are withdrawn (then it expires after the window)
        fire_at = max(t.fire_at for t in pending) + timedelta(seconds=1)
        ctx.add_expiry(step.id, fire_at, ctx.visit(step.id), approval.round)
        return
    alternate = step.alternate if approval.escalated_from is None else None
    if alternate is None:
        # unreachable through the step's checks (an expiring step names an alternate, and a
        # request asked of the alternate gets no expiry); were it reached, it stays open
        return
    asked = approval.approvers or list(step.approvers)
    ctx.record(
        ev.ApprovalExpired(
            approval_id=approval.approval_id,
            requested_at=approval.requested_at,
            due_at=approval.due_at or ctx.now,
            approvers=asked,
            decided=[d.person for d in approval.decisions],
            escalated_to=alternate,
        ),
        step_id=step.id,
    )
    ctx.emit(
        CloseApproval(
            key=ctx.key(f"{approval.approval_id}/close"),
            run_id=run.run_id,
            approval_id=approval.approval_id,
            outcome="expired",
            decisions=tuple(approval.decisions),
            escalated_to=alternate,
        )
    )
    ctx.clear_timers(step.id)
    run.approval = None
    request_approval(
        ctx,
        step,
        round_=approval.round + 1,
        approvers=(alternate,),
        escalated_from=approval.approval_id,
    )


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
    approvers = _approvers(step, approval)
    if not roles & set(approvers) and not actor.delegated(approvers):
        return f"you are not an approver of this step (approvers: {', '.join(approvers)})"
    # a delegate is checked as themselves: a delegation never lifts segregation of duties
    violation = _segregation_violation(ctx, step, actor.id, roles, event.edited_by)
    if violation:
        return violation
    for first, second in actor.conflicts:
        if {first, second} & set(approvers):
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
    if any(d.person == actor.id for d in approval.awaiting):
        return (
            "you have already approved this request; it counts once you confirm it in Jira "
            f"(a comment reading “aims confirm {approval.approval_id}”)"
        )
    stood_in = next((d for d in approval.decisions if d.on_behalf_of == actor.id), None)
    if stood_in is not None:
        # a delegate decides in the holder's place, never as an extra approver
        return f"{stood_in.person} already decided on this request for you (a delegation)"
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


def _approvers(step: ApprovalStep, approval: ApprovalState) -> tuple[str, ...]:
    """The roles this request was asked of: the step's, or the alternate after an expiry."""
    return tuple(approval.approvers) if approval.approvers else step.approvers


def _standing_in_for(ctx: Context, step: ApprovalStep, actor: Actor) -> str | None:
    """The role holder a delegate decides for; None when the approver holds the role."""
    approval = ctx.run.approval
    approvers = _approvers(step, approval) if approval else step.approvers
    roles = set(actor.roles) | ({"system_owner"} if actor.id == ctx.run.subject.owner else set())
    if roles & set(approvers):
        return None
    return actor.delegated(approvers)


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


def _outcome(
    ctx: Context,
    step: ApprovalStep,
    approval: ApprovalState,
    eligible: tuple[str, ...] | list[str] | None,
) -> Literal["approved", "rejected"] | None:
    """What the decisions so far amount to. Each decision fills the place of the person it
    was made for (a delegate's decision fills the holder's), so a delegate is never counted
    as an extra approver."""
    if any(d.decision == "reject" for d in approval.decisions):
        return "rejected"
    places = {d.on_behalf_of or d.person for d in approval.decisions if d.decision == "approve"}
    if step.quorum == "any":
        return "approved" if places else None
    if step.quorum == "all":
        excluded = set(excluded_people(ctx.run, step))
        needed = {p for p in eligible or () if p not in excluded}
        if not needed:  # nobody left to count against: one approval is the least there is
            return "approved" if places else None
        return "approved" if needed <= places else None
    return "approved" if len(places) >= int(step.quorum) else None


def close_if_decided(
    ctx: Context,
    step: ApprovalStep,
    approval: ApprovalState,
    eligible: tuple[str, ...] | list[str] | None,
) -> None:
    """Close the request when its decisions reach an outcome (a quorum of 'all' counted
    against ``eligible``), and move the run on."""
    outcome = _outcome(ctx, step, approval, eligible)
    if outcome is None:
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
    assurance: str | None = None,
) -> None:
    # the optional fields are written only when they say something, so rows of decisions
    # without them keep the shape they always had
    extra: dict[str, str] = {}
    if for_whom:
        extra["on_behalf_of"] = for_whom
    if assurance or event.actor.assurance:
        extra["assurance"] = assurance or event.actor.assurance
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
