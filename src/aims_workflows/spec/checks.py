"""Whole-spec checks that a schema cannot express: targets, reachability, loops with no exit,
roles, catalogue ids, and the names that expressions and templates read.

The step graph is checked in :mod:`.graph`, the names in :mod:`.name_checks`; this module runs
them all and checks the rest."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from .graph import check_graph, check_targets, step_targets
from .model import (
    INVENTORY_FIELDS,
    ApprovalStep,
    NotifyStep,
    RecordStep,
    TaskStep,
    WorkflowSpec,
)
from .name_checks import (
    APPROVAL_DATA_FIELDS,
    SPAWN_DATA_FIELDS,
    check_data_flow,
    check_expressions,
)
from .problems import Finding, KeyPath, did_you_mean

__all__ = [
    "check_spec",
    "step_targets",
    "APPROVAL_DATA_FIELDS",
    "SPAWN_DATA_FIELDS",
    "DEFAULT_ROLES",
]

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
    problems += check_targets(spec, ids)
    if not any(p[1].startswith("unknown target") for p in problems):
        problems += check_graph(spec)
    problems += _roles(spec, known_roles)
    problems += _catalogue(spec, is_known_id, suggest_id)
    problems += _step_references(spec)
    problems += check_expressions(spec)
    if not any(
        p[1].startswith(("unknown target", "unknown name", "unknown field")) for p in problems
    ):
        problems += check_data_flow(spec)
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
        if isinstance(step, ApprovalStep) and step.expire and step.expire.to:
            yield ("steps", i, "expire", "to"), step.expire.to
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
