"""The risk register as the audit pack carries it: ``risks.csv`` (one row per risk, as it stands
at export time), ``risk_treatments.csv`` (every treatment action, with overdue ones marked),
``risk_history.csv`` (every assessment, re-rating, closure and treatment step, each naming the
run whose ledger rows it came from) and ``risks.json`` (all three, nested per risk).

Each table is ``(header, rows)`` for the pack's CSV writer, which defuses formula-like text.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from typing import Any

from sqlalchemy import Connection, select

from ..store.models_risks import RiskEvent, RiskTreatment
from .queries import REGISTER_COLUMNS, list_risks, risk_history, treatments_of

__all__ = ["register_table", "treatments_table", "history_table", "register_json"]

Table = tuple[list[str], Iterator[list[Any]]]

_TREATMENT_COLUMNS = [
    "run_id",
    "risk_id",
    "system",
    "risk",
    "treatment",
    "plan",
    "action_owner",
    "due_date",
    "status",
    "days_overdue",
    "completed_at",
]


def register_table(conn: Connection, today: date) -> Table:
    rows = list_risks(conn, today=today)
    return list(REGISTER_COLUMNS), iter([[r[c] for c in REGISTER_COLUMNS] for r in rows])


def treatments_table(conn: Connection, today: date) -> Table:
    t = RiskTreatment.__table__
    ids = conn.scalars(select(t.c.risk_id).distinct().where(t.c.risk_id.is_not(None))).all()
    rows = [row for risk_id in sorted(ids) for row in treatments_of(conn, risk_id, today=today)]
    return _TREATMENT_COLUMNS, iter([[r[c] for c in _TREATMENT_COLUMNS] for r in rows])


def history_table(conn: Connection) -> Table:
    e = RiskEvent.__table__
    events = conn.execute(select(e).order_by(e.c.at, e.c.id)).all()
    header = ["risk_id", "at", "event", "run_id", "details"]
    return header, iter(
        [
            [ev.risk_id, ev.at, ev.kind, ev.run_id, json.dumps(ev.details, sort_keys=True)]
            for ev in events
        ]
    )


def register_json(conn: Connection, today: date) -> str:
    """Every risk with its history and treatment actions, as one JSON document."""
    risks = [risk_history(conn, r["risk_id"], today=today) for r in list_risks(conn, today=today)]
    return json.dumps({"as_of": today.isoformat(), "risks": risks}, indent=2, default=str) + "\n"
