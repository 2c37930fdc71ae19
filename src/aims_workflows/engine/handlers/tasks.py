"""Events about tasks: the issue was made, the task was completed, its answers were edited."""

from __future__ import annotations

from typing import Any

from ...spec.model import ApprovalStep, DecisionStep, RecordStep, TaskStep
from .. import evidence_kinds as ev
from .._context import Context, Ignored, approval_step, task_step
from .._flow import goto
from ..commands import CloseTask, InvalidateApproval, Notify, RefuseAnswers
from ..events import Actor, TaskCompleted, TaskCreated, TaskUpdated
from ..forms import check_answers
from ..identity import why_untrusted
from ..state import ApprovalState, TaskState
from ..steps import approvals, automatic
from ..steps.tasks import unanswered

__all__ = ["on_task_completed", "on_task_created", "on_task_updated", "who_may_not_complete"]

# the engine's own events (timers, the scheduler, other runs) are not a person's
_ENGINE_ITSELF = frozenset({"system", "scheduler"})


def _open_task(ctx: Context, event: TaskCreated | TaskCompleted) -> TaskState | Ignored:
    """The open task the event is about, or why there is none (a late event, another visit)."""
    task = ctx.run.task
    if (
        task is None
        or task.step_id != event.step_id
        or (event.attempt is not None and event.attempt != task.attempt)
    ):
        return Ignored(f"no open task {event.step_id} (attempt {event.attempt})")
    return task


def on_task_created(ctx: Context, event: TaskCreated) -> Ignored | None:
    task = _open_task(ctx, event)
    if isinstance(task, Ignored):
        return task
    task.ref = event.ref
    if not task_step(ctx.spec, task.step_id).assignee:  # a named person stays the assignee
        task.assignee = event.assignee
    _record_issued(ctx, event, task)
    return None


def on_task_completed(ctx: Context, event: TaskCompleted) -> Ignored | None:
    task = _open_task(ctx, event)
    if isinstance(task, Ignored):
        return task
    run = ctx.run
    step = task_step(ctx.spec, task.step_id)
    actor = event.actor
    not_allowed = who_may_not_complete(ctx, step, task, actor)
    if not_allowed is not None:
        _record_not_allowed(ctx, event, task, not_allowed)
        ctx.emit(
            RefuseAnswers(
                key=ctx.key(f"{step.id}/{task.attempt}/not-allowed/{run.events_applied}"),
                run_id=run.run_id,
                step_id=step.id,
                ref=task.ref,
                problems=(not_allowed,),
                task_key=task.key,
            )
        )
        return None
    clean, problems = check_answers(step.form, event.answers, step_id=step.id, context=ctx.names())
    if problems:
        _record_refused(ctx, event, task, problems)
        ctx.emit(
            RefuseAnswers(
                key=ctx.key(f"{step.id}/{task.attempt}/refused/{run.events_applied}"),
                run_id=run.run_id,
                step_id=step.id,
                ref=task.ref,
                problems=tuple(problems),
                task_key=task.key,
            )
        )
        return None
    run.data[step.id] = {
        **unanswered(step),
        **clean,
        "completed_by": actor.id,
        "issue": task.ref or event.ref,
    }
    ctx.clear_timers(step.id)
    run.task = None
    _record_completed(ctx, event, task, clean)
    # the tracker closes its issue if the task was completed elsewhere (the CLI, the API),
    # so Jira never shows open work that is done, and attaches the completion's evidence
    ctx.emit(
        CloseTask(
            key=ctx.key(f"{step.id}/{task.attempt}/close"),
            run_id=run.run_id,
            step_id=step.id,
            attempt=task.attempt,
            ref=task.ref or event.ref,
            task_key=task.key,
            by=actor.id,
            via=actor.via,
        )
    )
    goto(ctx, ctx.spec.next_of(step.id))
    return None


