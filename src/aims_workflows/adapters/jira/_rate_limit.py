"""What Jira Cloud says about its rate limits, and when a poll may ask again.

Jira answers a request over its quota with 429 (sometimes 503) and ``Retry-After`` (seconds),
and announces its quota with ``X-RateLimit-Limit``, ``X-RateLimit-Remaining`` and
``X-RateLimit-Reset`` (an ISO 8601 time). A poll that ignores them only earns more 429s, and the
429s count against the same quota the engine's own issue creation needs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

__all__ = ["RateLimitSeen", "rate_limit_of", "poll_not_before", "LOW_QUOTA_SHARE"]

LOW_QUOTA_SHARE = 0.1
"""Below this share of the quota left, a poll waits for the quota to fill up again: the rest
is for the work people are waiting on (issue creation, transitions)."""


@dataclass(frozen=True)
class RateLimitSeen:
    status: int
    limit: int | None
    remaining: int | None
    reset: datetime | None
    retry_after: float | None

    @property
    def low(self) -> bool:
        if self.remaining is None:
            return False
        if self.remaining <= 0:
            return True
        return bool(self.limit) and self.remaining < (self.limit or 0) * LOW_QUOTA_SHARE


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _moment(value: str | None) -> datetime | None:
    """``X-RateLimit-Reset``: ISO 8601 (``2026-01-05T10:15:30Z``); None for anything else."""
    if not value or len(value) > 40:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def rate_limit_of(status: int, headers: Mapping[str, str]) -> RateLimitSeen | None:
    """The rate-limit facts of one answer, or None when it carries none (most answers).

    >>> seen = rate_limit_of(429, {"Retry-After": "7", "X-RateLimit-Remaining": "0"})
    >>> (seen.retry_after, seen.low)
    (7.0, True)
    """
    lower = {k.lower(): v for k, v in headers.items()}
    raw_retry = lower.get("retry-after")
    retry_after: float | None = None
    if raw_retry is not None:
        try:
            retry_after = max(0.0, float(raw_retry))
        except ValueError:
            retry_after = None
    limit = _int(lower.get("x-ratelimit-limit"))
    remaining = _int(lower.get("x-ratelimit-remaining"))
    reset = _moment(lower.get("x-ratelimit-reset"))
    if retry_after is None and remaining is None and reset is None and status not in (429, 503):
        return None
    return RateLimitSeen(status, limit, remaining, reset, retry_after)


def poll_not_before(now: datetime, seen: RateLimitSeen | None) -> datetime | None:
    """The earliest time the next poll should ask Jira, given what the last answer said; None
    when it said nothing that holds the poll back (the poll interval alone paces it)."""
    if seen is None:
        return None
    waits: list[datetime] = []
    if seen.retry_after is not None:
        waits.append(now + timedelta(seconds=seen.retry_after))
    elif seen.status in (429, 503):
        waits.append(now + timedelta(seconds=60))  # limited without saying how long
    if seen.low and seen.reset is not None and seen.reset > now:
        waits.append(seen.reset)
    return max(waits) if waits else None
