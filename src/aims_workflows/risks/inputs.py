"""What a risk workflow is started with, read from the register: how a re-assessment starts from
the current risks rather than from a blank form.

The engine never reads the database, so the register reaches a run as inputs, filled in when
the run starts (``Runtime._start``), only for the inputs its workflow declares:

* ``current_register``, ``current_risk_ids`` (ai-risk-assessment): the system's open risks, one
  line each, and their ids (the task shows the first; its form checks answers against the second).
* ``risk`` with ``risk_id``, ``risk_title``, ``previous``... (ai-risk): a register id to re-rate,
  checked and looked up, or the title of a new risk.
* ``risk_id`` of a run started by another (risk-treatment): the risk its spawning run recorded.
* ``register_links``, ``register_risk_ids``, ``register_chosen`` (soa-review, any subject): the
  open risks whose treatments chose Annex A controls, one ``RISK-n: A.x.y, A.x.y`` line each
  (the draft starts from them), every id in the register (the only ids a link may name) and the
  controls those risks chose (an exclusion of one is refused unless justified against them).
"""

from __future__ import annotations

import difflib
import re
from datetime import date
from typing import Any

from sqlalchemy import Connection, select

from ..engine.state import Subject
from ..errors import EngineError
from ..spec.model import WorkflowSpec
from ..store.models_risks import Risk

__all__ = ["register_inputs", "register_lines", "reads_register", "soa_link_inputs"]

_RISKS = Risk.__table__
_RISK_ID = re.compile(r"^\s*(RISK-\d+)\s*$", re.IGNORECASE)


def register_inputs(
    conn: Connection,
    spec: WorkflowSpec,
    subject: Subject,
    inputs: dict[str, Any] | None,
    spawned_by: str | None = None,
) -> dict[str, Any] | None:
    """``inputs`` with the register's values added where ``spec`` declares them and they are
    not given. An unknown register id is an :class:`EngineError` naming the close matches."""
    if not reads_register(spec, subject):
        return inputs
    declared = {d.id for d in spec.inputs}
    given = dict(inputs or {})
    if set(SOA_LINK_INPUTS) <= declared:
        for name, value in soa_link_inputs(conn).items():
            given.setdefault(name, value)
    if {"current_register", "current_risk_ids"} <= declared:
        rows = _open_risks(conn, subject.name)
        given.setdefault("current_register", "\n".join(register_lines(rows)))
        given.setdefault("current_risk_ids", " ".join(r.risk_id for r in rows))
    if "risk" in declared and "risk_title" in declared and given.get("risk") is not None:
        given.update(_risk_to_analyse(conn, subject, str(given["risk"]), declared))
    if "risk_id" in declared and "risk_id" not in given and spawned_by:
        recorded = conn.scalar(select(_RISKS.c.risk_id).where(_RISKS.c.last_run_id == spawned_by))
        if recorded:
            given["risk_id"] = recorded
    return given


def reads_register(spec: WorkflowSpec, subject: Subject) -> bool:
    """Whether a run of ``spec`` on ``subject`` starts from the risk register's values."""
    declared = {d.id for d in spec.inputs}
    if set(SOA_LINK_INPUTS) <= declared:
        return True
    return subject.type == "ai_system" and bool(declared & {"current_register", "risk", "risk_id"})


SOA_LINK_INPUTS = ("register_links", "register_risk_ids", "register_chosen")


def soa_link_inputs(conn: Connection) -> dict[str, str]:
    """The register as the SoA review starts from it (see the module's text)."""
    from .queries import list_risks

    links = []
    chosen: set[str] = set()
    for risk in list_risks(conn, today=date.today(), open_only=True):
        controls = risk["controls"]
        if controls:
            links.append(f"{risk['risk_id']}: {', '.join(controls)}")
            chosen.update(controls)
    every = conn.scalars(select(_RISKS.c.risk_id).order_by(_RISKS.c.seq)).all()
    return {
        "register_links": "\n".join(links),
        "register_risk_ids": " ".join(every),
        "register_chosen": " ".join(sorted(chosen)),
    }


def register_lines(rows: list[Any]) -> list[str]:
    """One line per risk, as a task shows the register."""
    lines = []
    for r in rows:
        line = f"{r.risk_id}: {r.title} - {r.level or 'not rated'}, score {_fmt(r.score)}"
        if r.treatment:
            line += f"; treatment {r.treatment}"
            if r.target_date and r.treatment != "accept":
                line += f" by {r.target_date}"
        lines.append(line)
    return lines


def _risk_to_analyse(
    conn: Connection, subject: Subject, risk: str, declared: set[str]
) -> dict[str, Any]:
    match = _RISK_ID.match(risk)
    if match is None:  # the title of a new risk
        return {"risk_title": risk.strip(), "risk_id": ""}
    risk_id = match.group(1).upper()
    rows = _open_risks(conn, subject.name)
    row = next((r for r in rows if r.risk_id == risk_id), None)
    if row is None:
        ids = [r.risk_id for r in rows]
        close = difflib.get_close_matches(risk_id, ids, n=3, cutoff=0.5)
        raise EngineError(
            f"{risk_id} is not an open risk of {subject.name}",
            hint=(f"did you mean {' or '.join(close)}? " if close else "")
            + (f"its open risks are {', '.join(ids)}" if ids else "it has no open risks yet")
            + " (aims risks list --system NAME); to add a risk, pass its title instead",
        )
    values: dict[str, Any] = {
        "risk_id": risk_id,
        "risk_title": row.title,
        "previous": register_lines([row])[0],
        "previous_score": row.score,
        "previous_level": row.level or "",
    }
    return {k: v for k, v in values.items() if k in declared}


def _open_risks(conn: Connection, system: str) -> list[Any]:
    return list(
        conn.execute(
            select(_RISKS)
            .where(_RISKS.c.system_name == system, _RISKS.c.status == "open")
            .order_by(_RISKS.c.seq)
        )
    )


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    return str(int(value)) if float(value).is_integer() else str(value)
