"""The names that expressions and templates read: every name and field must exist, and a step's
data may only be read where that step can have run already."""

from __future__ import annotations

from collections.abc import Iterator

from .expressions import ExpressionError, bound_problems, guarded_names, references
from .graph import Reachability
from .model import (
    SUBJECT_ATTRIBUTES,
    ApprovalStep,
    DecisionStep,
    NotifyStep,
    RecordStep,
    SpawnStep,
    TaskStep,
    WorkflowSpec,
)
from .problems import Finding, KeyPath, did_you_mean

__all__ = ["check_expressions", "check_data_flow", "APPROVAL_DATA_FIELDS", "SPAWN_DATA_FIELDS"]

APPROVAL_DATA_FIELDS = ("outcome", "decided_by", "reasons", "content_hash")
SPAWN_DATA_FIELDS = ("runs", "count")
WAITING_SPAWN_DATA_FIELDS = (*SPAWN_DATA_FIELDS, "outcomes")
_JINJA_GLOBALS = {
    "range",
    "dict",
    "lipsum",
    "cycler",
    "joiner",
    "namespace",
    "true",
    "false",
    "none",
}


def _namespace(spec: WorkflowSpec) -> dict[str, set[str] | None]:
    """name -> attributes it has (None: any attribute is fine)."""
    names: dict[str, set[str] | None] = {
        "subject": set(SUBJECT_ATTRIBUTES[spec.subject]),
        "inputs": {d.id for d in spec.inputs},
    }
    for step in spec.steps:
        if isinstance(step, TaskStep):
            names[step.id] = {f.id for f in step.form} | {"completed_by", "issue"}
        elif isinstance(step, RecordStep):
            names[step.id] = set(step.fields)
        elif isinstance(step, ApprovalStep):
            names[step.id] = set(APPROVAL_DATA_FIELDS)
        elif isinstance(step, SpawnStep):
            names[step.id] = set(WAITING_SPAWN_DATA_FIELDS if step.wait else SPAWN_DATA_FIELDS)
    return names


def _expression_uses(spec: WorkflowSpec) -> Iterator[tuple[KeyPath, str, bool, bool]]:
    """(path, text, is_template, may_use_item) for every expression and template in the spec."""
    if spec.trigger.scope:
        yield ("trigger", "scope"), spec.trigger.scope, False, False
    for i, step in enumerate(spec.steps):
        base = ("steps", i)
        if step.title:
            yield (*base, "title"), step.title, True, False
        if isinstance(step, TaskStep):
            yield (*base, "description"), step.description, True, False
            if step.assignee:
                yield (*base, "assignee"), step.assignee, False, False
            for j, field in enumerate(step.form):
                if field.required_if:
                    yield (*base, "form", j, "required_if"), field.required_if, False, False
                if field.line_keys:
                    yield (*base, "form", j, "line_keys"), field.line_keys, False, False
            if step.due_on:
                yield (*base, "due_on"), step.due_on, False, False
        elif isinstance(step, ApprovalStep):
            for label, expr in step.show.items():
                yield (*base, "show", label), expr, False, False
            if step.step_up:
                yield (*base, "step_up", "when"), step.step_up.when, False, False
        elif isinstance(step, DecisionStep):
            for j, case in enumerate(step.cases):
                yield (*base, "cases", j, "when"), case.when, False, False
        elif isinstance(step, RecordStep):
            for name, expr in step.fields.items():
                yield (*base, "fields", name), expr, False, False
        elif isinstance(step, NotifyStep):
            yield (*base, "message"), step.message, True, False
        elif isinstance(step, SpawnStep):
            if step.for_each:
                yield (*base, "for_each"), step.for_each, False, False
            for name, expr in step.inputs.items():
                yield (*base, "inputs", name), expr, False, bool(step.for_each)
            if step.finding:
                for key in ("title", "severity", "clause", "description", "source"):
                    expr = getattr(step.finding, key)
                    if expr:
                        yield (*base, "finding", key), expr, False, bool(step.for_each)
    # evaluated at completion, whichever way the run got there: guard reads of optional steps
    for name, expr in (spec.outputs or {}).items():
        yield ("outputs", name), expr, False, False


def check_expressions(spec: WorkflowSpec) -> Iterator[Finding]:
    """Expressions that do not parse, and names or fields they read that do not exist."""
    names = _namespace(spec)
    for path, text, is_template, may_use_item in _expression_uses(spec):
        try:
            refs = references(text, template=is_template)
        except ExpressionError as err:
            yield (path, str(err), None)
            continue
        for problem in bound_problems(text, template=is_template):
            yield (
                path,
                f"{text!r} asks for too much: {problem}",
                "an evaluation is bounded in size and steps; ask for less",
            )
        allowed = dict(names)
        if may_use_item:
            allowed["item"] = None
        for ref in refs:
            if ref.name in _JINJA_GLOBALS:
                continue
            if ref.name not in allowed:
                if ref.name == "item":
                    hint = (
                        "'item' is only known in the inputs and finding of a spawn with 'for_each'"
                    )
                else:
                    hint = (
                        did_you_mean(ref.name, allowed)
                        or "names are subject, inputs, item and step ids"
                    )
                yield (path, f"unknown name '{ref.name}' in {text!r}", hint)
                continue
            attrs = allowed[ref.name]
            if ref.attr is not None and attrs is not None and ref.attr not in attrs:
                hint = did_you_mean(ref.attr, attrs) or (
                    f"'{ref.name}' has: {', '.join(sorted(attrs))}"
                    if attrs
                    else f"'{ref.name}' has no fields"
                )
                yield (path, f"unknown field '{ref.name}.{ref.attr}' in {text!r}", hint)


def check_data_flow(spec: WorkflowSpec) -> Iterator[Finding]:
    """An expression may only read the data of steps that can have run before it: otherwise the
    run would stop with 'undefined' the first time it gets there. Guarded reads
    (``x is defined``, ``x | default(...)``) are left alone."""
    names = _namespace(spec)
    reach = Reachability(spec)
    for path, text, is_template, _ in _expression_uses(spec):
        if path[0] != "steps" or not isinstance(path[1], int):
            continue
        reader = spec.steps[path[1]].id
        own_answers = path[2] == "form"  # required_if reads the answers being given
        try:
            refs, guarded = (
                references(text, template=is_template),
                guarded_names(text, template=is_template),
            )
        except ExpressionError:
            continue  # reported by check_expressions
        reported: set[str] = set()
        for ref in refs:
            name = ref.name
            if (
                name not in names
                or name in ("subject", "inputs")
                or name in guarded
                or name in reported
            ):
                continue
            if name == reader and not own_answers:
                reported.add(name)
                yield (
                    path,
                    f"{text!r} reads '{name}', the step's own data, before it exists",
                    "read it in a later step",
                )
            elif name != reader and not reach.can_follow(name, reader):
                reported.add(name)
                yield (
                    path,
                    f"{text!r} reads '{name}', but step '{name}' cannot have run before '{reader}'",
                    f"move '{name}' earlier, or guard the read: '{name} is defined'",
                )
