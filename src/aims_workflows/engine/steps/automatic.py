"""Steps that run without a person: decisions, records, notifications, spawned runs, waits.

Each returns the step to go to next, or None when the run now waits (a wait step, a spawn that
waits for its children).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ...spec.expressions import ExpressionError, evaluate, render
from ...spec.model import DecisionStep, NotifyStep, RecordStep, SpawnStep, WaitStep
from .. import evidence_kinds as ev
from .._context import Context
from ..commands import NewFinding, Notify, SpawnRun
from ..evidence import canonical_json
from ..state import ChildRun

__all__ = ["decide", "notify", "record", "spawn", "wait"]


def decide(ctx: Context, step: DecisionStep) -> str:
    """The target of the first case whose condition holds, else ``otherwise``."""
    names = ctx.names()
    for index, case in enumerate(step.cases):
        if evaluate(case.when, names):
            _record_decision(ctx, step, index, case.when, case.goto)
            return case.goto
    _record_decision(ctx, step, None, None, step.otherwise)
    return step.otherwise


def record(ctx: Context, step: RecordStep, *, only_if_changed: bool = False) -> str:
    """Compute the record's fields and keep them as the step's data.

    ``only_if_changed``: when the fields come out as they are already recorded (a record
    computed again after answers changed), nothing is recorded a second time.
    """
    names = ctx.names()
    values = {name: evaluate(expr, names) for name, expr in step.fields.items()}
    try:
        canonical_json(values)  # fail now, not in the ledger, if a value cannot be evidence
    except (TypeError, ValueError) as err:
        raise ExpressionError(f"record '{step.id}': {err}") from None
    if not (only_if_changed and ctx.run.data.get(step.id) == values):
        ctx.run.data[step.id] = values
        _record_artefact(ctx, step, values)
    return ctx.spec.next_of(step.id)


def notify(ctx: Context, step: NotifyStep) -> str:
    message = render(step.message, ctx.names())
    ctx.emit(
        Notify(
            key=ctx.key(f"{step.id}/{ctx.visit(step.id)}/notify"),
            run_id=ctx.run.run_id,
            to=step.to,
            message=message,
            subject=ctx.run.subject,
        )
    )
    _record_notification(ctx, step, message)
    return ctx.spec.next_of(step.id)


def spawn(ctx: Context, step: SpawnStep) -> str | None:
    """Start one run of ``step.workflow``, or one per item of ``for_each``."""
    run = ctx.run
    attempt = ctx.visit(step.id)
    names = ctx.names()
    items: list[Any] = [None]
    if step.for_each:
        value = evaluate(step.for_each, names)
        if not isinstance(value, (list, tuple)):
            raise ExpressionError(
                f"for_each {step.for_each!r} gave {type(value).__name__}, not a list"
            )
        items = list(value)
    children: list[ChildRun] = []
    for n, item in enumerate(items, start=1):
        scope = {**names, "item": item}
        child_id = f"{run.run_id}.{step.id}{attempt}.{n}"
        inputs = {name: evaluate(expr, scope) for name, expr in step.inputs.items()}
        finding = _finding(ctx, step, child_id, scope)
        ctx.emit(
            SpawnRun(
                key=ctx.key(f"{step.id}/{attempt}/spawn/{n}"),
                run_id=run.run_id,
                child_run_id=child_id,
                workflow=step.workflow,
                inputs=inputs,
                finding=finding,
                subject=None if finding else run.subject,
                parent_run_id=run.run_id if step.wait else None,
            )
        )
        children.append(ChildRun(run_id=child_id, workflow=step.workflow))
    _record_spawned(ctx, step, children)
    if step.wait and children:
        run.children = children
        return None
    run.data[step.id] = {"runs": [c.run_id for c in children], "count": len(children)}
    if step.wait:  # nothing started, nothing to wait for: no outcomes either
        run.data[step.id]["outcomes"] = []
    return ctx.spec.next_of(step.id)


def _finding(
    ctx: Context, step: SpawnStep, child_id: str, scope: dict[str, Any]
) -> NewFinding | None:
    template = step.finding
    if template is None:
        return None
    subject = ctx.run.subject
    return NewFinding(
        id=f"F-{child_id}",
        title=str(evaluate(template.title, scope)),
        severity=str(evaluate(template.severity, scope)),
        clause=_text(evaluate(template.clause, scope)) if template.clause else None,
        description=_text(evaluate(template.description, scope)) if template.description else None,
        source=f"{ctx.spec.id}/{ctx.run.run_id}",
        system=subject.name if subject.type == "ai_system" else None,
        source_type=_source_type(evaluate(template.source, scope) if template.source else None),
    )


def _source_type(value: Any) -> str:
    """The kind of source a spawn's finding names; internal (an audit's) when it names none."""
    if value is None or value == "":
        return "internal"
    if value not in ev.FINDING_SOURCES:
        raise ExpressionError(
            f"a finding's source is one of {', '.join(ev.FINDING_SOURCES)}, not {value!r}"
        )
    return str(value)


def _text(value: Any) -> str | None:
    """A finding's clause or description as text (an expression may give a number)."""
    return None if value is None else str(value)


def wait(ctx: Context, step: WaitStep) -> None:
    fire_at = ctx.now + step.duration
    ctx.add_wait(step.id, fire_at, ctx.visit(step.id))
    _record_wait(ctx, step, fire_at)


# -- evidence -----------------------------------------------------------------------------------
def _record_decision(
    ctx: Context, step: DecisionStep, case: int | None, when: str | None, goto: str
) -> None:
    ctx.record(ev.DecisionTaken(case=case, when=when, goto=goto), step_id=step.id)


def _record_artefact(ctx: Context, step: RecordStep, values: dict[str, Any]) -> None:
    ctx.record(
        ev.ArtefactRecorded(artefact=step.artefact, fields=values, subject=ctx.run.subject.id),
        step_id=step.id,
    )


def _record_notification(ctx: Context, step: NotifyStep, message: str) -> None:
    ctx.record(ev.NotificationSent(to=list(step.to), message=message), step_id=step.id)


def _record_wait(ctx: Context, step: WaitStep, until: datetime) -> None:
    ctx.record(
        ev.WaitStarted(until=until, duration_seconds=int(step.duration.total_seconds())),
        step_id=step.id,
    )


def _record_spawned(ctx: Context, step: SpawnStep, children: list[ChildRun]) -> None:
    ctx.record(
        ev.RunSpawned(workflow=step.workflow, runs=[c.run_id for c in children], wait=step.wait),
        step_id=step.id,
    )
