"""AI system rows and their history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, text, update

from ..errors import NotFound
from ..inventory import AISystemRecord
from ..spec.problems import did_you_mean
from ._fast import Prepared
from .models import AISystem, AISystemHistory

__all__ = [
    "add",
    "change",
    "changes_of",
    "reserve_ids",
    "get",
    "find",
    "list_all",
    "taken",
    "to_subject_attributes",
    "history",
    "end_impact_coverage",
]

_SYSTEMS = AISystem.__table__
_HISTORY = AISystemHistory.__table__
_RECORD_FIELDS = tuple(AISystemRecord.model_fields)
_KEYS = tuple(_SYSTEMS.c.keys())

# Compiled once per dialect (starting a run on a system looks it up; see _fast).
_BY_NAME = Prepared(
    select(_SYSTEMS).where(func.lower(_SYSTEMS.c.name) == bindparam("b_name")), ("b_name",)
)
_BY_ID = Prepared(select(_SYSTEMS).where(_SYSTEMS.c.id == bindparam("b_id")), ("b_id",))


def _row_dict(row) -> dict[str, Any]:
    return dict(row._mapping)


def find(conn: Connection, name: str) -> dict[str, Any] | None:
    row = _BY_NAME.first(conn, {"b_name": name.lower()})
    return dict(zip(_KEYS, row, strict=True)) if row else None


def get(conn: Connection, name_or_id: str | int) -> dict[str, Any]:
    """A system by name (case-insensitive) or numeric id; NotFound with a suggestion."""
    row = None
    if isinstance(name_or_id, int) or str(name_or_id).isdigit():
        found = _BY_ID.first(conn, {"b_id": int(name_or_id)})
        row = dict(zip(_KEYS, found, strict=True)) if found else None
    row = row or find(conn, str(name_or_id))
    if row is None:
        names = list(conn.scalars(select(_SYSTEMS.c.name)))
        raise NotFound(
            f"no AI system '{name_or_id}'",
            hint=did_you_mean(str(name_or_id), names) or "see `aims systems list`",
        )
    return row


def record_of(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in _RECORD_FIELDS}


def reserve_ids(conn: Connection, count: int) -> list[int]:
    """Ids for ``count`` systems about to be added, drawn before the write transaction (the runs
    their registration starts are planned with them, see inventory/change_plans). PostgreSQL
    hands them out of the table's sequence, never twice; on SQLite they are the next free ones
    as this snapshot sees them, and ``taken`` tells in the write transaction whether another
    writer took one meanwhile."""
    if count <= 0:
        return []
    if conn.dialect.name == "postgresql":
        return list(
            conn.scalars(
                text(
                    "SELECT nextval(pg_get_serial_sequence('ai_systems', 'id')) "
                    "FROM generate_series(1, :count)"
                ),
                {"count": count},
            )
        )
    highest = conn.scalar(select(func.max(_SYSTEMS.c.id))) or 0
    return list(range(highest + 1, highest + 1 + count))


def taken(conn: Connection, system_id: int) -> bool:
    """Whether a system has the id ``system_id``."""
    return _BY_ID.first(conn, {"b_id": system_id}) is not None


def add(
    conn: Connection,
    record: AISystemRecord,
    *,
    actor: str,
    now: datetime,
    system_id: int | None = None,
) -> dict[str, Any]:
    """``system_id``: one :func:`reserve_ids` drew (else the database draws one)."""
    values = record.model_dump()
    given = {"id": system_id} if system_id is not None else {}
    system_id = conn.execute(
        insert(_SYSTEMS)
        .values(**given, **values, version=1, created_at=now, updated_at=now)
        .returning(_SYSTEMS.c.id)
    ).scalar_one()
    conn.execute(
        insert(_HISTORY).values(
            system_id=system_id,
            version=1,
            changed_at=now,
            changed_by=actor,
            changes={k: [None, v] for k, v in values.items()},
            snapshot=values,
        )
    )
    return get(conn, system_id)


def change(
    conn: Connection, row: dict[str, Any], record: AISystemRecord, *, actor: str, now: datetime
) -> dict[str, list[Any]]:
    """Apply a new record; returns {field: [old, new]} of what changed (empty: nothing did)."""
    new = record.model_dump()
    changes = changes_of(row, record)
    if not changes:
        return {}
    version = row["version"] + 1
    conn.execute(
        update(_SYSTEMS)
        .where(_SYSTEMS.c.id == row["id"])
        .values(**new, version=version, updated_at=now)
    )
    conn.execute(
        insert(_HISTORY).values(
            system_id=row["id"],
            version=version,
            changed_at=now,
            changed_by=actor,
            changes=changes,
            snapshot=new,
        )
    )
    return changes


def changes_of(row: dict[str, Any], record: AISystemRecord) -> dict[str, list[Any]]:
    """{field: [old, new]} of what ``record`` changes in ``row`` (reads nothing)."""
    return {k: [row[k], v] for k, v in record.model_dump().items() if row[k] != v}


def list_all(conn: Connection) -> list[dict[str, Any]]:
    return [_row_dict(r) for r in conn.execute(select(_SYSTEMS).order_by(_SYSTEMS.c.name))]


def history(conn: Connection, system_id: int) -> list[dict[str, Any]]:
    return [
        _row_dict(r)
        for r in conn.execute(
            select(_HISTORY).where(_HISTORY.c.system_id == system_id).order_by(_HISTORY.c.version)
        )
    ]


def to_subject_attributes(row: dict[str, Any]) -> dict[str, Any]:
    return record_of(row)


def end_impact_coverage(conn: Connection, system_id: int, now: datetime) -> None:
    """A material change: the current impact assessment no longer describes the system it
    assessed, so it stops counting towards coverage now."""
    conn.execute(
        update(_SYSTEMS)
        .where(_SYSTEMS.c.id == system_id, _SYSTEMS.c.impact_valid_until > now)
        .values(impact_valid_until=now)
    )
