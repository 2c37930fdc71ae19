"""``timer.tick``: fire every due reminder, due date, escalation and wait, in time order."""

from __future__ import annotations

from typing import Literal

from ...spec.model import ApprovalStep, Step, TaskStep
from .. import evidence_kinds as ev
from .._context import Context, Ignored
from .._flow import goto
from ..commands import EscalateApproval, EscalateTask, RemindApproval, RemindTask
from ..events import TimerTick
from ..state import Timer
from .approvals import close_if_decided, expire_request

Chased = Literal["task", "approval"]
"""What a timer chases: an open task or an open approval."""

__all__ = ["on_timer_tick"]


def on_timer_tick(ctx: Context, event: TimerTick) -> Ignored | None:
    run = ctx.run
    due = sorted(
        (t for t in run.timers if t.fire_at <= ctx.now), key=lambda t: (t.fire_at, t.timer_id)
    )
    if not due:
        return Ignored("no timer due")
    for timer in due:
        if timer not in run.timers:
            continue  # an earlier timer in this tick moved the run on
        run.timers.remove(timer)
        _fire(ctx, timer)
        if not run.is_open:
            break
    return None


def _fire(ctx: Context, timer: Timer) -> None:
    step: Step = ctx.spec.step(timer.step_id)
    if timer.kind == "wait":
        _record_wait_ended(ctx, timer)
        goto(ctx, ctx.spec.next_of(step.id))
    elif isinstance(step, ApprovalStep):
        _fire_for_approval(ctx, step, timer)
    elif isinstance(step, TaskStep):
        _fire_for_task(ctx, step, timer)


def _fire_for_task(ctx: Context, step: TaskStep, timer: Timer) -> None:
    run, task = ctx.run, ctx.run.task
    ref = task.ref if task else None
    assignee = task.assignee if task else None
    if timer.kind == "reminder":
        to = (step.role,)
        ctx.emit(
            RemindTask(
                key=ctx.key(timer.timer_id),
                run_id=run.run_id,
                step_id=step.id,
                ref=ref,
                assignee=assignee,
                subject=run.subject,
                to=to,
            )
        )
        _record_reminded(ctx, "task", timer, to)
    elif timer.kind == "due":
        if task:
            task.overdue = True
        _record_overdue(ctx, "task", timer)
    elif timer.kind == "escalate" and step.escalate is not None:
        ctx.emit(
            EscalateTask(
                key=ctx.key(timer.timer_id),
                run_id=run.run_id,
                step_id=step.id,
                ref=ref,
                assignee=assignee,
                subject=run.subject,
                to=(step.escalate.to,),
            )
        )
        _record_escalated(ctx, "task", timer, step.escalate.to)


def _fire_for_approval(ctx: Context, step: ApprovalStep, timer: Timer) -> None:
    run = ctx.run
    approval_id = run.approval.approval_id if run.approval else None
    if timer.kind == "reminder":
        to = (
            tuple(run.approval.approvers)
            if run.approval and run.approval.approvers
            else step.approvers
        )
        ctx.emit(
            RemindApproval(
                key=ctx.key(timer.timer_id),
                run_id=run.run_id,
                step_id=step.id,
                approval_id=approval_id,
                subject=run.subject,
                to=to,
            )
        )
        _record_reminded(ctx, "approval", timer, to)
    elif timer.kind == "due":
        _record_overdue(ctx, "approval", timer)
    elif timer.kind == "expire":
        expire_request(ctx, step)
    elif timer.kind == "settle":
        if run.approval is not None and run.approval.step_id == step.id:
            close_if_decided(ctx, step, run.approval, run.approval.eligible)
    elif timer.kind == "escalate" and step.escalate is not None:
        ctx.emit(
            EscalateApproval(
                key=ctx.key(timer.timer_id),
                run_id=run.run_id,
                step_id=step.id,
                approval_id=approval_id,
                subject=run.subject,
                to=(step.escalate.to,),
            )
        )
        _record_escalated(ctx, "approval", timer, step.escalate.to)


# -- evidence -----------------------------------------------------------------------------------
def _record_wait_ended(ctx: Context, timer: Timer) -> None:
    ctx.record(ev.WaitEnded(timer=timer.timer_id), step_id=timer.step_id)


def _record_reminded(ctx: Context, what: Chased, timer: Timer, to: tuple[str, ...]) -> None:
    reminded = ev.TaskReminded if what == "task" else ev.ApprovalReminded
    ctx.record(reminded(timer=timer.timer_id, to=list(to)), step_id=timer.step_id)


def _record_overdue(ctx: Context, what: Chased, timer: Timer) -> None:
    overdue = ev.TaskOverdue if what == "task" else ev.ApprovalOverdue
    ctx.record(overdue(due_at=timer.fire_at), step_id=timer.step_id)


def _record_escalated(ctx: Context, what: Chased, timer: Timer, to: str) -> None:
    escalated = ev.TaskEscalated if what == "task" else ev.ApprovalEscalated
    ctx.record(escalated(to=to, timer=timer.timer_id), step_id=timer.step_id)
