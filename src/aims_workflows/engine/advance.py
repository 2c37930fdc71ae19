"""The pure engine: ``advance(spec, run, event, now) -> Transition``.

No I/O and no clock: the caller passes ``now``. The result is the new run state, the commands
to carry out and the evidence to append. The input run is never mutated, so a caller can retry
or discard a transition freely, and the same inputs always give the same outputs.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..errors import EngineError
from ..spec.expressions import ExpressionError, evaluate, render
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
from .commands import Command
from .events import SYSTEM, Actor, Event
from .evidence import EvidenceRecord, canonical_json, iso
from .forms import check_answers
from .state import ApprovalState, ChildRun, Decision, RunState, Subject, TaskState, Timer

__all__ = ["Transition", "advance", "new_run", "expression_context", "MAX_STEPS_PER_EVENT"]

MAX_STEPS_PER_EVENT = 500
"""Guards against a loop of automatic steps that the spec checks could not see through."""


@dataclass(frozen=True)
class Transition:
    """What one event did: the new state, commands for the outbox, evidence for the ledger.

    ``ignored`` explains an event that changed nothing (stale, duplicate, for a closed run).
    """

    run: RunState
    commands: list[Command] = field(default_factory=list)
    evidence: list[EvidenceRecord] = field(default_factory=list)
    ignored: str | None = None


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
        raise EngineError(f"workflow '{spec.id}' has no input(s) {', '.join(unknown)}", hint="see its 'inputs'")
    missing = [name for name, d in declared.items() if d.required and name not in given]
    if missing:
        raise EngineError(f"workflow '{spec.id}' needs input(s) {', '.join(missing)}", hint="pass --input NAME=VALUE")
    for name in declared:
        given.setdefault(name, None)
    return RunState(
        run_id=run_id,
        spec_id=spec.id,
        spec_version=spec.version,
        spec_hash=spec_hash,
        subject=subject,
        inputs=given,
        parent_run_id=parent_run_id,
    )


def expression_context(run: RunState) -> dict[str, Any]:
    """The names an expression sees: subject, inputs and one per step that produced data."""
    subject = {**run.subject.attributes, "id": run.subject.id, "name": run.subject.name, "owner": run.subject.owner}
    return {**run.data, "subject": subject, "inputs": run.inputs}


def _check(spec: WorkflowSpec, run: RunState, now: datetime) -> None:
    if (spec.id, spec.version) != (run.spec_id, run.spec_version):
        raise EngineError(
            f"run {run.run_id} is pinned to {run.spec_id} v{run.spec_version}, got {spec.id} v{spec.version}",
            hint="load the spec version the run started on",
        )
    if now.tzinfo is None:
        raise EngineError("'now' must be timezone-aware")


def advance(spec: WorkflowSpec, run: RunState, event: Event, now: datetime) -> Transition:
    """Apply one event to a run. Pure and deterministic; see the module docstring."""
    _check(spec, run, now)
    return _Step(spec, run.model_copy(deep=True), event, now).apply()


def _advance_owned(spec: WorkflowSpec, run: RunState, event: Event, now: datetime) -> Transition:
    """:func:`advance` for a caller that owns ``run`` and drops it afterwards (the runtime, which
    loads a fresh copy for every event): the event is applied to ``run`` itself, without the copy
    that keeps ``advance`` pure. Same result otherwise."""
    _check(spec, run, now)
    return _Step(spec, run, event, now).apply()


def _unanswered(step: TaskStep) -> dict[str, None]:
    """Every form field as None, so an optional field left blank reads as none, not undefined
    (the spec checker accepts ``task.optional_field``; the run must not fail on it)."""
    return {f.id: None for f in step.form}


class _Step:
    """One application of one event. Collects commands and evidence while it mutates a copy."""

    def __init__(self, spec: WorkflowSpec, run: RunState, event: Event, now: datetime) -> None:
        self.spec, self.run, self.event, self.now = spec, run, event, now
        self.commands: list[Command] = []
        self.evidence: list[EvidenceRecord] = []
        self.ignored: str | None = None
        self.steps_taken = 0

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

    def record(self, kind: str, payload: dict[str, Any], *, step_id: str | None = None, actor: Actor | None = None, ref: str | None = None) -> None:
        who = actor or SYSTEM
        self.evidence.append(
            EvidenceRecord(kind, self.run.run_id, step_id, who.id, who.via, self.now, payload, ref)
        )

    def command(self, kind: str, key: str, payload: dict[str, Any]) -> None:
        self.commands.append(Command(kind, f"{self.run.run_id}/{key}", self.run.run_id, payload))  # type: ignore[arg-type]

    def context(self) -> dict[str, Any]:
        return expression_context(self.run)

    def visit(self, step_id: str) -> int:
        return self.run.visits.get(step_id, 0)

    def _clear_timers(self, step_id: str) -> None:
        self.run.timers = [t for t in self.run.timers if t.step_id != step_id]

    def _add_timers(self, step, start: datetime, due_at: datetime | None, attempt: int, round_: int = 1) -> None:
        # a fresh approval request (round 2+) needs fresh timer ids: they are the commands' idempotency keys
        prefix = f"{step.id}.{attempt}" if round_ == 1 else f"{step.id}.{attempt}.{round_}"
        for n, offset in enumerate(step.reminders):
            self.run.timers.append(Timer(timer_id=f"{prefix}.reminder.{n}", kind="reminder", step_id=step.id, fire_at=start + offset, attempt=attempt))
        if due_at is not None:
            self.run.timers.append(Timer(timer_id=f"{prefix}.due", kind="due", step_id=step.id, fire_at=due_at, attempt=attempt))
            if step.escalate is not None:
                self.run.timers.append(
                    Timer(timer_id=f"{prefix}.escalate", kind="escalate", step_id=step.id, fire_at=due_at + step.escalate.after, attempt=attempt)
                )

    def _fail(self, reason: str) -> None:
        self.run.status = "failed"
        self.run.failure = reason
        self.run.timers = []
        # a task or approval entered by the failing step was never sent out: nothing is open any more
        self.run.task = self.run.approval = None
        self.record("run.failed", {"reason": reason, "step": self.run.current}, step_id=self.run.current)
        self.command("notify", f"failed/{self.run.events_applied}", {
            "to": ["aims_owner"],
            "message": f"Run {self.run.run_id} ({self.spec.title}) stopped: {reason}",
        })

    # -- moving through steps --------------------------------------------------------------
    def goto(self, target: str) -> None:
        while True:
            self.steps_taken += 1
            if self.steps_taken > MAX_STEPS_PER_EVENT:
                raise ExpressionError(f"more than {MAX_STEPS_PER_EVENT} automatic steps without waiting: a loop in the workflow")
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
            self.run.timers.append(Timer(timer_id=f"{step.id}.{attempt}.wait", kind="wait", step_id=step.id, fire_at=fire_at, attempt=attempt))
            self.record("wait.started", {"until": iso(fire_at), "duration_seconds": int(step.duration.total_seconds())}, step_id=step.id)
            return None
        raise EngineError(f"unknown step kind {type(step).__name__}")  # pragma: no cover

    def _complete(self) -> None:
        run = self.run
        run.status = "completed"
        run.current = None
        run.completed_at = self.now
        run.timers = []
        self.record("run.completed", {"workflow": self.spec.id, "version": self.spec.version})
        self.command("run.completed", "completed", {
            "workflow": self.spec.id,
            "subject": run.subject.model_dump(mode="json"),
            "parent_run_id": run.parent_run_id,
            "coverage": self.spec.coverage.model_dump(mode="json") if self.spec.coverage else None,
            "started_at": iso(run.started_at) if run.started_at else None,
        })

    # -- task ------------------------------------------------------------------------------
    def _enter_task(self, step: TaskStep) -> None:
        attempt = self.visit(step.id)
        context = self.context()
        due_at = self.now + step.due if step.due else None
        key = f"{step.id}/{attempt}/task"
        self.run.task = TaskState(step_id=step.id, attempt=attempt, key=f"{self.run.run_id}/{key}", created_at=self.now, due_at=due_at)
        self._add_timers(step, self.now, due_at, attempt)
        title = render(step.title, context)
        self.command("task.create", key, {
            "step_id": step.id,
            "attempt": attempt,
            "workflow": self.spec.id,
            "title": title,
            "description": render(step.description, context) if step.description else "",
            "role": step.role,
            "subject": self.run.subject.model_dump(mode="json"),
            "form": [f.model_dump(mode="json") for f in step.form],
            "due_at": iso(due_at) if due_at else None,
            "priority": step.priority,
            "previous_answers": self.run.data.get(step.id),
        })
        self.record("task.requested", {"title": title, "role": step.role, "attempt": attempt, "due_at": iso(due_at) if due_at else None}, step_id=step.id)

    def _current_task(self) -> TaskState | None:
        task, event = self.run.task, self.event
        if task is None or task.step_id != event.step_id or (event.attempt is not None and event.attempt != task.attempt):
            self.ignored = f"no open task {event.step_id} (attempt {event.attempt})"
            return None
        return task

    def _on_task_created(self) -> None:
        task = self._current_task()
        if task is None:
            return
        assignee = self.event.data.get("assignee")
        if assignee is not None and not isinstance(assignee, str):
            self.ignored = f"assignee must be a person's id, not {type(assignee).__name__}"
            return
        task.ref = self.event.ref
        task.assignee = assignee
        self.record("task.issued", {"ref": self.event.ref, "assignee": task.assignee, "attempt": task.attempt}, step_id=task.step_id, ref=self.event.ref)

    def _on_task_completed(self) -> None:
        task = self._current_task()
        if task is None:
            return
        step: TaskStep = self.spec.step(task.step_id)
        actor = self.event.actor
        clean, problems = check_answers(step.form, self.event.data.get("answers", {}), step_id=step.id, context=self.context())
        if problems:
            self.record("task.answers_refused", {"problems": problems, "by": actor.id, "attempt": task.attempt}, step_id=step.id, actor=actor, ref=self.event.ref)
            self.command("task.refuse_answers", f"{step.id}/{task.attempt}/refused/{self.run.events_applied}", {
                "step_id": step.id, "ref": task.ref, "problems": problems, "task_key": task.key,
            })
            return
        self.run.data[step.id] = {**_unanswered(step), **clean, "completed_by": actor.id, "issue": task.ref or self.event.ref}
        self.run.completed_by[step.id] = actor.id
        self._clear_timers(step.id)
        self.run.task = None
        self.record("task.completed", {"answers": clean, "by": actor.id, "attempt": task.attempt, "overdue": task.overdue}, step_id=step.id, actor=actor, ref=self.event.ref)
        self.goto(self.spec.next_of(step.id))

    def _on_task_updated(self) -> None:
        """Answers changed after the task was completed (an engineer edited the Jira issue)."""
        step_id = self.event.step_id
        if step_id not in self.run.data or not isinstance(self.spec.step(step_id), TaskStep):
            self.ignored = f"step {step_id} has no answers to change"
            return
        step: TaskStep = self.spec.step(step_id)
        before = self.run.data[step_id]
        clean, problems = check_answers(step.form, self.event.data.get("answers", {}), step_id=step_id, context=self.context())
        answers_before = {k: v for k, v in before.items() if k not in ("completed_by", "issue")}
        if problems or {**_unanswered(step), **clean} == answers_before:
            self.ignored = "answers unchanged" if not problems else "; ".join(problems)
            return
        self.run.data[step_id] = {**_unanswered(step), **clean, "completed_by": before.get("completed_by"), "issue": before.get("issue")}
        # Records computed from these answers are computed again, so what is shown, approved and
        # registered next matches the answers as they now are.
        mark = len(self.evidence)
        position = [s.id for s in self.spec.steps].index(step_id)
        for later in self.spec.steps[position + 1:]:
            if isinstance(later, RecordStep) and later.id in self.run.data:
                self._record(later, only_if_changed=True)
        # Approvals already given over this data no longer cover it: say so in the ledger and
        # tell the AIMS owner, since a closed approval cannot be silently re-opened.
        stale = sorted(
            s.id for s in self.spec.steps
            if isinstance(s, ApprovalStep) and s.id in self.run.data and step_id in self._approved_steps(s)
            and self.run.data[s.id].get("outcome") == "approved"  # a rejection approved nothing
            and not (self.run.approval and self.run.approval.step_id == s.id)  # re-requested below
            and self.run.data[s.id].get("content_hash") != self._content_hash(s)
        )
        self.record("task.answers_changed", {"before": answers_before, "after": clean, "by": self.event.actor.id,
                                             "approvals_no_longer_covering": stale}, step_id=step_id, actor=self.event.actor, ref=self.event.ref)
        self.evidence.insert(mark, self.evidence.pop())  # the change itself comes before what it caused
        if stale:
            self.command("notify", f"{step_id}/changed-after-approval/{self.run.events_applied}", {
                "to": ["aims_owner"],
                "message": f"Run {self.run.run_id}: answers of '{step_id}' changed after {', '.join(stale)} approved them; review whether a new approval is needed.",
                "subject": self.run.subject.model_dump(mode="json"),
            })
        approval = self.run.approval
        if approval is not None:
            a_step: ApprovalStep = self.spec.step(approval.step_id)
            new_hash = self._content_hash(a_step)
            if new_hash != approval.content_hash:
                self.record("approval.invalidated", {"approval_id": approval.approval_id, "old_hash": approval.content_hash, "new_hash": new_hash, "reason": f"answers of '{step_id}' changed"}, step_id=a_step.id)
                self.command("approval.invalidate", f"{approval.approval_id}/invalidate", {"approval_id": approval.approval_id, "reason": f"the answers of '{step_id}' changed after the request"})
                self._clear_timers(a_step.id)
                self._request_approval(a_step, round_=approval.round + 1)

    # -- approval --------------------------------------------------------------------------
    def _approved_steps(self, step: ApprovalStep) -> list[str]:
        if step.approves:
            return list(step.approves)
        ids = [s.id for s in self.spec.steps]
        earlier = ids[: ids.index(step.id)]
        return [s for s in earlier if isinstance(self.spec.step(s), (TaskStep, RecordStep))]

    def _content_hash(self, step: ApprovalStep) -> str:
        content = {s: self.run.data.get(s) for s in self._approved_steps(step)}
        return hashlib.sha256(canonical_json(content).encode()).hexdigest()

    def _request_approval(self, step: ApprovalStep, *, round_: int) -> None:
        attempt = self.visit(step.id)
        approval_id = f"{self.run.run_id}.{step.id}.{attempt}.{round_}"
        content_hash = self._content_hash(step)
        due_at = self.now + step.due if step.due else None
        self.run.approval = ApprovalState(step_id=step.id, approval_id=approval_id, round=round_, content_hash=content_hash, requested_at=self.now, due_at=due_at)
        self._add_timers(step, self.now, due_at, attempt, round_)
        context = self.context()
        shown = {label: evaluate(expr, context) for label, expr in step.show.items()}
        title = render(step.title, context) if step.title else f"{self.spec.title}: {self.run.subject.name}"
        issues = [self.run.data[s].get("issue") for s in self._approved_steps(step) if s in self.run.data and self.run.data[s].get("issue")]
        self.command("approval.request", f"{approval_id}/request", {
            "approval_id": approval_id,
            "step_id": step.id,
            "workflow": self.spec.id,
            "title": title,
            "approvers": list(step.approvers),
            "quorum": step.quorum,
            "channel": step.channel,
            "content_hash": content_hash,
            "show": shown,
            "issues": issues,
            "subject": self.run.subject.model_dump(mode="json"),
            "due_at": iso(due_at) if due_at else None,
            "exclude": self._excluded_people(step),
            "forbidden_roles": list(step.separation.forbidden_roles),
            # who asked: the people whose answers are being approved, for the approver to see
            "asked_by": list(dict.fromkeys(self.run.completed_by[s] for s in self._approved_steps(step) if s in self.run.completed_by)),
        })
        self.record("approval.requested", {"approval_id": approval_id, "approvers": list(step.approvers), "quorum": step.quorum, "content_hash": content_hash, "round": round_, "shown": shown}, step_id=step.id)

    def _excluded_people(self, step: ApprovalStep) -> list[str]:
        people = {self.run.completed_by[s] for s in step.separation.not_assignee_of if s in self.run.completed_by}
        if step.separation.not_subject_owner and self.run.subject.owner:
            people.add(self.run.subject.owner)
        return sorted(people)

    def _refuse(self, reason: str, *, step_id: str | None, approval_id: str | None) -> None:
        actor = self.event.actor
        self.record("approval.refused", {"person": actor.id, "approval_id": approval_id, "reason": reason, "decision": self.event.data.get("decision")}, step_id=step_id, actor=actor, ref=self.event.ref)
        self.command("approval.refuse", f"refuse/{self.event.ref or approval_id}/{actor.id}/{self.run.events_applied}/{len(self.evidence)}", {
            "person": actor.id, "approval_id": approval_id, "reason": reason, "response": self.event.data.get("response"),
        })

    def _sod_violation(self, step: ApprovalStep, person: str, roles: set[str]) -> str | None:
        for task_step in step.separation.not_assignee_of:
            if self.run.completed_by.get(task_step) == person:
                return f"you completed '{task_step}', so you may not approve it (segregation of duties)"
        if step.separation.not_subject_owner and person == self.run.subject.owner:
            return "you own this AI system, so you may not approve its assessment (segregation of duties)"
        forbidden = roles & set(step.separation.forbidden_roles)
        if forbidden:
            return f"people with the role {', '.join(sorted(forbidden))} may not approve this step"
        return None

    def _on_approval_decided(self) -> None:
        data, actor = self.event.data, self.event.actor
        approval = self.run.approval
        approval_id = data.get("approval_id")
        if not self.run.is_open or approval is None or approval.approval_id != approval_id:
            step_id = approval_id.split(".")[-3] if isinstance(approval_id, str) and approval_id.count(".") >= 3 else None
            self._refuse("this approval is closed or was replaced by a newer request", step_id=step_id, approval_id=approval_id)
            return
        step: ApprovalStep = self.spec.step(approval.step_id)
        if step.quorum == "all" and not isinstance(data.get("eligible"), list):
            # 'all' cannot be counted without knowing who all is; refusing beats closing on one vote
            self._refuse("this approval needs every eligible approver, but the decision did not say who they are", step_id=step.id, approval_id=approval_id)
            return
        if data.get("content_hash") != approval.content_hash:
            self._refuse("the content changed since this request was sent; a fresh request has been sent", step_id=step.id, approval_id=approval_id)
            return
        roles = set(actor.roles)
        if actor.id == self.run.subject.owner:
            roles.add("system_owner")
        if not roles & set(step.approvers):
            self._refuse(f"you are not an approver of this step (approvers: {', '.join(step.approvers)})", step_id=step.id, approval_id=approval_id)
            return
        violation = self._sod_violation(step, actor.id, roles)
        if violation:
            self._refuse(violation, step_id=step.id, approval_id=approval_id)
            return
        if any(d.person == actor.id for d in approval.decisions):
            self._refuse("you have already decided on this request", step_id=step.id, approval_id=approval_id)
            return
        reason = str(data.get("reason") or "").strip()
        decision = data.get("decision")
        if decision not in ("approve", "reject"):
            self._refuse("the decision must be approve or reject", step_id=step.id, approval_id=approval_id)
            return
        if not reason:
            self._refuse("a reason is required", step_id=step.id, approval_id=approval_id)
            return
        approval.decisions.append(Decision(person=actor.id, decision=decision, reason=reason, at=self.now, ref=self.event.ref))
        self.record("approval.decided", {
            "approval_id": approval_id, "person": actor.id, "decision": decision, "reason": reason,
            "content_hash": approval.content_hash, "checks": ["approver_role", "segregation_of_duties", "content_hash", "single_decision", "reason"],
        }, step_id=step.id, actor=actor, ref=self.event.ref)
        self._maybe_close(step, approval, data.get("eligible"))

    def _needed(self, step: ApprovalStep, eligible: list[str] | None) -> int:
        if step.quorum == "any":
            return 1
        if step.quorum == "all":
            excluded = set(self._excluded_people(step))
            people = [p for p in (eligible if isinstance(eligible, list) else []) if p not in excluded]
            return max(1, len(people))
        return int(step.quorum)

    def _maybe_close(self, step: ApprovalStep, approval: ApprovalState, eligible: list[str] | None) -> None:
        rejected = [d for d in approval.decisions if d.decision == "reject"]
        approved = {d.person for d in approval.decisions if d.decision == "approve"}
        if rejected:
            outcome = "rejected"
        elif len(approved) >= self._needed(step, eligible):
            outcome = "approved"
        else:
            return
        self.run.data[step.id] = {
            "outcome": outcome,
            "decided_by": [d.person for d in approval.decisions],
            "reasons": [d.reason for d in approval.decisions],
            "content_hash": approval.content_hash,
        }
        latency = (self.now - approval.requested_at).total_seconds()
        self.record("approval.closed", {"approval_id": approval.approval_id, "outcome": outcome, "latency_seconds": latency, "requested_at": iso(approval.requested_at)}, step_id=step.id)
        self.command("approval.close", f"{approval.approval_id}/close", {"approval_id": approval.approval_id, "outcome": outcome, "decisions": [d.model_dump(mode="json") for d in approval.decisions]})
        self._clear_timers(step.id)
        self.run.approval = None
        self.goto(step.on_reject if outcome == "rejected" else self.spec.next_of(step.id))

    # -- automatic steps -------------------------------------------------------------------
    def _decide(self, step: DecisionStep) -> str:
        context = self.context()
        for index, case in enumerate(step.cases):
            if evaluate(case.when, context):
                self.record("decision.taken", {"case": index, "when": case.when, "goto": case.goto}, step_id=step.id)
                return case.goto
        self.record("decision.taken", {"case": None, "when": None, "goto": step.otherwise}, step_id=step.id)
        return step.otherwise

    def _record(self, step: RecordStep, *, only_if_changed: bool = False) -> str:
        context = self.context()
        values = {name: evaluate(expr, context) for name, expr in step.fields.items()}
        try:
            canonical_json(values)  # fail now, not in the ledger, if a value cannot be evidence
        except (TypeError, ValueError) as err:
            raise ExpressionError(f"record '{step.id}': {err}") from None
        if not (only_if_changed and self.run.data.get(step.id) == values):
            self.run.data[step.id] = values
            self.record("artefact.recorded", {"artefact": step.artefact, "fields": values, "subject": self.run.subject.id}, step_id=step.id)
        return self.spec.next_of(step.id)

    def _notify(self, step: NotifyStep) -> str:
        message = render(step.message, self.context())
        self.command("notify", f"{step.id}/{self.visit(step.id)}/notify", {"to": list(step.to), "message": message, "subject": self.run.subject.model_dump(mode="json")})
        self.record("notification.sent", {"to": list(step.to), "message": message}, step_id=step.id)
        return self.spec.next_of(step.id)

    def _spawn(self, step: SpawnStep) -> str | None:
        attempt = self.visit(step.id)
        context = self.context()
        items: list[Any] = [None]
        if step.for_each:
            value = evaluate(step.for_each, context)
            if not isinstance(value, (list, tuple)):
                raise ExpressionError(f"for_each {step.for_each!r} gave {type(value).__name__}, not a list")
            items = list(value)
        children: list[ChildRun] = []
        for n, item in enumerate(items, start=1):
            scope = {**context, "item": item}
            child_id = f"{self.run.run_id}.{step.id}{attempt}.{n}"
            inputs = {name: evaluate(expr, scope) for name, expr in step.inputs.items()}
            finding = None
            if step.finding:
                finding = {
                    "id": f"F-{child_id}",
                    "title": str(evaluate(step.finding.title, scope)),
                    "severity": str(evaluate(step.finding.severity, scope)),
                    "clause": evaluate(step.finding.clause, scope) if step.finding.clause else None,
                    "description": evaluate(step.finding.description, scope) if step.finding.description else None,
                    "source": f"{self.spec.id}/{self.run.run_id}",
                    "system": self.run.subject.name if self.run.subject.type == "ai_system" else None,
                }
            self.command("run.start", f"{step.id}/{attempt}/spawn/{n}", {
                "run_id": child_id, "workflow": step.workflow, "inputs": inputs, "finding": finding,
                "subject": None if finding else self.run.subject.model_dump(mode="json"),
                "parent_run_id": self.run.run_id if step.wait else None,
            })
            children.append(ChildRun(run_id=child_id, workflow=step.workflow))
        self.record("run.spawned", {"workflow": step.workflow, "runs": [c.run_id for c in children], "wait": step.wait}, step_id=step.id)
        if step.wait and children:
            self.run.children = children
            return None
        self.run.data[step.id] = {"runs": [c.run_id for c in children], "count": len(children)}
        return self.spec.next_of(step.id)

    def _on_child_completed(self) -> None:
        child_id, outcome = self.event.data.get("run_id"), self.event.data.get("status", "completed")
        if outcome not in ("completed", "cancelled", "failed"):
            self.ignored = f"unknown child run status {outcome!r}"
            return
        child = next((c for c in self.run.children if c.run_id == child_id), None)
        if child is None or child.status != "running":
            self.ignored = f"not waiting for run {child_id}"
            return
        child.status = outcome
        self.record("child.finished", {"run_id": child_id, "status": outcome}, step_id=self.run.current)
        if all(c.status != "running" for c in self.run.children):
            step_id = self.run.current
            self.run.data[step_id] = {"runs": [c.run_id for c in self.run.children], "count": len(self.run.children)}
            self.run.children = []
            self.goto(self.spec.next_of(step_id))

    # -- time ------------------------------------------------------------------------------
    def _on_timer_tick(self) -> None:
        due = sorted((t for t in self.run.timers if t.fire_at <= self.now), key=lambda t: (t.fire_at, t.timer_id))
        if not due:
            self.ignored = "no timer due"
            return
        for timer in due:
            if timer not in self.run.timers:
                continue  # an earlier timer in this tick moved the run on
            self.run.timers.remove(timer)
            self._fire(timer)
            if not self.run.is_open:
                return

    def _fire(self, timer: Timer) -> None:
        step = self.spec.step(timer.step_id)
        what = "approval" if isinstance(step, ApprovalStep) else "task"
        ref = self.run.task.ref if what == "task" and self.run.task else None
        approval_id = self.run.approval.approval_id if what == "approval" and self.run.approval else None
        assignee = self.run.task.assignee if what == "task" and self.run.task else None
        base = {"step_id": step.id, "ref": ref, "approval_id": approval_id, "assignee": assignee,
                "subject": self.run.subject.model_dump(mode="json")}
        if timer.kind == "wait":
            self.record("wait.ended", {"timer": timer.timer_id}, step_id=step.id)
            self.goto(self.spec.next_of(step.id))
        elif timer.kind == "reminder":
            roles = list(step.approvers) if what == "approval" else [step.role]
            self.command(f"{what}.remind", timer.timer_id, {**base, "to": roles})
            self.record(f"{what}.reminded", {"timer": timer.timer_id, "to": roles}, step_id=step.id)
        elif timer.kind == "due":
            if what == "task" and self.run.task:
                self.run.task.overdue = True
            self.record(f"{what}.overdue", {"due_at": iso(timer.fire_at)}, step_id=step.id)
        elif timer.kind == "escalate":
            self.command(f"{what}.escalate", timer.timer_id, {**base, "to": [step.escalate.to]})
            self.record(f"{what}.escalated", {"to": step.escalate.to, "timer": timer.timer_id}, step_id=step.id)

    # -- other -----------------------------------------------------------------------------
    def _on_run_start(self) -> None:
        if self.run.status != "new":
            self.ignored = "run already started"
            return
        self.run.status = "running"
        self.run.started_at = self.now
        actor = self.event.actor
        self.record("run.started", {
            "workflow": self.spec.id, "version": self.spec.version, "spec_hash": self.run.spec_hash,
            "subject": self.run.subject.model_dump(mode="json"), "inputs": self.run.inputs,
            "parent_run_id": self.run.parent_run_id, "evidences": list(self.spec.evidences),
            "trigger": self.event.data.get("trigger", "manual"),
        }, actor=actor, ref=self.event.ref)
        self.goto(self.spec.steps[0].id)

    def _on_subject_changed(self) -> None:
        data = self.event.data
        subject = self.run.subject
        name, owner, attributes = data.get("name", subject.name), data.get("owner", subject.owner), data.get("attributes", {})
        if not isinstance(name, str) or not (owner is None or isinstance(owner, str)) or not isinstance(attributes, dict):
            self.ignored = "subject.changed needs a text name, a text owner or none, and a mapping of attributes"
            return
        self.run.subject = Subject(
            type=subject.type, id=subject.id, name=name, owner=owner, attributes={**subject.attributes, **attributes},
        )
        # the subject feeds conditions and segregation of duties, so its change is evidence too
        self.record("subject.changed", {
            "before": subject.model_dump(mode="json"), "after": self.run.subject.model_dump(mode="json"),
        }, actor=self.event.actor, ref=self.event.ref)

    def _on_run_cancel(self) -> None:
        reason = str(self.event.data.get("reason") or "cancelled")
        if self.run.task:
            self.command("task.cancel", f"{self.run.task.step_id}/{self.run.task.attempt}/cancel", {"ref": self.run.task.ref, "task_key": self.run.task.key, "reason": reason})
        if self.run.approval:
            self.command("approval.close", f"{self.run.approval.approval_id}/close", {"approval_id": self.run.approval.approval_id, "outcome": "cancelled", "decisions": []})
        for child in self.run.children:
            if child.status == "running":  # a cancelled parent does not leave its children working
                self.command("run.cancel", f"cancel-child/{child.run_id}", {"run_id": child.run_id, "reason": f"parent run {self.run.run_id} cancelled: {reason}"})
        self.run.status = "cancelled"
        self.run.task = self.run.approval = None
        self.run.timers = []
        self.run.completed_at = self.now
        self.record("run.cancelled", {"reason": reason}, actor=self.event.actor)
        self.command("run.completed", "cancelled", {"workflow": self.spec.id, "subject": self.run.subject.model_dump(mode="json"), "parent_run_id": self.run.parent_run_id, "coverage": None, "status": "cancelled", "started_at": iso(self.run.started_at) if self.run.started_at else None})
