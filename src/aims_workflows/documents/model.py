"""A document's identification and approval (7.5.2), as entered with ``aims documents add`` or
declared in the ``documents:`` section of ``aims.yaml``."""

from __future__ import annotations

import hashlib
import re
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from .requirements import REQUIREMENTS, requirement

__all__ = ["DocumentFields", "REFERENCE_PATTERN", "file_sha256", "resolve_requirement"]

REFERENCE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,99}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
# A URL people can open, or a Confluence page named by its id or space and title.
_LOCATION = re.compile(r"^(https?://\S+|confluence:\S.*)$")


def resolve_requirement(value: str) -> str:
    """A requirement key from a key (``scope``) or a clause id (``4.3``) naming only one."""
    text = str(value).strip()
    by_clause = [r.key for r in REQUIREMENTS if r.clause == text]
    if len(by_clause) == 1:
        return by_clause[0]
    if len(by_clause) > 1:
        raise ValueError(
            f"clause {text} asks for more than one document ({', '.join(by_clause)}): "
            "name the one this is"
        )
    return requirement(text).key


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's content, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class DocumentFields(BaseModel):
    """What identifies a document and its approval. Dates are calendar days; a draft has no
    approver and no approval day yet; a document kept outside aims says where."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    requirement: str = Field(
        description="which mandatory documented information it is: a key such as 'scope' "
        "or the clause that asks for it"
    )
    title: str = Field(min_length=1, max_length=300)
    version: str = Field(min_length=1, max_length=40)
    author: str
    approver: str | None = None
    approved_on: date | None = None
    next_review: date | None = None
    location: str | None = Field(None, description="a URL or confluence:PAGE")
    file: str | None = Field(None, description="a file whose SHA-256 is recorded")
    sha256: str | None = Field(None, description="the file's SHA-256, when known")

    @field_validator("requirement", mode="before")
    @classmethod
    def _known_requirement(cls, value: Any) -> str:
        try:
            return resolve_requirement(str(value))
        except ValueError as err:
            raise PydanticCustomError("document_requirement", _literal(str(err))) from None
        except Exception as err:  # ConfigError from requirement(): its message and hint
            hint = getattr(err, "hint", "")
            text = f"{getattr(err, 'message', err)} ({hint})" if hint else str(err)
            raise PydanticCustomError("document_requirement", _literal(text)) from None

    @field_validator("author", "approver")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not _EMAIL.match(value):
            raise ValueError(f"'{value}' is not an e-mail address")
        return value

    @field_validator("location")
    @classmethod
    def _location(cls, value: str | None) -> str | None:
        if value and not _LOCATION.match(value):
            raise ValueError(
                f"'{value}' is neither a URL (https://...) nor a Confluence page "
                "(confluence:PAGE-ID or confluence:SPACE/Title)"
            )
        return value or None

    @field_validator("sha256")
    @classmethod
    def _hash(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.lower()
        if not _SHA256.match(value):
            raise ValueError("sha256 must be 64 hexadecimal digits (`sha256sum FILE` prints it)")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> DocumentFields:
        if (self.approver is None) != (self.approved_on is None):
            raise PydanticCustomError(
                "document_approval",
                "an approval names both the approver and the day (approver and approved_on)",
            )
        if self.approved_on and self.next_review and self.next_review <= self.approved_on:
            raise PydanticCustomError(
                "document_review",
                _literal(
                    f"the next review ({self.next_review}) must come after the approval "
                    f"({self.approved_on})"
                ),
            )
        if not self.location and not self.file:
            raise PydanticCustomError(
                "document_location",
                "say where the document is kept: a location (URL or confluence:PAGE) or a file",
            )
        return self


def _literal(message: str) -> str:
    return message.replace("{", "{{").replace("}", "}}")
