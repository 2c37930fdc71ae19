"""Entering a task step: a tracker issue for a role, with a form, a due date and timers."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from ...spec.expressions import ExpressionError, evaluate, render
from ...spec.model import TaskStep
from .. import evidence_kinds as ev
from .._context import Context
from ..commands import CreateTask
from ..evidence import iso
from ..state import TaskState

__all__ = ["enter_task", "named_assignee", "unanswered"]


def unanswered(step: TaskStep) -> dict[str, None]:
    """Every form field as None, so an optional field left blank reads as none, not undefined
    (the spec checker accepts ``task.optional_field``; the run must not fail on it)."""
    return {f.id: None for f in step.form}


def named_assignee(step: TaskStep, names: dict[str, Any]) -> str | None:
    """The one person a step's ``assignee`` names (an acknowledgement is personal), or None
    when the task is for whoever holds its role: the step names no assignee, or its expression
    says ``none`` on purpose (a named owner aims does not know falls back to the role). Any
    other value that names nobody (a blank) is an error."""
    if not step.assignee:
        return None
    value = evaluate(step.assignee, names)
    if value is None:
        return None
    person = str(value).strip()
    if not person:
        raise ExpressionError(f"task '{step.id}': its assignee {step.assignee!r} names nobody")
    return person


def enter_task(ctx: Context, step: TaskStep) -> None:
    run = ctx.run
    attempt = ctx.visit(step.id)
    names = ctx.names()
    due_at = _due_at(ctx, step, names)
    key = ctx.key(f"{step.id}/{attempt}/task")
    person = named_assignee(step, names)
    run.task = TaskState(
        step_id=step.id,
        attempt=attempt,
        key=key,
        created_at=ctx.now,
        due_at=due_at,
        assignee=person,
    )
    ctx.add_timers(step.id, step.reminders, step.escalate, due_at, attempt)
    title = render(step.title, names)
    ctx.emit(
        CreateTask(
            key=key,
            run_id=run.run_id,
            step_id=step.id,
            attempt=attempt,
            workflow=ctx.spec.id,
            title=title,
            description=render(step.description, names) if step.description else "",
            role=step.role,
            subject=run.subject,
            form=step.form,
            due_at=iso(due_at) if due_at else None,
            priority=step.priority,
            previous_answers=run.data.get(step.id),
            assignee=person,
        )
    )
    _record_requested(ctx, step, title, attempt, due_at)


def _due_at(ctx: Context, step: TaskStep, names: dict[str, object]) -> datetime | None:
    """``due`` counts from now; ``due_on`` names a day, due at its end (UTC)."""
    if step.due:
        return ctx.now + step.due
    if not step.due_on:
        return None
    value = evaluate(step.due_on, names)
    try:
        day = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    except ValueError:
        raise ExpressionError(
            f"step '{step.id}': due_on {step.due_on!r} gave {value!r}, not a date (YYYY-MM-DD)"
        ) from None
    # the last second of the day, so the due date is that day and not the next
    return datetime.combine(day, time(23, 59, 59), tzinfo=UTC)


# -- evidence -----------------------------------------------------------------------------------
def _record_requested(
    ctx: Context, step: TaskStep, title: str, attempt: int, due_at: datetime | None
) -> None:
    ctx.record(
        ev.TaskRequested(title=title, role=step.role, attempt=attempt, due_at=due_at or None),
        step_id=step.id,
    )
