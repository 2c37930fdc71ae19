"""Simulated people: engineers complete Jira issues, approvers decide in Slack, time passes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ..engine.evidence_kinds import (
    ApprovalDecided,
    ApprovalRefused,
    ApprovalStepUpRequested,
    TaskAnswersRefused,
    TaskCompleted,
)
from ..runtime import Dispatcher, Runtime
from ..store import runs as run_store
from ..testing import ManualClock
from .answers import answers_for
from .cast import NAMES
from .desks import JiraDesk, OpenTask, SlackDesk, latest_evidence
from .governance import governance_reason
from .operations import operations_reason

__all__ = ["Office", "Verdict"]


@dataclass(frozen=True)
class Verdict:
    person: str
    decision: str
    reason: str


# (workflow, step, subject, the run's inputs) -> leave the task open
HoldRule = Callable[[str, str, str, dict], bool]
VerdictRule = Callable[
    [str, str, str, int], "Verdict | None"
]  # (workflow, step, subject, round) -> scripted decision


@dataclass
class Office:
    """Everyone at work: drains open tasks and approvals until nothing is left to do."""

    runtime: Runtime
    dispatcher: Dispatcher
    tasks: JiraDesk
    approvals: SlackDesk
    clock: ManualClock
    say: Callable[[str], None]
    pump_integrations: Callable[[], None] = lambda: None
    hold: HoldRule = lambda workflow, step, subject, inputs: False
    verdicts: VerdictRule = lambda workflow, step, subject, round_: None
    variants: dict[str, str] = field(default_factory=dict)
    """run id -> the name the story gave the run, for answers that differ between runs of one
    workflow on one subject (one objective, one role assignment per run)"""
    _pace: int = field(default=0)

    def _run_of(self, run_id: str):
        with self.runtime.db.connect() as conn:
            return run_store.load(conn, run_id)[0]

    def _step_time(self, hours: tuple[int, ...]) -> None:
        self._pace += 1
        self.clock.advance(hours=hours[self._pace % len(hours)])

    def pump(self) -> None:
        self.runtime.tick()
        self.pump_integrations()
        report = self.dispatcher.pump()
        for error in report.errors:
            self.say(f"[red]delivery problem:[/] {error}")

    def _do_task(self, task: OpenTask) -> bool:
        run = self._run_of(task.run_id)
        subject = run.subject.name
        if not run.is_open or self.hold(run.spec_id, task.step_id, subject, run.inputs):
            return False
        self._step_time((20, 30, 46, 26, 52))
        answers = answers_for(
            run.spec_id,
            task.step_id,
            subject,
            task.attempt,
            task.form,
            self.clock.now(),
            inputs=run.inputs,
            variant=self.variants.get(task.run_id),
        )
        verdict = self.tasks.complete(task, answers)
        who = NAMES.get(task.assignee, task.assignee)
        if not isinstance(verdict, TaskCompleted):
            problems = (
                " ".join(verdict.problems)
                if isinstance(verdict, TaskAnswersRefused)
                else "no answer from the engine"
            )
            self.say(f'{who}: answers to {task.ref} "[bold]{task.title}[/]" refused: {problems}')
            return True
        late = " [red](late)[/]" if verdict.overdue else ""
        self.say(f'{who} completed {task.ref} "[bold]{task.title}[/]" in Jira{late}')
        return True

    def _decide(self, request) -> bool:
        run = self._run_of(request.run_id)
        step = request.step_id
        visit, round_ = (int(x) for x in request.approval_id.split(".")[-2:])
        scripted = self.verdicts(run.spec_id, step, run.subject.name, visit + round_ - 1)
        queue = list(request.people)
        decided = False  # False when every try was refused: nothing moved
        if scripted and scripted.person not in queue:
            queue.insert(0, scripted.person)  # someone who was not asked tries anyway
        for person in queue:
            self._step_time((5, 9, 27, 14))
            verdict = (
                scripted
                if scripted and scripted.person == person
                else Verdict(person, "approve", _reason(run.spec_id, step))
            )
            via, notices = self.approvals.decide(
                verdict.person, request.approval_id, verdict.decision, verdict.reason
            )
            who = NAMES.get(verdict.person, verdict.person)
            where = "in Slack" if via == "slack" else "through the command line"
            outcome = latest_evidence(
                self.runtime,
                request.run_id,
                step,
                (ApprovalDecided, ApprovalRefused, ApprovalStepUpRequested),
            )
            if isinstance(outcome, ApprovalStepUpRequested) and outcome.person == verdict.person:
                outcome = self._step_up(outcome, who, request, step)
            reason: str | None = None
            if notices:
                reason = notices[-1]
            elif isinstance(outcome, ApprovalRefused) and outcome.person == verdict.person:
                reason = outcome.reason
            if reason is not None:
                self.say(
                    f'{who} tried to {verdict.decision} "[bold]{request.title}[/]" {where}:'
                    f" [red]refused[/], {reason}"
                )
                continue
            decided = True
            colour, verb = (
                ("green", "approved") if verdict.decision == "approve" else ("red", "rejected")
            )
            principal = getattr(outcome, "on_behalf_of", None)
            if principal:  # a delegate's decision reads "B for A", as in the ledger
                who += f" for {NAMES.get(principal, principal)}"
            self.say(
                f'{who} [{colour}]{verb}[/] "[bold]{request.title}[/]" {where}: "{verdict.reason}"'
            )
            current = self._run_of(request.run_id).approval
            if current is None or current.approval_id != request.approval_id:
                break
        return decided

    def _step_up(self, asked: ApprovalStepUpRequested, who: str, request, step: str):
        """Above the step-up threshold the Slack click waits: the same person confirms in
        Jira, and only then is the approval recorded."""
        self.say(
            f'{who} approved "[bold]{request.title}[/]" in Slack: above the step-up threshold '
            f"({asked.condition}), so it waits for their confirmation in Jira"
        )
        self._step_time((1, 2))
        self.pump()
        self.tasks.confirm(asked.person, asked.issues[0], asked.code)
        self.pump()
        confirmed = latest_evidence(
            self.runtime, request.run_id, step, (ApprovalDecided, ApprovalRefused)
        )
        if isinstance(confirmed, ApprovalDecided):
            self.say(f"{who} confirmed it in Jira on {asked.issues[0]}: [bold]stepped up[/]")
        return confirmed

    def work(self, rounds: int = 200) -> None:
        """Drain the work: pump, do every task and approval that is not held, repeat."""
        for _ in range(rounds):
            self.pump()
            progressed = False
            for task in self.tasks.open_tasks():
                progressed |= self._do_task(task)
            self.pump()
            for request in self.approvals.open_approvals():
                progressed |= self._decide(request)
            if not progressed:
                self.pump()
                return


def _reason(workflow: str, step: str) -> str:
    """What an approver types in the reason box for this sign-off."""
    return (
        governance_reason(workflow, step)
        or operations_reason(workflow, step)
        or _REASONS.get(step, _REASON)
    )


# Reasons as approvers type them in the reason box, one per kind of sign-off.
_REASON = "Read it through; fine by me."
_REASONS = {
    "accept_owner": "Residual risk is within our appetite and the monitoring is in place.",
    "accept_top": "Accepted: the business need justifies it with the monitoring agreed.",
    "signoff": "Impacts are understood and the mitigations are proportionate.",
    "panel_signoff": "Impacts are understood and the mitigations are proportionate.",
    "approve_programme": "Scope and criteria cover clauses 4 to 10; go ahead.",
    "approve_plan": "The plan removes the root cause; agreed.",
    "approve": "The minutes match the meeting; actions agreed.",
    "approve_release": "Validation and rollback plan look sound; release it.",
}
