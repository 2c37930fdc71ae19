"""What ``aims approvals list`` shows of each open approval: the workflow, the subject, the
step's title, who may still decide and how long it has waited; and, when nobody may decide,
that it is blocked, why, and what fixes it (rather than an approval that looks merely open)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

__all__ = ["PendingApproval", "pending_approvals", "age_text"]


@dataclass(frozen=True)
class PendingApproval:
    approval_id: str
    run_id: str
    workflow: str
    subject: str
    step: str
    title: str
    may_decide: list[str]
    decided: list[str]
    requested_at: datetime
    age: timedelta
    blocked: str | None
    """Why nobody may decide, and the fix; ``None`` when someone may."""

    def as_row(self) -> dict[str, Any]:
        return {
            "approval": self.approval_id,
            "run": self.run_id,
            "workflow": self.workflow,
            "subject": self.subject,
            "step": self.step,
            "title": self.title,
            "may_decide": ", ".join(self.may_decide) if not self.blocked else "",
            "decided": ", ".join(self.decided),
            "age": age_text(self.age),
            "requested": f"{self.requested_at:%Y-%m-%d %H:%M}",
            "status": f"BLOCKED: {self.blocked}" if self.blocked else "open",
        }


def age_text(age: timedelta) -> str:
    if age >= timedelta(days=1):
        return f"{age.days}d"
    hours = int(age.total_seconds() // 3600)
    return f"{hours}h" if hours else f"{int(age.total_seconds() // 60)}m"


def _title(spec: Any, run: Any, step: Any) -> str:
    from ..engine._context import expression_context
    from ..spec.expressions import ExpressionError, render

    if not step.title:
        return f"{spec.title}: {run.subject.name}"
    try:
        return render(step.title, expression_context(run))
    except ExpressionError:
        return str(step.title)


def _blocked(app: Any, spec: Any, run: Any, step: Any, still: list[str], need: int) -> str | None:
    from ..engine.steps.approvals import excluded_people

    if len(still) >= need:
        return None
    roles = list(step.approvers)
    holders = {p for role in roles for p in app.runtime.people_in(role, run.subject.owner)}
    fix = f"add someone to roles.{roles[0]} in aims.yaml" if roles else "edit aims.yaml"
    if not holders:
        return f"nobody holds {' or '.join(roles)} in aims.yaml; fix: {fix}"
    excluded = set(excluded_people(run, step))
    forbidden = set(step.separation.forbidden_roles)
    ruled_out = sorted(
        p for p in holders if p in excluded or forbidden & set(app.runtime.role_holders.roles_of(p))
    )
    if ruled_out and not still:
        return (
            f"segregation of duties rules out {', '.join(ruled_out)}, the only holder(s) of "
            f"{' or '.join(roles)}; fix: {fix} who did not take part"
        )
    return (
        f"{need} more decision(s) needed but only {len(still)} person(s) may still decide; "
        f"fix: {fix}"
    )


def pending_approvals(app: Any) -> list[PendingApproval]:
    from sqlalchemy import select

    from ..spec.model import ApprovalStep
    from ..store import runs as run_store
    from ..store.models import Approval

    now = app.runtime.clock.now()
    t = Approval.__table__
    result: list[PendingApproval] = []
    with app.db.connect() as conn:
        rows = conn.execute(select(t).where(t.c.status == "open").order_by(t.c.requested_at)).all()
        for row in rows:
            run, _ = run_store.load(conn, row.run_id)
            spec = app.runtime.specs.by_hash(conn, run.spec_hash)
            step = spec.step(row.step_id, ApprovalStep)
            eligible = app.runtime.eligible_approvers(
                step.approvers,
                run.subject.owner,
                exclude=_excluded(run, step),
                forbidden_roles=step.separation.forbidden_roles,
            )
            current = (
                run.approval
                if run.approval and run.approval.approval_id == row.approval_id
                else None
            )
            decided = [d.person for d in current.decisions] if current else []
            still = [p for p in eligible if p not in decided]
            approvals_so_far = sum(
                1 for d in (current.decisions if current else ()) if d.decision == "approve"
            )
            if step.quorum == "any":
                need = 1
            elif step.quorum == "all":
                need = len(still)
            else:
                need = max(0, int(step.quorum) - approvals_so_far)
            result.append(
                PendingApproval(
                    approval_id=row.approval_id,
                    run_id=row.run_id,
                    workflow=spec.id,
                    subject=run.subject.name,
                    step=row.step_id,
                    title=_title(spec, run, step),
                    may_decide=still,
                    decided=decided,
                    requested_at=row.requested_at,
                    age=now - row.requested_at,
                    blocked=_blocked(app, spec, run, step, still, max(need, 1)),
                )
            )
    return result


def _excluded(run: Any, step: Any) -> list[str]:
    from ..engine.steps.approvals import excluded_people

    return excluded_people(run, step)
