"""Stored run state of every schema version finishes its run on the current version.

``tests/fixtures/run_state/v<N>/<point>.json`` holds the run state that version N of the code
stored part-way through one of the golden histories (``histories/``): waiting on a task, on an
approval, with timers, with child runs, completed. Each file names the history and how many of
its events had been applied. For every file the tests

1. replay the same history on the current version, stopping at the same point;
2. load the stored state (migrating it through every later version) and check it is exactly the
   state the current version holds at that point;
3. advance both with the rest of the history's events and check every transition (ignored or
   not, commands, evidence) and the final state are the same.

The files are recorded by the version they belong to and never rewritten afterwards: they are
what databases in the field hold. Record the current version's files before its
``SCHEMA_VERSION`` is bumped (a test below fails until they exist)::

    AIMS_RUN_STATE_RECORD=1 .venv/bin/python -m pytest tests/golden/test_run_state_versions.py

which writes the missing files of the current version only.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from test_golden import HERE, WORKFLOWS, _event, _time

from aims_workflows.engine import RunState, Subject, advance, dump_run, load_run, new_run
from aims_workflows.engine.state import SCHEMA_VERSION
from aims_workflows.spec import load_spec

FIXTURES = HERE.parent / "fixtures" / "run_state"
RECORD = os.environ.get("AIMS_RUN_STATE_RECORD") == "1"


@dataclass(frozen=True)
class Point:
    """A moment in a golden history at which a run's state is stored."""

    name: str
    history: str
    applied: int  # events of the history applied before the state was stored
    what: str


POINTS = (
    Point("task-open", "risk-rework-and-invalidation", 2, "waiting on a task, four timers"),
    Point("task-overdue", "risk-overdue-escalated", 4, "task overdue, timers partly fired"),
    Point("task-rework", "risk-rework-and-invalidation", 9, "task sent back, earlier answers"),
    Point("approval-quorum", "risk-board-quorum-all", 4, "approval with one decision of four"),
    Point("approval-round-2", "risk-rework-and-invalidation", 11, "approval asked again"),
    Point("wait-timer", "nonconformity-wait-and-cancel", 2, "waiting on a wait step's timer"),
    Point("children", "audit-findings", 4, "waiting on two child runs, one finished"),
    Point("completed", "risk-rework-and-invalidation", 13, "completed, a late event follows"),
    Point("cancelled", "nonconformity-wait-and-cancel", 7, "cancelled, a late timer follows"),
)


def _history(name: str) -> dict[str, Any]:
    return json.loads((HERE / "histories" / f"{name}.json").read_text())


class Replay:
    """One golden history applied event by event on the current version."""

    def __init__(self, history: dict[str, Any]) -> None:
        loaded = load_spec(WORKFLOWS / f"{history['workflow']}.yaml")
        self.spec = loaded.spec
        self.events = history["events"]
        self.run = new_run(
            loaded.spec,
            run_id=history["run_id"],
            spec_hash=loaded.content_hash,
            subject=Subject.model_validate(history["subject"]),
            inputs=history.get("inputs") or None,
            parent_run_id=history.get("parent_run_id"),
        )

    def step(self, run: RunState, index: int) -> tuple[RunState, dict[str, Any]]:
        raw = self.events[index]
        transition = advance(self.spec, run, _event(raw, run), _time(raw["now"]))
        outcome = {
            "ignored": transition.ignored,
            "commands": list(transition.commands),  # typed: compared field by field
            "evidence": [
                (e.kind, e.step_id, e.actor, e.via, e.payload, e.ref) for e in transition.evidence
            ],
        }
        return transition.run, outcome

    def until(self, applied: int) -> RunState:
        run = self.run
        for index in range(applied):
            run, _ = self.step(run, index)
        return run


def _stored(version: int) -> list[tuple[Point, Path]]:
    folder = FIXTURES / f"v{version}"
    return [(point, folder / f"{point.name}.json") for point in POINTS]


def _record_current() -> None:
    for point, path in _stored(SCHEMA_VERSION):
        if path.exists():
            continue  # a recording is what that version stored: never rewritten
        run = Replay(_history(point.history)).until(point.applied)
        path.parent.mkdir(parents=True, exist_ok=True)
        recording = {
            "history": point.history,
            "applied": point.applied,
            "what": point.what,
            "state": json.loads(dump_run(run)),
        }
        # keys in the order the version wrote them: the stored text, only indented
        path.write_text(json.dumps(recording, indent=2) + "\n")


if RECORD:
    _record_current()


CASES = [
    pytest.param(point, path, id=f"v{version}-{point.name}")
    for version in range(1, SCHEMA_VERSION + 1)
    for point, path in _stored(version)
]


def test_every_version_up_to_the_current_one_has_its_recordings():
    missing = [str(path) for _point, path in (c.values for c in CASES) if not path.exists()]
    assert not missing, (
        "no recorded run state for "
        + ", ".join(missing)
        + ": run with AIMS_RUN_STATE_RECORD=1 on the version that stores it"
    )


@pytest.mark.parametrize(("point", "path"), CASES)
def test_stored_state_finishes_its_run_as_the_current_version_does(point: Point, path: Path):
    recording = json.loads(path.read_text())
    assert (recording["history"], recording["applied"]) == (point.history, point.applied)
    replay = Replay(_history(point.history))
    current = replay.until(point.applied)

    stored = load_run(json.dumps(recording["state"]))

    assert stored == current
    assert stored.schema_version == SCHEMA_VERSION
    assert len(replay.events) > point.applied or not current.is_open
    for index in range(point.applied, len(replay.events)):
        stored, from_stored = replay.step(stored, index)
        current, from_current = replay.step(current, index)
        assert from_stored == from_current, f"event {index} of {point.history}"
        stored = load_run(dump_run(stored))  # as the runtime stores it between events
        current = load_run(dump_run(current))
    assert stored == current
