"""Run inputs are checked against their declared type when the run is created."""

from __future__ import annotations

import pytest

from aims_workflows.engine import Subject, new_run
from aims_workflows.errors import EngineError
from aims_workflows.spec import parse_spec

SPEC = parse_spec(
    "id: typed\nversion: 1\ntitle: Typed\nsubject: organisation\n"
    "inputs: [{id: count, type: number}, {id: urgent, type: bool}, {id: note, type: text}]\n"
    "steps:\n  - {id: tell, kind: notify, to: [aims_owner], message: 'n={{ inputs.count }}'}\n",
    "typed.yaml",
).spec
ORG = Subject(type="organisation", id="organisation", name="Example Ltd")


def run_with(**inputs):
    return new_run(SPEC, run_id="r", spec_hash="h", subject=ORG, inputs=inputs)


def test_text_from_the_command_line_becomes_the_declared_type():
    run = run_with(count="3", urgent="yes", note=12)
    assert run.inputs == {"count": 3, "urgent": True, "note": "12"}
    assert run_with(count="2.5").inputs["count"] == 2.5
    assert run_with().inputs == {"count": None, "urgent": None, "note": None}


@pytest.mark.parametrize(
    "inputs, message",
    [
        ({"count": "abc"}, "input 'count' must be a number, not 'abc'"),
        ({"count": "nan"}, "input 'count' must be a number"),
        ({"count": True}, "input 'count' must be a number"),
        ({"urgent": "perhaps"}, "input 'urgent' must be a bool, not 'perhaps'"),
    ],
)
def test_a_value_of_the_wrong_type_is_refused(inputs, message):
    with pytest.raises(EngineError) as err:
        run_with(**inputs)
    assert message in str(err.value)
