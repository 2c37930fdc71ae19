"""Steps that run without a person: decisions, records, notifications, spawned runs."""

from __future__ import annotations

from typing import Any

from ..spec.expressions import ExpressionError, evaluate, render
from ..spec.model import DecisionStep, NotifyStep, RecordStep, SpawnStep
from .commands import NewFinding, Notify, SpawnRun
from .evidence import canonical_json
from .state import ChildRun

__all__ = ["AutomaticSteps"]


def _text(value: Any) -> str | None:
    """A finding's clause or description as text (an expression may give a number)."""
    return None if value is None else str(value)


class AutomaticSteps:
    """Decision, record, notify and spawn steps, and children reporting back."""

    def _decide(self, step: DecisionStep) -> str:
        context = self.context()
        for index, case in enumerate(step.cases):
            if evaluate(case.when, context):
                self.record(
                    "decision.taken",
                    {"case": index, "when": case.when, "goto": case.goto},
                    step_id=step.id,
                )
                return case.goto
        self.record(
            "decision.taken", {"case": None, "when": None, "goto": step.otherwise}, step_id=step.id
        )
        return step.otherwise

    def _record(self, step: RecordStep, *, only_if_changed: bool = False) -> str:
        context = self.context()
        values = {name: evaluate(expr, context) for name, expr in step.fields.items()}
        try:
            canonical_json(values)  # fail now, not in the ledger, if a value cannot be evidence
        except (TypeError, ValueError) as err:
            raise ExpressionError(f"record '{step.id}': {err}") from None
        if not ((only_if_changed or self.rerunning) and self.run.data.get(step.id) == values):
            self.run.data[step.id] = values
            self.record(
                "artefact.recorded",
                {"artefact": step.artefact, "fields": values, "subject": self.run.subject.id},
                step_id=step.id,
            )
        return self.spec.next_of(step.id)

    def _notify(self, step: NotifyStep) -> str:
        message = render(step.message, self.context())
        self.emit(
            Notify(
                key=self.key(f"{step.id}/{self.visit(step.id)}/notify"),
                run_id=self.run.run_id,
                to=step.to,
                message=message,
                subject=self.run.subject,
            )
        )
        self.record("notification.sent", {"to": list(step.to), "message": message}, step_id=step.id)
        return self.spec.next_of(step.id)

    def _spawn(self, step: SpawnStep) -> str | None:
        attempt = self.visit(step.id)
        context = self.context()
        items: list[Any] = [None]
        if step.for_each:
            value = evaluate(step.for_each, context)
            if not isinstance(value, (list, tuple)):
                raise ExpressionError(
                    f"for_each {step.for_each!r} gave {type(value).__name__}, not a list"
                )
            items = list(value)
        children: list[ChildRun] = []
        for n, item in enumerate(items, start=1):
            scope = {**context, "item": item}
            child_id = f"{self.run.run_id}.{step.id}{attempt}.{n}"
            inputs = {name: evaluate(expr, scope) for name, expr in step.inputs.items()}
            finding = None
            if step.finding:
                finding = NewFinding(
                    id=f"F-{child_id}",
                    title=str(evaluate(step.finding.title, scope)),
                    severity=str(evaluate(step.finding.severity, scope)),
                    clause=_text(evaluate(step.finding.clause, scope))
                    if step.finding.clause
                    else None,
                    description=_text(evaluate(step.finding.description, scope))
                    if step.finding.description
                    else None,
                    source=f"{self.spec.id}/{self.run.run_id}",
                    system=self.run.subject.name if self.run.subject.type == "ai_system" else None,
                )
            self.emit(
                SpawnRun(
                    key=self.key(f"{step.id}/{attempt}/spawn/{n}"),
                    run_id=self.run.run_id,
                    child_run_id=child_id,
                    workflow=step.workflow,
                    inputs=inputs,
                    finding=finding,
                    subject=None if finding else self.run.subject,
                    parent_run_id=self.run.run_id if step.wait else None,
                )
            )
            children.append(ChildRun(run_id=child_id, workflow=step.workflow))
        self.record(
            "run.spawned",
            {"workflow": step.workflow, "runs": [c.run_id for c in children], "wait": step.wait},
            step_id=step.id,
        )
        if step.wait and children:
            self.run.children = children
            return None
        self.run.data[step.id] = {"runs": [c.run_id for c in children], "count": len(children)}
        return self.spec.next_of(step.id)

    def _on_child_completed(self) -> None:
        child_id, outcome = (
            self.event.data.get("run_id"),
            self.event.data.get("status", "completed"),
        )
        if outcome not in ("completed", "cancelled", "failed"):
            self.ignored = f"unknown child run status {outcome!r}"
            return
        child = next((c for c in self.run.children if c.run_id == child_id), None)
        if child is None or child.status != "running":
            self.ignored = f"not waiting for run {child_id}"
            return
        child.status = outcome
        self.record(
            "child.finished", {"run_id": child_id, "status": outcome}, step_id=self.run.current
        )
        if all(c.status != "running" for c in self.run.children):
            step_id = self.run.current
            self.run.data[step_id] = {
                "runs": [c.run_id for c in self.run.children],
                "count": len(self.run.children),
            }
            self.run.children = []
            self.goto(self.spec.next_of(step_id))
