"""The pure engine: ``advance(spec, run, event, now) -> Transition``.

No I/O and no clock: the caller passes ``now``. The result is the new run state, the commands
to carry out and the evidence to append. The input run is never mutated, so a caller can retry
or discard a transition freely, and the same inputs always give the same outputs.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from ..errors import EngineError
from ..spec.model import WorkflowSpec
from ._context import Context, expression_context
from ._limits import MAX_STEPS_PER_EVENT
from .events import Event
from .handlers import apply
from .state import RunState, Subject
from .transition import Transition

__all__ = ["MAX_STEPS_PER_EVENT", "Transition", "advance", "expression_context", "new_run"]


def new_run(
    spec: WorkflowSpec,
    *,
    run_id: str,
    spec_hash: str,
    subject: Subject,
    inputs: dict[str, Any] | None = None,
    parent_run_id: str | None = None,
) -> RunState:
    """A run in state ``new``; send it a ``run.start`` event to begin."""
    if subject.type != spec.subject:
        raise EngineError(
            f"workflow '{spec.id}' runs on a {spec.subject}, not a {subject.type}",
            hint=f"pick a {spec.subject} as the subject",
        )
    declared = {d.id: d for d in spec.inputs}
    given = dict(inputs or {})
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise EngineError(
            f"workflow '{spec.id}' has no input(s) {', '.join(unknown)}", hint="see its 'inputs'"
        )
    missing = [name for name, d in declared.items() if d.required and name not in given]
    if missing:
        raise EngineError(
            f"workflow '{spec.id}' needs input(s) {', '.join(missing)}",
            hint="pass --input NAME=VALUE",
        )
    for name, decl in declared.items():
        given[name] = _input_value(spec.id, name, decl.type, given.get(name))
    return RunState(
        run_id=run_id,
        spec_id=spec.id,
        spec_version=spec.version,
        spec_hash=spec_hash,
        subject=subject,
        inputs=given,
        parent_run_id=parent_run_id,
    )


_YES, _NO = {"true", "yes", "y", "1"}, {"false", "no", "n", "0"}


def _input_value(workflow: str, name: str, kind: str, value: Any) -> Any:
    """An input as its declared type. The command line passes text, so "3" is a number and
    "yes" a bool; anything that is not is refused before the run exists."""
    if value is None:
        return None
    if kind == "text":
        return value if isinstance(value, str) else str(value)
    if kind == "number" and not isinstance(value, bool):
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = None
        if number is not None and number == number and abs(number) != float("inf"):
            return int(number) if number.is_integer() else number
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if str(value).strip().lower() in _YES | _NO:
            return str(value).strip().lower() in _YES
    if kind == "list":
        listed = _list_value(value)
        if listed is not None:
            return listed
    raise EngineError(
        f"workflow '{workflow}' input '{name}' must be a {kind}, not {value!r}",
        hint=(
            "yes/no for a bool, a number such as 3 or 2.5 for a number, "
            'a JSON list such as ["a", "b"] for a list'
        ),
    )


def _list_value(value: Any) -> list[Any] | None:
    """A list input as plain JSON values (the command line passes it as JSON text): kept in the
    run's state and evidence, so anything JSON cannot hold is refused here."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    if not isinstance(value, (list, tuple)):
        return None
    try:
        return list(json.loads(json.dumps(list(value), allow_nan=False)))
    except (TypeError, ValueError):
        return None


def _check(spec: WorkflowSpec, run: RunState, now: datetime) -> None:
    if (spec.id, spec.version) != (run.spec_id, run.spec_version):
        raise EngineError(
            f"run {run.run_id} is pinned to {run.spec_id} v{run.spec_version}, "
            f"got {spec.id} v{spec.version}",
            hint="load the spec version the run started on",
        )
    if now.tzinfo is None:
        raise EngineError("'now' must be timezone-aware")


def advance(
    spec: WorkflowSpec, run: RunState, event: Event, now: datetime, *, copy: bool = True
) -> Transition:
    """Apply one event to a run. Pure and deterministic; see the module docstring.

    ``copy=False`` is for a caller that owns ``run`` and drops it afterwards (the runtime loads
    a fresh copy for every event): the event is then applied to ``run`` itself, without the deep
    copy that leaves the input untouched. The result is the same either way.
    """
    _check(spec, run, now)
    return apply(Context(spec, run.model_copy(deep=True) if copy else run, event, now))
