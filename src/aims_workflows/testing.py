"""In-memory stand-ins for the ports and an advanceable clock, shipped with the product so the
demo, the tests and users' own tests run without Jira or Slack.

>>> clock = ManualClock(datetime(2026, 1, 1, tzinfo=timezone.utc))
>>> clock.advance(days=14).isoformat()
'2026-01-15T00:00:00+00:00'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from .engine.commands import (
    CancelTask,
    CloseApproval,
    CloseTask,
    Command,
    CreateTask,
    EscalateApproval,
    EscalateTask,
    InvalidateApproval,
    Notify,
    RefuseAnswers,
    RefuseDecision,
    RemindApproval,
    RemindTask,
    RequestApproval,
)
from .errors import PermanentError, RetryableError
from .spec.model import FormField

__all__ = [
    "ManualClock",
    "InMemoryIssueTracker",
    "InMemoryApprovalChannel",
    "InMemoryNotifier",
    "FaultPlan",
    "StandInTask",
    "StandInApproval",
]


class ManualClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware start")
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        self._now += delta if delta is not None else timedelta(**kwargs)
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = moment


@dataclass
class FaultPlan:
    """Make the next ``count`` calls fail: retryable (like a 429/503) or permanent (like a 404)."""

    count: int = 0
    retryable: bool = True
    retry_after: float | None = None
    message: str = "injected failure"

    def check(self) -> None:
        if self.count <= 0:
            return
        self.count -= 1
        if self.retryable:
            raise RetryableError(self.message, retry_after=self.retry_after)
        raise PermanentError(self.message)


class _StandIn:
    def __init__(self) -> None:
        self.faults = FaultPlan()
        self.performed: list[Command] = []
        self._seen: dict[str, dict[str, Any]] = {}

    def fail_next(
        self,
        count: int,
        *,
        retryable: bool = True,
        retry_after: float | None = None,
        message: str = "injected failure",
    ) -> None:
        self.faults = FaultPlan(count, retryable, retry_after, message)

    def perform(self, command: Command) -> dict[str, Any]:
        self.faults.check()
        if command.key in self._seen:  # idempotency: the same key is carried out once
            return self._seen[command.key]
        self.performed.append(command)
        result = self._perform(command) or {}
        self._seen[command.key] = result
        return result

    def _perform(self, command: Command) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass
class StandInTask:
    ref: str
    run_id: str
    step_id: str
    attempt: int
    title: str
    assignee: str
    form: tuple[FormField, ...]
    due_at: str | None
    status: str = "open"
    comments: list[str] = field(default_factory=list)


class InMemoryIssueTracker(_StandIn):
    """Plays Jira: tasks with keys ``TASK-1``, comments for refused answers and reminders."""

    def __init__(self, prefix: str = "TASK") -> None:
        super().__init__()
        self.prefix = prefix
        self.tasks: dict[str, StandInTask] = {}

    def _perform(self, command: Command) -> dict[str, Any]:
        if isinstance(command, CreateTask):
            ref = f"{self.prefix}-{len(self.tasks) + 1}"
            assignee = command.assignee or ""
            self.tasks[ref] = StandInTask(
                ref,
                command.run_id,
                command.step_id,
                command.attempt,
                command.title,
                assignee,
                command.form,
                command.due_at,
            )
            return {"ref": ref, "assignee": assignee}
        if isinstance(command, RefuseAnswers) and (task := self._task(command.ref)):
            task.comments.append("Please fix: " + " ".join(command.problems))
        elif isinstance(command, CancelTask) and (task := self._task(command.ref)):
            task.status = "cancelled"
        elif isinstance(command, CloseTask) and (task := self._task(command.ref)):
            if task.status == "open":
                task.status = "done"  # completed elsewhere: the tracker closes it to match
        elif isinstance(command, (RemindTask, EscalateTask)) and (task := self._task(command.ref)):
            task.comments.append(f"{command.kind} to {', '.join(command.people)}")
        return {}

    def _task(self, ref: str | None) -> StandInTask | None:
        return self.tasks.get(ref or "")

    def open_tasks(self, assignee: str | None = None) -> list[StandInTask]:
        return [
            t
            for t in self.tasks.values()
            if t.status == "open" and (assignee is None or t.assignee == assignee)
        ]

    def mark_done(self, ref: str) -> None:
        self.tasks[ref].status = "done"


@dataclass
class StandInApproval:
    approval_id: str
    run_id: str
    title: str
    people: list[str]
    content_hash: str
    show: dict[str, Any]
    status: str = "open"
    notices: list[str] = field(default_factory=list)


class InMemoryApprovalChannel(_StandIn):
    """Plays Slack: approval requests per person, outcome updates, refusal notices."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: dict[str, StandInApproval] = {}
        self.refusals: list[dict[str, Any]] = []

    def _perform(self, command: Command) -> dict[str, Any]:
        if isinstance(command, RequestApproval):
            self.requests[command.approval_id] = StandInApproval(
                command.approval_id,
                command.run_id,
                command.title,
                list(command.people),
                command.content_hash,
                dict(command.show),
            )
            return {"ref": f"msg:{command.approval_id}"}
        if isinstance(command, RefuseDecision):
            self.refusals.append(
                {
                    "person": command.person,
                    "reason": command.reason,
                    "approval_id": command.approval_id,
                }
            )
            return {}
        if isinstance(command, CloseApproval) and (request := self._request(command.approval_id)):
            request.status = command.outcome
        elif isinstance(command, InvalidateApproval) and (
            request := self._request(command.approval_id)
        ):
            request.status = "invalidated"
        elif isinstance(command, (RemindApproval, EscalateApproval)) and (
            request := self._request(command.approval_id)
        ):
            request.notices.append(command.kind)
        return {}

    def _request(self, approval_id: str | None) -> StandInApproval | None:
        return self.requests.get(approval_id or "")

    def pending(self, person: str | None = None) -> list[StandInApproval]:
        return [
            a
            for a in self.requests.values()
            if a.status == "open" and (person is None or person in a.people)
        ]


class InMemoryNotifier(_StandIn):
    def __init__(self) -> None:
        super().__init__()
        self.sent: list[dict[str, Any]] = []

    def _perform(self, command: Command) -> dict[str, Any]:
        if isinstance(command, Notify):
            self.sent.append({"people": list(command.people), "message": command.message})
        return {}


def utc(
    year: int, month: int = 1, day: int = 1, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    """``utc(2026, 1, 1)``: a timezone-aware UTC datetime, for tests."""
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
