"""Run-level events: the start, a changed subject, cancellation, and children that ended."""

from __future__ import annotations

from .. import evidence_kinds as ev
from .._context import Context, Ignored
from .._flow import goto
from ..commands import CancelChildRun, CancelTask, CloseApproval, ReportRunEnd
from ..events import CancelRun, ChildCompleted, StartRun, SubjectChanged
from ..evidence import iso
from ..state import Subject

__all__ = ["on_child_completed", "on_run_cancel", "on_run_start", "on_subject_changed"]


def on_run_start(ctx: Context, event: StartRun) -> Ignored | None:
    run = ctx.run
    if run.status != "new":
        return Ignored("run already started")
    run.status = "running"
    run.started_at = ctx.now
    _record_started(ctx, event)
    goto(ctx, ctx.spec.steps[0].id)
    return None


def on_subject_changed(ctx: Context, event: SubjectChanged) -> Ignored | None:
    before = ctx.run.subject
    ctx.run.subject = Subject(
        type=before.type,
        id=before.id,
        name=event.name,
        owner=event.owner,
        attributes={**before.attributes, **event.attributes},
    )
    # the subject feeds conditions and segregation of duties, so its change is evidence too
    _record_subject_changed(ctx, event, before)
    return None


def on_run_cancel(ctx: Context, event: CancelRun) -> Ignored | None:
    run, reason = ctx.run, event.reason or "cancelled"
    if run.task:
        ctx.emit(
            CancelTask(
                key=ctx.key(f"{run.task.step_id}/{run.task.attempt}/cancel"),
                run_id=run.run_id,
                ref=run.task.ref,
                task_key=run.task.key,
                reason=reason,
            )
        )
    if run.approval:
        ctx.emit(
            CloseApproval(
                key=ctx.key(f"{run.approval.approval_id}/close"),
                run_id=run.run_id,
                approval_id=run.approval.approval_id,
                outcome="cancelled",
            )
        )
    for child in run.children:
        if child.status == "running":  # a cancelled parent does not leave its children working
            ctx.emit(
                CancelChildRun(
                    key=ctx.key(f"cancel-child/{child.run_id}"),
                    run_id=run.run_id,
                    child_run_id=child.run_id,
                    reason=f"parent run {run.run_id} cancelled: {reason}",
                )
            )
    run.status = "cancelled"
    run.task = run.approval = None
    run.timers = []
    run.completed_at = ctx.now
    _record_cancelled(ctx, event, reason)
    ctx.emit(
        ReportRunEnd(
            key=ctx.key("cancelled"),
            run_id=run.run_id,
            workflow=ctx.spec.id,
            subject=run.subject,
            parent_run_id=run.parent_run_id,
            status="cancelled",
            started_at=iso(run.started_at) if run.started_at else None,
        )
    )
    return None


def on_child_completed(ctx: Context, event: ChildCompleted) -> Ignored | None:
    run = ctx.run
    child = next((c for c in run.children if c.run_id == event.child_run_id), None)
    if child is None or child.status != "running":
        return Ignored(f"not waiting for run {event.child_run_id}")
    child.status = event.status
    child.outputs = event.outputs
    child.subject_id, child.subject_name = event.subject_id, event.subject_name
    _record_child_finished(ctx, event)
    step_id = run.current
    if step_id is not None and all(c.status != "running" for c in run.children):
        # the step's data, read by later expressions as <step>.outcomes, in the order the
        # runs were started: the same events always give the same list
        run.data[step_id] = {
            "runs": [c.run_id for c in run.children],
            "count": len(run.children),
            "outcomes": [c.outcome() for c in run.children],
        }
        run.children = []
        goto(ctx, ctx.spec.next_of(step_id))
    return None


# -- evidence -----------------------------------------------------------------------------------
def _record_started(ctx: Context, event: StartRun) -> None:
    run, spec = ctx.run, ctx.spec
    ctx.record(
        ev.RunStarted(
            workflow=spec.id,
            version=spec.version,
            spec_hash=run.spec_hash,
            subject=_snapshot(run.subject),
            inputs=run.inputs,
            parent_run_id=run.parent_run_id,
            evidences=list(spec.evidences),
            trigger=event.trigger,
        ),
        actor=event.actor,
        ref=event.ref,
    )


def _record_subject_changed(ctx: Context, event: SubjectChanged, before: Subject) -> None:
    ctx.record(
        ev.SubjectChanged(before=_snapshot(before), after=_snapshot(ctx.run.subject)),
        actor=event.actor,
        ref=event.ref,
    )


def _record_cancelled(ctx: Context, event: CancelRun, reason: str) -> None:
    ctx.record(ev.RunCancelled(reason=reason), actor=event.actor)


def _record_child_finished(ctx: Context, event: ChildCompleted) -> None:
    ctx.record(
        ev.ChildFinished(run_id=event.child_run_id, status=event.status),
        step_id=ctx.run.current,
    )


def _snapshot(subject: Subject) -> ev.SubjectSnapshot:
    return ev.SubjectSnapshot.model_validate(subject.model_dump(mode="json"))
