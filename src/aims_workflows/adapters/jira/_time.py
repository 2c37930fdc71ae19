"""Jira Cloud's timestamps (``2025-01-05T10:15:30.123+0000``) read in one place."""

from __future__ import annotations

from datetime import datetime
from typing import Any

__all__ = ["jira_time"]

_FORM = "%Y-%m-%dT%H:%M:%S.%f%z"


def jira_time(text: Any) -> datetime | None:
    """The moment Jira wrote, or None for anything that is not one (a webhook of odd shape, a
    field Jira left out)."""
    if not isinstance(text, str) or len(text) > 40:
        return None
    try:
        return datetime.strptime(text, _FORM)
    except ValueError:
        return None
