"""Simulated people: engineers complete tasks, approvers decide, time passes between them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Callable

from ..runtime import Dispatcher, Runtime
from ..store import runs as run_store
from ..testing import InMemoryApprovalChannel, InMemoryIssueTracker, ManualClock, StandInApproval, StandInTask
from .answers import answers_for
from .cast import NAMES

__all__ = ["Office", "Verdict"]


@dataclass(frozen=True)
class Verdict:
    person: str
    decision: str
    reason: str


HoldRule = Callable[[str, str, str], bool]          # (workflow, step, subject) -> leave the task open
VerdictRule = Callable[[str, str, str, int], "Verdict | None"]  # (workflow, step, subject, round) -> scripted decision


@dataclass
class Office:
    """Everyone at work: drains open tasks and approvals until nothing is left to do."""

    runtime: Runtime
    dispatcher: Dispatcher
    tracker: InMemoryIssueTracker
    channel: InMemoryApprovalChannel
    clock: ManualClock
    say: Callable[[str], None]
    hold: HoldRule = lambda workflow, step, subject: False
    verdicts: VerdictRule = lambda workflow, step, subject, round_: None
    _pace: int = field(default=0)

    def _run_of(self, run_id: str):
        with self.runtime.db.connect() as conn:
            return run_store.load(conn, run_id)[0]

    def _step_time(self, hours: tuple[int, ...]) -> None:
        self._pace += 1
        self.clock.advance(hours=hours[self._pace % len(hours)])

    def pump(self) -> None:
        self.runtime.tick()
        report = self.dispatcher.pump()
        for error in report.errors:
            self.say(f"[red]delivery problem:[/] {error}")

    def _do_task(self, task: StandInTask) -> bool:
        run = self._run_of(task.run_id)
        subject = run.subject.name
        if not run.is_open or self.hold(run.spec_id, task.step_id, subject):
            return False
        self._step_time((20, 30, 46, 26, 52))
        answers = answers_for(run.spec_id, task.step_id, subject, task.attempt, task.form, self.clock.now())
        outcome = self.runtime.complete_task(task.run_id, task.step_id, answers, person=task.assignee, via="jira", attempt=task.attempt, ref=task.ref)
        self.tracker.mark_done(task.ref)
        refused = [e for e in outcome.transition.evidence if e.kind == "task.answers_refused"]
        who = NAMES.get(task.assignee, task.assignee)
        if refused:
            self.say(f"{who}: answers to [bold]{task.step_id}[/] refused: {' '.join(refused[0].payload['problems'])}")
            return True
        late = " [red](late)[/]" if any(e.payload.get("overdue") for e in outcome.transition.evidence if e.kind == "task.completed") else ""
        self.say(f"{who} completed [bold]{task.step_id}[/] ({task.ref}) of {run.spec_id} for {subject}{late}")
        return True

    def _decide(self, request: StandInApproval) -> bool:
        run = self._run_of(request.run_id)
        step = request.approval_id.split(".")[-3]
        round_ = int(request.approval_id.split(".")[-1]) + int(request.approval_id.split(".")[-2]) - 1
        progressed = False
        for person in request.people:
            self._step_time((5, 9, 27, 14))
            scripted = self.verdicts(run.spec_id, step, run.subject.name, round_)
            verdict = scripted if scripted and scripted.person == person else None
            if scripted and scripted.person not in request.people and not progressed:
                verdict = scripted  # a scripted attempt by someone who is not asked (refused by the checks)
                person = scripted.person
            verdict = verdict or Verdict(person, "approve", f"Reviewed {step} for {run.subject.name}: evidence complete and consistent.")
            outcome = self.runtime.decide(request.approval_id, person=verdict.person, decision=verdict.decision, reason=verdict.reason, via="slack")
            progressed = True
            t = outcome.transition
            who = NAMES.get(verdict.person, verdict.person)
            refused = [e for e in t.evidence if e.kind == "approval.refused"]
            if refused:
                self.say(f"{who} tried to {verdict.decision} [bold]{step}[/]: [red]refused[/], {refused[0].payload['reason']}")
                continue
            colour, verb = ("green", "approved") if verdict.decision == "approve" else ("red", "rejected")
            self.say(f"{who} [{colour}]{verb}[/] [bold]{step}[/] of {run.spec_id} for {run.subject.name}: \"{verdict.reason}\"")
            if t.run.approval is None or t.run.approval.approval_id != request.approval_id:
                break
        request.status = "decided"
        return progressed

    def work(self, rounds: int = 200) -> None:
        """Drain the work: pump, do every task and approval that is not held, repeat."""
        for _ in range(rounds):
            self.pump()
            progressed = False
            for task in list(self.tracker.open_tasks()):
                progressed |= self._do_task(task)
            for request in list(self.channel.pending()):
                progressed |= self._decide(request)
            if not progressed:
                self.pump()
                return
