"""The period an export covers: whole UTC days from ``--since`` to ``--until``, both included."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

__all__ = ["ClosedPeriod", "Period", "day_end", "parse_day", "parse_period"]

DATE_FORMAT = "YYYY-MM-DD"


@dataclass(frozen=True)
class Period:
    """``since`` and ``until`` are inclusive calendar days in UTC; either may be open (None)."""

    since: date | None = None
    until: date | None = None

    @property
    def start(self) -> datetime | None:
        """First instant inside the period."""
        return datetime.combine(self.since, time(), UTC) if self.since else None

    @property
    def end(self) -> datetime | None:
        """First instant after the period (midnight after ``until``): periods are half-open."""
        return day_end(self.until) if self.until else None

    @property
    def bounded(self) -> bool:
        return self.since is not None or self.until is not None

    def label(self) -> str:
        since, until = self.since, self.until
        if since is not None and until is not None:
            return f"{since.isoformat()} to {until.isoformat()}"
        if since is not None:
            return f"from {since.isoformat()}"
        if until is not None:
            return f"up to {until.isoformat()}"
        return "everything recorded"

    def as_dict(self) -> dict[str, str | None]:
        return {
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
        }

    def overlaps(self, start: datetime | None, end: datetime | None) -> bool:
        """Whether something active from ``start`` to
        ``end`` (None: still active) touches the period."""
        if self.end is not None and start is not None and start >= self.end:
            return False
        return not (self.start is not None and end is not None and end < self.start)


@dataclass(frozen=True)
class ClosedPeriod(Period):
    """A period with both ends set, so its instants are never None (the management review's)."""

    since: date
    until: date

    @property
    def start(self) -> datetime:
        return datetime.combine(self.since, time(), UTC)

    @property
    def end(self) -> datetime:
        return day_end(self.until)

    @property
    def days(self) -> int:
        return (self.until - self.since).days + 1


def day_end(day: date) -> datetime:
    """The first instant after ``day`` (UTC midnight):
    where a half-open period ending on it stops."""
    return datetime.combine(day + timedelta(days=1), time(), UTC)


def parse_day(text: str | None, option: str) -> date | None:
    """``"2026-03-31"`` -> a date; anything else is a ``ValueError`` saying the expected format."""
    if text is None or not text.strip():
        return None
    value = text.strip()
    try:
        if len(value) != 10:
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"{option} '{text}' is not a date: expected "
            f"{DATE_FORMAT}, e.g. 2026-03-31 (UTC days, inclusive)"
        ) from None


def parse_period(since: str | None, until: str | None) -> Period:
    """Both ends parsed and checked to be in order; errors are ``ValueError`` with the reason."""
    period = Period(parse_day(since, "--since"), parse_day(until, "--until"))
    if period.since and period.until and period.since > period.until:
        raise ValueError(f"--since {period.since} is after --until {period.until}: swap them")
    return period
