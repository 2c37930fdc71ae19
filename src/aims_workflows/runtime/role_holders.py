"""Who holds a role: the people aims.yaml names for it (the seed), then the people an approved
role assignment gave it.

aims.yaml's roles reach the directory as grants made by ``aims.yaml`` (see
:meth:`Directory.sync_roles`, which revokes only those). A ``roles-and-competence`` run approved
by top management adds a grant made by its approver (``role_assignments``); that grant stays
whatever aims.yaml says later, until it is revoked. Tasks, approvals and notifications go to
the holders read here; an assignment aims.yaml does not name is reported as a disagreement so
the file can be brought in line (it stays the seed of a new database).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Connection, select

from ..store import people as store
from ..store.models_people import Person, RoleGrant
from .directory import CONFIG_ACTOR

if TYPE_CHECKING:
    from .core import Runtime

__all__ = ["ALL_ROLES", "ApprovedHolder", "RoleHolders"]

ALL_ROLES = "all_roles"
"""What a course for everyone names as its role (the training workflow's choice)."""

_GRANTS = RoleGrant.__table__
_PEOPLE = Person.__table__


@dataclass(frozen=True)
class ApprovedHolder:
    """A role held through an approved assignment, not through aims.yaml."""

    role: str
    person: str
    granted_by: str


class RoleHolders:
    """The holders of each role, read over the runtime's database and aims.yaml."""

    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime
        # the approved grants, kept while the directory's version token stays the same (every
        # change of a grant gets a new one): asked for each task and approval sent
        self._kept: tuple[str | None, tuple[ApprovedHolder, ...]] = (None, ())

    def approved(self, conn: Connection | None = None) -> tuple[ApprovedHolder, ...]:
        """Open grants that did not come from aims.yaml, oldest first."""
        if conn is None:
            with self.rt.db.connect() as read:
                return self.approved(read)
        token = store.version(conn)
        if self._kept[0] != token:
            rows = conn.execute(
                select(_GRANTS.c.role, _GRANTS.c.person_id, _GRANTS.c.granted_by, _PEOPLE.c.email)
                .join(_PEOPLE, _PEOPLE.c.person_id == _GRANTS.c.person_id)
                .where(_GRANTS.c.valid_to.is_(None), _GRANTS.c.granted_by != CONFIG_ACTOR.id)
                .order_by(_GRANTS.c.id)
            )
            held = tuple(ApprovedHolder(r.role, r.email or r.person_id, r.granted_by) for r in rows)
            self._kept = (token, held)
        return self._kept[1]

    def holders(self, role: str, conn: Connection | None = None) -> list[str]:
        """aims.yaml's people for ``role`` in its order (the first gets a role's tasks), then
        those an approved assignment added."""
        seeded = self.rt.config.people(role)
        added = [h.person for h in self.approved(conn) if h.role == role]
        return seeded + [p for p in dict.fromkeys(added) if p.lower() not in _lower(seeded)]

    def roles_of(self, person: str, conn: Connection | None = None) -> tuple[str, ...]:
        """Every role ``person`` holds, from aims.yaml or an approved assignment."""
        mine = {h.role for h in self.approved(conn) if h.person.lower() == person.lower()}
        return tuple(sorted(set(self.rt.config.roles_of(person)) | mine))

    def everyone(self, conn: Connection | None = None) -> dict[str, list[str]]:
        """Role -> holders, for every role held by anyone."""
        roles = set(self.rt.config.roles) | {h.role for h in self.approved(conn)}
        return {role: self.holders(role, conn) for role in sorted(roles)}

    def as_lines(self, conn: Connection) -> str:
        """One ``ROLE: PERSON PERSON`` line per role held, then ``all_roles:`` with everyone who
        holds any: how a run learns the holders when it starts (the engine reads no database),
        in a form an expression picks one role's line from."""
        everyone = {role: people for role, people in self.everyone(conn).items() if people}
        anyone = dict.fromkeys(p.lower() for people in everyone.values() for p in people)
        lines = [f"{role}: {' '.join(people)}" for role, people in everyone.items()]
        return "\n".join([*lines, f"{ALL_ROLES}: {' '.join(anyone)}"] if anyone else lines)

    def disagreements(self, conn: Connection | None = None) -> list[str]:
        """Each role held by approval that aims.yaml does not give, said with how to fix it."""
        return [
            f"{h.person} holds {h.role} by an approved role assignment (granted by "
            f"{h.granted_by}), but aims.yaml does not name them under roles.{h.role}: add them "
            "there, so aims.yaml stays the seed of who holds what"
            for h in self.approved(conn)
            if h.person.lower() not in _lower(self.rt.config.people(h.role))
        ]


def _lower(people: list[str]) -> set[str]:
    return {p.lower() for p in people}
