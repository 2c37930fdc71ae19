"""What a run is started with from the directory of people, for the inputs its workflow
declares (the engine reads no database, so the directory reaches a run as inputs when it starts):

* ``role_holders``: who holds each role, one ``ROLE: PERSON PERSON`` line each, and
  ``all_roles:`` with everyone who holds any (the training workflow assigns a course to them).
* ``NAME_person`` beside a declared input ``NAME``: the person the directory (or aims.yaml)
  knows by the value of ``NAME``, as their e-mail; empty when nobody is known by it, so the
  workflow can give the task to a role instead and say why (risk-treatment's action owner).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from ..spec.model import WorkflowSpec

if TYPE_CHECKING:
    from .core import Runtime

__all__ = ["HOLDERS_INPUT", "directory_inputs"]

HOLDERS_INPUT = "role_holders"
_PERSON = "_person"


def directory_inputs(
    conn: Connection, rt: Runtime, spec: WorkflowSpec, inputs: dict[str, Any] | None
) -> dict[str, Any] | None:
    """``inputs`` with the directory's values added where ``spec`` declares them and they are
    not given."""
    declared = {d.id for d in spec.inputs}
    persons = {d for d in declared if d.endswith(_PERSON) and d[: -len(_PERSON)] in declared}
    if HOLDERS_INPUT not in declared and not persons:
        return inputs
    given = dict(inputs or {})
    if HOLDERS_INPUT in declared and HOLDERS_INPUT not in given:
        given[HOLDERS_INPUT] = rt.role_holders.as_lines(conn)
    for name in sorted(persons - set(given)):
        given[name] = _known(conn, rt, str(given.get(name[: -len(_PERSON)]) or "").strip())
    return given


def _known(conn: Connection, rt: Runtime, name: str) -> str:
    """The e-mail of the person known as ``name``, or "" when nobody is."""
    if not name:
        return ""
    person = rt.people.find_person(conn, name)
    if person is not None:
        return person.email or person.person_id
    return name if rt.role_holders.roles_of(name, conn) else ""
