"""What the SSP draws on: the AI systems in scope of the inventory, and per control and system the
runs of the period whose ledger rows evidence the control (counted as the SoA counts them).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, func, select

from ...store.models import AISystem, Evidence, Run
from ..citations import Citations
from ..ledger_slice import seq_range
from ..period import Period
from ._evidence import hashes_of

__all__ = ["AiSystem", "SystemEvidence", "systems_in_scope", "evidence_by_system"]

_E, _R, _S = Evidence.__table__, Run.__table__, AISystem.__table__
_OPEN = ("new", "running")


@dataclass(frozen=True)
class AiSystem:
    id: str  # the inventory id, as runs name their subject
    name: str
    owner: str
    purpose: str
    model_type: str
    lifecycle_stage: str
    risk_tier: str


@dataclass
class SystemEvidence:
    """One AI system's runs in the period with rows that evidence one control."""

    workflows: set[str] = field(default_factory=set)
    completed: set[str] = field(default_factory=set)
    open: set[str] = field(default_factory=set)
    rows: int = 0
    last_seq: int = 0
    last_hash: str = ""


def systems_in_scope(conn: Connection) -> list[AiSystem]:
    """The inventory's AI systems in scope, by name."""
    query = select(
        _S.c.id,
        _S.c.name,
        _S.c.owner,
        _S.c.business_purpose,
        _S.c.model_type,
        _S.c.lifecycle_stage,
        _S.c.risk_tier,
    ).where(_S.c.in_scope.is_(True))
    return sorted(
        (AiSystem(str(r[0]), *(str(v or "") for v in r[1:])) for r in conn.execute(query)),
        key=lambda s: (s.name, s.id),
    )


def evidence_by_system(
    conn: Connection, period: Period, controls: Iterable[str], cited: Citations
) -> dict[str, dict[str, SystemEvidence]]:
    """Control id -> AI system id -> the evidence its runs wrote for the control in the period."""
    wanted = frozenset(controls)
    found: dict[str, dict[str, SystemEvidence]] = {c: {} for c in wanted}
    bounds = seq_range(conn, period)
    if bounds is None:
        return found
    query = (
        select(
            _E.c.run_id,
            _R.c.subject_id,
            _R.c.workflow_id,
            _R.c.spec_version,
            _R.c.status,
            _E.c.step_id,
            func.count(),
            func.max(_E.c.seq),
        )
        .select_from(_E.join(_R, _E.c.run_id == _R.c.id))
        .where(_E.c.seq >= bounds[0], _E.c.seq <= bounds[1], _R.c.subject_type == "ai_system")
        .group_by(
            _E.c.run_id,
            _R.c.subject_id,
            _R.c.workflow_id,
            _R.c.spec_version,
            _R.c.status,
            _E.c.step_id,
        )
    )
    named: dict[tuple[Any, ...], frozenset[str]] = {}
    for run_id, system, workflow, version, status, step, count, last in conn.execute(query):
        key = (workflow, version, step)
        if key not in named:
            named[key] = frozenset(
                c for c in wanted if cited.counts_for((workflow, version), step, {c})
            )
        for control in named[key]:
            entry = found[control].setdefault(str(system), SystemEvidence())
            entry.workflows.add(workflow)
            (entry.open if status in _OPEN else entry.completed).add(run_id)
            entry.rows += count
            entry.last_seq = max(entry.last_seq, last)
    digests = hashes_of(
        conn, {e.last_seq for per_system in found.values() for e in per_system.values()}
    )
    for per_system in found.values():
        for entry in per_system.values():
            entry.last_hash = digests[entry.last_seq]
    return found
