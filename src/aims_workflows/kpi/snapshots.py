"""The KPI history: every KPI as each UTC day closed, for the whole AIMS, each AI system, each risk
tier and each workflow (table ``kpi_snapshots``).

A day's values are stored by the first unit of work that appends evidence after that day
closed, in its transaction and before its evidence and projections are written (the run's own
row, and a finding it raises, may be written already: the KPIs of a closed day count rows by
their dates, so these, dated after the close, are not counted) (:meth:`DailySnapshots.
before_evidence`, called by the runtime). The projections it reads then are those of the day's
last evidence, so a snapshot never disagrees with the ledger: both commit together or not at all,
and every row the day's KPIs were made of is in the ledger before the row that stored them. The
values are measured at the day's last instant (23:59:59.999999 UTC): a due date or a validity that
ran out during the evening counts, as it did for ``aims kpi`` run then.

Days without activity since the last day stored are stored too, by the same unit of work (each
measured at its own close from the same projections, since nothing moved them), up to
:data:`LONGEST_GAP`; older quiet days fall back to the rebuild of :mod:`.history`.

Cost: a process's first unit of work of a day reads the last day stored (one lookup at the end
of the primary key's index), and only the first one of all measures and stores; the others of
that day ask nothing. A day is measured for every AI system at once and every workflow at once
(grouped queries, :func:`.queries.compute_kpis_by_system` and ``_by_workflow``); the whole AIMS
and each tier one by one; the rows of all the days closed are stored in one statement.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, select

from ..config import KpiTargets
from ..store import ledger
from ..store._fast import Prepared
from ..store.models import AISystem, Evidence, LedgerHead, Run
from ..store.models_kpi import KpiSnapshot
from ..store.upsert import insert_for
from .queries import (
    Kpi,
    KpiContext,
    Scope,
    compute_kpis,
    compute_kpis_by_system,
    compute_kpis_by_workflow,
)

__all__ = [
    "DailySnapshots",
    "LONGEST_GAP",
    "day_close",
    "day_of",
    "last_evidence_at",
    "stored",
    "day_rows",
    "store_day",
]

LONGEST_GAP = timedelta(days=92)
_SNAPSHOTS = KpiSnapshot.__table__
_EVIDENCE, _HEAD = Evidence.__table__, LedgerHead.__table__
# the date of the ledger's last row: its head, then that row by primary key
_LAST_RECORDED = Prepared(
    select(_EVIDENCE.c.recorded_at).where(
        _EVIDENCE.c.seq == select(_HEAD.c.seq).where(_HEAD.c.id == 1).scalar_subquery()
    ),
    (),
)


# the last day stored for the whole AIMS (every stored day has that scope)
_LAST_STORED = Prepared(
    select(_SNAPSHOTS.c.day)
    .where(_SNAPSHOTS.c.scope == "")
    .order_by(_SNAPSHOTS.c.day.desc())
    .limit(1),
    (),
)


def day_of(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def day_close(day: date) -> datetime:
    """The last instant of ``day`` (UTC), when its values are measured."""
    return datetime.combine(day + timedelta(days=1), time.min, UTC) - timedelta(microseconds=1)


def first_evidence_at(conn: Connection) -> datetime | None:
    """When the ledger's first row was recorded (None for an empty ledger)."""
    first = conn.scalar(select(_EVIDENCE.c.recorded_at).order_by(_EVIDENCE.c.seq).limit(1))
    return None if not first else datetime.fromisoformat(first.replace("Z", "+00:00"))


def last_evidence_at(conn: Connection) -> datetime | None:
    """When the ledger's last row was recorded (None for an empty ledger)."""
    row = _LAST_RECORDED.first(conn, {})
    if row is None or not row[0]:
        return None
    return datetime.fromisoformat(row[0].replace("Z", "+00:00"))


def scopes_at(conn: Connection, at: datetime) -> list[Scope]:
    """The whole AIMS, and each AI system, risk tier and workflow that existed at ``at``."""
    s, r = AISystem.__table__.c, Run.__table__.c
    systems = conn.execute(
        select(s.name, s.risk_tier).where(s.created_at <= at).order_by(s.name)
    ).all()
    workflows = conn.scalars(
        select(r.workflow_id).where(r.started_at <= at).distinct().order_by(r.workflow_id)
    ).all()
    return [
        Scope(),
        *(Scope(system=name) for name, _ in systems),
        *(Scope(tier=tier) for tier in sorted({t for _, t in systems if t})),
        *(Scope(workflow=w) for w in workflows),
    ]


def store_day(
    conn: Connection, day: date, targets: KpiTargets, context: KpiContext, now: datetime
) -> int:
    """Measure and store ``day``'s close for every scope; a scope stored already is kept as it
    is. Returns the rows written."""
    return _insert(conn, day_rows(conn, day, targets, context, now))


