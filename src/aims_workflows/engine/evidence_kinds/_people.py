"""Evidence of the directory of people: who is who in each tool, who holds which role from when,
who stands in for whom, and what the directory refused to do."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ._base import EvidencePayload, Timestamp

__all__ = [
    "KINDS",
    "PersonLinked",
    "RoleGranted",
    "RoleRevoked",
    "DelegationGranted",
    "DirectoryRefused",
]


class PersonLinked(EvidencePayload):
    """A person's account in a tool was tied to them, and how the match was made: the basis on
    which actions in Jira and Slack are attributed to a person (5.3, 7.5.3). The row's actor is
    who made the link (a person by hand, or the sync)."""

    KIND = "person.linked"

    person_id: str = Field(description="the person's stable id in the directory")
    account: Literal["email", "jira", "slack"] = Field(description="which account was tied")
    value: str = Field(description="the e-mail, Jira accountId or Slack user id")
    method: str = Field(
        description="how it was matched: aims.yaml, a Jira or Slack look-up by e-mail, by hand"
    )


class RoleGranted(EvidencePayload):
    """A person was given a role from a moment on: who held which responsibility when (5.3)."""

    KIND = "role.granted"

    person_id: str = Field(description="who holds the role")
    role: str = Field(description="the role")
    source: str = Field(description="where the grant comes from: aims.yaml or by hand")
    valid_from: Timestamp = Field(description="from when they hold it")
    decided_in: str | None = Field(
        None, description="the role-assignment run whose approval gave the role, if any"
    )
    approval_id: str | None = Field(None, description="that run's approval, if any")


class RoleRevoked(EvidencePayload):
    """A person no longer holds a role (5.3)."""

    KIND = "role.revoked"

    person_id: str = Field(description="who held the role")
    role: str = Field(description="the role")
    source: str = Field(description="where the revocation comes from: aims.yaml or by hand")
    valid_to: Timestamp = Field(description="from when they no longer hold it")


class DelegationGranted(EvidencePayload):
    """Someone may act for a role holder until a date, with a reason: the decision reads
    "B for A" and segregation of duties still applies to B (5.3)."""

    KIND = "delegation.granted"

    from_person: str = Field(description="who delegates (holds the role)")
    to_person: str = Field(description="who may act for them")
    role: str = Field(description="the role delegated")
    until: Timestamp = Field(description="when the delegation ends")
    reason: str = Field(description="why")


class DirectoryRefused(EvidencePayload):
    """A change to the directory was refused (unknown person, ambiguous e-mail, a delegation to
    oneself or past its date, a role aims.yaml does not define), and why. Nothing else was
    written."""

    KIND = "directory.refused"

    action: str = Field(description="what was asked: link, delegate, grant ...")
    reason: str = Field(description="why it was refused")
    asked: dict[str, str] = Field(description="what was asked, as given")


KINDS: tuple[type[EvidencePayload], ...] = (
    PersonLinked,
    RoleGranted,
    RoleRevoked,
    DelegationGranted,
    DirectoryRefused,
)
