"""Small pieces every OSCAL document here needs: one-line text, properties and the metadata block
(title, dates, versions, the organisation and the people of ``aims.yaml`` in their roles)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from ... import __version__
from ._ids import PROPS_NS, stable_uuid

__all__ = [
    "line",
    "sentence",
    "when",
    "prop",
    "props",
    "metadata",
    "ROLE_TITLES",
    "party_uuid",
    "TOOL_COMPONENT",
    "tool_component",
    "tool_assets",
    "tool_origins",
]

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


def party_uuid(email: str) -> str:
    """The UUID of a person's party, the same in every document."""
    return stable_uuid("party", "person", email)


def metadata(
    m: Any,
    *,
    title: str,
    now: datetime,
    config: Any = None,
    remarks: str | None = None,
    extra_props: Iterable[Any] = (),
) -> Any:
    """Title, last-modified (the export's clock), version (this tool's), oscal-version (trestle's),
    when ``config`` is given the organisation and the people of ``aims.yaml`` in their roles, and
    the generator property followed by ``extra_props``."""
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
    fields["props"] = (
        props(
            m,
            [
                (
                    "generator",
                    f"aims-workflows {__version__} (compliance-trestle {m.trestle_version})",
                )
            ],
        )
        or []
    ) + list(extra_props)
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
                seen[person] = party_uuid(person)
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


# -- aims itself, as the tool that produced findings ---------------------------------------------
TOOL_COMPONENT = stable_uuid("component", "tool", "aims-workflows")
"""The UUID of the component that stands for aims-workflows in every document: findings and
observations name it as their ``origins`` actor (type ``tool``)."""
TOOL_PLATFORM = stable_uuid("assessment-platform", "aims-workflows")


def tool_component(m: Any) -> Any:
    """aims-workflows as a ``software`` component, for assessment assets and local definitions."""
    return m.common.SystemComponent(
        uuid=TOOL_COMPONENT,
        type="software",
        title=f"aims-workflows {__version__}",
        description=(
            "The ISO/IEC 42001 workflow engine that keeps the hash-chained evidence ledger and "
            "exported this file. Findings it produced are its own determinations from the "
            "ledger, not an assessor's conclusions."
        ),
        props=props(m, [("version", __version__)]),
        status=m.common.Status(state="operational"),
    )


def tool_assets(m: Any) -> Any:
    """The assessment assets naming aims-workflows: its component and a platform that uses it."""
    common = m.common
    return common.AssessmentAssets(
        components=[tool_component(m)],
        assessment_platforms=[
            common.AssessmentPlatform(
                uuid=TOOL_PLATFORM,
                title="aims-workflows",
                uses_components=[common.UsesComponent(component_uuid=TOOL_COMPONENT)],
            )
        ],
    )


def tool_origins(m: Any) -> list[Any]:
    """``origins`` naming aims-workflows (its component in the assessment assets) as the actor."""
    common = m.common
    return [common.Origin(actors=[common.OriginActor(type="tool", actor_uuid=TOOL_COMPONENT)])]
