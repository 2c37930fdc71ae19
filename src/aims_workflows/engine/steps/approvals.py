"""Entering an approval step: a request bound to the hash of the content it approves."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from ...spec.durations import format_duration
from ...spec.expressions import evaluate, references, render
from ...spec.model import ApprovalStep, RecordStep, TaskStep, WorkflowSpec
from .. import evidence_kinds as ev
from .._context import Context
from ..commands import RequestApproval
from ..evidence import canonical_json, iso
from ..state import ApprovalState, RunState

__all__ = ["approved_steps", "content_hash", "excluded_people", "request_approval"]


def approved_steps(spec: WorkflowSpec, step: ApprovalStep) -> list[str]:
    """The steps whose data an approval covers: those it names, else every earlier task and
    record step."""
    if step.approves:
        return list(step.approves)
    ids = [s.id for s in spec.steps]
    earlier = ids[: ids.index(step.id)]
    return [s for s in earlier if isinstance(spec.step(s), (TaskStep, RecordStep))]


def content_hash(spec: WorkflowSpec, run: RunState, step: ApprovalStep) -> str:
    """SHA-256 of the canonical JSON of the data the approval covers, as it is now."""
    content = {s: run.data.get(s) for s in approved_steps(spec, step)}
    return hashlib.sha256(canonical_json(content).encode()).hexdigest()


def excluded_people(run: RunState, step: ApprovalStep) -> list[str]:
    """The people segregation of duties rules out of this approval."""
    people = {run.completed_by[s] for s in step.separation.not_assignee_of if s in run.completed_by}
    if step.separation.not_subject_owner and run.subject.owner:
        people.add(run.subject.owner)
    return sorted(people)


def request_approval(
    ctx: Context,
    step: ApprovalStep,
    *,
    round_: int,
    approvers: tuple[str, ...] | None = None,
    escalated_from: str | None = None,
) -> None:
    """Ask for the approval; ``round_`` counts requests within one visit (a request is asked
    again when the content under it changes, or goes to an alternate role when it expired).
    ``approvers`` replaces the step's roles for a request that went to the alternate role."""
    spec, run = ctx.spec, ctx.run
    asked = approvers or step.approvers
    attempt = ctx.visit(step.id)
    approval_id = f"{run.run_id}.{step.id}.{attempt}.{round_}"
    hashed = content_hash(spec, run, step)
    due_at = ctx.now + step.due if step.due else None
    run.approval = ApprovalState(
        step_id=step.id,
        approval_id=approval_id,
        round=round_,
        content_hash=hashed,
        requested_at=ctx.now,
        due_at=due_at,
        approvers=list(approvers) if approvers else None,
        escalated_from=escalated_from,
    )
    if step.expire is not None and due_at is not None and escalated_from is None:
        # the expiry replaces the escalation: an expired request goes to the alternate role
        ctx.add_timers(step.id, step.reminders, None, due_at, attempt, round_)
        ctx.add_expiry(step.id, due_at + (step.expire.after or timedelta(0)), attempt, round_)
    else:
        ctx.add_timers(step.id, step.reminders, step.escalate, due_at, attempt, round_)
    names = ctx.names()
    shown = {label: evaluate(expr, names) for label, expr in step.show.items()}
    # decided once, at the request: the approvers see whether their approval needs a second
    # channel before they click
    run.approval.step_up = bool(step.step_up and evaluate(step.step_up.when, names))
    title = render(step.title, names) if step.title else f"{spec.title}: {run.subject.name}"
    covered = approved_steps(spec, step)
    ctx.emit(
        RequestApproval(
            key=ctx.key(f"{approval_id}/request"),
            run_id=run.run_id,
            approval_id=approval_id,
            step_id=step.id,
            workflow=spec.id,
            title=title,
            approvers=asked,
            quorum=step.quorum,
            channel=step.channel,
            content_hash=hashed,
            show=shown,
            # a record step may have a field named 'issue' too: passed on as text
            issues=tuple(
                str(run.data[s]["issue"])
                for s in covered
                if s in run.data and run.data[s].get("issue")
            ),
            subject=run.subject,
            due_at=iso(due_at) if due_at else None,
            exclude=tuple(excluded_people(run, step)),
            forbidden_roles=step.separation.forbidden_roles,
            # the people whose answers are being approved, for the approver to see
            asked_by=tuple(
                dict.fromkeys(run.completed_by[s] for s in covered if s in run.completed_by)
            ),
            escalated_from=escalated_from,
            step_up=run.approval.step_up,
            step_up_rule=_step_up_rule(step, names, run.approval.step_up),
            withdraw_within=format_duration(step.withdraw_within) if step.withdraw_within else None,
        )
    )
    condition = step.step_up.when if step.step_up and run.approval.step_up else None
    _record_requested(
        ctx, asked, step, approval_id, hashed, round_, shown, escalated_from, condition
    )


def _step_up_rule(step: ApprovalStep, names: dict[str, Any], holds: bool) -> str | None:
    """The step-up condition as the approver should read it: with the values it compared (a
    score against its threshold) and whether it holds."""
    if step.step_up is None:
        return None
    read: dict[str, Any] = {}
    for ref in references(step.step_up.when):
        label = f"{ref.name}.{ref.attr}" if ref.attr else ref.name
        value = names.get(ref.name)
        if ref.attr and isinstance(value, dict):
            value = value.get(ref.attr)
        read.setdefault(label, value)
    values = ", ".join(f"{label} = {value}" for label, value in read.items())
    verdict = (
        "above the threshold: an approval needs a confirmation in Jira"
        if holds
        else "below the threshold: no confirmation needed"
    )
    return (
        f"{step.step_up.when} ({values}): {verdict}"
        if values
        else f"{step.step_up.when}: {verdict}"
    )


# -- evidence -----------------------------------------------------------------------------------
def _record_requested(
    ctx: Context,
    asked: tuple[str, ...],
    step: ApprovalStep,
    approval_id: str,
    hashed: str,
    round_: int,
    shown: dict[str, Any],
    escalated_from: str | None,
    step_up: str | None,
) -> None:
    # the optional fields are written only when they say something, so the rows of every
    # other request keep the shape they always had
    extra = {"escalated_from": escalated_from} if escalated_from else {}
    if step_up:
        extra["step_up"] = step_up
    ctx.record(
        ev.ApprovalRequested(
            approval_id=approval_id,
            approvers=list(asked),
            quorum=step.quorum,
            content_hash=hashed,
            round=round_,
            shown=shown,
            **extra,
        ),
        step_id=step.id,
    )
