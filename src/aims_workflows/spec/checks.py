"""Whole-spec checks that a schema cannot express: targets, reachability, loops with no exit,
roles, catalogue ids, and the names that expressions and templates read."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from .expressions import ExpressionError, guarded_names, references
from .model import (
    END,
    INVENTORY_FIELDS,
    SUBJECT_ATTRIBUTES,
    ApprovalStep,
    DecisionStep,
    NotifyStep,
    RecordStep,
    SpawnStep,
    Step,
    TaskStep,
    WorkflowSpec,
)
from .problems import KeyPath, did_you_mean

__all__ = [
    "check_spec",
    "step_targets",
    "APPROVAL_DATA_FIELDS",
    "SPAWN_DATA_FIELDS",
    "DEFAULT_ROLES",
]

# (path parts, message, hint) -- the loader turns them into located Problems
Finding = tuple[KeyPath, str, str | None]

DEFAULT_ROLES: frozenset[str] = frozenset(
    {
        "top_management",
        "aims_owner",
        "system_owner",
        "risk_owner",
        "engineer",
        "internal_auditor",
        "ciso",
        "data_protection_officer",
        "legal_counsel",
    }
)
"""Roles known when no ``aims.yaml`` is given. ``system_owner`` is always the subject's owner."""

APPROVAL_DATA_FIELDS = ("outcome", "decided_by", "reasons", "content_hash")
SPAWN_DATA_FIELDS = ("runs", "count")
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


def step_targets(step: Step) -> list[tuple[KeyPath, str]]:
    """(path within the step, target) for every explicit jump a step makes."""
    out: list[tuple[KeyPath, str]] = []
    if step.next:
        out.append((("next",), step.next))
    if isinstance(step, ApprovalStep):
        out.append((("on_reject",), step.on_reject))
    if isinstance(step, DecisionStep):
        out.extend(((("cases", i, "goto"), c.goto) for i, c in enumerate(step.cases)))
        out.append((("otherwise",), step.otherwise))
    return out


def _successors(spec: WorkflowSpec, step: Step) -> set[str]:
    """Every step (or END) a step can go to. A decision never falls through to the next step."""
    found = {target for _, target in step_targets(step)}
    if not isinstance(step, DecisionStep) and not step.next:
        found.add(spec.next_of(step.id))
    return found


def check_spec(
    spec: WorkflowSpec,
    *,
    roles: Iterable[str],
    is_known_id: Callable[[str], bool],
    suggest_id: Callable[[str], str | None],
) -> list[Finding]:
    """All semantic problems of one spec (an empty list when it is sound)."""
    known_roles = set(roles) | {"system_owner"}
    problems: list[Finding] = []
    problems += _duplicates(spec)
    ids = {s.id for s in spec.steps}
    if len(ids) != len(spec.steps):
        return problems  # the graph checks below would report nonsense
    problems += _targets(spec, ids)
    if not any(p[1].startswith("unknown target") for p in problems):
        problems += _graph(spec)
    problems += _roles(spec, known_roles)
    problems += _catalogue(spec, is_known_id, suggest_id)
    problems += _step_references(spec)
    problems += _expressions(spec)
    if not any(
        p[1].startswith(("unknown target", "unknown name", "unknown field")) for p in problems
    ):
        problems += _data_flow(spec)
    problems += _triggers(spec)
    return problems


def _duplicates(spec: WorkflowSpec) -> Iterator[Finding]:
    seen: dict[str, int] = {}
    for i, step in enumerate(spec.steps):
        if step.id in seen:
            yield (
                ("steps", i, "id"),
                f"duplicate step id '{step.id}'",
                f"steps[{seen[step.id]}] has it already",
            )
        seen.setdefault(step.id, i)
        if isinstance(step, TaskStep):
            fields: set[str] = set()
            for j, field in enumerate(step.form):
                if field.id in fields:
                    yield (("steps", i, "form", j, "id"), f"duplicate field id '{field.id}'", None)
                fields.add(field.id)
    seen_inputs: set[str] = set()
    for i, decl in enumerate(spec.inputs):
        if decl.id in seen_inputs:
            yield (("inputs", i, "id"), f"duplicate input id '{decl.id}'", None)
        seen_inputs.add(decl.id)


