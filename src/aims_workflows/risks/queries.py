"""Reading the risk register: the risks, one risk's history, overdue treatment actions, and the
register as exported (``aims risks``, the audit pack, the KPIs).

Every function takes a connection and returns plain dicts and lists (JSON-ready), so the CLI,
the pack writer and the KPI code format them as they need.

>>> with db.connect() as conn:                                     # doctest: +SKIP
...     [late] = overdue_treatments(conn, date(2026, 6, 1))
...     late["risk_id"], late["days_overdue"]
('RISK-4', 12)
"""

from __future__ import annotations

import difflib
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, func, or_, select

from ..errors import NotFound
from ..store.models_risks import Risk, RiskEvent, RiskTreatment

__all__ = [
    "REGISTER_COLUMNS",
    "list_risks",
    "risk_history",
    "overdue_treatments",
    "count_overdue_treatments",
    "treatments_of",
]

_RISKS = Risk.__table__
_EVENTS = RiskEvent.__table__
_TREATMENTS = RiskTreatment.__table__

REGISTER_COLUMNS: tuple[str, ...] = (
    "risk_id",
    "system",
    "title",
    "status",
    "level",
    "score",
    "inherent",
    "residual",
    "treatment",
    "treatment_status",
    "controls",
    "sources",
    "affected_parties",
    "owner",
    "action_owner",
    "target_date",
    "accepted_by",
    "acceptance_level",
    "close_reason",
    "last_run_id",
    "updated_at",
)
"""The register export's columns, in order (``aims risks list --format csv``, the audit pack)."""


def list_risks(
    conn: Connection,
    *,
    today: date,
    system: str | None = None,
    open_only: bool = False,
) -> list[dict[str, Any]]:
    """The register, one dict per risk (keys: :data:`REGISTER_COLUMNS`), by system then id."""
    query = select(_RISKS).order_by(_RISKS.c.system_name, _RISKS.c.seq)
    if system is not None:
        query = query.where(_RISKS.c.system_name == system)
    if open_only:
        query = query.where(_RISKS.c.status == "open")
    rows = conn.execute(query).all()
    statuses = _treatment_status(conn, [r.risk_id for r in rows], today)
    return [_register_row(r, statuses.get(r.risk_id, "")) for r in rows]


def risk_history(conn: Connection, risk_id: str, *, today: date) -> dict[str, Any]:
    """One risk as it stands, with its history (oldest first) and its treatment actions.

    An unknown id is a :class:`~aims_workflows.errors.NotFound` naming the closest ids in the
    register."""
    wanted = risk_id.strip().upper()
    row = conn.execute(select(_RISKS).where(_RISKS.c.risk_id == wanted)).first()
    if row is None:
        known = list(conn.scalars(select(_RISKS.c.risk_id).order_by(_RISKS.c.seq)))
        close = difflib.get_close_matches(wanted, known, n=3, cutoff=0.5)
        raise NotFound(
            f"no risk {risk_id!r} in the register",
            hint=(f"did you mean {' or '.join(close)}? " if close else "")
            + "see `aims risks list`",
        )
    statuses = _treatment_status(conn, [wanted], today)
    events = conn.execute(
        select(_EVENTS).where(_EVENTS.c.risk_id == wanted).order_by(_EVENTS.c.at, _EVENTS.c.id)
    ).all()
    return {
        **_register_row(row, statuses.get(wanted, "")),
        "fields": row.fields,
        "history": [
            {"at": e.at.isoformat(), "event": e.kind, "run_id": e.run_id, **e.details}
            for e in events
        ],
        "treatments": treatments_of(conn, wanted, today=today),
    }


def treatments_of(conn: Connection, risk_id: str, *, today: date) -> list[dict[str, Any]]:
    """The treatment actions of one risk, oldest first."""
    rows = conn.execute(
        select(_TREATMENTS)
        .where(_TREATMENTS.c.risk_id == risk_id)
        .order_by(_TREATMENTS.c.started_at, _TREATMENTS.c.run_id)
    ).all()
    return [_treatment_row(t, today) for t in rows]


