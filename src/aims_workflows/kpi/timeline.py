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
import json
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, func, select

from ..engine.evidence import ChainedEvidence
from ..engine.state import RunState
from ..store import ledger
from ..store import runs as run_store
from ..store.models import Evidence, OutboxItem, Run

__all__ = ["describe", "run_timeline", "RunTimeline", "TimelineEntry", "CommandProblem"]


_LONGEST = 400
"""Characters of answers and fields shown in one line; the ledger row itself holds them all."""


def _clip(text: str) -> str:
    return text if len(text) <= _LONGEST else text[: _LONGEST - 1] + "…"


def describe(row: ChainedEvidence) -> str:
    """One line of plain words for a ledger row."""
    try:
        return _describe(row)
    except (KeyError, TypeError, ValueError, AttributeError):
        # A row written by an older or newer version may lack a field: the row is still shown.
        return f"{row.kind} by {row.actor} via {row.via}"


def _describe(row: ChainedEvidence) -> str:
    p = json.loads(row.payload)
    who = f"{row.actor} via {row.via}"
    step = row.step_id or ""
    kind = row.kind
    if kind == "run.started":
        return f"started {p['workflow']} v{p['version']} ({p.get('trigger', 'manual')}) by {who}"
    if kind == "task.requested":
        return f"task '{step}' for {p['role']}: {p['title']}"
    if kind == "task.issued":
        return f"task '{step}' issued as {p.get('ref')} to {p.get('assignee')}"
    if kind == "task.completed":
        answers = ", ".join(f"{k}={v}" for k, v in p["answers"].items())
        return _clip(
            f"task '{step}' completed by {who}"
            + (" (late)" if p.get("overdue") else "")
            + f": {answers}"
        )
    if kind == "task.answers_refused":
        return f"answers to '{step}' refused: {' '.join(p['problems'])}"
    if kind == "approval.requested":
        return (
            f"approval '{step}' requested from {', '.join(p['approvers'])}"
            f" (quorum {p['quorum']}, content {p['content_hash'][:12]})"
        )
    if kind == "approval.decided":
        verb = {"approve": "approved", "reject": "rejected"}.get(p["decision"], p["decision"])
        return f"{p['person']} {verb} '{step}' via {row.via}: {p['reason']}"
    if kind == "approval.refused":
        return f"decision by {p['person']} on '{step}' refused: {p['reason']}"
    if kind == "approval.closed":
        return f"approval '{step}' {p['outcome']} after {p['latency_seconds'] / 3600:.1f} h"
    if kind == "approval.invalidated":
        return f"approval '{step}' invalidated: {p['reason']}"
    if kind == "decision.taken":
        return f"decision '{step}': " + (
            f"{p['when']} -> {p['goto']}" if p["when"] else f"otherwise -> {p['goto']}"
        )
    if kind == "artefact.recorded":
        fields = ", ".join(f"{k}={v}" for k, v in p["fields"].items())
        return _clip(f"recorded {p['artefact']}: {fields}")
    if kind == "run.spawned":
        return f"started {len(p['runs'])} {p['workflow']} run(s)" + (
            " and waits for them" if p["wait"] else ""
        )
    if kind in ("task.overdue", "approval.overdue"):
        return f"'{step}' is overdue (due {p['due_at'][:10]})"
    if kind.endswith(".escalated"):
        return f"'{step}' escalated to {p['to']}"
    if kind.endswith(".reminded"):
        return f"reminder for '{step}' sent to {', '.join(p['to'])}"
    if kind == "wait.started":
        return f"waiting until {p['until'][:10]}"
    if kind == "wait.ended":
        return "wait over"
    if kind == "run.completed":
        return "run completed"
    if kind == "run.failed":
        return f"run failed: {p['reason']}"
    if kind == "run.cancelled":
        return f"run cancelled by {who}: {p['reason']}"
    if kind == "command.revived":
        return f"{who} queued again: {', '.join(c['kind'] for c in p['commands'])}"
    if kind == "command.dead":
        return f"gave up on {p['kind']}: {p['reason']}"
    return f"{kind} by {who}"


@dataclass(frozen=True)
class TimelineEntry:
    seq: int
    at: str  # effective time, "YYYY-MM-DD HH:MM" (UTC)
    kind: str
    actor: str
    via: str
    text: str
    hash: str


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

    @property
    def more(self) -> int:
        """Ledger rows of the run left out by the limit."""
        return self.total_entries - len(self.entries)


def entry(row: ChainedEvidence) -> TimelineEntry:
    return TimelineEntry(
        row.seq,
        row.effective_at[:16].replace("T", " "),
        row.kind,
        row.actor,
        row.via,
        describe(row),
        row.hash,
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
    )
