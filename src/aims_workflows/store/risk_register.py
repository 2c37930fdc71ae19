"""The risk register, moved by the evidence of the risk workflows in the same transaction.

Why a projection and not a ledger scan: ``aims risks list``, the overdue-treatment KPI and the
start of every re-assessment (which shows the current register) read it, and each would
otherwise replay every risk artefact ever recorded. The ledger remains the record: every row
here is derived from one ledger row, and ``details`` of a history event names the run whose
evidence it came from.

What moves it:

* ``risk_register_entry`` (ai-risk-assessment, ai-risk): a new risk gets the next ``RISK-<n>``;
  an entry naming a ``risk_id`` re-rates that risk; an entry recorded again by the same run
  (an acceptance rejected and reworked) replaces its own. A risk stands at its inherent level
  while a treatment is open, at its residual level once accepted as it is or treated.
* ``risk_register_review`` (ai-risk-assessment): closures (``"RISK-3: reason"``) and the risks
  kept unchanged.
* the start of a ``risk-treatment`` run, its ``risk_treatment_result``, its cancellation.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from ..engine.state import RunState
from .models_risks import Risk, RiskEvent, RiskTreatment

__all__ = [
    "ENTRY_ARTEFACT",
    "REVIEW_ARTEFACT",
    "TREATMENT_ARTEFACT",
    "TREATMENT_WORKFLOW",
    "on_artefact",
    "on_run_started",
    "on_run_cancelled",
]

ENTRY_ARTEFACT = "risk_register_entry"
REVIEW_ARTEFACT = "risk_register_review"
TREATMENT_ARTEFACT = "risk_treatment_result"
TREATMENT_WORKFLOW = "risk-treatment"

_RISKS = Risk.__table__
_EVENTS = RiskEvent.__table__
_TREATMENTS = RiskTreatment.__table__
_RISK_ID = re.compile(r"^RISK-\d+$")


def on_artefact(
    conn: Connection, run: RunState, artefact: str, fields: dict[str, Any], now: datetime
) -> None:
    """Move the register for one recorded artefact (others are ignored)."""
    if artefact == ENTRY_ARTEFACT:
        _entry(conn, run, fields, now)
    elif artefact == REVIEW_ARTEFACT:
        _review(conn, run, fields, now)
    elif artefact == TREATMENT_ARTEFACT:
        _treatment_result(conn, run, fields, now)


def on_run_started(conn: Connection, run: RunState, now: datetime) -> None:
    """A risk-treatment run began: an open treatment action, due on its target date."""
    if run.spec_id != TREATMENT_WORKFLOW:
        return
    inputs = run.inputs
    risk_id = _text(inputs.get("risk_id"))
    conn.execute(
        insert(_TREATMENTS).values(
            run_id=run.run_id,
            risk_id=risk_id,
            system_name=run.subject.name,
            risk_title=str(inputs.get("risk_title") or ""),
            treatment=str(inputs.get("treatment") or ""),
            plan=str(inputs.get("plan") or ""),
            action_owner=str(inputs.get("action_owner") or ""),
            due_date=str(inputs.get("target_date") or "")[:10],
            status="open",
            started_at=now,
            completed_at=None,
        )
    )
    if risk_id:
        _event(
            conn,
            risk_id,
            now,
            "treatment started",
            run.run_id,
            plan=inputs.get("plan"),
            action_owner=inputs.get("action_owner"),
            due=inputs.get("target_date"),
        )


def on_run_cancelled(conn: Connection, run: RunState, now: datetime) -> None:
    """A cancelled treatment run is no longer an open (or overdue) action."""
    if run.spec_id != TREATMENT_WORKFLOW:
        return
    conn.execute(
        update(_TREATMENTS)
        .where(_TREATMENTS.c.run_id == run.run_id, _TREATMENTS.c.status == "open")
        .values(status="cancelled", completed_at=now)
    )


# -- register entries ---------------------------------------------------------------------------
def _entry(conn: Connection, run: RunState, fields: dict[str, Any], now: datetime) -> None:
    own = conn.execute(
        select(_RISKS.c.risk_id, _RISKS.c.created_at).where(_RISKS.c.last_run_id == run.run_id)
    ).first()
    named = _text(fields.get("risk_id"))
    previous = None
    if own is not None:  # the same run recorded its entry again after a rework
        risk_id, kind = own.risk_id, "re-recorded"
    elif named and (previous := _current(conn, named)) is not None:
        risk_id, kind = named, "re-rated"
    else:
        risk_id, kind = _next_id(conn), "identified"
    accepted_as_is = fields.get("treatment") == "accept"
    values = dict(
        system_name=run.subject.name,
        title=str(fields.get("risk") or ""),
        status="open",
        inherent_score=_number(fields.get("score")),
        inherent_level=_text(fields.get("level")),
        residual_score=_number(fields.get("residual_score")),
        residual_level=_text(fields.get("residual_level")),
        # until a treatment is done the risk is where the analysis found it
        score=_number(fields.get("residual_score" if accepted_as_is else "score")),
        level=_text(fields.get("residual_level" if accepted_as_is else "level")),
        treatment=_text(fields.get("treatment")),
        owner=_text(fields.get("owner")),
        action_owner=_text(fields.get("action_owner")),
        target_date=_text(fields.get("target_date")),
        fields={**fields, "risk_id": risk_id},
        last_run_id=run.run_id,
        updated_at=now,
        closed_at=None,
        close_reason=None,
    )
    if own is None and previous is None:
        seq = int(risk_id.split("-", 1)[1])
        conn.execute(insert(_RISKS).values(risk_id=risk_id, seq=seq, created_at=now, **values))
    else:
        conn.execute(update(_RISKS).where(_RISKS.c.risk_id == risk_id).values(**values))
    details: dict[str, Any] = {
        "inherent": _rating(fields, "score", "level"),
        "residual": _rating(fields, "residual_score", "residual_level"),
        "treatment": fields.get("treatment"),
        "controls": fields.get("controls"),
        "target_date": fields.get("target_date"),
        "accepted_by": fields.get("accepted_by"),
        "acceptance_level": fields.get("acceptance_level"),
    }
    if previous is not None:
        details["before"] = f"{_fmt(previous.score)} ({previous.level})"
    _event(conn, risk_id, now, kind, run.run_id, **details)


def _current(conn: Connection, risk_id: str) -> Any:
    return conn.execute(
        select(_RISKS.c.score, _RISKS.c.level).where(_RISKS.c.risk_id == risk_id)
    ).first()


def _next_id(conn: Connection) -> str:
    # Two transactions allocating at once on PostgreSQL both pick the same number; the unique
    # key refuses the second, whose unit of work is retried and picks the next one.
    seq = (conn.scalar(select(func.max(_RISKS.c.seq))) or 0) + 1
    return f"RISK-{seq}"


# -- register reviews ---------------------------------------------------------------------------
def _review(conn: Connection, run: RunState, fields: dict[str, Any], now: datetime) -> None:
    touched: set[str] = set()
    for line in fields.get("close") or []:
        key, _, reason = str(line).partition(":")
        risk_id, reason = key.strip(), reason.strip()
        if not _RISK_ID.match(risk_id):
            continue
        touched.add(risk_id)
        closed = conn.execute(
            update(_RISKS)
            .where(_RISKS.c.risk_id == risk_id, _RISKS.c.status == "open")
            .values(status="closed", closed_at=now, close_reason=reason, updated_at=now)
        )
        if closed.rowcount:
            _event(conn, risk_id, now, "closed", run.run_id, reason=reason)
    touched.update(str(r) for r in fields.get("rerate") or [])
    touched.add(str(fields.get("analysed_here") or ""))
    for risk_id in fields.get("previous_risk_ids") or []:
        if risk_id not in touched:
            _event(conn, str(risk_id), now, "kept", run.run_id, changes=fields.get("changes"))


# -- treatment actions --------------------------------------------------------------------------
def _treatment_result(
    conn: Connection, run: RunState, fields: dict[str, Any], now: datetime
) -> None:
    outcome = str(fields.get("outcome") or "")
    conn.execute(
        update(_TREATMENTS)
        .where(_TREATMENTS.c.run_id == run.run_id)
        .values(status=outcome[:12] or "done", completed_at=now)
    )
    risk_id = _text(fields.get("risk_id"))
    if not risk_id:
        return
    if outcome == "done":  # the treatment is in place: the risk is at its residual level
        conn.execute(
            update(_RISKS)
            .where(_RISKS.c.risk_id == risk_id, _RISKS.c.status == "open")
            .values(score=_RISKS.c.residual_score, level=_RISKS.c.residual_level, updated_at=now)
        )
    _event(
        conn,
        risk_id,
        now,
        f"treatment {outcome.replace('_', ' ')}",
        run.run_id,
        completed_on=fields.get("completed_on"),
        late=fields.get("late"),
        what_was_done=fields.get("what_was_done"),
        reason=fields.get("reason"),
        evidence_link=fields.get("evidence_link"),
        residual=_rating(fields, "residual_score", "residual_level") if outcome == "done" else None,
    )


# -- helpers ------------------------------------------------------------------------------------
def _event(
    conn: Connection, risk_id: str, at: datetime, kind: str, run_id: str, **details: Any
) -> None:
    conn.execute(
        insert(_EVENTS).values(
            risk_id=risk_id,
            at=at,
            kind=kind,
            run_id=run_id,
            details={k: v for k, v in details.items() if v is not None},
        )
    )


def _rating(fields: dict[str, Any], score: str, level: str) -> str | None:
    if fields.get(score) is None:
        return None
    return f"{_fmt(fields.get(score))} ({fields.get(level)})"


def _fmt(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _number(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None