def _targets(spec: WorkflowSpec, ids: set[str]) -> Iterator[Finding]:
    for i, step in enumerate(spec.steps):
        for path, target in step_targets(step):
            if target != END and target not in ids:
                hint = did_you_mean(target, ids | {END}) or f"use a step id or '{END}'"
                yield (("steps", i, *path), f"unknown target '{target}'", hint)


def _graph(spec: WorkflowSpec) -> Iterator[Finding]:
    positions = {s.id: i for i, s in enumerate(spec.steps)}
    successors = {s.id: _successors(spec, s) for s in spec.steps}
    reachable: set[str] = set()
    frontier = [spec.steps[0].id]
    while frontier:
        current = frontier.pop()
        if current in reachable or current == END:
            continue
        reachable.add(current)
        frontier.extend(successors[current])
    for step in spec.steps:
        if step.id not in reachable:
            yield (
                ("steps", positions[step.id]),
                f"step '{step.id}' is unreachable",
                "no step leads to it: point a 'next', 'goto' "
                f"or 'on_reject' at '{step.id}' or remove it",
            )
    # a step that cannot reach END is stuck in a loop with no exit
    reaches_end = {s for s in reachable if END in successors[s]}
    changed = True
    while changed:
        changed = False
        for s in reachable - reaches_end:
            if successors[s] & reaches_end:
                reaches_end.add(s)
                changed = True
    stuck = [s.id for s in spec.steps if s.id in reachable and s.id not in reaches_end]
    for step_id in stuck:
        loop = " -> ".join(
            sorted(successors[step_id] | {step_id}, key=lambda x: positions.get(x, 0))
        )
        yield (
            ("steps", positions[step_id]),
            f"loop with no exit: from '{step_id}' the run can never reach '{END}' ({loop})",
            "give one step of the loop a way out, e.g. a decision case or 'next: end'",
        )


def _role_uses(spec: WorkflowSpec) -> Iterator[tuple[KeyPath, str]]:
    for i, step in enumerate(spec.steps):
        if isinstance(step, TaskStep):
            yield ("steps", i, "role"), step.role
        if isinstance(step, ApprovalStep):
            for j, role in enumerate(step.approvers):
                yield ("steps", i, "approvers", j), role
            for j, role in enumerate(step.separation.forbidden_roles):
                yield ("steps", i, "separation", "forbidden_roles", j), role
        if isinstance(step, NotifyStep):
            for j, role in enumerate(step.to):
                yield ("steps", i, "to", j), role
        escalation = getattr(step, "escalate", None)
        if escalation is not None:
            yield ("steps", i, "escalate", "to"), escalation.to


def _roles(spec: WorkflowSpec, known: set[str]) -> Iterator[Finding]:
    for path, role in _role_uses(spec):
        if role not in known:
            yield (
                path,
                f"unknown role '{role}'",
                did_you_mean(role, known) or "declare it under 'roles' in aims.yaml",
            )


def _catalogue(
    spec: WorkflowSpec,
    is_known_id: Callable[[str], bool],
    suggest_id: Callable[[str], str | None],
) -> Iterator[Finding]:
    uses: list[tuple[KeyPath, str]] = [
        (("evidences", j), cid) for j, cid in enumerate(spec.evidences)
    ]
    for i, step in enumerate(spec.steps):
        uses += [(("steps", i, "evidences", j), cid) for j, cid in enumerate(step.evidences)]
    for path, cid in uses:
        if not is_known_id(cid):
            close = suggest_id(cid)
            hint = (
                f"did you mean '{close}'?"
                if close
                else "see `aims catalog` for the clause and control ids"
            )
            yield (path, f"unknown clause or control id '{cid}'", hint)