def who_may_not_complete(ctx: Context, step: TaskStep, task: TaskState, actor: Actor) -> str | None:
    """Why ``actor`` may not complete this task, or None: only its assignee, a holder of its
    role (the system's owner for ``system_owner``) or a delegate of a holder may."""
    if actor.via in _ENGINE_ITSELF:
        return None
    untrusted = why_untrusted(actor, "complete a task")
    if untrusted:
        return untrusted
    if step.assignee and task.assignee:
        # a task for one named person (their own training, their own acknowledgement): nobody
        # else completes it, whatever role they hold (with nobody named, the role's holders do)
        if task.assignee and actor.id.strip().lower() == task.assignee.strip().lower():
            return None
        return (
            f"{actor.id} may not complete '{step.id}': it is {task.assignee or 'nobody'}'s own "
            "task, and only they may complete it"
        )
    if actor.id == task.assignee or step.role in actor.roles:
        return None
    if step.role == "system_owner" and actor.id == ctx.run.subject.owner:
        return None
    if actor.delegated((step.role,)):
        return None
    return (
        f"{actor.id} may not complete '{step.id}': it is assigned to "
        f"{task.assignee or 'nobody'} and needs the role {step.role} (or a delegation from a "
        "holder of it)"
    )


def on_task_updated(ctx: Context, event: TaskUpdated) -> Ignored | None:
    """Answers changed after the task was completed (an engineer edited the Jira issue)."""
    spec, run, step_id = ctx.spec, ctx.run, event.step_id
    if step_id not in run.data or not isinstance(spec.step(step_id), TaskStep):
        return Ignored(f"step {step_id} has no answers to change")
    step = task_step(spec, step_id)
    before = run.data[step_id]
    clean, problems = check_answers(step.form, event.answers, step_id=step_id, context=ctx.names())
    answers_before = {k: v for k, v in before.items() if k not in ("completed_by", "issue")}
    if problems:
        return Ignored("; ".join(problems))
    if {**unanswered(step), **clean} == answers_before:
        return Ignored("answers unchanged")
    run.data[step_id] = {
        **unanswered(step),
        **clean,
        "completed_by": before.get("completed_by"),
        "issue": before.get("issue"),
    }
    # Records computed from these answers are computed again, so what is shown, approved and
    # registered next matches the answers as they now are.
    mark = len(ctx.evidence)
    position = [s.id for s in spec.steps].index(step_id)
    for later in spec.steps[position + 1 :]:
        if isinstance(later, RecordStep) and later.id in run.data:
            automatic.record(ctx, later, only_if_changed=True)
    stale = _approvals_no_longer_covering(ctx, step_id)
    # the change itself comes before what it caused
    _record_changed(ctx, event, answers_before, clean, stale, at=mark)
    if stale:
        ctx.emit(
            Notify(
                key=ctx.key(f"{step_id}/changed-after-approval/{run.events_applied}"),
                run_id=run.run_id,
                to=("aims_owner",),
                message=f"Run {run.run_id}: answers of '{step_id}' changed after "
                f"{', '.join(stale)} approved them; review whether a new approval is needed.",
                subject=run.subject,
            )
        )
    approval = run.approval
    if approval is not None:
        _invalidate_if_changed(ctx, step_id, approval)
    return None


def _approvals_no_longer_covering(ctx: Context, step_id: str) -> list[str]:
    """Approvals already given over data that changed: a closed approval cannot be silently
    re-opened, so the ledger says so and the AIMS owner is told."""
    spec, run = ctx.spec, ctx.run
    open_step = run.approval.step_id if run.approval else None
    return sorted(
        s.id
        for s in spec.steps
        if isinstance(s, ApprovalStep)
        and s.id in run.data
        and step_id in approvals.approved_steps(spec, s)
        and run.data[s.id].get("outcome") == "approved"  # a rejection approved nothing
        and s.id != open_step  # asked again below
        and run.data[s.id].get("content_hash") != approvals.content_hash(spec, run, s)
    )


