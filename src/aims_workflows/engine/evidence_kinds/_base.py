"""What every evidence payload model shares: strict frozen models, timestamps, snapshots."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, ClassVar, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    PlainSerializer,
    WithJsonSchema,
)

from ..evidence import iso

__all__ = ["EvidencePayload", "SubjectSnapshot", "Timestamp", "JsonValue"]

# the text iso() writes; anything else would not come back byte for byte
_CANONICAL_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")
_TIME_TEXT = "%Y-%m-%dT%H:%M:%S.%fZ"


def _timestamp(value: object) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("a timestamp needs a time zone")
        return value
    if isinstance(value, str) and _CANONICAL_TIME.fullmatch(value):
        return datetime.strptime(value, _TIME_TEXT).replace(tzinfo=UTC)
    raise ValueError(
        f"a timestamp is UTC text with microseconds, as 2026-11-29T19:25:41.000000Z, not {value!r}"
    )


Timestamp = Annotated[
    datetime,
    BeforeValidator(_timestamp),
    PlainSerializer(iso, return_type=str),
    WithJsonSchema(
        {"type": "string", "format": "date-time", "pattern": f"^{_CANONICAL_TIME.pattern}$"}
    ),
]
"""A moment, stored as ``iso()`` text: UTC with microseconds, ``2026-11-29T19:25:41.000000Z``."""


class EvidencePayload(BaseModel):
    """The payload of one kind of ledger row.

    Strict and closed: a field of the wrong type or a field the kind does not have is refused,
    so a payload that parses is one whose canonical JSON is the stored text. The kind itself is
    not a field: the ledger keeps it in its own column, and the payload bytes stay as they are.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    KIND: ClassVar[str]


class SubjectSnapshot(BaseModel):
    """What a run is about, as it was when the row was written."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    type: Literal["ai_system", "organisation", "finding"] = Field(
        description="what kind of thing the run is about"
    )
    id: str = Field(description="its id: the inventory id of an AI system, a finding's id")
    name: str = Field(description="its name when the row was written")
    owner: str | None = Field(description="the accountable person (e-mail), if it has one")
    attributes: dict[str, JsonValue] = Field(
        description="what workflow conditions read: an AI system's inventory fields, for one"
    )