def overdue_treatments(
    conn: Connection, today: date, *, system: str | None = None
) -> list[dict[str, Any]]:
    """Open treatment actions whose target date is before ``today``, most overdue first.

    Each: run_id, risk_id, system, risk, plan, action_owner, due_date, days_overdue."""
    query = (
        select(_TREATMENTS)
        .where(_TREATMENTS.c.status == "open", _TREATMENTS.c.due_date < today.isoformat())
        .order_by(_TREATMENTS.c.due_date, _TREATMENTS.c.run_id)
    )
    if system is not None:
        query = query.where(_TREATMENTS.c.system_name == system)
    return [_treatment_row(t, today) for t in conn.execute(query).all()]


def count_overdue_treatments(conn: Connection, at: datetime, systems: Any = None) -> int:
    """How many treatment actions were open and past their target date at ``at`` (now or a past
    moment: an action counts from its start until it was completed or cancelled); ``systems``,
    when given, is a selectable of AI system names to count for."""
    t = _TREATMENTS
    query = (
        select(func.count())
        .select_from(t)
        .where(
            t.c.started_at <= at,
            or_(t.c.completed_at.is_(None), t.c.completed_at > at),
            t.c.due_date < at.date().isoformat(),
        )
    )
    if systems is not None:
        query = query.where(t.c.system_name.in_(systems))
    return conn.scalar(query) or 0


# -- rows ---------------------------------------------------------------------------------------
def _register_row(r: Any, treatment_status: str) -> dict[str, Any]:
    fields = r.fields or {}
    return {
        "risk_id": r.risk_id,
        "system": r.system_name,
        "title": r.title,
        "status": r.status,
        "level": r.level,
        "score": _number(r.score),
        "inherent": _rating(r.inherent_score, r.inherent_level),
        "residual": _rating(r.residual_score, r.residual_level),
        "treatment": r.treatment,
        "treatment_status": treatment_status,
        "controls": _controls(fields.get("controls")),
        "sources": list(fields.get("sources") or []),
        "affected_parties": fields.get("affected_parties"),
        "owner": r.owner,
        "action_owner": r.action_owner,
        "target_date": r.target_date,
        "accepted_by": list(fields.get("accepted_by") or []),
        "acceptance_level": fields.get("acceptance_level"),
        "close_reason": r.close_reason,
        "last_run_id": r.last_run_id,
        "updated_at": r.updated_at.isoformat(),
    }


def _treatment_row(t: Any, today: date) -> dict[str, Any]:
    overdue = t.status == "open" and t.due_date < today.isoformat()
    return {
        "run_id": t.run_id,
        "risk_id": t.risk_id,
        "system": t.system_name,
        "risk": t.risk_title,
        "treatment": t.treatment,
        "plan": t.plan,
        "action_owner": t.action_owner,
        "due_date": t.due_date,
        "status": "overdue" if overdue else t.status,
        "days_overdue": (today - date.fromisoformat(t.due_date)).days if overdue else 0,
        "completed_at": t.completed_at.isoformat() if t.completed_at else None,
    }


def _treatment_status(conn: Connection, risk_ids: list[str], today: date) -> dict[str, str]:
    """Each risk's latest treatment action: open, overdue, done, partly_done, not_done..."""
    if not risk_ids:
        return {}
    rows = conn.execute(
        select(_TREATMENTS.c.risk_id, _TREATMENTS.c.status, _TREATMENTS.c.due_date)
        .where(_TREATMENTS.c.risk_id.in_(risk_ids))
        .order_by(_TREATMENTS.c.started_at, _TREATMENTS.c.run_id)
    ).all()
    found: dict[str, str] = {}
    for risk_id, status, due in rows:  # the latest wins
        found[risk_id] = "overdue" if status == "open" and due < today.isoformat() else status
    return found


def _controls(value: Any) -> list[str]:
    if isinstance(value, str):  # ai-risk-assessment asks for them as text: "A.6.2.4, A.7.4"
        return [c.strip() for c in value.split(",") if c.strip()]
    return [str(c) for c in value or []]


def _number(value: float | None) -> int | float | None:
    if value is None:
        return None
    return int(value) if float(value).is_integer() else value


def _rating(score: float | None, level: str | None) -> str | None:
    if score is None:
        return None
    return f"{_number(score)} ({level})" if level else str(_number(score))
