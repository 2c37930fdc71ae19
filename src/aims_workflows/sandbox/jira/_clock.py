"""Time as Jira writes it, and the injectable clock the sandbox reads it from."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

__all__ = ["Clock", "utcnow", "jira_datetime", "epoch_ms"]

Clock = Callable[[], datetime]
"""Returns the current time, timezone-aware. Tests pass a frozen or advanceable one."""


def utcnow() -> datetime:
    """The real clock, in UTC."""
    return datetime.now(UTC)


def jira_datetime(moment: datetime) -> str:
    """Jira's timestamp format, e.g. ``2025-01-05T10:15:30.123+0000``."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (
        moment.strftime("%Y-%m-%dT%H:%M:%S.")
        + f"{moment.microsecond // 1000:03d}"
        + (moment.strftime("%z"))
    )


def epoch_ms(moment: datetime) -> int:
    """Milliseconds since the epoch, as in webhook ``timestamp``."""
    return int(moment.timestamp() * 1000)
