"""A run's timeline: its ledger rows in plain words, its open work and the commands that could
not be carried out. ``aims runs show``, ``aims evidence list`` and the dashboard's run page read
the same data from here, each rendering it its own way.

>>> with db.connect() as conn:                      # doctest: +SKIP
...     timeline = run_timeline(conn, "R0A1B2C3D4E", limit=500)
>>> [entry.text for entry in timeline.entries][:1]  # doctest: +SKIP
['started ai-risk-assessment v1 (manual) by cli via cli']
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection, func, select

from ..engine.evidence import ChainedEvidence
from ..engine.evidence_kinds import (
    EVIDENCE_KINDS,
    ApprovalClosed,
    ApprovalDecided,
    ApprovalExpired,
    ApprovalInvalidated,
    ApprovalRefused,
    ApprovalRequested,
    ApprovalWithdrawn,
    ArtefactRecorded,
    CommandDead,
    CommandRevived,
    DecisionTaken,
    Escalated,
    EvidencePayload,
    Overdue,
    Reminded,
    RunCancelled,
    RunCompleted,
    RunFailed,
    RunSpawned,
    RunStarted,
    TaskAnswersRefused,
    TaskCompleted,
    TaskIssued,
    TaskRequested,
    WaitEnded,
    WaitStarted,
)
from ..engine.state import RunState
from ..store import ledger
from ..store import runs as run_store
from ..store.models import Evidence, InboxItem, OutboxItem, Run

__all__ = [
    "describe",
    "run_timeline",
    "form_labels",
    "RunTimeline",
    "TimelineEntry",
    "CommandProblem",
]


_LONGEST = 400
"""Characters of answers and fields shown in one line; the ledger row itself holds them all."""


def _clip(text: str) -> str:
    return text if len(text) <= _LONGEST else text[: _LONGEST - 1] + "…"


def describe(row: ChainedEvidence) -> str:
    """One line of plain words for a ledger row.

    A row of a kind outside the evidence contract, or one that does not fit its kind's model,
    still gets a line: its kind, actor and channel (the chain check is what judges the row).
    """
    model = EVIDENCE_KINDS.get(row.kind)
    if model is not None:
        try:
            payload = model.model_validate_json(row.payload)
        except ValidationError:
            pass
        else:
            described = _describe(row, payload)
            if described is not None:
                return described
    return f"{row.kind} by {row.actor} via {row.via}"


def _describe(row: ChainedEvidence, payload: EvidencePayload) -> str | None:
    who = f"{row.actor} via {row.via}"
    step = row.step_id or ""
    match payload:
        case RunStarted():
            return f"started {payload.workflow} v{payload.version} ({payload.trigger}) by {who}"
        case TaskRequested():
            return f"task '{step}' for {payload.role}: {payload.title}"
        case TaskIssued():
            return f"task '{step}' issued as {payload.ref} to {payload.assignee}"
        case TaskCompleted():
            answers = ", ".join(f"{k}={v}" for k, v in payload.answers.items())
            return _clip(f"{_completed(step, who, payload)}: {answers}")
        case TaskAnswersRefused():
            return f"answers to '{step}' refused: {' '.join(payload.problems)}"
        case ApprovalRequested():
            again = f", after {payload.escalated_from} expired" if payload.escalated_from else ""
            return (
                f"approval '{step}' requested from {', '.join(payload.approvers)}"
                f" (quorum {payload.quorum}, content {payload.content_hash[:12]}{again})"
            )
        case ApprovalDecided():
            verb = {"approve": "approved", "reject": "rejected"}[payload.decision]
            return f"{payload.person} {verb} '{step}' via {row.via}: {payload.reason}"
        case ApprovalRefused():
            return f"decision by {payload.person} on '{step}' refused: {payload.reason}"
        case ApprovalClosed():
            hours = payload.latency_seconds / 3600
            return f"approval '{step}' {payload.outcome} after {hours:.1f} h"
        case ApprovalInvalidated():
            return f"approval '{step}' invalidated: {payload.reason}"
        case ApprovalExpired():
            then = (
                f"; asked of {payload.escalated_to} instead"
                if payload.escalated_to
                else "; nobody else to ask"
            )
            return f"approval '{step}' expired undecided (due {_day(payload.due_at)}){then}"
        case ApprovalWithdrawn():
            verb = {"approve": "approval", "reject": "rejection"}[payload.decision]
            return (
                f"{payload.person} withdrew their {verb} of '{step}' via {row.via}: "
                f"{payload.reason}"
            )
        case DecisionTaken():
            return f"decision '{step}': " + (
                f"{payload.when} -> {payload.goto}"
                if payload.when
                else f"otherwise -> {payload.goto}"
            )
        case ArtefactRecorded():
            fields = ", ".join(f"{k}={v}" for k, v in payload.fields.items())
            return _clip(f"recorded {payload.artefact}: {fields}")
        case RunSpawned():
            return f"started {len(payload.runs)} {payload.workflow} run(s)" + (
                " and waits for them" if payload.wait else ""
            )
        case Overdue():  # of a task or of an approval
            return f"'{step}' is overdue (due {_day(payload.due_at)})"
        case Escalated():
            return f"'{step}' escalated to {payload.to}"
        case Reminded():
            return f"reminder for '{step}' sent to {', '.join(payload.to)}"
        case WaitStarted():
            return f"waiting until {_day(payload.until)}"
        case WaitEnded():
            return "wait over"
        case RunCompleted():
            return "run completed"
        case RunFailed():
            return f"run failed: {payload.reason}"
        case RunCancelled():
            return f"run cancelled by {who}: {payload.reason}"
        case CommandRevived():
            return f"{who} queued again: {', '.join(c.kind for c in payload.commands)}"
        case CommandDead():
            return f"gave up on {payload.kind}: {payload.reason}"
    return None  # a kind with no words of its own: the generic line


def _completed(step: str, who: str, payload: TaskCompleted) -> str:
    return f"task '{step}' completed by {who}" + (" (late)" if payload.overdue else "")


def _day(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d")


@dataclass(frozen=True)
class TimelineEntry:
    seq: int
    at: str  # effective time, "YYYY-MM-DD HH:MM" (UTC)
    kind: str
    actor: str
    via: str
    text: str
    hash: str
    step_id: str | None = None
    answers: tuple[tuple[str, Any], ...] = ()
    """A completed task's answers or a recorded artefact's fields, whole (``text`` cuts them), as
    (field id, value)."""
    headline: str = ""
    """For those rows: the text without the values (a page lists them under it)."""


def form_labels(spec: Any) -> dict[str, dict[str, str]]:
    """Step id -> {field id -> label} of every task form of a workflow spec, in the form's
    order: how a page names the answers a task was completed with."""
    return {
        step.id: {f.id: f.label for f in step.form}
        for step in spec.steps
        if getattr(step, "kind", None) == "task"
    }


@dataclass(frozen=True)
class CommandProblem:
    """A command of the run that failed: ``dead`` (parked) or still being retried."""

    kind: str
    status: str
    attempts: int
    error: str

    @property
    def dead(self) -> bool:
        return self.status == "dead"


@dataclass(frozen=True)
class ParkedDelivery:
    """An inbound delivery about the run (a Jira webhook) set aside because it cannot be
    applied; the deliveries behind it went on."""

    source: str
    delivery_id: str
    received_at: datetime
    reason: str


@dataclass(frozen=True)
class RunTimeline:
    run: RunState
    workflow_id: str
    started_at: datetime
    completed_at: datetime | None
    entries: list[TimelineEntry]
    total_entries: int
    problems: list[CommandProblem]
    spawned_by: str | None = None
    spawned: list[str] = field(default_factory=list)
    """Runs this one started (audit findings' corrective actions, a review's follow-up actions)."""
    parked: list[ParkedDelivery] = field(default_factory=list)
    """Deliveries about this run that could not be applied and were set aside."""

    @property
    def more(self) -> int:
        """Ledger rows of the run left out by the limit."""
        return self.total_entries - len(self.entries)


def entry(row: ChainedEvidence) -> TimelineEntry:
    answers: tuple[tuple[str, Any], ...] = ()
    headline = ""
    if row.kind == TaskCompleted.KIND:
        try:
            completed = TaskCompleted.model_validate_json(row.payload)
        except ValidationError:
            pass
        else:
            answers = tuple(completed.answers.items())
            headline = _completed(row.step_id or "", f"{row.actor} via {row.via}", completed)
    elif row.kind == ArtefactRecorded.KIND:  # its fields, whole, the same way
        try:
            recorded = ArtefactRecorded.model_validate_json(row.payload)
        except ValidationError:
            pass
        else:
            answers = tuple(recorded.fields.items())
            headline = f"recorded {recorded.artefact}"
    return TimelineEntry(
        row.seq,
        row.effective_at[:16].replace("T", " "),
        row.kind,
        row.actor,
        row.via,
        describe(row),
        row.hash,
        row.step_id,
        answers,
        headline,
    )


def run_timeline(conn: Connection, run_id: str, *, limit: int | None = None) -> RunTimeline:
    """The run, its first ``limit`` ledger rows (all when None) and its failing commands.

    Raises :class:`aims_workflows.errors.NotFound` for an unknown run.
    """
    run, _ = run_store.load(conn, run_id)
    runs, evidence, outbox = Run.__table__, Evidence.__table__, OutboxItem.__table__
    row = conn.execute(
        select(runs.c.workflow_id, runs.c.started_at, runs.c.completed_at, runs.c.spawned_by).where(
            runs.c.id == run_id
        )
    ).one()
    if limit is None:
        entries = [entry(r) for r in ledger.iter_rows(conn, run_id=run_id)]
        total = len(entries)
    else:
        # a batch just over the limit: one query reads what the page shows
        entries = [
            entry(r)
            for r in itertools.islice(ledger.iter_rows(conn, run_id=run_id, batch=limit + 1), limit)
        ]
        total = len(entries)
        if total == limit:
            total = (
                conn.scalar(
                    select(func.count()).select_from(evidence).where(evidence.c.run_id == run_id)
                )
                or 0
            )
    problems = [
        CommandProblem(p.kind, p.status, p.attempts, p.last_error or "")
        for p in conn.execute(
            select(outbox.c.kind, outbox.c.status, outbox.c.attempts, outbox.c.last_error)
            .where(
                outbox.c.run_id == run_id,
                outbox.c.status.in_(("dead", "pending", "inflight")),
                outbox.c.last_error.is_not(None),
            )
            .order_by(outbox.c.id)
        )
    ]
    spawned = list(
        conn.scalars(
            select(runs.c.id)
            .where(runs.c.spawned_by == run_id)
            .order_by(runs.c.started_at, runs.c.id)
        )
    )
    inbox = InboxItem.__table__
    parked = [
        ParkedDelivery(r.source, r.delivery_id, r.received_at, r.error or "")
        for r in conn.execute(
            select(inbox.c.source, inbox.c.delivery_id, inbox.c.received_at, inbox.c.error)
            .where(inbox.c.run_id == run_id, inbox.c.status == "parked")
            .order_by(inbox.c.id)
            .limit(100)
        )
    ]
    return RunTimeline(
        run,
        row.workflow_id,
        row.started_at,
        row.completed_at,
        entries,
        total,
        problems,
        row.spawned_by,
        spawned,
        parked,
    )
