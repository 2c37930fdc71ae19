"""Tables of the directory of people (migration 0009): who each person is in every tool, which
roles they hold from when to when, and who stands in for whom.

These tables are the current picture; the ledger keeps how it came to be (``person.linked``,
``role.granted``, ``role.revoked``, ``delegation.granted`` rows, each naming who did it).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base

__all__ = ["Person", "RoleGrant", "Delegation", "DirectoryVersion"]


class Person(Base):
    """One person. ``person_id`` is stable: their e-mail as aims.yaml first named them, or
    ``person:<n>`` for someone known only by a Jira or Slack account."""

    __tablename__ = "people"
    person_id: Mapped[str] = mapped_column(String(320), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(300), default="")
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    jira_account_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    slack_user_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    added_at: Mapped[datetime]


class RoleGrant(Base):
    """A role held by a person from ``valid_from`` until ``valid_to`` (open while None)."""

    __tablename__ = "role_grants"
    __table_args__ = (Index("ix_role_grants_person_role", "person_id", "role"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[str] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(64))
    valid_from: Mapped[datetime]
    valid_to: Mapped[datetime | None]
    granted_by: Mapped[str] = mapped_column(String(320))
    revoked_by: Mapped[str | None] = mapped_column(String(320))


class Delegation(Base):
    """``to_person`` decides for ``from_person`` in ``role`` until ``until``."""

    __tablename__ = "delegations"
    __table_args__ = (UniqueConstraint("from_person", "role", "to_person", "valid_from"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    from_person: Mapped[str] = mapped_column(String(320), index=True)
    to_person: Mapped[str] = mapped_column(String(320), index=True)
    role: Mapped[str] = mapped_column(String(64))
    valid_from: Mapped[datetime]
    until: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text)
    granted_by: Mapped[str] = mapped_column(String(320))


class DirectoryVersion(Base):
    """One row whose ``token`` changes (to a new random value) with every change to the tables
    above, in the same transaction (migration 0013). A process that keeps what it read of the
    directory reads the token first and keeps its copy only while the token is the same; a
    random value, not a counter, so that the token of a change rolled back never comes back."""

    __tablename__ = "directory_version"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token: Mapped[str] = mapped_column(String(32))
