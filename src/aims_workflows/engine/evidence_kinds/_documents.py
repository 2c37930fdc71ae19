"""Evidence of the register of documented information (7.5): documents entered and reviewed."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from ._base import EvidencePayload

__all__ = ["KINDS", "DocumentSnapshot", "DocumentRegistered", "DocumentReviewed"]

Day = Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}$")]
"""A calendar day as ``YYYY-MM-DD``."""


class DocumentSnapshot(BaseModel):
    """A document's identification and approval (7.5.2) as the register holds it."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    reference: str = Field(
        description="the organisation's reference for it, unique in the register"
    )
    requirement: str = Field(
        description="which mandatory documented information it is (scope, policy, soa ...)"
    )
    clause: str = Field(description="the clause that asks for it")
    title: str = Field(description="its title")
    version: str = Field(description="its version, as the organisation numbers them")
    author: str = Field(description="who wrote it (e-mail)")
    approver: str | None = Field(description="who approved this version (e-mail); none: a draft")
    approved_on: Day | None = Field(description="the day this version was approved")
    next_review: Day | None = Field(description="the day it is next to be reviewed")
    location: str | None = Field(
        description="where it is kept outside aims: a URL or a Confluence page"
    )
    file: str | None = Field(description="the file it was read from, as given")
    sha256: str | None = Field(description="SHA-256 of that file's content when it was recorded")


class DocumentRegistered(EvidencePayload):
    """A document was entered in the register of documented information (7.5.1, 7.5.2): what
    it is, which clause asks for it, who wrote and approved it, and where it is kept."""

    KIND = "document.registered"

    document: DocumentSnapshot = Field(description="the document as entered")


class DocumentReviewed(EvidencePayload):
    """A registered document was reviewed (7.5.2, 7.5.3): confirmed as it is, or revised to a
    new version, and approved again with the day of its next review."""

    KIND = "document.reviewed"

    reference: str = Field(description="the document's reference")
    outcome: Literal["confirmed", "revised"] = Field(
        description="confirmed: the same version still holds; revised: a new version"
    )
    previous_version: str = Field(description="the version before the review")
    notes: str = Field(description="what the review found or changed; may be empty")
    document: DocumentSnapshot = Field(description="the document after the review")


KINDS: tuple[type[EvidencePayload], ...] = (DocumentRegistered, DocumentReviewed)
