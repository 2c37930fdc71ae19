"""Moving a run between steps, and the two ways it stops: completion and failure."""

from __future__ import annotations

import copy
from typing import Any

from ..spec.expressions import ExpressionError, evaluate
from ..spec.model import (
    END,
    ApprovalStep,
    DecisionStep,
    NotifyStep,
    RecordStep,
    SpawnStep,
    Step,
    TaskStep,
    WaitStep,
)
from . import evidence_kinds as ev
from ._context import Context
from ._limits import MAX_STEPS_PER_EVENT
from .commands import Notify, ReportRunEnd
from .evidence import canonical_json, iso
from .state import ApprovalState
from .steps import approvals, automatic, tasks

__all__ = ["complete_run", "fail_run", "goto", "run_outputs"]


def goto(ctx: Context, target: str, *, reroute: ApprovalState | None = None) -> None:
    """Enter ``target`` and follow automatic steps until the run waits or ends.

    ``reroute`` is the open approval that changed answers invalidated: the steps on the way are
    taken again over the new answers (records that come out the same are not recorded twice),
    and arriving at that approval's step asks for it again in its next round.
    """
    while True:
        ctx.steps_taken += 1
        if ctx.steps_taken > MAX_STEPS_PER_EVENT:
            raise ExpressionError(
                f"more than {MAX_STEPS_PER_EVENT} automatic steps without waiting: "
                "a loop in the workflow"
            )
        if target == END:
            complete_run(ctx)
            return
        step: Step = ctx.spec.step(target)
        ctx.run.current = step.id
        ctx.run.visits[step.id] = ctx.visit(step.id) + 1
        following = _enter(ctx, step, reroute)
        if following is None:
            return
        target = following


def _enter(ctx: Context, step: Step, reroute: ApprovalState | None) -> str | None:
    """Start a step. Returns the next target for automatic steps, None when the run waits."""
    match step:
        case TaskStep():
            tasks.enter_task(ctx, step)
            return None
        case ApprovalStep():
            if reroute is not None and reroute.step_id == step.id:
                # the same approval asked again over new content: same visit, next round
                ctx.run.visits[step.id] -= 1
                approvals.request_approval(ctx, step, round_=reroute.round + 1)
            else:
                approvals.request_approval(ctx, step, round_=1)
            return None
        case DecisionStep():
            return automatic.decide(ctx, step)
        case RecordStep():
            return automatic.record(ctx, step, only_if_changed=reroute is not None)
        case NotifyStep():
            return automatic.notify(ctx, step)
        case SpawnStep():
            return automatic.spawn(ctx, step)
        case WaitStep():
            automatic.wait(ctx, step)
            return None


def complete_run(ctx: Context) -> None:
    run, spec = ctx.run, ctx.spec
    # computed before anything changes: an output that cannot be evaluated fails the run
    outputs = run_outputs(ctx) if run.parent_run_id else None
    run.status = "completed"
    run.current = None
    run.completed_at = ctx.now
    run.timers = []
    ctx.record(ev.RunCompleted(workflow=spec.id, version=spec.version))
    ctx.emit(
        ReportRunEnd(
            key=ctx.key("completed"),
            run_id=run.run_id,
            workflow=spec.id,
            subject=run.subject,
            parent_run_id=run.parent_run_id,
            coverage=spec.coverage,
            started_at=iso(run.started_at) if run.started_at else None,
            outputs=outputs,
        )
    )


def run_outputs(ctx: Context) -> dict[str, Any]:
    """What a completed run gives the parent that waits for it: its spec's ``outputs``
    evaluated over its data now, else that data (every step's answers and fields) as it is.
    Computed here, once, by the child's own transition: the parent stores the values its event
    carries and never evaluates the child's expressions (which it may not even have loaded)."""
    if ctx.spec.outputs is None:
        values: dict[str, Any] = copy.deepcopy(ctx.run.data)
    else:
        names = ctx.names()
        values = {name: evaluate(expr, names) for name, expr in ctx.spec.outputs.items()}
    try:
        canonical_json(values)  # kept in the parent's state and evidence: plain JSON only
    except (TypeError, ValueError) as err:
        raise ExpressionError(f"outputs: {err}") from None
    return values


def fail_run(ctx: Context, reason: str) -> None:
    """Stop the run: a condition or template could not be evaluated, or the workflow loops."""
    run = ctx.run
    run.status = "failed"
    run.failure = reason
    run.timers = []
    # a task or approval entered by the failing step was never sent out: nothing is open now
    run.task = run.approval = None
    ctx.record(ev.RunFailed(reason=reason, step=run.current), step_id=run.current)
    ctx.emit(
        Notify(
            key=ctx.key(f"failed/{run.events_applied}"),
            run_id=run.run_id,
            to=("aims_owner",),
            message=f"Run {run.run_id} ({ctx.spec.title}) stopped: {reason}",
        )
    )
