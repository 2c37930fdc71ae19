"""Every template and expression is bounded in output size and steps: what would allocate
gigabytes or run for minutes is refused quickly, at run time and, where the text shows it, by
`aims validate`."""

from __future__ import annotations

import time
import tracemalloc

import pytest

from aims_workflows.errors import SpecError
from aims_workflows.spec import parse_spec
from aims_workflows.spec.expressions import ExpressionError, bound_problems, evaluate, render

HUGE_EXPRESSIONS = [
    "'%0999999999d' % 1",
    "'%.999999999f' % 1",
    "'%*d' % (999999999, 1)",
    "'x'.ljust(10**9)",
    "'x'.rjust(999999999)",
    "'x'.center(999999999)",
    "'1'.zfill(999999999)",
    "'{:999999999}'.format(1)",
    "'{:{}}'.format(1, 999999999)",
    "'{0:>999999999}'.format_map({})",
    "'\\t'.expandtabs(999999999)",
    "('x' * 100000).replace('', 'y' * 100000)",
    "'x' | center(10**9)",
    "'%0999999999d' | format(1)",
    "'a\\nb' | indent(999999999)",
    "[1] | batch(10**9, 'x') | list",
    "[1] | slice(10**9) | list",
    "{'a': 1} | tojson(indent=999999999)",
    "range(100000) | map('center', 100000) | list",
    "('x' * 100000) ~ ('x' * 100000)",
    "('x' * 100000) + ('x' * 100000)",
    "lipsum(n=10**6)",
]


@pytest.mark.parametrize("expression", HUGE_EXPRESSIONS)
def test_huge_output_is_refused_before_it_is_built(expression: str) -> None:
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(ExpressionError):
            evaluate(expression, {})
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert peak < 20 * 1024 * 1024, f"{expression}: {peak / 1e6:.1f} MB"
    assert time.perf_counter() - started < 2


ENDLESS_TEMPLATES = [
    "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}done",
    "{% set r = range(100000) %}{% for a in r %}{% for b in r %}{% for c in r %}"
    "{% endfor %}{% endfor %}{% endfor %}",
    "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(40) }}",
    "{% for a in range(100000) %}{{ a }}{% endfor %}",
    "{% set x = 'a' * 100000 %}{% for i in range(30) %}{% set x = x ~ x %}{% endfor %}",
]


@pytest.mark.parametrize("template", ENDLESS_TEMPLATES)
def test_endless_or_huge_templates_stop_within_their_budget(template: str) -> None:
    started = time.perf_counter()
    with pytest.raises(ExpressionError) as caught:
        render(template, {})
    elapsed = time.perf_counter() - started
    print(f"{template[:40]!r}: refused after {elapsed:.3f} s: {caught.value}")
    assert elapsed < 1.5
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    "expression, value",
    [
        ("'%5.1f%%' % 12.345", " 12.3%"),
        ("'{:>6}'.format('ab')", "    ab"),
        ("'ab'.ljust(4, '.')", "ab.."),
        ("'a-b'.replace('-', ' and ')", "a and b"),
        ("'x' | center(5)", "  x  "),
        ("[1, 2, 3] | batch(2) | list", [[1, 2], [3]]),
        ("'a' ~ 'b' ~ 1", "ab1"),
        ("[1] + [2]", [1, 2]),
        ("10 % 4", 2),
        ("range(3) | map('string') | join(',')", "0,1,2"),
    ],
)
def test_ordinary_formatting_still_works(expression: str, value: object) -> None:
    assert evaluate(expression, {}) == value


def test_ordinary_templates_with_loops_still_render() -> None:
    text = "{% for s in systems %}{{ loop.index }}. {{ s.name | upper }}\n{% endfor %}"
    systems = [{"name": f"system {n}"} for n in range(500)]
    assert render(text, {"systems": systems}).count("\n") == 500


@pytest.mark.parametrize(
    "text, template",
    [
        ("'%0999999999d' % 1", False),
        ("'x'.ljust(10**9)", False),
        ("'x' | center(10**9)", False),
        ("'{:999999999}'.format(1)", False),
        ("'x' * 10**9", False),
        ("{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}", True),
        ("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", True),
    ],
)
def test_validate_finds_what_the_text_shows(text: str, template: bool) -> None:
    assert bound_problems(text, template=template)


def test_validate_leaves_ordinary_text_alone() -> None:
    assert bound_problems("'%5.1f' % x", template=False) == []
    assert bound_problems("{% for s in systems %}{{ s }}{% endfor %}", template=True) == []


def test_aims_validate_refuses_a_workflow_asking_for_a_billion_characters() -> None:
    text = """id: bomb
version: 1
title: Bomb
subject: ai_system
steps:
  - id: tell
    kind: notify
    to: [aims_owner]
    message: "{{ '%0999999999d' % 1 }}"
"""
    with pytest.raises(SpecError) as caught:
        parse_spec(text, "bomb.yaml")
    assert "asks for too much" in str(caught.value) and "999999999" in str(caught.value)
