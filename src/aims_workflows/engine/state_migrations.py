"""Stored run state of an older ``schema_version`` brought up to the current one.

A run can wait for months (a 30-day effectiveness check, an annual review), so state stored by
an older release must keep loading. Each entry of :data:`MIGRATIONS` takes the JSON of one
version and returns the JSON of the next; :func:`migrate` applies them in turn. They are pure
functions on plain dicts (no model, no clock, no I/O) and never change their input, so the same
stored text always migrates to the same state.

Changing the shape of :class:`~aims_workflows.engine.state.RunState`: bump ``SCHEMA_VERSION``,
add the step from the old version here, and record the old version's states first (see
``tests/golden/test_run_state_versions.py``).

Versions:

1. the first stored shape.
2. no top-level ``completed_by`` map: who completed a task step is read from its answers
   (``data[step]["completed_by"]``), where version 1 also kept it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import EngineError

__all__ = ["MIGRATIONS", "migrate", "stored_version"]

StoredState = dict[str, Any]


def _v1_to_v2(state: StoredState) -> StoredState:
    """Drop ``completed_by``: each entry repeats the ``completed_by`` of the step's answers."""
    upgraded = {key: value for key, value in state.items() if key != "completed_by"}
    data = state.get("data") or {}
    for step_id, person in (state.get("completed_by") or {}).items():
        answers = data.get(step_id)
        kept = answers.get("completed_by") if isinstance(answers, dict) else None
        if kept != person:
            # version 1 always wrote both together; a difference means the text was edited
            raise EngineError(
                f"run {state.get('run_id')}: stored state says task step '{step_id}' was "
                f"completed by {person!r} but its answers say {kept!r}",
                hint="restore the run's state from a backup; it was changed outside aims",
            )
    upgraded["schema_version"] = 2
    return upgraded


MIGRATIONS: dict[int, Callable[[StoredState], StoredState]] = {
    1: _v1_to_v2,
}
"""``MIGRATIONS[n]`` turns the stored state of version ``n`` into version ``n + 1``."""


def stored_version(state: StoredState) -> int:
    """The ``schema_version`` of stored state; a clear error when it has none."""
    version = state.get("schema_version")
    if type(version) is not int or version < 1:
        raise EngineError(
            f"run {state.get('run_id')}: stored state has no valid schema_version ({version!r})",
            hint="restore the run's state from a backup; it was not written by aims",
        )
    return version


def migrate(state: StoredState, current: int) -> StoredState:
    """``state`` as version ``current`` stores it. Refuses state newer than ``current``: only a
    newer release of aims-workflows can read it."""
    version = stored_version(state)
    if version > current:
        raise EngineError(
            f"run {state.get('run_id')} has state schema_version {version}; this version of "
            f"aims-workflows reads versions up to {current}",
            hint="upgrade aims-workflows to the release that stored it or a later one",
        )
    for older in range(version, current):
        state = MIGRATIONS[older](state)
    return state
