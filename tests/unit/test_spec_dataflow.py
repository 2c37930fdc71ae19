"""Expressions may only read the data of steps that can have run before them."""

from __future__ import annotations

import pytest

from aims_workflows.errors import SpecError
from aims_workflows.spec import parse_spec
from aims_workflows.spec.expressions import guarded_names

HEAD = "id: flow\nversion: 1\ntitle: Flow\nsubject: ai_system\nsteps:\n"
TASK = (
    '  - {id: %s, kind: task, role: engineer, title: "%s", '
    "form: [{id: ok, type: bool, label: OK}]}\n"
)


def problems(steps: str) -> list[str]:
    with pytest.raises(SpecError) as err:
        parse_spec(HEAD + steps, "flow.yaml")
    return [str(p) for p in err.value.problems]


def test_reading_a_step_that_only_runs_later_is_reported_with_its_place():
    found = problems(
        "  - {id: route, kind: decision, cases: [{when: later.ok, goto: end}], otherwise: later}\n"
        + TASK % ("later", "Later")
    )
    assert found == [
        "flow.yaml:6:42 steps[0].cases[0].when: 'later.ok' reads 'later', but step 'later' cannot "
        "have run before 'route' (move 'later' earlier, or guard the read: 'later is defined')"
    ]


def test_a_step_reading_its_own_data_is_reported():
    found = problems(
        TASK % ("first", "x") + '  - {id: rec, kind: record, artefact: r, fields: {a: "rec.a"}}\n'
    )
    assert "'rec.a' reads 'rec', the step's own data, before it exists" in found[0]


def test_earlier_steps_guarded_reads_loops_and_own_answers_are_fine():
    text = (
        HEAD
        + TASK % ("first", "First")
        + '  - {id: rec, kind: record, artefact: r, fields: {a: "first.ok", '
        'b: "maybe.x | default(0)", c: "maybe.x if maybe is defined else 1"}}\n'
        + "  - {id: check, kind: task, role: engineer, "
        "title: \"Check {{ check.ok if check is defined else '' }}\", "
        "form: [{id: ok, type: bool, label: OK}, {id: why, type: text, label: Why, "
        'required: false, required_if: "not check.ok"}]}\n'
        + '  - {id: maybe, kind: record, artefact: m, fields: {x: "1"}}\n'
        + "  - {id: again, kind: decision, cases: [{when: 'not check.ok', goto: first}], "
        "otherwise: end}\n"
    )
    loaded = parse_spec(text, "flow.yaml")
    assert [s.id for s in loaded.spec.steps] == ["first", "rec", "check", "maybe", "again"]


def test_a_read_that_a_loop_makes_possible_is_accepted():
    # 'route' runs again after 'later' through the loop, so 'later' may have run before it
    text = (
        HEAD + "  - {id: route, kind: decision, "
        "cases: [{when: 'later is defined and later.ok', goto: end}], otherwise: later}\n"
        + TASK % ("later", "Later")
        + "  - {id: back, kind: decision, cases: [{when: 'true', goto: route}], otherwise: end}\n"
    )
    assert parse_spec(text, "flow.yaml").spec.steps[0].id == "route"


@pytest.mark.parametrize(
    "text, names",
    [
        ("a is defined and a.x", {"a"}),
        ("b | default(1) + c", {"b"}),
        ("d.x is none", {"d"}),
        ("e.x > 1", set()),
    ],
)
def test_guarded_names(text, names):
    assert guarded_names(text) == names
