"""Run state: everything the engine needs to continue a run, persisted as JSON.

``schema_version`` is bumped whenever the stored shape changes; :func:`load_run` brings state of
an older version up to date (``state_migrations``) and refuses a newer one instead of guessing.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..errors import EngineError
from .state_migrations import migrate

__all__ = [
    "SCHEMA_VERSION",
    "Subject",
    "Decision",
    "TaskState",
    "ApprovalState",
    "Timer",
    "ChildRun",
    "RunState",
    "RunStatus",
    "load_run",
    "dump_run",
]

SCHEMA_VERSION = 2

RunStatus = Literal["new", "running", "waiting", "completed", "cancelled", "failed"]


class _State(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=False)


class Subject(_State):
    """What a run is about: an AI system, the organisation, or a finding."""

    type: Literal["ai_system", "organisation", "finding"]
    id: str
    name: str
    owner: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)


class Decision(_State):
    person: str
    decision: Literal["approve", "reject"]
    reason: str
    at: datetime
    ref: str | None = None
    on_behalf_of: str | None = None


class TaskState(_State):
    step_id: str
    attempt: int
    key: str
    created_at: datetime
    due_at: datetime | None = None
    ref: str | None = None
    assignee: str | None = None
    overdue: bool = False


class ApprovalState(_State):
    step_id: str
    approval_id: str
    round: int
    content_hash: str
    requested_at: datetime
    due_at: datetime | None = None
    decisions: list[Decision] = Field(default_factory=list)
    # after an expiry: the alternate role the request went to instead of the step's approvers,
    # and the request that expired (its decisions stay in the ledger under its own id)
    approvers: list[str] | None = None
    escalated_from: str | None = None
    # who was eligible at the last decision: a quorum of 'all' settled at the end of a
    # withdraw window is counted against it
    eligible: list[str] | None = None
    # the step's step_up condition held at the request: an approval counts only once the same
    # person confirmed it in Jira; until then it waits here
    step_up: bool = False
    awaiting: list[Decision] = Field(default_factory=list)


class Timer(_State):
    timer_id: str
    kind: Literal["reminder", "due", "escalate", "wait", "expire", "settle"]
    step_id: str
    fire_at: datetime
    attempt: int


class ChildRun(_State):
    run_id: str
    workflow: str
    status: Literal["running", "completed", "cancelled", "failed"] = "running"
    # set when the run ends, from the event that says so (state stored while a child was
    # running, by any version, reads the same: nothing is kept about a child before it ends)
    subject_id: str | None = None
    subject_name: str | None = None
    outputs: dict[str, Any] | None = None
    """What the run gave when it ended (its ``outputs``, else its step data); None until then,
    and for a run that was cancelled or failed."""

    def outcome(self) -> dict[str, Any]:
        """The run as the waiting step's ``outcomes`` show it to expressions."""
        return {
            "run_id": self.run_id,
            "workflow": self.workflow,
            "status": self.status,
            "subject": {"id": self.subject_id, "name": self.subject_name},
            "outputs": self.outputs or {},
        }


class RunState(_State):
    """The persisted state of one run of one pinned spec version."""

    schema_version: int = SCHEMA_VERSION
    run_id: str
    spec_id: str
    spec_version: int
    spec_hash: str
    subject: Subject
    inputs: dict[str, Any] = Field(default_factory=dict)
    parent_run_id: str | None = None
    status: RunStatus = "new"
    current: str | None = None
    visits: dict[str, int] = Field(default_factory=dict, description="step id -> times entered")
    data: dict[str, dict[str, Any]] = Field(default_factory=dict)
    task: TaskState | None = None
    approval: ApprovalState | None = None
    timers: list[Timer] = Field(default_factory=list)
    children: list[ChildRun] = Field(default_factory=list)
    started_at: datetime | None = None
    completed_at: datetime | None = None
    failure: str | None = None
    events_applied: int = 0

    @property
    def next_wake_at(self) -> datetime | None:
        """When the scheduler must tick this run next (earliest timer)."""
        return min((t.fire_at for t in self.timers), default=None)

    @property
    def completed_by(self) -> dict[str, str]:
        """Task step id -> the person who completed it, read from the step's answers (the only
        copy since schema version 2). A task's answers are the entries of ``data`` with both
        ``completed_by`` and ``issue``; a new dict each time, so writing to it changes nothing."""
        return {
            step_id: values["completed_by"]
            for step_id, values in self.data.items()
            if "completed_by" in values and "issue" in values
        }

    @property
    def is_open(self) -> bool:
        return self.status in ("new", "running", "waiting")


def dump_run(run: RunState) -> str:
    """Serialise for storage."""
    return run.model_dump_json(exclude_defaults=False)


# dump_run writes schema_version first: state of the current version is recognised without
# parsing it twice (once to read the version, once to validate), which every event would pay
_CURRENT_PREFIX = f'{{"schema_version":{SCHEMA_VERSION},'


def load_run(text: str | bytes) -> RunState:
    """Load stored run state. State of an older ``schema_version`` is migrated to the current one
    (``aims db upgrade`` rewrites every stored run the same way); a newer one is refused."""
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    if text.startswith(_CURRENT_PREFIX):
        return RunState.model_validate_json(text)
    try:
        stored = json.loads(text)
    except ValueError as err:
        raise EngineError(
            f"stored run state is not JSON: {err}",
            hint="restore the run's state from a backup; it was not written by aims",
        ) from None
    if not isinstance(stored, dict):
        raise EngineError(
            f"stored run state is a JSON {type(stored).__name__}, not an object",
            hint="restore the run's state from a backup; it was not written by aims",
        )
    return RunState.model_validate(migrate(stored, SCHEMA_VERSION))