def _step_references(spec: WorkflowSpec) -> Iterator[Finding]:
    kinds = {s.id: s for s in spec.steps}
    for i, step in enumerate(spec.steps):
        if isinstance(step, ApprovalStep):
            for j, ref in enumerate(step.approves):
                if not isinstance(kinds.get(ref), (TaskStep, RecordStep)):
                    candidates = [
                        k for k, s in kinds.items() if isinstance(s, (TaskStep, RecordStep))
                    ]
                    yield (
                        ("steps", i, "approves", j),
                        f"'{ref}' is not a task or record step",
                        did_you_mean(ref, candidates),
                    )
            for j, ref in enumerate(step.separation.not_assignee_of):
                if not isinstance(kinds.get(ref), TaskStep):
                    yield (
                        ("steps", i, "separation", "not_assignee_of", j),
                        f"'{ref}' is not a task step",
                        did_you_mean(ref, [k for k, s in kinds.items() if isinstance(s, TaskStep)]),
                    )


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
            names[step.id] = set(SPAWN_DATA_FIELDS)
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
            for j, field in enumerate(step.form):
                if field.required_if:
                    yield (*base, "form", j, "required_if"), field.required_if, False, False
        elif isinstance(step, ApprovalStep):
            for label, expr in step.show.items():
                yield (*base, "show", label), expr, False, False
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
                for key in ("title", "severity", "clause", "description"):
                    expr = getattr(step.finding, key)
                    if expr:
                        yield (*base, "finding", key), expr, False, bool(step.for_each)


def _expressions(spec: WorkflowSpec) -> Iterator[Finding]:
    names = _namespace(spec)
    for path, text, is_template, may_use_item in _expression_uses(spec):
        try:
            refs = references(text, template=is_template)
        except ExpressionError as err:
            yield (path, str(err), None)
            continue
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


def _reachable_after(spec: WorkflowSpec) -> dict[str, set[str]]:
    """step -> every step that can run after it (following next, goto, on_reject, loops)."""
    successors = {s.id: _successors(spec, s) - {END} for s in spec.steps}
    reach: dict[str, set[str]] = {}
    for step in spec.steps:
        seen: set[str] = set()
        frontier = list(successors[step.id])
        while frontier:
            current = frontier.pop()
            if current not in seen:
                seen.add(current)
                frontier.extend(successors[current])
        reach[step.id] = seen
    return reach


def _data_flow(spec: WorkflowSpec) -> Iterator[Finding]:
    """An expression may only read the data of steps that can have run before it: otherwise the
    run would stop with 'undefined' the first time it gets there. Guarded reads
    (``x is defined``, ``x | default(...)``) are left alone."""
    names = _namespace(spec)
    reach = _reachable_after(spec)
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
            continue  # reported by _expressions
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
            elif name != reader and reader not in reach[name]:
                reported.add(name)
                yield (
                    path,
                    f"{text!r} reads '{name}', but step '{name}' cannot have run before '{reader}'",
                    f"move '{name}' earlier, or guard the read: '{name} is defined'",
                )


def _triggers(spec: WorkflowSpec) -> Iterator[Finding]:
    for j, on in enumerate(spec.trigger.on):
        path = ("trigger", "on", j)
        if on.event.startswith("ai_system.") and spec.subject != "ai_system":
            yield (
                path + ("event",),
                f"'{on.event}' needs 'subject: ai_system', not '{spec.subject}'",
                None,
            )
        if on.event == "finding.raised" and spec.subject != "finding":
            yield (
                path + ("event",),
                f"'finding.raised' needs 'subject: finding', not '{spec.subject}'",
                None,
            )
        if on.fields and on.event != "ai_system.changed":
            yield (path + ("fields",), "'fields' is only for 'ai_system.changed'", None)
        for k, name in enumerate(on.fields):
            if name not in INVENTORY_FIELDS:
                yield (
                    path + ("fields", k),
                    f"unknown inventory field '{name}'",
                    did_you_mean(name, INVENTORY_FIELDS),
                )
        if on.event == "run.completed" and not on.workflow:
            yield (
                path,
                "'run.completed' needs 'workflow': the workflow whose completion starts this one",
                None,
            )
        if on.workflow and on.event != "run.completed":
            yield (path + ("workflow",), "'workflow' is only for 'run.completed'", None)
    if spec.trigger.schedule and spec.subject == "finding":
        yield (
            ("trigger", "schedule"),
            "a schedule runs per AI system or for the organisation, not per finding",
            None,
        )
    if spec.coverage and spec.subject != "ai_system":
        yield (("coverage",), "coverage KPIs count AI systems: it needs 'subject: ai_system'", None)