def _invalidate_if_changed(ctx: Context, step_id: str, approval: ApprovalState) -> None:
    """The open request no longer shows what is being approved: withdraw it, ask again."""
    step = approval_step(ctx.spec, approval.step_id)
    new_hash = approvals.content_hash(ctx.spec, ctx.run, step)
    if new_hash == approval.content_hash:
        return
    _record_invalidated(ctx, step, approval, new_hash, step_id)
    ctx.emit(
        InvalidateApproval(
            key=ctx.key(f"{approval.approval_id}/invalidate"),
            run_id=ctx.run.run_id,
            approval_id=approval.approval_id,
            reason=f"the answers of '{step_id}' changed after the request",
        )
    )
    ctx.clear_timers(step.id)
    _reroute(ctx, step_id, approval)


def _reroute(ctx: Context, changed_step: str, approval: ApprovalState) -> None:
    """Ask again for the approval the new answers call for. Decisions between the changed
    task and the approval are taken again (a higher risk score may need a higher approver);
    without such decisions the same approval is asked again in its next round."""
    spec = ctx.spec
    ids = [s.id for s in spec.steps]
    between = spec.steps[ids.index(changed_step) + 1 : ids.index(approval.step_id)]
    decisions = [s for s in between if isinstance(s, DecisionStep)]
    ctx.run.approval = None
    if not decisions:
        step = approval_step(spec, approval.step_id)
        approvals.request_approval(ctx, step, round_=approval.round + 1)
        return
    goto(ctx, decisions[0].id, reroute=approval)


# -- evidence -----------------------------------------------------------------------------------
def _record_issued(ctx: Context, event: TaskCreated, task: TaskState) -> None:
    ctx.record(
        ev.TaskIssued(ref=event.ref, assignee=task.assignee, attempt=task.attempt),
        step_id=task.step_id,
        ref=event.ref,
    )


def _record_not_allowed(ctx: Context, event: TaskCompleted, task: TaskState, reason: str) -> None:
    ctx.record(
        ev.TaskRefused(person=event.actor.id, reason=reason, attempt=task.attempt),
        step_id=task.step_id,
        actor=event.actor,
        ref=event.ref,
    )


def _record_refused(
    ctx: Context, event: TaskCompleted, task: TaskState, problems: list[str]
) -> None:
    ctx.record(
        ev.TaskAnswersRefused(problems=problems, by=event.actor.id, attempt=task.attempt),
        step_id=task.step_id,
        actor=event.actor,
        ref=event.ref,
    )


def _record_completed(
    ctx: Context, event: TaskCompleted, task: TaskState, answers: dict[str, Any]
) -> None:
    ctx.record(
        ev.TaskCompleted(
            answers=answers, by=event.actor.id, attempt=task.attempt, overdue=task.overdue
        )
        if not event.actor.assurance
        else ev.TaskCompleted(
            answers=answers,
            by=event.actor.id,
            attempt=task.attempt,
            overdue=task.overdue,
            assurance=event.actor.assurance,
        ),
        step_id=task.step_id,
        actor=event.actor,
        ref=event.ref,
    )


def _record_changed(
    ctx: Context,
    event: TaskUpdated,
    before: dict[str, Any],
    after: dict[str, Any],
    stale: list[str],
    *,
    at: int,
) -> None:
    ctx.record(
        ev.TaskAnswersChanged(
            before=before, after=after, by=event.actor.id, approvals_no_longer_covering=stale
        ),
        step_id=event.step_id,
        actor=event.actor,
        ref=event.ref,
    )
    ctx.evidence.insert(at, ctx.evidence.pop())


def _record_invalidated(
    ctx: Context, step: ApprovalStep, approval: ApprovalState, new_hash: str, changed: str
) -> None:
    ctx.record(
        ev.ApprovalInvalidated(
            approval_id=approval.approval_id,
            old_hash=approval.content_hash,
            new_hash=new_hash,
            reason=f"answers of '{changed}' changed",
        ),
        step_id=step.id,
    )
