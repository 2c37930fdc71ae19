"""What applying one event works on: the context every handler and step function receives.

A :class:`Context` holds the spec, the run being changed, the event, ``now``, and what the
event has produced so far (commands and evidence). Handlers say that an event changed nothing
by returning :class:`Ignored`; nothing else is shared between them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from ..errors import EngineError
from ..spec.model import ApprovalStep, Escalation, TaskStep, WorkflowSpec
from .commands import Command
from .events import SYSTEM, Actor, Event
from .evidence import EvidenceRecord
from .evidence_kinds import EvidencePayload, evidence_payload
from .state import RunState, Timer

__all__ = ["Context", "Ignored", "approval_step", "expression_context", "task_step"]

TimerKind = Literal["reminder", "due", "escalate", "wait", "expire", "settle"]


@dataclass(frozen=True)
class Ignored:
    """An event that changed nothing (stale, duplicate, malformed for this run), and why."""

    reason: str


def expression_context(run: RunState) -> dict[str, Any]:
    """The names an expression sees: subject, inputs and one per step that produced data."""
    subject = {
        **run.subject.attributes,
        "id": run.subject.id,
        "name": run.subject.name,
        "owner": run.subject.owner,
    }
    return {**run.data, "subject": subject, "inputs": run.inputs}


def task_step(spec: WorkflowSpec, step_id: str) -> TaskStep:
    """The task step ``step_id`` of ``spec``; an :class:`EngineError` if it is another kind."""
    step = spec.step(step_id)
    if not isinstance(step, TaskStep):
        raise EngineError(f"step '{step_id}' of {spec.id} is not a task step")
    return step


def approval_step(spec: WorkflowSpec, step_id: str) -> ApprovalStep:
    """The approval step ``step_id`` of ``spec``; an :class:`EngineError` if it is another kind."""
    step = spec.step(step_id)
    if not isinstance(step, ApprovalStep):
        raise EngineError(f"step '{step_id}' of {spec.id} is not an approval step")
    return step


@dataclass
class Context:
    """One application of one event: the inputs, and the commands and evidence it collects."""

    spec: WorkflowSpec
    run: RunState
    event: Event
    now: datetime
    commands: list[Command] = field(default_factory=list)
    evidence: list[EvidenceRecord] = field(default_factory=list)
    steps_taken: int = 0
    """Steps entered for this event, against a loop of automatic steps."""

    def record(
        self,
        evidence: EvidencePayload,
        *,
        step_id: str | None = None,
        actor: Actor | None = None,
        ref: str | None = None,
    ) -> None:
        """Append ``evidence`` (checked against its kind's contract when it was built), effective
        now, by ``actor`` (the engine itself when not given)."""
        who = actor or SYSTEM
        payload = evidence_payload(evidence)
        self.evidence.append(
            EvidenceRecord(
                evidence.KIND,
                self.run.run_id,
                step_id,
                who.id,
                who.via,
                self.now,
                payload,
                ref,
                evidence,
            )
        )

    def emit(self, command: Command) -> None:
        self.commands.append(command)

    def key(self, suffix: str) -> str:
        """An idempotency key: the run id, then what makes the effect unique within the run."""
        return f"{self.run.run_id}/{suffix}"

    def names(self) -> dict[str, Any]:
        """What expressions over this run see now."""
        return expression_context(self.run)

    def visit(self, step_id: str) -> int:
        """How many times the run has entered ``step_id``."""
        return self.run.visits.get(step_id, 0)

    def clear_timers(self, step_id: str) -> None:
        self.run.timers = [t for t in self.run.timers if t.step_id != step_id]

    def add_timers(
        self,
        step_id: str,
        reminders: tuple[timedelta, ...],
        escalate: Escalation | None,
        due_at: datetime | None,
        attempt: int,
        round_: int = 1,
    ) -> None:
        """A step's reminders (counted from now), its due date and its escalation."""
        # a fresh approval request (round 2+) needs fresh timer ids: they are the commands'
        # idempotency keys
        prefix = f"{step_id}.{attempt}" if round_ == 1 else f"{step_id}.{attempt}.{round_}"
        for n, offset in enumerate(reminders):
            self._timer(f"{prefix}.reminder.{n}", "reminder", step_id, self.now + offset, attempt)
        if due_at is not None:
            self._timer(f"{prefix}.due", "due", step_id, due_at, attempt)
            if escalate is not None:
                self._timer(
                    f"{prefix}.escalate", "escalate", step_id, due_at + escalate.after, attempt
                )

    def add_expiry(self, step_id: str, fire_at: datetime, attempt: int, round_: int) -> None:
        """When an approval request nobody decided expires."""
        self._timer(f"{step_id}.{attempt}.{round_}.expire", "expire", step_id, fire_at, attempt)

    def settle_at(self, step_id: str, fire_at: datetime, attempt: int, round_: int) -> None:
        """When the decisions on an approval take effect (the end of the withdraw window): one
        such timer per request, moved by each decision."""
        self.run.timers = [
            t for t in self.run.timers if not (t.step_id == step_id and t.kind == "settle")
        ]
        self._timer(f"{step_id}.{attempt}.{round_}.settle", "settle", step_id, fire_at, attempt)

    def add_wait(self, step_id: str, fire_at: datetime, attempt: int) -> None:
        self._timer(f"{step_id}.{attempt}.wait", "wait", step_id, fire_at, attempt)

    def _timer(
        self, timer_id: str, kind: TimerKind, step_id: str, fire_at: datetime, attempt: int
    ) -> None:
        self.run.timers.append(
            Timer(timer_id=timer_id, kind=kind, step_id=step_id, fire_at=fire_at, attempt=attempt)
        )
