"""Durations as workflow authors write them: ``90d``, ``2w``, ``36h``, ``30m``, ``1d12h`` or
ISO 8601 ``P90D`` / ``PT4H``. Parsed to :class:`datetime.timedelta`, written back in the short
form."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

__all__ = ["Duration", "parse_duration", "format_duration"]

_UNIT_SECONDS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
_SHORT = re.compile(r"^(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_ISO = re.compile(r"^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")


def parse_duration(value: object) -> timedelta:
    """Parse ``"90d"``, ``"P90D"``, ``"1d12h"`` ... into a timedelta.

    >>> parse_duration("1d12h")
    datetime.timedelta(days=1, seconds=43200)
    """
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError(f"expected a duration such as '90d', '12h' or 'P90D', got {value!r}")
    text = value.strip()
    match = _SHORT.match(text) or _ISO.match(text.upper())
    if not text or match is None or not any(match.groups()):
        raise ValueError(
            f"{value!r} is not a duration: write a number and a unit (w, d, h, m, s) such as "
            "'90d' or '1d12h', or ISO 8601 such as 'P90D'"
        )
    seconds = sum(
        int(n) * s for n, s in zip(match.groups(), _UNIT_SECONDS.values(), strict=True) if n
    )
    if seconds <= 0:
        raise ValueError(f"{value!r} is zero: a duration must be longer than that")
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    """The short form: ``timedelta(days=90)`` -> ``"90d"``."""
    remaining = int(delta.total_seconds())
    parts = []
    for unit, size in _UNIT_SECONDS.items():
        if unit == "w" and remaining % size:
            continue  # prefer 10d over 1w3d: people read days
        count, remaining = divmod(remaining, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?$|^P",
            "description": "a duration such as '90d', '36h', '1d12h' or ISO 8601 'P90D'",
            "examples": ["14d", "90d", "4h"],
        }
    ),
]
