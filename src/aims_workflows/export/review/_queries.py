"""Helpers shared by the sections of the management-review pack: period tests, chunked
reads of the ledger by run id, and capped tallies."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any, TypeVar

from pydantic import ValidationError
from sqlalchemy import Connection, and_, select

from ...engine.evidence_kinds import ArtefactRecorded, EvidencePayload
from ...store.models import Approval, Evidence, Finding, Run, StepRecord
from ..period import ClosedPeriod
from .model import Tally

__all__ = [
    "APPROVALS",
    "EVIDENCE",
    "FINDINGS",
    "INTERNAL_AUDIT",
    "REVIEW_ACTION",
    "RUNS",
    "STEPS",
    "artefacts_of",
    "between",
    "capped_tally",
    "chunked",
    "days_between",
    "is_open_at",
    "ledger_of",
    "mean_of",
    "parse_time",
    "within",
]


RUNS, STEPS, APPROVALS = Run.__table__, StepRecord.__table__, Approval.__table__
FINDINGS, EVIDENCE = Finding.__table__, Evidence.__table__
REVIEW_ACTION = "review-action"
INTERNAL_AUDIT = "internal-audit"
"""The shipped workflows whose runs the pack reads beside the management review itself."""
_CHUNK = 500
_Payload = TypeVar("_Payload", bound=EvidencePayload)


def within(period: ClosedPeriod, moment: datetime | None) -> bool:
    return moment is not None and period.start <= moment < period.end


def between(column, period: ClosedPeriod):
    """The SQL condition for a moment inside the period (half-open, like :meth:`Period.end`)."""
    return and_(column >= period.start, column < period.end)


def is_open_at(start: datetime | None, end: datetime | None, at: datetime) -> bool:
    return start is not None and start <= at and (end is None or end > at)


def chunked(items: list[str]) -> Iterator[list[str]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]


def ledger_of(
    conn: Connection, run_ids: Iterable[str], model: type[_Payload]
) -> Iterator[tuple[str, str, _Payload]]:
    """(run, recorded_at, payload) of these runs' rows of one kind, in ledger order: read through
    the run_id index, never a scan of the ledger.

    The kind is picked here rather than in SQL: given both, SQLite (without statistics) walks
    the kind index, which on a million-row ledger means every row of that kind for each chunk.
    A run has a few dozen rows, so reading all of them costs nothing."""
    e = EVIDENCE
    for chunk in chunked(sorted(set(run_ids))):
        query = (
            select(e.c.run_id, e.c.kind, e.c.recorded_at, e.c.payload)
            .where(e.c.run_id.in_(chunk))
            .order_by(e.c.seq)
        )
        for run_id, kind, recorded_at, payload in conn.execute(query):
            if kind != model.KIND:
                continue
            try:
                parsed = model.model_validate_json(payload)
            except ValidationError:
                # a row that does not fit its kind's contract says nothing the pack can use;
                # whether the row is intact is the chain check's business
                continue
            yield run_id, recorded_at, parsed


def artefacts_of(conn: Connection, run_ids: Iterable[str]) -> dict[str, dict[str, dict[str, Any]]]:
    """run -> artefact name -> its fields (the last one recorded, as a rework replaces it)."""
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for run_id, _, recorded in ledger_of(conn, run_ids, ArtefactRecorded):
        found.setdefault(run_id, {})[recorded.artefact] = recorded.fields
    return found


def parse_time(recorded_at: str) -> datetime:
    return datetime.fromisoformat(recorded_at.replace("Z", "+00:00"))


def mean_of(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def days_between(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 86400


_TALLY_ROWS = 20


def capped_tally(columns: tuple[str, ...], counts: dict[str, list[int]], others: str) -> Tally:
    """Rows by name; past ``_TALLY_ROWS`` names the smallest are summed into one row, so a source
    named per run cannot turn a summary table into a register."""
    names = sorted(counts)
    if len(names) > _TALLY_ROWS:
        names = sorted(counts, key=lambda name: (-sum(counts[name]), name))
        kept, rest = sorted(names[: _TALLY_ROWS - 1]), names[_TALLY_ROWS - 1 :]
        summed = [sum(counts[name][i] for name in rest) for i in range(len(columns))]
        return Tally(
            columns,
            [(name, tuple(counts[name])) for name in kept]
            + [(f"({len(rest)} {others})", tuple(summed))],
        )
    return Tally(columns, [(name, tuple(counts[name])) for name in names])
