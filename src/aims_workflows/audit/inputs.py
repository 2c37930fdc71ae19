"""What an internal audit is started with: the areas the approved audit programme plans for the
period the run starts in, so that every way of starting one (``aims audit start``, ``aims
start``, the yearly schedule) audits what the programme says, from the one source ``aims audit
due`` also reads.

The engine never reads the database, so the programme reaches a run as inputs, filled in when
the run starts, only for a workflow that declares both ``programme_reference`` and
``programme_areas``, and only where the starting party gave no areas itself.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Connection

from ..spec.model import WorkflowSpec
from .approved import ApprovedProgramme, ScheduledArea, approved_programme

__all__ = ["PROGRAMME_INPUTS", "area_input", "programme_inputs", "reads_programme"]

PROGRAMME_INPUTS = frozenset({"programme_reference", "programme_areas"})


def reads_programme(spec: WorkflowSpec) -> bool:
    """Whether runs of ``spec`` start from the approved audit programme's areas."""
    declared = {d.id for d in spec.inputs if d.id in PROGRAMME_INPUTS}
    kinds = {d.id: d.type for d in spec.inputs}
    return declared == PROGRAMME_INPUTS and kinds["programme_areas"] == "list"


def area_input(area: ScheduledArea) -> dict[str, Any]:
    """One planned area as a run's ``programme_areas`` item."""
    return {
        "area": area.area,
        "covers": [c.strip() for c in area.covers.split(",") if c.strip()],
        "period": area.period,
    }


def due_inputs(programme: ApprovedProgramme, on: date) -> dict[str, Any]:
    """The programme's reference and the areas it plans for the quarter ``on`` falls in."""
    return {
        "programme_reference": programme.reference,
        "programme_areas": [area_input(a) for a in programme.due(on)],
    }


def programme_inputs(
    conn: Connection, spec: WorkflowSpec, inputs: dict[str, Any] | None, on: date
) -> dict[str, Any] | None:
    """``inputs`` with the approved programme's areas for ``on`` added when ``spec`` reads them
    and none were given; unchanged while no programme is approved (the run says so)."""
    if not reads_programme(spec) or (inputs or {}).get("programme_areas") is not None:
        return inputs
    programme = approved_programme(conn)
    if programme is None:
        return inputs
    return {**due_inputs(programme, on), **(inputs or {})}
