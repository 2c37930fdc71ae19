"""The step graph of a workflow: the jumps each step makes, targets that name no step, steps no
run can reach, and loops with no way to the end."""

from __future__ import annotations

from collections.abc import Iterator

from .model import END, ApprovalStep, DecisionStep, Step, WorkflowSpec
from .problems import Finding, KeyPath, did_you_mean

__all__ = [
    "step_targets",
    "successors",
    "reachable_after",
    "Reachability",
    "check_targets",
    "check_graph",
]


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


class Reachability:
    """Whether one step can run after another, answered without the full transitive closure
    (which takes memory and time in the square of the step count: 10,000 steps needed over
    2 GB). The graph is condensed into its loops (strongly connected components, numbered so
    that a step only leads to components of a lower number); a question is then a search that
    stops when it finds the step and never enters a component numbered below the step's."""

    def __init__(self, spec: WorkflowSpec) -> None:
        self._next = {s.id: sorted(successors(spec, s) - {END}) for s in spec.steps}
        self._component, self._looping = _components(self._next)
        self._memo: dict[tuple[str, str], bool] = {}

    def can_follow(self, first: str, later: str) -> bool:
        """True when ``later`` can run after ``first`` (some path of one jump or more)."""
        if first not in self._component or later not in self._component:
            return False
        a, b = self._component[first], self._component[later]
        if a == b:
            return a in self._looping
        if a < b:
            return False
        key = (first, later)
        if key not in self._memo:
            self._memo[key] = self._search(first, later, b)
        return self._memo[key]

    def _search(self, first: str, later: str, floor: int) -> bool:
        seen = {first}
        frontier = [first]
        while frontier:
            current = frontier.pop()
            for nxt in self._next.get(current, ()):
                if nxt == later:
                    return True
                if nxt not in seen and self._component.get(nxt, -1) >= floor:
                    seen.add(nxt)
                    frontier.append(nxt)
        return False


def _components(graph: dict[str, list[str]]) -> tuple[dict[str, int], set[int]]:
    """Tarjan's strongly connected components, iteratively (no recursion limit): the number of
    each node's component (sinks first) and the components that loop (more than one node, or
    a node that jumps to itself)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    component: dict[str, int] = {}
    looping: set[int] = set()
    counter = components = 0
    for root in graph:
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, child = work.pop()
            if child == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            successors_ = [n for n in graph.get(node, ()) if n in graph]
            if child < len(successors_):
                work.append((node, child + 1))
                nxt = successors_[child]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if low[node] == index[node]:
                number = components
                components += 1
                members = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component[member] = number
                    members.append(member)
                    if member == node:
                        break
                if len(members) > 1 or node in graph.get(node, ()):
                    looping.add(number)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return component, looping


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
    # a step that cannot reach END is stuck in a loop with no exit: walk back from END once
    previous: dict[str, list[str]] = {}
    for s, targets in next_steps.items():
        for target in targets:
            previous.setdefault(target, []).append(s)
    reaches_end: set[str] = set()
    back = [END]
    while back:
        for s in previous.get(back.pop(), ()):
            if s not in reaches_end:
                reaches_end.add(s)
                back.append(s)
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
