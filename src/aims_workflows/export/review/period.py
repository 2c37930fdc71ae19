"""Which period a management-review input pack covers, why, and the period it is compared with.

By default a review looks at what happened since the last one: from the day the last completed
management-review run completed to today. Without any completed review, the whole history: from
the day of the ledger's first row (a first review looks at everything there is). The
comparison period has the same number of days and ends the day before the period starts, so
every figure can say whether it went up or down.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Connection, select

from ...store.models import Run
from ..period import ClosedPeriod, day_end, parse_day

__all__ = ["ReviewPeriod", "choose_period", "last_review", "MANAGEMENT_REVIEW", "DEFAULT_DAYS"]

MANAGEMENT_REVIEW = "management-review"
"""The shipped clause 9.3 workflow: its completed
runs mark where the next review's period begins."""
DEFAULT_DAYS = 365


@dataclass(frozen=True)
class ReviewPeriod:
    """``current`` and ``previous`` are closed calendar periods (both ends set, UTC days)."""

    current: ClosedPeriod
    previous: ClosedPeriod
    reason: str
    last_review_run: str | None = None
    last_review_completed: datetime | None = None

    @property
    def days(self) -> int:
        return self.current.days

    def label(self) -> str:
        return f"{self.current.label()} ({self.days} day{'s' if self.days != 1 else ''})"


def first_record_day(conn: Connection) -> date | None:
    """The day of the ledger's first row (``None`` for an empty ledger)."""
    from sqlalchemy import func

    from ...store.models import Evidence

    first = conn.execute(select(func.min(Evidence.__table__.c.effective_at))).scalar()
    return datetime.fromisoformat(str(first)).date() if first else None


def last_review(conn: Connection, before: datetime) -> tuple[str, datetime] | None:
    """(run id, completed at) of the last management review completed before ``before``."""
    r = Run.__table__
    row = conn.execute(
        select(r.c.id, r.c.completed_at)
        .where(
            r.c.workflow_id == MANAGEMENT_REVIEW,
            r.c.status == "completed",
            r.c.completed_at < before,
        )
        .order_by(r.c.completed_at.desc(), r.c.id.desc())
        .limit(1)
    ).first()
    return (row.id, row.completed_at) if row else None


def choose_period(
    conn: Connection, since: str | None, until: str | None, now: datetime
) -> ReviewPeriod:
    """The period from ``--since``/``--until`` (either may be None) and the clock; a ``ValueError``
    names the option at fault and how to fix it."""
    today = now.date()
    start_day = parse_day(since, "--since")
    end_day = parse_day(until, "--until") or today
    last = None
    if start_day is None:
        last = last_review(conn, day_end(end_day))
        if last is not None:
            start_day = last[1].date()
            reason = (
                f"since the last management review completed by --until {end_day.isoformat()}"
                if until is not None
                else "since the last completed management review"
            )
            reason += f", {last[0]}, completed on {start_day.isoformat()}"
        else:
            first = first_record_day(conn)
            start_day = min(first, end_day) if first else end_day
            reason = (
                f"the whole history up to --until {end_day.isoformat()}, from the first ledger "
                "row, as no management review had been completed by then"
                if until is not None
                else "the whole history, from the first ledger row, as no management review has "
                "been completed yet"
            )
    elif until is None:
        reason = f"from --since {start_day.isoformat()} to today"
    else:
        reason = "as asked with --since and --until"
    if start_day > end_day:
        if until is None:
            raise ValueError(
                f"--since {start_day.isoformat()} is in the future (today is {today.isoformat()}): "
                "give a day up to today, or --until as well"
            )
        raise ValueError(
            f"--since {start_day.isoformat()} is after --until {end_day.isoformat()}: swap them"
        )
    current = ClosedPeriod(start_day, end_day)
    length = (end_day - start_day).days + 1
    previous = ClosedPeriod(start_day - timedelta(days=length), start_day - timedelta(days=1))
    return ReviewPeriod(
        current, previous, reason, last[0] if last else None, last[1] if last else None
    )
