"""Limits that keep a workflow from hurting the service: expression sizes, cancelled parents."""

import pytest

from aims_workflows.engine.commands import CancelChildRun
from aims_workflows.spec.expressions import ExpressionError, evaluate
from conftest import AUDITOR, Driver, fixture_spec, organisation


@pytest.mark.parametrize(
    "expression",
    ['"x" * 10**9', "[1] * 10**7", "10 ** 1000", "((10 ** 64) ** 64) ** 64", "7 ** (10 ** 5)"],
)
def test_expressions_that_would_exhaust_memory_or_cpu_are_refused(expression):
    with pytest.raises(ExpressionError):
        evaluate(expression, {})


@pytest.mark.parametrize(
    "expression, value",
    [('"ab" * 3', "ababab"), ("2 ** 10", 1024), ("3 * 4", 12), ("[0] * 3", [0, 0, 0])],
)
def test_ordinary_arithmetic_still_works(expression, value):
    assert evaluate(expression, {}) == value


def test_cancelling_a_parent_cancels_the_children_it_waits_for():
    d = Driver(fixture_spec("internal-audit"), organisation())
    d.start()
    d.complete(d.run.current, AUDITOR, {"failed_areas": ["risk", "suppliers"]})
    assert len(d.run.children) == 2
    t = d.send("run.cancel", reason="audit withdrawn")
    cancels = [c for c in t.commands if isinstance(c, CancelChildRun)]
    assert sorted(c.child_run_id for c in cancels) == sorted(c.run_id for c in d.run.children)
    assert all("audit withdrawn" in c.reason for c in cancels)
    assert d.run.status == "cancelled"
