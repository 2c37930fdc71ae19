"""What a management-review input pack holds: plain data, gathered by :mod:`.gather` and drawn
by :mod:`.render`. Nothing here reads the database."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from ...kpi.capped import Capped
from ..ledger_slice import ChainCheck
from .period import ReviewPeriod

__all__ = [
    "Figure",
    "Tally",
    "Capped",
    "ReviewAction",
    "LastReview",
    "OpenReview",
    "ActionsSection",
    "PerformanceSection",
    "NonconformityRow",
    "NonconformitySection",
    "AuditRow",
    "AuditSection",
    "AcceptedRisk",
    "InventoryChange",
    "RiskSection",
    "ChainSection",
    "ForPeople",
    "ReviewPack",
    "LIST_LIMIT",
]

LIST_LIMIT = 50
"""Rows a list shows; the total is always given, so a long list says how many more there are."""


def _shown(value: float, unit: str) -> float:
    """The value as the pack prints it, so a trend never contradicts the two numbers beside it."""
    if unit == "ratio":
        return round(value * 100)
    if unit == "count":
        return round(value)
    return round(value, 1)


@dataclass(frozen=True)
class Figure:
    """One number for the period and the same number for the previous period, or (``state``) a
    level at the end of the period and at its start; ``before`` is None when it cannot be known."""

    label: str
    value: float | None
    before: float | None
    unit: str = "count"  # count, ratio, days, hours or score
    better: str | None = (
        None  # "up" or "down": the direction that is an improvement, when there is one
    )
    target: float | None = None
    note: str = ""
    state: bool = (
        False  # a level at the start and at the end of the period, not a count over each period
    )

    @property
    def trend(self) -> str | None:
        if self.value is None or self.before is None:
            return None
        now, then = _shown(self.value, self.unit), _shown(self.before, self.unit)
        return "up" if now > then else "down" if now < then else "same"

    @property
    def verdict(self) -> str | None:
        """ "better" or "worse" when the figure moved and has a good direction."""
        trend = self.trend
        if self.better is None or trend in (None, "same"):
            return None
        return "better" if trend == self.better else "worse"

    @property
    def met(self) -> bool | None:
        if self.target is None or self.value is None:
            return None
        return self.value >= self.target if self.better == "up" else self.value <= self.target


@dataclass(frozen=True)
class Tally:
    """A small table of counts: a name per row, one count per column."""

    columns: tuple[str, ...]
    rows: list[tuple[str, tuple[int, ...]]]


@dataclass(frozen=True)
class ReviewAction:
    run_id: str
    action: str
    review_date: str | None
    review_run: str | None
    owner: str | None
    due_at: datetime | None
    status: str  # open, overdue, done, partly_done, dropped, cancelled, failed, completed
    started_at: datetime
    completed_at: datetime | None
    what_was_done: str | None


@dataclass(frozen=True)
class LastReview:
    """The last completed management review and what its minutes record."""

    run_id: str
    started_at: datetime
    completed_at: datetime
    minutes: dict[str, Any]  # empty when the run recorded no minutes
    inputs: dict[str, Any]  # what people wrote in its input pack (issues, parties, opportunities)

    @property
    def approvals(self) -> list[tuple[str, str]]:
        """(who approved, the reason they gave), from the minutes' two parallel lists."""
        people, reasons = self.minutes.get("approved_by"), self.minutes.get("approval_reasons")
        people = people if isinstance(people, list) else [people] if people else []
        reasons = reasons if isinstance(reasons, list) else [reasons] if reasons else []
        return [
            (str(person), str(reasons[i]) if i < len(reasons) else "")
            for i, person in enumerate(people)
        ]


@dataclass(frozen=True)
class OpenReview:
    run_id: str
    started_at: datetime
    current_step: str | None


@dataclass(frozen=True)
class ActionsSection:
    last_review: LastReview | None
    open_reviews: list[OpenReview]
    actions: Capped[ReviewAction]
    figures: list[Figure]


@dataclass(frozen=True)
class PerformanceSection:
    kpis: list[Figure]  # at the start and at the end of the period
    activity: list[Figure]  # over the period and the previous one
    workflows: Tally
    notes: list[
        str
    ]  # warnings about the figures (a rebuilt coverage that disagrees with the projection)


@dataclass(frozen=True)
class NonconformityRow:
    id: str
    title: str
    severity: str
    source: str
    system: str | None
    status: str
    raised_at: datetime
    closed_at: datetime | None
    days: float | None  # to close, or open so far
    corrective_run: str | None
    effective: bool | None  # the last effectiveness check, when there was one


@dataclass(frozen=True)
class NonconformitySection:
    figures: list[Figure]
    by_source: Tally
    by_severity: Tally
    items: Capped[NonconformityRow]


@dataclass(frozen=True)
class AuditRow:
    run_id: str
    status: str
    started_at: datetime
    completed_at: datetime | None
    reference: str | None
    scope: str | None
    results: dict[str, str]
    findings: list[str]
    nonconformities_raised: int


@dataclass(frozen=True)
class AuditSection:
    figures: list[Figure]
    audits: Capped[AuditRow]


@dataclass(frozen=True)
class AcceptedRisk:
    run_id: str
    system: str
    risk: str
    score: float | None
    level: str | None
    residual_score: float | None
    residual_level: str | None
    treatment: str | None
    accepted_by: list[str]
    acceptance_level: str | None
    recorded_at: datetime


@dataclass(frozen=True)
class InventoryChange:
    system: str
    version: int
    changed_at: datetime
    changed_by: str
    fields: list[str]
    material: bool
    what: str  # added, changed, retired, out of scope, back in scope


@dataclass(frozen=True)
class RiskSection:
    threshold: float
    assessments: list[Figure]
    levels: Tally
    treatments: Tally
    accepted_above: Capped[AcceptedRisk]
    impact: list[Figure]
    coverage_lost: Tally
    inventory: list[Figure]
    changes: Capped[InventoryChange]


@dataclass(frozen=True)
class ChainSection:
    check: ChainCheck | None  # None: verification skipped (--no-verify)
    head_seq: int
    head_hash: str
    rows_in_period: int

    @property
    def verified(self) -> bool:
        return self.check is not None and self.check.ok


@dataclass(frozen=True)
class ForPeople:
    """A review input the database holds nothing on: a heading, why it is empty, and what the
    last review's input pack recorded on it (for reference, not as this period's answer)."""

    title: str
    why: str
    last_recorded: list[tuple[str, str]]


@dataclass(frozen=True)
class ReviewPack:
    organisation: str
    generated_at: datetime
    period: ReviewPeriod
    as_of: datetime  # the end of the period, or now if the period runs on past now
    tool_version: str
    database: str
    actions: ActionsSection
    performance: PerformanceSection
    nonconformities: NonconformitySection
    audits: AuditSection
    risk: RiskSection
    chain: ChainSection
    for_people: list[ForPeople] = field(default_factory=list)

    @property
    def ends_now(self) -> bool:
        """Whether the period runs on past the moment
        of generation (the end figures are as of now)."""
        return self.as_of < self.period.current.end

    @property
    def end_day(self) -> date:
        """The day the "at the end" figures belong to."""
        return self.as_of.date() if self.ends_now else self.period.current.until
