"""The whole-spec checks stay linear in the step count: which step can run after which is
answered without the transitive closure (10,000 steps needed over 2 GB and minutes), and gives
the same answers as the closure on any graph."""

from __future__ import annotations

import time
import tracemalloc

from hypothesis import given, settings
from hypothesis import strategies as st

from aims_workflows.spec import parse_spec
from aims_workflows.spec.graph import Reachability, reachable_after
from aims_workflows.spec.model import WorkflowSpec


def workflow(steps: int, *, reads_previous: bool = True, loop_every: int = 0) -> str:
    lines = ["id: big", "version: 1", "title: Big", "subject: ai_system", "steps:"]
    for i in range(steps):
        lines += [f"  - id: s{i}", "    kind: record", "    artefact: note", "    fields:"]
        lines.append(f'      n: "{f"s{i - 1}.n + 1" if reads_previous and i else "1"}"')
        if loop_every and i and i % loop_every == 0:
            lines += [
                f"  - id: d{i}",
                "    kind: decision",
                "    cases:",
                f'      - when: "s{i}.n > 1000000"',
                f"        goto: s{i - loop_every + 1}",
                f"    otherwise: {f's{i + 1}' if i + 1 < steps else 'end'}",
            ]
    return "\n".join(lines) + "\n"


def measure(steps: int) -> tuple[float, float]:
    text = workflow(steps, loop_every=50)
    tracemalloc.start()
    started = time.perf_counter()
    parse_spec(text, "big.yaml")
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return seconds, peak / 1e6


def test_validation_grows_linearly_with_the_step_count() -> None:
    small_s, small_mb = measure(1_000)
    large_s, large_mb = measure(4_000)
    print(
        f"aims validate: 1,000 steps {small_s:.2f} s {small_mb:.0f} MB; "
        f"4,000 steps {large_s:.2f} s {large_mb:.0f} MB"
    )
    # four times the steps: about four times the cost (a square would be sixteen)
    assert large_mb < 6 * small_mb
    assert large_s < 8 * small_s


_GRAPHS = st.integers(2, 12).flatmap(
    lambda n: st.lists(
        st.lists(st.integers(0, n), max_size=3),  # n means end
        min_size=n,
        max_size=n,
    )
)


@settings(max_examples=300, deadline=None)
@given(_GRAPHS)
def test_reachability_agrees_with_the_closure(graph: list[list[int]]) -> None:
    n = len(graph)
    steps = []
    for i, targets in enumerate(graph):
        names = [f"s{t}" if t < n else "end" for t in targets] or ["end"]
        cases = [{"when": "true", "goto": name} for name in names[:-1]]
        steps.append(
            {"id": f"s{i}", "kind": "decision", "cases": cases, "otherwise": names[-1]}
            if cases
            else {
                "id": f"s{i}",
                "kind": "notify",
                "to": ["aims_owner"],
                "message": "x",
                "next": names[-1],
            }
        )
    spec = WorkflowSpec.model_validate(
        {"id": "graph", "version": 1, "title": "G", "subject": "ai_system", "steps": steps}
    )
    closure = reachable_after(spec)
    fast = Reachability(spec)
    for a in closure:
        for b in closure:
            if a != b:
                assert fast.can_follow(a, b) == (b in closure[a]), (a, b, graph)
