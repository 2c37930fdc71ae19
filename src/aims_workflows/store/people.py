"""Reads and writes of the directory of people (tables of migration 0009), each in the caller's
transaction. What the rows mean, and the ledger rows that go with every change, are the
runtime's (``runtime/directory.py``)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection, Table, func, insert, or_, select, update

from ._fast import Prepared
from .models_people import Delegation, DirectoryVersion, Person, RoleGrant

__all__ = [
    "Account",
    "PersonRow",
    "GrantRow",
    "DelegationRow",
    "add_person",
    "person",
    "find",
    "everyone",
    "set_account",
    "set_display_name",
    "grants_of",
    "open_grants",
    "grant",
    "revoke",
    "add_delegation",
    "delegations_to",
    "delegates_of",
    "delegations",
    "version",
]

Account = Literal["email", "jira", "slack"]

_PEOPLE: Table = Person.__table__
_GRANTS: Table = RoleGrant.__table__
_DELEGATIONS: Table = Delegation.__table__
_VERSION: Table = DirectoryVersion.__table__
_VERSION_READ = Prepared(select(_VERSION.c.token).where(_VERSION.c.id == 1), ())
_VERSION_BUMP = Prepared(update(_VERSION).where(_VERSION.c.id == 1), ("token",))
_COLUMN = {"email": "email", "jira": "jira_account_id", "slack": "slack_user_id"}


@dataclass(frozen=True)
class PersonRow:
    person_id: str
    display_name: str
    email: str | None
    jira_account_id: str | None
    slack_user_id: str | None


@dataclass(frozen=True)
class GrantRow:
    id: int
    person_id: str
    role: str
    valid_from: datetime
    valid_to: datetime | None
    granted_by: str


@dataclass(frozen=True)
class DelegationRow:
    id: int
    from_person: str
    to_person: str
    role: str
    valid_from: datetime
    until: datetime
    reason: str
    granted_by: str


def version(conn: Connection) -> str:
    """The directory's version token: it changes with every change written here (read it
    before the rows it stands for; see models_people.DirectoryVersion)."""
    row = _VERSION_READ.first(conn, {})
    return str(row[0]) if row else ""


def _changed(conn: Connection) -> None:
    """A new version token, in the transaction of the change."""
    _VERSION_BUMP.execute(conn, {"token": secrets.token_hex(16)})


def _person(row: Any) -> PersonRow:
    return PersonRow(
        row.person_id, row.display_name, row.email, row.jira_account_id, row.slack_user_id
    )


def add_person(
    conn: Connection, person_id: str, display_name: str, email: str | None, now: datetime
) -> PersonRow:
    _changed(conn)
    conn.execute(
        insert(_PEOPLE).values(
            person_id=person_id, display_name=display_name, email=email, added_at=now
        )
    )
    return PersonRow(person_id, display_name, email, None, None)


def person(conn: Connection, person_id: str) -> PersonRow | None:
    row = conn.execute(select(_PEOPLE).where(_PEOPLE.c.person_id == person_id)).first()
    return _person(row) if row else None


def find(conn: Connection, account: Account, value: str) -> PersonRow | None:
    """The person with this e-mail (any case), Jira accountId or Slack user id."""
    column = _PEOPLE.c[_COLUMN[account]]
    where = func.lower(column) == value.lower() if account == "email" else column == value
    row = conn.execute(select(_PEOPLE).where(where)).first()
    return _person(row) if row else None


def everyone(conn: Connection) -> list[PersonRow]:
    rows = conn.execute(select(_PEOPLE).order_by(_PEOPLE.c.person_id))
    return [_person(row) for row in rows]


def set_account(conn: Connection, person_id: str, account: Account, value: str | None) -> None:
    _changed(conn)
    conn.execute(
        update(_PEOPLE).where(_PEOPLE.c.person_id == person_id).values({_COLUMN[account]: value})
    )


def set_display_name(conn: Connection, person_id: str, name: str) -> None:
    _changed(conn)
    conn.execute(update(_PEOPLE).where(_PEOPLE.c.person_id == person_id).values(display_name=name))


def _grant(row: Any) -> GrantRow:
    return GrantRow(row.id, row.person_id, row.role, row.valid_from, row.valid_to, row.granted_by)


def open_grants(conn: Connection, person_id: str | None = None) -> list[GrantRow]:
    """Grants not revoked, oldest first (of one person, or of everyone)."""
    query = select(_GRANTS).where(_GRANTS.c.valid_to.is_(None))
    if person_id is not None:
        query = query.where(_GRANTS.c.person_id == person_id)
    return [_grant(row) for row in conn.execute(query.order_by(_GRANTS.c.id))]


def grants_of(conn: Connection, person_id: str) -> list[GrantRow]:
    """Every grant of a person, revoked ones included, oldest first."""
    query = select(_GRANTS).where(_GRANTS.c.person_id == person_id).order_by(_GRANTS.c.id)
    return [_grant(row) for row in conn.execute(query)]


def grant(conn: Connection, person_id: str, role: str, now: datetime, by: str) -> None:
    _changed(conn)
    conn.execute(
        insert(_GRANTS).values(person_id=person_id, role=role, valid_from=now, granted_by=by)
    )


def revoke(conn: Connection, grant_id: int, now: datetime, by: str) -> None:
    _changed(conn)
    conn.execute(
        update(_GRANTS).where(_GRANTS.c.id == grant_id).values(valid_to=now, revoked_by=by)
    )


def _delegation(row: Any) -> DelegationRow:
    return DelegationRow(
        row.id,
        row.from_person,
        row.to_person,
        row.role,
        row.valid_from,
        row.until,
        row.reason,
        row.granted_by,
    )


def add_delegation(
    conn: Connection,
    *,
    from_person: str,
    to_person: str,
    role: str,
    now: datetime,
    until: datetime,
    reason: str,
    by: str,
) -> None:
    _changed(conn)
    conn.execute(
        insert(_DELEGATIONS).values(
            from_person=from_person,
            to_person=to_person,
            role=role,
            valid_from=now,
            until=until,
            reason=reason,
            granted_by=by,
        )
    )


def delegations_to(conn: Connection, person_id: str, at: datetime) -> list[DelegationRow]:
    """Delegations in force at ``at`` that let ``person_id`` act for someone."""
    query = select(_DELEGATIONS).where(
        _DELEGATIONS.c.to_person == person_id,
        _DELEGATIONS.c.valid_from <= at,
        _DELEGATIONS.c.until > at,
    )
    return [_delegation(row) for row in conn.execute(query.order_by(_DELEGATIONS.c.id))]


def delegates_of(conn: Connection, role: str, holders: list[str], at: datetime) -> list[str]:
    """Who may act for one of ``holders`` in ``role`` at ``at``, in the order delegated."""
    query = (
        select(_DELEGATIONS.c.to_person)
        .where(
            _DELEGATIONS.c.role == role,
            _DELEGATIONS.c.from_person.in_(holders),
            _DELEGATIONS.c.valid_from <= at,
            _DELEGATIONS.c.until > at,
        )
        .order_by(_DELEGATIONS.c.id)
    )
    return list(dict.fromkeys(conn.scalars(query)))


def delegations(conn: Connection, person_id: str | None = None) -> list[DelegationRow]:
    """Every delegation (from or to ``person_id`` when given), oldest first."""
    query = select(_DELEGATIONS)
    if person_id is not None:
        query = query.where(
            or_(_DELEGATIONS.c.from_person == person_id, _DELEGATIONS.c.to_person == person_id)
        )
    return [_delegation(row) for row in conn.execute(query.order_by(_DELEGATIONS.c.id))]
