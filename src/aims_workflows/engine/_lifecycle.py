"""Run-level events: start, a changed subject, cancellation."""

from __future__ import annotations

from .commands import CancelChildRun, CancelTask, CloseApproval, ReportRunEnd
from .evidence import iso
from .state import Subject

__all__ = ["RunEvents"]


class RunEvents:
    """``run.start``, ``subject.changed`` and ``run.cancel``."""

    def _on_run_start(self) -> None:
        if self.run.status != "new":
            self.ignored = "run already started"
            return
        self.run.status = "running"
        self.run.started_at = self.now
        actor = self.event.actor
        self.record(
            "run.started",
            {
                "workflow": self.spec.id,
                "version": self.spec.version,
                "spec_hash": self.run.spec_hash,
                "subject": self.run.subject.model_dump(mode="json"),
                "inputs": self.run.inputs,
                "parent_run_id": self.run.parent_run_id,
                "evidences": list(self.spec.evidences),
                "trigger": self.event.data.get("trigger", "manual"),
            },
            actor=actor,
            ref=self.event.ref,
        )
        self.goto(self.spec.steps[0].id)

    def _on_subject_changed(self) -> None:
        data = self.event.data
        subject = self.run.subject
        name, owner, attributes = (
            data.get("name", subject.name),
            data.get("owner", subject.owner),
            data.get("attributes", {}),
        )
        if (
            not isinstance(name, str)
            or not (owner is None or isinstance(owner, str))
            or not isinstance(attributes, dict)
        ):
            self.ignored = "subject.changed needs a text name, a text owner or none, and a mapping of attributes"
            return
        self.run.subject = Subject(
            type=subject.type,
            id=subject.id,
            name=name,
            owner=owner,
            attributes={**subject.attributes, **attributes},
        )
        # the subject feeds conditions and segregation of duties, so its change is evidence too
        self.record(
            "subject.changed",
            {
                "before": subject.model_dump(mode="json"),
                "after": self.run.subject.model_dump(mode="json"),
            },
            actor=self.event.actor,
            ref=self.event.ref,
        )

    def _on_run_cancel(self) -> None:
        reason = str(self.event.data.get("reason") or "cancelled")
        if self.run.task:
            self.emit(
                CancelTask(
                    key=self.key(f"{self.run.task.step_id}/{self.run.task.attempt}/cancel"),
                    run_id=self.run.run_id,
                    ref=self.run.task.ref,
                    task_key=self.run.task.key,
                    reason=reason,
                )
            )
        if self.run.approval:
            self.emit(
                CloseApproval(
                    key=self.key(f"{self.run.approval.approval_id}/close"),
                    run_id=self.run.run_id,
                    approval_id=self.run.approval.approval_id,
                    outcome="cancelled",
                )
            )
        for child in self.run.children:
            if child.status == "running":  # a cancelled parent does not leave its children working
                self.emit(
                    CancelChildRun(
                        key=self.key(f"cancel-child/{child.run_id}"),
                        run_id=self.run.run_id,
                        child_run_id=child.run_id,
                        reason=f"parent run {self.run.run_id} cancelled: {reason}",
                    )
                )
        self.run.status = "cancelled"
        self.run.task = self.run.approval = None
        self.run.timers = []
        self.run.completed_at = self.now
        self.record("run.cancelled", {"reason": reason}, actor=self.event.actor)
        self.emit(
            ReportRunEnd(
                key=self.key("cancelled"),
                run_id=self.run.run_id,
                workflow=self.spec.id,
                subject=self.run.subject,
                parent_run_id=self.run.parent_run_id,
                status="cancelled",
                started_at=iso(self.run.started_at) if self.run.started_at else None,
            )
        )