def _insert(conn: Connection, rows: list[dict[str, Any]]) -> int:
    """Store snapshot rows in one statement; a (day, scope) stored already is kept as it is."""
    statement = insert_for(conn.dialect.name, _SNAPSHOTS).on_conflict_do_nothing(
        index_elements=["day", "scope"]
    )
    if rows:
        conn.execute(statement, rows)
    return len(rows)


def day_rows(
    conn: Connection, day: date, targets: KpiTargets, context: KpiContext, now: datetime
) -> list[dict[str, Any]]:
    """``day``'s close measured for every scope that existed then: the rows to store."""
    at = day_close(day)
    scopes = scopes_at(conn, at)
    systems = [scope.system for scope in scopes if scope.system]
    # bounded: this unit of work may have written rows (a system, a finding) before calling
    by_system = compute_kpis_by_system(conn, at, targets, systems, context=context, bounded=True)
    workflows = [scope.workflow for scope in scopes if scope.workflow]
    by_workflow = compute_kpis_by_workflow(
        conn, at, targets, workflows, context=context, bounded=True
    )

    def measured(scope: Scope) -> list[Kpi]:
        if scope.system:
            return by_system[scope.system]
        if scope.workflow:
            return by_workflow[scope.workflow]
        return compute_kpis(conn, at, targets, scope=scope, context=context, bounded=True)

    rows = [
        {
            "day": day.isoformat(),
            "scope": scope.key,
            "taken_at": now,
            "kpis": [k.as_dict() for k in measured(scope)],
        }
        for scope in scopes
    ]
    return rows


def stored(conn: Connection, day: date, scope: Scope) -> list[Kpi] | None:
    """The KPIs stored for ``day`` and ``scope``, or None."""
    kpis = conn.scalar(
        select(_SNAPSHOTS.c.kpis).where(
            _SNAPSHOTS.c.day == day.isoformat(), _SNAPSHOTS.c.scope == scope.key
        )
    )
    return None if kpis is None else [Kpi.from_dict(k) for k in kpis]


def first_stored_day(conn: Connection, scope: Scope) -> date | None:
    first = conn.scalar(
        select(_SNAPSHOTS.c.day).where(_SNAPSHOTS.c.scope == scope.key).order_by(_SNAPSHOTS.c.day)
    )
    return None if first is None else date.fromisoformat(first)


class DailySnapshots:
    """Stores the closed days' KPIs from the first unit of work of a new day (see the module)."""

    def __init__(self, targets: KpiTargets, workflows: Any, soa: Any) -> None:
        self.targets = targets
        self.workflows, self.soa = workflows, soa
        # the day this process found every closed day stored (or nothing to store): until the
        # next day, no unit of work of any process can have a closed day left to store
        self._settled: date | None = None

    def before_evidence(self, conn: Connection, now: datetime) -> int:
        """Call first in a transaction that will append evidence at ``now``: when the days since
        the last one stored have closed, store them (rows written)."""
        today = day_of(now)
        if self._settled == today:
            return 0  # the usual case: no query at all
        written = self._store_closed_days(conn, today, now)
        if written == 0:
            # not after writing: the transaction may still roll back, and the days with it
            self._settled = today
        return written

    def _store_closed_days(self, conn: Connection, today: date, now: datetime) -> int:
        last = _LAST_STORED.first(conn, {})
        if last is not None and last[0] is not None and last[0] >= _yesterday(today):
            return 0  # one lookup at the end of an index
        if last is None or last[0] is None:
            began = first_evidence_at(conn)
            if began is None or day_of(began) >= today:
                # no day with evidence has closed: nothing to store, and no reason to take the
                # ledger's lock here, at the start of the transaction (every process's first
                # unit of work on a ledger begun today did, holding it through its whole batch)
                return 0
        # PostgreSQL: take the ledger's lock now (the append would next), so no unit of work of
        # the day before commits between the read of the projections and this one's evidence
        # (SQLite: the database lock is held already)
        ledger.head(conn, lock=True)
        last = _LAST_STORED.first(conn, {})
        if last is not None and last[0] is not None:
            if last[0] >= _yesterday(today):
                return 0
            first = date.fromisoformat(last[0]) + timedelta(days=1)
        else:
            began = first_evidence_at(conn)
            if began is None:
                return 0  # nothing has happened yet
            first = day_of(began)
        first = max(first, today - LONGEST_GAP)
        context = KpiContext(self.workflows, self.soa)
        rows: list[dict[str, Any]] = []
        day = first
        while day < today:  # every day measured first, then stored in one statement
            rows += day_rows(conn, day, self.targets, context, now)
            day += timedelta(days=1)
        return _insert(conn, rows)


def _yesterday(today: date) -> str:
    return (today - timedelta(days=1)).isoformat()
