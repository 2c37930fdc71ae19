"""Event handlers: one plain function per event type, chosen by :func:`apply`.

Each handler takes the :class:`~aims_workflows.engine._context.Context` and its own event type,
changes the run, collects commands and evidence in the context, and returns
:class:`~aims_workflows.engine._context.Ignored` when the event changed nothing.
"""

from __future__ import annotations

from typing import assert_never

from ...spec.expressions import ExpressionError
from .._context import Context, Ignored
from .._flow import fail_run
from ..events import (
    ApprovalDecided,
    CancelRun,
    ChildCompleted,
    Event,
    StartRun,
    SubjectChanged,
    TaskCompleted,
    TaskCreated,
    TaskUpdated,
    TimerTick,
)
from ..transition import Transition
from .approvals import on_approval_decided
from .lifecycle import on_child_completed, on_run_cancel, on_run_start, on_subject_changed
from .tasks import on_task_completed, on_task_created, on_task_updated
from .timers import on_timer_tick

__all__ = ["apply"]


def apply(ctx: Context) -> Transition:
    """Apply ``ctx.event`` to ``ctx.run``. A closed run takes no event but decisions, which are
    refused with a reason (the approver is told); an expression that fails fails the run."""
    run = ctx.run
    if not run.is_open and not isinstance(ctx.event, ApprovalDecided):
        return Transition(run, ignored=f"run is {run.status}")
    try:
        outcome = _handle(ctx, ctx.event)
    except ExpressionError as err:
        fail_run(ctx, str(err))
        outcome = None
    if outcome is not None:
        return Transition(run, ctx.commands, ctx.evidence, outcome.reason)
    run.events_applied += 1
    return Transition(run, ctx.commands, ctx.evidence)


def _handle(ctx: Context, event: Event) -> Ignored | None:
    match event:
        case StartRun():
            return on_run_start(ctx, event)
        case TaskCreated():
            return on_task_created(ctx, event)
        case TaskCompleted():
            return on_task_completed(ctx, event)
        case TaskUpdated():
            return on_task_updated(ctx, event)
        case ApprovalDecided():
            return on_approval_decided(ctx, event)
        case TimerTick():
            return on_timer_tick(ctx, event)
        case ChildCompleted():
            return on_child_completed(ctx, event)
        case SubjectChanged():
            return on_subject_changed(ctx, event)
        case CancelRun():
            return on_run_cancel(ctx, event)
        case _:
            assert_never(event)
