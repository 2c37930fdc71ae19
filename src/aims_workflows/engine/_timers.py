"""Time: reminders, due dates, escalations and waits fired by ``timer.tick``."""

from __future__ import annotations

from ..spec.model import ApprovalStep
from .commands import EscalateApproval, EscalateTask, RemindApproval, RemindTask
from .evidence import iso
from .state import Timer

__all__ = ["TimerEvents"]


class TimerEvents:
    """``timer.tick``: fire every due reminder, due date, escalation and wait, in order."""

    def _on_timer_tick(self) -> None:
        due = sorted(
            (t for t in self.run.timers if t.fire_at <= self.now),
            key=lambda t: (t.fire_at, t.timer_id),
        )
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
        approval_id = (
            self.run.approval.approval_id if what == "approval" and self.run.approval else None
        )
        assignee = self.run.task.assignee if what == "task" and self.run.task else None
        base = dict(
            key=self.key(timer.timer_id),
            run_id=self.run.run_id,
            step_id=step.id,
            ref=ref,
            approval_id=approval_id,
            assignee=assignee,
            subject=self.run.subject,
        )
        if timer.kind == "wait":
            self.record("wait.ended", {"timer": timer.timer_id}, step_id=step.id)
            self.goto(self.spec.next_of(step.id))
        elif timer.kind == "reminder":
            roles = list(step.approvers) if what == "approval" else [step.role]
            remind = RemindApproval if what == "approval" else RemindTask
            self.emit(remind(**base, to=tuple(roles)))
            self.record(f"{what}.reminded", {"timer": timer.timer_id, "to": roles}, step_id=step.id)
        elif timer.kind == "due":
            if what == "task" and self.run.task:
                self.run.task.overdue = True
            self.record(f"{what}.overdue", {"due_at": iso(timer.fire_at)}, step_id=step.id)
        elif timer.kind == "escalate":
            escalate = EscalateApproval if what == "approval" else EscalateTask
            self.emit(escalate(**base, to=(step.escalate.to,)))
            self.record(
                f"{what}.escalated",
                {"to": step.escalate.to, "timer": timer.timer_id},
                step_id=step.id,
            )
