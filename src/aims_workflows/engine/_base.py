"""Applying one event: the shared machinery (evidence, commands, timers, moving between steps).

The step kinds' behaviour lives in mixins beside this module; ``advance._Step`` combines them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..errors import EngineError
from ..spec.expressions import ExpressionError
from ..spec.model import (
    END,
    ApprovalStep,
    DecisionStep,
    NotifyStep,
    RecordStep,
    SpawnStep,
    TaskStep,
    WaitStep,
    WorkflowSpec,
)
from ._limits import MAX_STEPS_PER_EVENT
from .commands import Command, Notify, ReportRunEnd
from .events import SYSTEM, Actor, Event
from .evidence import EvidenceRecord, iso
from .state import RunState, Timer
from .transition import Transition

__all__ = ["StepBase", "expression_context"]


def expression_context(run: RunState) -> dict[str, Any]:
    """The names an expression sees: subject, inputs and one per step that produced data."""
    subject = {
        **run.subject.attributes,
        "id": run.subject.id,
        "name": run.subject.name,
        "owner": run.subject.owner,
    }
    return {**run.data, "subject": subject, "inputs": run.inputs}


class StepBase:
    """One application of one event. Collects commands and evidence while it mutates the run."""

    def __init__(self, spec: WorkflowSpec, run: RunState, event: Event, now: datetime) -> None:
        self.spec, self.run, self.event, self.now = spec, run, event, now
        self.commands: list[Command] = []
        self.evidence: list[EvidenceRecord] = []
        self.ignored: str | None = None
        self.steps_taken = 0
        # set while edited answers re-route an open approval (see TaskSteps._on_task_updated)
        self.rerouted_approval = None
        self.rerunning = False

    # -- plumbing --------------------------------------------------------------------------
    def apply(self) -> Transition:
        handler = getattr(self, "_on_" + self.event.kind.replace(".", "_"), None)
        if handler is None:
            raise EngineError(f"unknown event kind '{self.event.kind}'")
        if not self.run.is_open and self.event.kind != "approval.decided":
            return Transition(self.run, ignored=f"run is {self.run.status}")
        try:
            handler()
        except ExpressionError as err:
            self._fail(str(err))
        if self.ignored is None:
            self.run.events_applied += 1
        return Transition(self.run, self.commands, self.evidence, self.ignored)

    def record(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        step_id: str | None = None,
        actor: Actor | None = None,
        ref: str | None = None,
    ) -> None:
        who = actor or SYSTEM
        self.evidence.append(
            EvidenceRecord(kind, self.run.run_id, step_id, who.id, who.via, self.now, payload, ref)
        )

    def key(self, suffix: str) -> str:
        """An idempotency key: the run id, then what makes the effect unique within the run."""
        return f"{self.run.run_id}/{suffix}"

    def emit(self, command: Command) -> None:
        self.commands.append(command)

    def context(self) -> dict[str, Any]:
        return expression_context(self.run)

    def visit(self, step_id: str) -> int:
        return self.run.visits.get(step_id, 0)

    def _clear_timers(self, step_id: str) -> None:
        self.run.timers = [t for t in self.run.timers if t.step_id != step_id]

    def _add_timers(
        self, step, start: datetime, due_at: datetime | None, attempt: int, round_: int = 1
    ) -> None:
        # a fresh approval request (round 2+) needs fresh timer ids: they are the commands' idempotency keys
        prefix = f"{step.id}.{attempt}" if round_ == 1 else f"{step.id}.{attempt}.{round_}"
        for n, offset in enumerate(step.reminders):
            self.run.timers.append(
                Timer(
                    timer_id=f"{prefix}.reminder.{n}",
                    kind="reminder",
                    step_id=step.id,
                    fire_at=start + offset,
                    attempt=attempt,
                )
            )
        if due_at is not None:
            self.run.timers.append(
                Timer(
                    timer_id=f"{prefix}.due",
                    kind="due",
                    step_id=step.id,
                    fire_at=due_at,
                    attempt=attempt,
                )
            )
            if step.escalate is not None:
                self.run.timers.append(
                    Timer(
                        timer_id=f"{prefix}.escalate",
                        kind="escalate",
                        step_id=step.id,
                        fire_at=due_at + step.escalate.after,
                        attempt=attempt,
                    )
                )

    def _fail(self, reason: str) -> None:
        self.run.status = "failed"
        self.run.failure = reason
        self.run.timers = []
        # a task or approval entered by the failing step was never sent out: nothing is open any more
        self.run.task = self.run.approval = None
        self.record(
            "run.failed", {"reason": reason, "step": self.run.current}, step_id=self.run.current
        )
        self.emit(
            Notify(
                key=self.key(f"failed/{self.run.events_applied}"),
                run_id=self.run.run_id,
                to=("aims_owner",),
                message=f"Run {self.run.run_id} ({self.spec.title}) stopped: {reason}",
            )
        )

    # -- moving through steps --------------------------------------------------------------
    def goto(self, target: str) -> None:
        while True:
            self.steps_taken += 1
            if self.steps_taken > MAX_STEPS_PER_EVENT:
                raise ExpressionError(
                    f"more than {MAX_STEPS_PER_EVENT} automatic steps without waiting: a loop in the workflow"
                )
            if target == END:
                self._complete()
                return
            step = self.spec.step(target)
            self.run.current = step.id
            self.run.visits[step.id] = self.visit(step.id) + 1
            following = self._enter(step)
            if following is None:
                return
            target = following

    def _enter(self, step) -> str | None:
        """Start a step. Returns the next target for automatic steps, None when the run waits."""
        if isinstance(step, TaskStep):
            self._enter_task(step)
            return None
        if isinstance(step, ApprovalStep):
            again = self.rerouted_approval
            if again is not None and again.step_id == step.id:
                # the same approval asked again over new content: same visit, next round
                self.run.visits[step.id] -= 1
                self._request_approval(step, round_=again.round + 1)
            else:
                self._request_approval(step, round_=1)
            return None
        if isinstance(step, DecisionStep):
            return self._decide(step)
        if isinstance(step, RecordStep):
            return self._record(step)
        if isinstance(step, NotifyStep):
            return self._notify(step)
        if isinstance(step, SpawnStep):
            return self._spawn(step)
        if isinstance(step, WaitStep):
            attempt = self.visit(step.id)
            fire_at = self.now + step.duration
            self.run.timers.append(
                Timer(
                    timer_id=f"{step.id}.{attempt}.wait",
                    kind="wait",
                    step_id=step.id,
                    fire_at=fire_at,
                    attempt=attempt,
                )
            )
            self.record(
                "wait.started",
                {"until": iso(fire_at), "duration_seconds": int(step.duration.total_seconds())},
                step_id=step.id,
            )
            return None
        raise EngineError(f"unknown step kind {type(step).__name__}")  # pragma: no cover

    def _complete(self) -> None:
        run = self.run
        run.status = "completed"
        run.current = None
        run.completed_at = self.now
        run.timers = []
        self.record("run.completed", {"workflow": self.spec.id, "version": self.spec.version})
        self.emit(
            ReportRunEnd(
                key=self.key("completed"),
                run_id=run.run_id,
                workflow=self.spec.id,
                subject=run.subject,
                parent_run_id=run.parent_run_id,
                coverage=self.spec.coverage,
                started_at=iso(run.started_at) if run.started_at else None,
            )
        )
