"""The step graph of a workflow: the jumps each step makes, targets that name no step, steps no
run can reach, and loops with no way to the end."""

from __future__ import annotations

from collections.abc import Iterator

from .model import END, ApprovalStep, DecisionStep, Step, WorkflowSpec
from .problems import Finding, KeyPath, did_you_mean

__all__ = ["step_targets", "successors", "reachable_after", "check_targets", "check_graph"]


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


def successors(spec: WorkflowSpec, step: Step) -> set[str]:
    """Every step (or END) a step can go to. A decision never falls through to the next step."""
    found = {target for _, target in step_targets(step)}
    if not isinstance(step, DecisionStep) and not step.next:
        found.add(spec.next_of(step.id))
    return found


def reachable_after(spec: WorkflowSpec) -> dict[str, set[str]]:
    """step -> every step that can run after it (following next, goto, on_reject, loops)."""
    next_steps = {s.id: successors(spec, s) - {END} for s in spec.steps}
    reach: dict[str, set[str]] = {}
    for step in spec.steps:
        seen: set[str] = set()
        frontier = list(next_steps[step.id])
        while frontier:
            current = frontier.pop()
            if current not in seen:
                seen.add(current)
                frontier.extend(next_steps[current])
        reach[step.id] = seen
    return reach


def check_targets(spec: WorkflowSpec, ids: set[str]) -> Iterator[Finding]:
    """Every jump to a name that is neither a step id (of ``ids``) nor END."""
    for i, step in enumerate(spec.steps):
        for path, target in step_targets(step):
            if target != END and target not in ids:
                hint = did_you_mean(target, ids | {END}) or f"use a step id or '{END}'"
                yield (("steps", i, *path), f"unknown target '{target}'", hint)


def check_graph(spec: WorkflowSpec) -> Iterator[Finding]:
    """Steps no run can reach, and steps from which a run can never reach END."""
    positions = {s.id: i for i, s in enumerate(spec.steps)}
    next_steps = {s.id: successors(spec, s) for s in spec.steps}
    reachable: set[str] = set()
    frontier = [spec.steps[0].id]
    while frontier:
        current = frontier.pop()
        if current in reachable or current == END:
            continue
        reachable.add(current)
        frontier.extend(next_steps[current])
    for step in spec.steps:
        if step.id not in reachable:
            yield (
                ("steps", positions[step.id]),
                f"step '{step.id}' is unreachable",
                "no step leads to it: point a 'next', 'goto' "
                f"or 'on_reject' at '{step.id}' or remove it",
            )
    # a step that cannot reach END is stuck in a loop with no exit
    reaches_end = {s for s in reachable if END in next_steps[s]}
    changed = True
    while changed:
        changed = False
        for s in reachable - reaches_end:
            if next_steps[s] & reaches_end:
                reaches_end.add(s)
                changed = True
    stuck = [s.id for s in spec.steps if s.id in reachable and s.id not in reaches_end]
    for step_id in stuck:
        loop = " -> ".join(
            sorted(next_steps[step_id] | {step_id}, key=lambda x: positions.get(x, 0))
        )
        yield (
            ("steps", positions[step_id]),
            f"loop with no exit: from '{step_id}' the run can never reach '{END}' ({loop})",
            "give one step of the loop a way out, e.g. a decision case or 'next: end'",
        )
