"""Task steps: issuing work to a role, checking answers, answers edited afterwards."""

from __future__ import annotations

from ..spec.expressions import render
from ..spec.model import ApprovalStep, DecisionStep, RecordStep, TaskStep
from .commands import CloseTask, CreateTask, InvalidateApproval, Notify, RefuseAnswers
from .evidence import iso
from .forms import check_answers
from .state import TaskState

__all__ = ["TaskSteps"]


def _unanswered(step: TaskStep) -> dict[str, None]:
    """Every form field as None, so an optional field left blank reads as none, not undefined
    (the spec checker accepts ``task.optional_field``; the run must not fail on it)."""
    return {f.id: None for f in step.form}


class TaskSteps:
    """Entering a task step and the events about its issue: created, completed, answers edited."""

    def _enter_task(self, step: TaskStep) -> None:
        attempt = self.visit(step.id)
        context = self.context()
        due_at = self.now + step.due if step.due else None
        key = f"{step.id}/{attempt}/task"
        self.run.task = TaskState(
            step_id=step.id,
            attempt=attempt,
            key=f"{self.run.run_id}/{key}",
            created_at=self.now,
            due_at=due_at,
        )
        self._add_timers(step, self.now, due_at, attempt)
        title = render(step.title, context)
        self.emit(
            CreateTask(
                key=self.key(key),
                run_id=self.run.run_id,
                step_id=step.id,
                attempt=attempt,
                workflow=self.spec.id,
                title=title,
                description=render(step.description, context) if step.description else "",
                role=step.role,
                subject=self.run.subject,
                form=step.form,
                due_at=iso(due_at) if due_at else None,
                priority=step.priority,
                previous_answers=self.run.data.get(step.id),
            )
        )
        self.record(
            "task.requested",
            {
                "title": title,
                "role": step.role,
                "attempt": attempt,
                "due_at": iso(due_at) if due_at else None,
            },
            step_id=step.id,
        )

    def _current_task(self) -> TaskState | None:
        task, event = self.run.task, self.event
        if (
            task is None
            or task.step_id != event.step_id
            or (event.attempt is not None and event.attempt != task.attempt)
        ):
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
        self.record(
            "task.issued",
            {"ref": self.event.ref, "assignee": task.assignee, "attempt": task.attempt},
            step_id=task.step_id,
            ref=self.event.ref,
        )

    def _on_task_completed(self) -> None:
        task = self._current_task()
        if task is None:
            return
        step: TaskStep = self.spec.step(task.step_id)
        actor = self.event.actor
        clean, problems = check_answers(
            step.form, self.event.data.get("answers", {}), step_id=step.id, context=self.context()
        )
        if problems:
            self.record(
                "task.answers_refused",
                {"problems": problems, "by": actor.id, "attempt": task.attempt},
                step_id=step.id,
                actor=actor,
                ref=self.event.ref,
            )
            self.emit(
                RefuseAnswers(
                    key=self.key(f"{step.id}/{task.attempt}/refused/{self.run.events_applied}"),
                    run_id=self.run.run_id,
                    step_id=step.id,
                    ref=task.ref,
                    problems=tuple(problems),
                    task_key=task.key,
                )
            )
            return
        self.run.data[step.id] = {
            **_unanswered(step),
            **clean,
            "completed_by": actor.id,
            "issue": task.ref or self.event.ref,
        }
        self.run.completed_by[step.id] = actor.id
        self._clear_timers(step.id)
        self.run.task = None
        self.record(
            "task.completed",
            {"answers": clean, "by": actor.id, "attempt": task.attempt, "overdue": task.overdue},
            step_id=step.id,
            actor=actor,
            ref=self.event.ref,
        )
        # the tracker closes its issue if the task was completed elsewhere (the CLI, the API),
        # so Jira never shows open work that is done, and attaches the completion's evidence
        self.emit(
            CloseTask(
                key=self.key(f"{step.id}/{task.attempt}/close"),
                run_id=self.run.run_id,
                step_id=step.id,
                attempt=task.attempt,
                ref=task.ref or self.event.ref,
                task_key=task.key,
                by=actor.id,
                via=actor.via,
            )
        )
        self.goto(self.spec.next_of(step.id))

    def _on_task_updated(self) -> None:
        """Answers changed after the task was completed (an engineer edited the Jira issue)."""
        step_id = self.event.step_id
        if step_id not in self.run.data or not isinstance(self.spec.step(step_id), TaskStep):
            self.ignored = f"step {step_id} has no answers to change"
            return
        step: TaskStep = self.spec.step(step_id)
        before = self.run.data[step_id]
        clean, problems = check_answers(
            step.form, self.event.data.get("answers", {}), step_id=step_id, context=self.context()
        )
        answers_before = {k: v for k, v in before.items() if k not in ("completed_by", "issue")}
        if problems or {**_unanswered(step), **clean} == answers_before:
            self.ignored = "answers unchanged" if not problems else "; ".join(problems)
            return
        self.run.data[step_id] = {
            **_unanswered(step),
            **clean,
            "completed_by": before.get("completed_by"),
            "issue": before.get("issue"),
        }
        # Records computed from these answers are computed again, so what is shown, approved and
        # registered next matches the answers as they now are.
        mark = len(self.evidence)
        position = [s.id for s in self.spec.steps].index(step_id)
        for later in self.spec.steps[position + 1 :]:
            if isinstance(later, RecordStep) and later.id in self.run.data:
                self._record(later, only_if_changed=True)
        # Approvals already given over this data no longer cover it: say so in the ledger and
        # tell the AIMS owner, since a closed approval cannot be silently re-opened.
        stale = sorted(
            s.id
            for s in self.spec.steps
            if isinstance(s, ApprovalStep)
            and s.id in self.run.data
            and step_id in self._approved_steps(s)
            and self.run.data[s.id].get("outcome") == "approved"  # a rejection approved nothing
            and not (self.run.approval and self.run.approval.step_id == s.id)  # re-requested below
            and self.run.data[s.id].get("content_hash") != self._content_hash(s)
        )
        self.record(
            "task.answers_changed",
            {
                "before": answers_before,
                "after": clean,
                "by": self.event.actor.id,
                "approvals_no_longer_covering": stale,
            },
            step_id=step_id,
            actor=self.event.actor,
            ref=self.event.ref,
        )
        self.evidence.insert(
            mark, self.evidence.pop()
        )  # the change itself comes before what it caused
        if stale:
            self.emit(
                Notify(
                    key=self.key(f"{step_id}/changed-after-approval/{self.run.events_applied}"),
                    run_id=self.run.run_id,
                    to=("aims_owner",),
                    message=f"Run {self.run.run_id}: answers of '{step_id}' changed after {', '.join(stale)} approved them; review whether a new approval is needed.",
                    subject=self.run.subject,
                )
            )
        approval = self.run.approval
        if approval is not None:
            a_step: ApprovalStep = self.spec.step(approval.step_id)
            new_hash = self._content_hash(a_step)
            if new_hash != approval.content_hash:
                self.record(
                    "approval.invalidated",
                    {
                        "approval_id": approval.approval_id,
                        "old_hash": approval.content_hash,
                        "new_hash": new_hash,
                        "reason": f"answers of '{step_id}' changed",
                    },
                    step_id=a_step.id,
                )
                self.emit(
                    InvalidateApproval(
                        key=self.key(f"{approval.approval_id}/invalidate"),
                        run_id=self.run.run_id,
                        approval_id=approval.approval_id,
                        reason=f"the answers of '{step_id}' changed after the request",
                    )
                )
                self._clear_timers(a_step.id)
                self._reroute(step_id, approval)

    def _reroute(self, changed_step: str, approval) -> None:
        """Ask again for the approval the new answers call for. Decisions between the changed
        task and the approval are taken again (a higher risk score may need a higher approver);
        without such decisions the same approval is asked again in its next round."""
        ids = [s.id for s in self.spec.steps]
        between = self.spec.steps[ids.index(changed_step) + 1 : ids.index(approval.step_id)]
        decisions = [s for s in between if isinstance(s, DecisionStep)]
        self.run.approval = None
        if not decisions:
            self._request_approval(self.spec.step(approval.step_id), round_=approval.round + 1)
            return
        self.rerouted_approval, self.rerunning = approval, True
        try:
            self.goto(decisions[0].id)
        finally:
            self.rerouted_approval, self.rerunning = None, False
