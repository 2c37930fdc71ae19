"""What the assessment results point at in the ledger: per control, the runs whose rows evidence it
(with the seq and hash of each run's latest such row), and the nonconformities open at the end of
the period with the row that raised them.

A control counts a ledger row exactly as the Statement of Applicability does (``Citations``: the
row's workflow version names the control for the whole run, or the row's step names it), so the
rows listed here add up to the SoA's evidence figure.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select

from ...catalog import normalise
from ...engine.evidence_kinds import FindingRaised
from ...store.models import Evidence, Finding, Run, SpecVersion
from ..citations import Citations, collect_citations
from ..ledger_slice import seq_range
from ..period import Period

__all__ = [
    "RunEvidence",
    "Nonconformity",
    "citations",
    "evidence_by_control",
    "open_nonconformities",
    "hashes_of",
]

_E, _R, _F = Evidence.__table__, Run.__table__, Finding.__table__
_IN_BATCH = 500  # ids per IN (...) list: well inside every driver's parameter limit


@dataclass(frozen=True)
class RunEvidence:
    """The rows one run wrote in the period that evidence one control."""

    run_id: str
    workflow: str
    version: int
    subject: str
    rows: int
    first_seq: int
    last_seq: int
    latest: str
    last_hash: str = ""


@dataclass(frozen=True)
class Nonconformity:
    id: str
    title: str
    severity: str
    source: str
    clause: str | None
    description: str | None
    system: str | None
    status: str
    raised_at: datetime
    corrective_run: str | None
    raised_seq: int | None
    raised_hash: str | None


def citations(conn: Connection, workflows: Iterable[Any]) -> Citations:
    """The same citations the SoA uses: loaded workflow files and the stored texts runs pinned."""
    v = SpecVersion.__table__
    stored = [
        (r.workflow_id, r.version, r.text)
        for r in conn.execute(select(v.c.workflow_id, v.c.version, v.c.text))
    ]
    return collect_citations(workflows, stored)


def evidence_by_control(
    conn: Connection, period: Period, controls: Iterable[str], cited: Citations, *, limit: int
) -> tuple[dict[str, list[RunEvidence]], dict[str, int]]:
    """Control id -> its runs with evidence in the period, newest first, at most ``limit`` each
    (with the hash of each listed run's latest row); and control id -> how many runs were left
    out."""
    bounds = seq_range(conn, period)
    wanted = list(controls)
    if bounds is None:
        return {c: [] for c in wanted}, {c: 0 for c in wanted}
    query = (
        select(
            _E.c.run_id,
            _R.c.workflow_id,
            _R.c.spec_version,
            _R.c.subject_name,
            _E.c.step_id,
            func.count(),
            func.min(_E.c.seq),
            func.max(_E.c.seq),
            func.max(_E.c.effective_at),
        )
        .select_from(_E.join(_R, _E.c.run_id == _R.c.id))
        .where(_E.c.seq >= bounds[0], _E.c.seq <= bounds[1])
        .group_by(_E.c.run_id, _R.c.workflow_id, _R.c.spec_version, _R.c.subject_name, _E.c.step_id)
    )
    wanted_set = frozenset(wanted)
    named: dict[tuple[Any, ...], frozenset[str]] = {}
    runs: dict[str, dict[str, list[Any]]] = {c: {} for c in wanted}
    for run_id, workflow, version, subject, step, count, first, last, latest in conn.execute(query):
        key = (workflow, version, step)
        if key not in named:
            # what counts_for would answer for each control, worked out once per (version, step)
            named[key] = frozenset(
                c for c in wanted_set if cited.counts_for((workflow, version), step, {c})
            )
        for control in named[key]:
            seen = runs[control].get(run_id)
            if seen is None:
                runs[control][run_id] = [workflow, version, subject, count, first, last, latest]
            else:
                seen[3] += count
                seen[4], seen[5], seen[6] = (
                    min(seen[4], first),
                    max(seen[5], last),
                    max(seen[6], latest),
                )
    listed: dict[str, list[RunEvidence]] = {}
    left_out: dict[str, int] = {}
    for control in wanted:
        ordered = sorted(runs[control].items(), key=lambda item: -item[1][5])
        listed[control] = [RunEvidence(run_id, *values) for run_id, values in ordered[:limit]]
        left_out[control] = max(0, len(ordered) - limit)
    hashes = hashes_of(conn, {r.last_seq for entries in listed.values() for r in entries})
    filled = {
        c: [replace(r, last_hash=hashes[r.last_seq]) for r in entries]
        for c, entries in listed.items()
    }
    return filled, left_out


def hashes_of(conn: Connection, seqs: set[int]) -> dict[int, str]:
    """seq -> hash of each of the ledger rows ``seqs``."""
    found: dict[int, str] = {}
    ordered = sorted(seqs)
    for start in range(0, len(ordered), _IN_BATCH):
        batch = ordered[start : start + _IN_BATCH]
        found.update(
            (seq, digest)
            for seq, digest in conn.execute(select(_E.c.seq, _E.c.hash).where(_E.c.seq.in_(batch)))
        )
    return found


def open_nonconformities(conn: Connection, period: Period) -> list[Nonconformity]:
    """Findings raised before the period ended and not closed by then (not closed at all when the
    period is open-ended), oldest first, each with the ledger row that raised it."""
    where: list[Any] = [_F.c.status != "closed"]
    if period.end is not None:
        where = [
            _F.c.raised_at < period.end,
            or_(
                _F.c.status != "closed",
                and_(_F.c.closed_at.is_not(None), _F.c.closed_at >= period.end),
            ),
        ]
    rows = conn.execute(select(_F).where(*where).order_by(_F.c.raised_at, _F.c.id)).all()
    raised = _raised_rows(conn, [r.id for r in rows])
    found = []
    for r in rows:
        seq, digest = raised.get(r.id, (None, None))
        found.append(
            Nonconformity(
                r.id,
                r.title,
                r.severity,
                r.source,
                _clause(r.clause),
                r.description,
                r.system_name,
                r.status,
                r.raised_at,
                r.corrective_run_id,
                seq,
                digest,
            )
        )
    return found


def _raised_rows(conn: Connection, ids: list[str]) -> dict[str, tuple[int, str]]:
    first: dict[str, tuple[int, str]] = {}
    for start in range(0, len(ids), _IN_BATCH):
        batch = ids[start : start + _IN_BATCH]
        query = (
            select(_E.c.ref, _E.c.seq, _E.c.hash)
            .where(_E.c.kind == FindingRaised.KIND, _E.c.ref.in_(batch))
            .order_by(_E.c.seq)
        )
        for ref, seq, digest in conn.execute(query):
            first.setdefault(ref, (seq, digest))
    return first


def _clause(raw: str | None) -> str | None:
    if raw is None or not str(raw).strip():
        return None
    try:
        return normalise(raw)
    except TypeError:
        return None
