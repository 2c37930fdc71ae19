"""Small pieces every OSCAL document here needs: one-line text, properties and the metadata block
(title, dates, versions, the organisation and the people of ``aims.yaml`` in their roles)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from ... import __version__
from ._ids import PROPS_NS, stable_uuid

__all__ = ["line", "sentence", "when", "prop", "props", "metadata", "ROLE_TITLES"]

ROLE_TITLES = {
    "top_management": "Top management",
    "aims_owner": "AIMS owner",
    "system_owner": "AI system owner",
    "risk_owner": "Risk owner",
    "internal_auditor": "Internal auditor",
    "ciso": "CISO",
}
"""Titles for roles whose plain spelling would read wrongly; other roles are spelt from their id."""

# the properties OSCAL defines itself take no namespace
_OSCAL_PROPS = frozenset({"label", "sort-id", "marking", "status"})


def line(text: Any, *, default: str = "-") -> str:
    """One line, no leading or trailing blanks: OSCAL titles and property values may hold no
    line break, and text from people (workflow titles, finding titles) may."""
    cleaned = " ".join(str(text if text is not None else "").split())
    return cleaned or default


def sentence(text: str) -> str:
    """``text`` ending with a full stop (unless it ends with one, or with ! or ?)."""
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


def when(value: str | datetime) -> datetime:
    """A ledger timestamp (``2026-01-05T09:00:00.000000Z``) or a datetime, made timezone-aware."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def prop(m: Any, name: str, value: Any) -> Any:
    """A property; ours carry the project's namespace, OSCAL's own (``label``, ``sort-id``) none."""
    ns = None if name in _OSCAL_PROPS else PROPS_NS
    return m.common.Property(name=name, value=line(value), ns=ns)


def props(m: Any, pairs: Iterable[tuple[str, Any]]) -> list[Any] | None:
    """Properties for the pairs whose value is not empty; None when there are none (OSCAL lists
    may not be empty)."""
    made = [
        prop(m, name, value)
        for name, value in pairs
        if value is not None and str(value).strip() != ""
    ]
    return made or None


def metadata(
    m: Any, *, title: str, now: datetime, config: Any = None, remarks: str | None = None
) -> Any:
    """Title, last-modified (the export's clock), version (this tool's), oscal-version (trestle's),
    and when ``config`` is given the organisation and the people of ``aims.yaml`` in their roles."""
    common = m.common
    fields: dict[str, Any] = dict(
        title=line(title),
        last_modified=now,
        version=__version__,
        oscal_version=m.OSCAL_VERSION,
        remarks=remarks,
    )
    if config is not None:
        roles, parties, responsible = _people(m, config)
        fields.update(roles=roles or None, parties=parties, responsible_parties=responsible or None)
    fields["props"] = props(
        m, [("generator", f"aims-workflows {__version__} (compliance-trestle {m.trestle_version})")]
    )
    return common.Metadata(**fields)


def _people(m: Any, config: Any) -> tuple[list[Any], list[Any], list[Any]]:
    common = m.common
    organisation = line(config.organisation, default="Our organisation")
    org_uuid = stable_uuid("party", "organisation", organisation)
    parties = [common.Parties(uuid=org_uuid, type="organization", name=organisation)]
    roles, responsible, seen = [], [], {}
    for role, people in config.roles.items():
        roles.append(
            common.Role(id=role, title=ROLE_TITLES.get(role, role.replace("_", " ").capitalize()))
        )
        uuids = []
        for person in people:
            if person not in seen:
                seen[person] = stable_uuid("party", "person", person)
                parties.append(_person(common, seen[person], person, org_uuid))
            uuids.append(seen[person])
        if uuids:
            responsible.append(common.ResponsibleParty(role_id=role, party_uuids=uuids))
    return roles, parties, responsible


def _person(common: Any, uuid: str, email: str, org_uuid: str) -> Any:
    base = dict(uuid=uuid, type="person", name=email, member_of_organizations=[org_uuid])
    try:
        return common.Parties(**base, email_addresses=[email])
    except ValueError:
        # aims.yaml accepts addresses the e-mail validator trestle uses refuses (reserved domains
        # such as .test or .local): the person is still named, without the address field
        return common.Parties(**base)
