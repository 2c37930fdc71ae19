"""Approvals in the unit of work: the approval row a decision names, and the decision event
completed with what only the runtime knows (the step, the content the request showed when the
approver did not say, and who is eligible to decide)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Table, bindparam, select

from ..engine import ApprovalDecided
from ..engine.state import RunState
from ..errors import NotFound
from ..spec.model import ApprovalStep, WorkflowSpec
from ..store._fast import Prepared
from ..store.models import Approval, Evidence

__all__ = ["approval_row", "addressed_decision", "approved_request"]

_APPROVALS: Table = Approval.__table__

# compiled once per dialect: every decision reads its approval (see store/_fast)
_APPROVAL_BY_ID = Prepared(
    select(_APPROVALS).where(_APPROVALS.c.approval_id == bindparam("b_approval_id")),
    ("b_approval_id",),
)
_APPROVAL_KEYS = tuple(_APPROVALS.c.keys())


def approval_row(conn: Connection, approval_id: str) -> dict[str, Any]:
    """The approval projection row; NotFound names the approval."""
    row = _APPROVAL_BY_ID.first(conn, {"b_approval_id": approval_id})
    if row is None:
        raise NotFound(f"no approval '{approval_id}'", hint="see `aims approvals list`")
    return dict(zip(_APPROVAL_KEYS, row, strict=True))


def approved_request(conn: Connection, run_id: str, step_ids: tuple[str, ...]) -> str | None:
    """The id of the latest approved request of one of ``step_ids`` in a run, if any: what an
    effect of the run names as the approval that decided it."""
    return conn.scalar(
        select(_APPROVALS.c.approval_id)
        .where(
            _APPROVALS.c.run_id == run_id,
            _APPROVALS.c.step_id.in_(step_ids),
            _APPROVALS.c.status == "approved",
        )
        .order_by(_APPROVALS.c.requested_at.desc())
        .limit(1)
    )


def addressed_decision(
    conn: Connection,
    event: ApprovalDecided,
    row: dict[str, Any],
    run: RunState,
    spec: WorkflowSpec,
    eligible_approvers: Callable[..., list[str]],
) -> ApprovalDecided:
    """``event`` (an ``approval.decided`` naming its approval) as the engine takes it: with the
    step, the content hash (the current one when the approver's tool did not say what they
    saw) and the people eligible to decide (segregation of duties applied)."""
    eligible = eligible_approvers(
        row["approvers"],
        run.subject.owner,
        # the row names an approval step: step(..., ApprovalStep) checks it is one
        forbidden_roles=spec.step(row["step_id"], ApprovalStep).separation.forbidden_roles,
        # the role holders: a delegate stands in for one of them, never counts as one more
        delegates=False,
        conn=conn,  # on the decision's snapshot, not a connection of their own
    )
    return event.model_copy(
        update={
            "content_hash": event.content_hash or row["content_hash"],
            "eligible": tuple(eligible),
            "edited_by": answers_changed_by(conn, run.run_id),
            "closed_note": closed_note(conn, row),
        }
    )


def closed_note(conn: Connection, row: dict[str, Any]) -> str | None:
    """How a request that is no longer open ended, for whoever decides after: the first
    decision wins, and later clicks are told who decided and when."""
    status = row["status"]
    if status == "open":
        return None
    at = row.get("closed_at")
    when = f" at {at:%Y-%m-%d %H:%M} UTC" if at else ""
    if status in ("approved", "rejected"):
        decided = [
            json.loads(payload)
            for (payload,) in conn.execute(
                select(_CHANGES.c.payload)
                .where(_CHANGES.c.run_id == row["run_id"], _CHANGES.c.kind == "approval.decided")
                .order_by(_CHANGES.c.seq)
            )
        ]
        who = [
            d["person"] + (f" for {d['on_behalf_of']}" if d.get("on_behalf_of") else "")
            for d in decided
            if d.get("approval_id") == row["approval_id"]
        ]
        by = f" by {', '.join(who)}" if who else ""
        return f"this request was already {status}{by}{when}; your decision was not recorded"
    if status == "expired":
        return (
            f"this request expired{when} without a decision and was asked again of an "
            "alternate approver; your decision was not recorded"
        )
    if status == "invalidated":
        return (
            f"this request was replaced by a newer request{when}: the answers it showed "
            "changed, and a fresh request has been sent"
        )
    return f"this request is {status}{when}; your decision was not recorded"


_CHANGES = Evidence.__table__
# compiled once per dialect: every decision reads it (see store/_fast)
_ANSWERS_CHANGED = Prepared(
    select(_CHANGES.c.step_id, _CHANGES.c.actor)
    .where(_CHANGES.c.run_id == bindparam("b_run_id"), _CHANGES.c.kind == "task.answers_changed")
    .order_by(_CHANGES.c.seq),
    ("b_run_id",),
)


def answers_changed_by(conn: Connection, run_id: str) -> tuple[tuple[str, str], ...]:
    """(step id, person) for every change of a completed task's answers in the run, from the
    ledger: whoever changed the answers took part in them, so segregation of duties counts
    them as it counts whoever completed the task."""
    rows = _ANSWERS_CHANGED.all(conn, {"b_run_id": run_id})
    return tuple(dict.fromkeys((str(step), str(actor)) for step, actor in rows if step))
