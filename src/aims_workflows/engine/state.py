"""Run state: everything the engine needs to continue a run, persisted as JSON.

``schema_version`` is bumped whenever the shape changes; :func:`load_run` refuses versions it does
not know instead of guessing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..errors import EngineError

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

SCHEMA_VERSION = 1

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


class Timer(_State):
    timer_id: str
    kind: Literal["reminder", "due", "escalate", "wait"]
    step_id: str
    fire_at: datetime
    attempt: int


class ChildRun(_State):
    run_id: str
    workflow: str
    status: Literal["running", "completed", "cancelled", "failed"] = "running"


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
    completed_by: dict[str, str] = Field(default_factory=dict, description="task step -> person")
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
    def is_open(self) -> bool:
        return self.status in ("new", "running", "waiting")


def dump_run(run: RunState) -> str:
    """Serialise for storage."""
    return run.model_dump_json(exclude_defaults=False)


def load_run(text: str | bytes) -> RunState:
    """Load stored run state; refuses a ``schema_version`` this code does not know."""
    run = RunState.model_validate_json(text)
    if run.schema_version != SCHEMA_VERSION:
        raise EngineError(
            f"run {run.run_id} has state schema_version {run.schema_version}; this version reads {SCHEMA_VERSION}",
            hint="upgrade aims-workflows, or run `aims db upgrade` to migrate stored runs",
        )
    return run
