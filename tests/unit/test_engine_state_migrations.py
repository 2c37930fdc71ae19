"""Stored run state migrations: the table, each step, and what ``load_run`` does with versions.

Whole runs stored by older versions and finished on the current one are in
``tests/golden/test_run_state_versions.py``."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from aims_workflows.engine import SCHEMA_VERSION, dump_run, load_run
from aims_workflows.engine.state_migrations import MIGRATIONS, migrate
from aims_workflows.errors import EngineError

RECORDED = Path(__file__).resolve().parents[1] / "fixtures" / "run_state"


def _recorded(version: int, name: str) -> dict:
    return json.loads((RECORDED / f"v{version}" / f"{name}.json").read_text())["state"]


def test_there_is_one_step_from_every_older_version_to_the_next():
    assert sorted(MIGRATIONS) == list(range(1, SCHEMA_VERSION))


@pytest.mark.parametrize("version", sorted(MIGRATIONS))
def test_each_step_gives_the_next_version_and_leaves_its_input_alone(version: int):
    for path in sorted((RECORDED / f"v{version}").glob("*.json")):
        stored = json.loads(path.read_text())["state"]
        before = copy.deepcopy(stored)
        upgraded = MIGRATIONS[version](stored)
        assert stored == before, f"{path.name}: the step changed its input"
        assert upgraded["schema_version"] == version + 1


def test_version_1_to_2_drops_completed_by_which_the_answers_already_hold():
    v1 = _recorded(1, "task-rework")
    assert v1["completed_by"] == {"assess": "eve@example.com"}
    assert v1["data"]["assess"]["completed_by"] == "eve@example.com"

    v2 = MIGRATIONS[1](v1)

    assert "completed_by" not in v2
    assert v2 == {**{k: v for k, v in v1.items() if k != "completed_by"}, "schema_version": 2}
    assert load_run(json.dumps(v2)).completed_by == {"assess": "eve@example.com"}


def test_version_1_to_2_refuses_completed_by_that_its_answers_contradict():
    v1 = _recorded(1, "task-rework")
    v1["completed_by"]["assess"] = "mallory@example.com"
    with pytest.raises(EngineError) as caught:
        MIGRATIONS[1](v1)
    assert str(caught.value) == (
        "run run-100: stored state says task step 'assess' was completed by "
        "'mallory@example.com' but its answers say 'eve@example.com' "
        "(restore the run's state from a backup; it was changed outside aims)"
    )


def test_load_run_migrates_state_stored_by_version_1():
    text = json.dumps(_recorded(1, "approval-round-2"), separators=(",", ":"))
    run = load_run(text)
    assert run.schema_version == SCHEMA_VERSION
    assert run.completed_by == {"assess": "eve@example.com"}
    assert dump_run(run).startswith(f'{{"schema_version":{SCHEMA_VERSION},')
    assert load_run(text.encode()) == run


def test_load_run_reads_current_state_as_dump_run_wrote_it():
    run = load_run(json.dumps(_recorded(1, "children")))
    assert load_run(dump_run(run)) == run
    assert load_run(dump_run(run).encode()) == run


def test_migrate_refuses_state_of_a_newer_version():
    newer = {**_recorded(1, "task-open"), "schema_version": SCHEMA_VERSION + 1}
    with pytest.raises(EngineError) as caught:
        migrate(newer, SCHEMA_VERSION)
    assert "upgrade aims-workflows to the release that stored it" in str(caught.value)


@pytest.mark.parametrize(
    ("version", "shown"), [(None, "None"), ("1", "'1'"), (0, "0"), (True, "True")]
)
def test_state_without_a_valid_schema_version_is_refused(version, shown):
    state = _recorded(1, "task-open")
    if version is None:
        del state["schema_version"]
    else:
        state["schema_version"] = version
    with pytest.raises(EngineError) as caught:
        load_run(json.dumps(state))
    assert str(caught.value) == (
        f"run run-100: stored state has no valid schema_version ({shown}) "
        "(restore the run's state from a backup; it was not written by aims)"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "stored run state is not JSON: "),
        ("[1, 2]", "stored run state is a JSON list, not an object"),
    ],
)
def test_text_that_is_not_stored_state_is_refused(text: str, message: str):
    with pytest.raises(EngineError) as caught:
        load_run(text)
    assert str(caught.value).startswith(message)
