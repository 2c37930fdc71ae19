"""Building run subjects from the inventory, the organisation and findings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, select

from ..engine.state import Subject
from ..errors import NotFound
from ..store import inventory as inventory_store
from ..store.models import Finding

__all__ = [
    "ai_system_subject",
    "organisation_subject",
    "finding_subject",
    "finding_subject_of",
    "ORGANISATION_ID",
]

ORGANISATION_ID = "organisation"


def ai_system_subject(row: dict[str, Any]) -> Subject:
    return Subject(
        type="ai_system",
        id=str(row["id"]),
        name=row["name"],
        owner=row["owner"],
        attributes=inventory_store.to_subject_attributes(row),
    )


def organisation_subject(name: str) -> Subject:
    """The organisation has no single owner: segregation of duties works on roles and tasks."""
    return Subject(
        type="organisation", id=ORGANISATION_ID, name=name, owner=None, attributes={"name": name}
    )


def finding_subject(conn: Connection, finding_id: str) -> Subject:
    table = Finding.__table__
    row = conn.execute(select(table).where(table.c.id == finding_id)).first()
    if row is None:
        raise NotFound(f"no finding '{finding_id}'", hint="see `aims findings list`")
    return finding_subject_of(dict(row._mapping))


def finding_subject_of(row: Mapping[str, Any]) -> Subject:
    """The subject of a finding with these column values (a stored row, or one about to be)."""
    attributes = {
        "id": row["id"],
        "title": row["title"],
        "severity": row["severity"],
        "source": row["source"],
        # the kind of source (10.2); a finding from before kinds were kept came from an audit
        "source_type": row["source_type"] or "internal",
        "tracker_issue": row["tracker_issue"],
        "clause": row["clause"],
        "system": row["system_name"],
        "raised_at": row["raised_at"].isoformat(),
        "description": row["description"],
    }
    return Subject(
        type="finding", id=row["id"], name=row["title"][:120], owner=None, attributes=attributes
    )
