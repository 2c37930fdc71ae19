"""Moving an AI system into or out of the AIMS scope: asked for with a reason, decided by top
management in the ``ai-system-scope-change`` workflow, applied to the inventory only on approval.

Which systems are in scope is the denominator of the coverage KPIs and of the readiness check:
taking an unassessed system out of scope turns a failing figure into a passing one. So the flag
never changes at the word of whoever edits the inventory; the request starts a run, and the
change is made (with the approver recorded as the one who made it) when that run completes
with an approval.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from ..errors import InventoryError
from ..store import inventory as inventory_store
from ..store import runs as run_store
from ..store.models import Run
from .model import AISystemRecord

__all__ = [
    "SCOPE_CHANGE_WORKFLOW",
    "DECISION_STEP",
    "refuse_unreasoned",
    "decided_change",
    "waiting_request",
]

SCOPE_CHANGE_WORKFLOW = "ai-system-scope-change"
DECISION_STEP = "decision"
"""The record step of the workflow whose fields say what was decided."""

_MAX_REASON = 2000


def _word(in_scope: bool) -> str:
    return "in scope" if in_scope else "out of scope"


def refuse_unreasoned(
    name: str, record: AISystemRecord, row: dict[str, Any], reason: str | None
) -> str | None:
    """The reason to give the scope-change run, or None when ``in_scope`` does not change;
    :class:`InventoryError` saying what to add when the change cannot be requested like this."""
    if bool(record.in_scope) == bool(row["in_scope"]):
        return None
    wanted = "true" if record.in_scope else "false"
    text = (reason or "").strip()
    if not text:
        raise InventoryError(
            f"taking '{row['name']}' {_word(record.in_scope)} needs a reason and the approval of "
            "top management; the inventory is unchanged",
            hint=f"aims systems set {name!r} in_scope={wanted} --reason 'why the scope changes'",
        )
    if len(text) > _MAX_REASON:
        raise InventoryError(
            f"the reason is {len(text)} characters; at most {_MAX_REASON}",
            hint="give the gist here and link the full argument",
        )
    current = inventory_store.record_of(row)
    others = sorted(
        k for k, v in record.model_dump().items() if k != "in_scope" and v != current.get(k)
    )
    if others:
        raise InventoryError(
            f"in_scope waits for approval, so it cannot be changed together with "
            f"{', '.join(others)}; nothing was changed",
            hint=f"change {', '.join(others)} first, then in_scope on its own with --reason",
        )
    return text


def waiting_request(conn: Connection, system_id: int | str) -> str | None:
    """The scope-change run still waiting for a decision about this system, if any."""
    runs = Run.__table__
    return conn.scalar(
        select(runs.c.id)
        .where(
            runs.c.workflow_id == SCOPE_CHANGE_WORKFLOW,
            runs.c.subject_type == "ai_system",
            runs.c.subject_id == str(system_id),
            runs.c.status.in_(("new", "running", "waiting")),
        )
        .order_by(runs.c.started_at)
        .limit(1)
    )


def decided_change(
    conn: Connection, run_id: str
) -> tuple[dict[str, Any], AISystemRecord, str] | None:
    """What the completed scope-change run ``run_id`` decided, as (the system's row, its record
    with the approved flag, the approver), or None when there is nothing to apply: the change
    was refused, or the system is already where the decision puts it."""
    run, _ = run_store.load(conn, run_id)
    decision = run.data.get(DECISION_STEP) or {}
    if decision.get("outcome") != "approved":
        return None
    row = inventory_store.get(conn, int(run.subject.id))
    wanted = bool(decision.get("in_scope"))
    if bool(row["in_scope"]) == wanted:
        return None
    approver = str((decision.get("decided_by") or ["aims"])[-1])
    record = AISystemRecord.model_validate({**inventory_store.record_of(row), "in_scope": wanted})
    return row, record, approver
