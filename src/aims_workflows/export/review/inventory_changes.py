"""The inventory part of section 5 of the management-review pack: AI systems registered,
changed (materially or not), retired or taken out of scope in the period, from the inventory's
history."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, and_, select

from ...inventory import MATERIAL_FIELDS
from ...store.models import AISystem, AISystemHistory
from ..period import ClosedPeriod
from ._queries import within
from .model import LIST_LIMIT, Capped, Figure, InventoryChange
from .period import ReviewPeriod
from .state import CoverageAt

__all__ = ["gather_inventory"]


def _what(version: int, changes: dict[str, Any]) -> str:
    if version == 1:
        return "added"
    stage = changes.get("lifecycle_stage")
    if isinstance(stage, list) and len(stage) == 2 and stage[1] == "retired":
        return "retired"
    scope = changes.get("in_scope")
    if isinstance(scope, list) and len(scope) == 2 and scope[0] != scope[1]:
        return "back in scope" if scope[1] else "taken out of scope"
    return "changed"


def gather_inventory(
    conn: Connection, rp: ReviewPeriod, snapshots: dict[str, CoverageAt]
) -> tuple[list[Figure], Capped[InventoryChange]]:
    cur, prev = rp.current, rp.previous
    h, s = AISystemHistory.__table__, AISystem.__table__
    rows = conn.execute(
        select(h.c.version, h.c.changed_at, h.c.changed_by, h.c.changes, s.c.name)
        .select_from(h.outerjoin(s, h.c.system_id == s.c.id))
        .where(and_(h.c.changed_at >= prev.start, h.c.changed_at < cur.end))
        .order_by(h.c.changed_at, h.c.id)
    ).all()
    changes = [
        InventoryChange(
            row.name or "(unknown system)",
            row.version,
            row.changed_at,
            row.changed_by,
            [] if row.version == 1 else sorted(row.changes or {}),
            row.version > 1 and bool(set(row.changes or {}) & MATERIAL_FIELDS),
            _what(row.version, row.changes or {}),
        )
        for row in rows
    ]

    def n(p: ClosedPeriod, test) -> int:
        return sum(1 for c in changes if within(p, c.changed_at) and test(c))

    figures = [
        Figure(
            "AI systems registered",
            n(cur, lambda c: c.what == "added"),
            n(prev, lambda c: c.what == "added"),
        ),
        Figure(
            "Inventory changes to existing AI systems",
            n(cur, lambda c: c.version > 1),
            n(prev, lambda c: c.version > 1),
        ),
        Figure(
            "... of which material (the assessments are redone)",
            n(cur, lambda c: c.material),
            n(prev, lambda c: c.material),
        ),
        Figure(
            "AI systems retired",
            n(cur, lambda c: c.what == "retired"),
            n(prev, lambda c: c.what == "retired"),
        ),
        Figure(
            "AI systems taken out of scope",
            n(cur, lambda c: c.what == "taken out of scope"),
            n(prev, lambda c: c.what == "taken out of scope"),
        ),
        Figure(
            "In-scope AI systems",
            len(snapshots["end"].in_scope),
            len(snapshots["start"].in_scope),
            state=True,
        ),
    ]
    shown = [c for c in changes if within(cur, c.changed_at)]
    return figures, Capped(shown[:LIST_LIMIT], len(shown))
