"""The management-review input pack (clause 9.3): gathered from one snapshot of the database into
a :class:`~.model.ReviewPack`, drawn by :mod:`.render`.

Only what the database holds is reported: runs, tasks, approvals, findings, the risk register, the
inventory and its history, and the ledger rows of the few runs that matter (the last review, the
review actions, the audits, the effectiveness checks), each read by run id. The ledger is read in
full only to verify the chain, which ``verify=False`` skips. Every figure is given for the period
and for the previous period of the same length (or at the start and the end of the period).

>>> with snapshot(app.db) as conn:                                        # doctest: +SKIP
...     period = choose_period(conn, since=None, until=None, now=clock.now())
...     pack = gather_review(app, conn, period, now=clock.now())
>>> pack.period.reason                                                    # doctest: +SKIP
'since the last completed management review, R0A1..., completed on 2026-11-18'
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any, TypeVar

from pydantic import ValidationError
from sqlalchemy import Connection, and_, func, or_, select

from ... import __version__
from ...engine.evidence_kinds import ArtefactRecorded, EvidencePayload, RunStarted, TaskCompleted
from ...store import ledger
from ...store.models import Approval, Evidence, Finding, Run, StepRecord
from ..ledger_slice import check_chain, seq_range
from ..period import ClosedPeriod
from .model import (
    LIST_LIMIT,
    ActionsSection,
    AuditRow,
    AuditSection,
    Capped,
    ChainSection,
    Figure,
    ForPeople,
    LastReview,
    NonconformityRow,
    NonconformitySection,
    OpenReview,
    PerformanceSection,
    ReviewAction,
    ReviewPack,
    Tally,
)
from .period import MANAGEMENT_REVIEW, ReviewPeriod, last_review
from .risk import gather_risk
from .state import CoverageHistory, coverage_check, open_work

__all__ = [
    "gather_review",
    "FOR_PEOPLE",
    "REVIEW_ACTION",
    "INTERNAL_AUDIT",
    "DEFAULT_RISK_THRESHOLD",
]

REVIEW_ACTION = "review-action"
INTERNAL_AUDIT = "internal-audit"
DEFAULT_RISK_THRESHOLD = 10.0
"""Residual risk score from which an accepted risk is listed: the shipped risk workflow's appetite
(a residual score of 10 or more goes to top management)."""

FOR_PEOPLE = [
    (
        "Changes in external and internal issues",
        "aims holds no record of the organisation's context (regulation, "
        "market, technology, strategy, organisation). Describe what changed "
        "since the last review and whether it affects the AIMS scope.",
        (("external issues", "external_issues"), ("internal issues", "internal_issues")),
    ),
    (
        "Changes in the needs and expectations of interested parties",
        "aims holds no record of interested parties (customers, regulators, staff, "
        "affected people). Describe new or changed requirements and expectations.",
        (("interested parties", "interested_parties"),),
    ),
    (
        "Results of external audits and other sources",
        "aims holds internal audits only (section 4). Add certification or "
        "customer audit results, complaints and feedback from interested parties.",
        (("audit results", "audit_results"),),
    ),
    (
        "Opportunities for continual improvement",
        "aims holds no list of improvement opportunities. Add them, "
        "with who proposes them; the figures above may suggest some.",
        (("opportunities", "opportunities"),),
    ),
]
"""Inputs top management must consider that the database cannot know: sections left for people."""

_RUNS, _STEPS, _APPROVALS = Run.__table__, StepRecord.__table__, Approval.__table__
_FINDINGS, _EVIDENCE = Finding.__table__, Evidence.__table__
_CHUNK = 500
_Payload = TypeVar("_Payload", bound=EvidencePayload)


def gather_review(
    app: Any,
    conn: Connection,
    rp: ReviewPeriod,
    *,
    now: datetime,
    verify: bool = True,
    risk_threshold: float = DEFAULT_RISK_THRESHOLD,
) -> ReviewPack:
    """Everything the pack shows for the period ``rp`` (see :func:`.review_period.choose_period`),
    read from ``conn``, which should be one snapshot (``_snapshot.snapshot``)."""
    cur, prev = rp.current, rp.previous
    as_of = min(cur.end, now)
    coverage = CoverageHistory(conn, app.runtime.specs, app.workflows, prev.start)
    snapshots = {
        name: coverage.at(moment)
        for name, moment in (("previous_start", prev.start), ("start", cur.start), ("end", as_of))
    }
    notes = list(coverage.notes)
    if as_of == now:
        problems = coverage_check(conn, snapshots["end"])
        if problems:
            notes.append(
                "The coverage rebuilt from the run history does not match the KPI projection ("
                + "; ".join(problems)
                + "), as happens when rows are changed or removed outside aims: treat the "
                "coverage figures with care and run `aims evidence verify`."
            )
    findings = _findings(conn, prev.start, cur.end)
    actions = _actions(conn, rp, as_of)
    review_inputs = actions.last_review.inputs if actions.last_review else {}
    return ReviewPack(
        organisation=app.config.organisation,
        generated_at=now,
        period=rp,
        as_of=as_of,
        tool_version=__version__,
        database=app.db.dialect,
        actions=actions,
        performance=_performance(conn, rp, as_of, snapshots, app.config.kpi_targets, notes),
        nonconformities=_nonconformities(conn, rp, as_of, findings, app.config.kpi_targets),
        audits=_audits(conn, rp, as_of, findings),
        risk=gather_risk(conn, rp, as_of, snapshots, coverage.validity, risk_threshold),
        chain=_chain(conn, cur, now, verify),
        for_people=_for_people(review_inputs),
    )


def _for_people(recorded: dict[str, Any]) -> list[ForPeople]:
    sections = []
    for title, why, keys in FOR_PEOPLE:
        last = [
            (label, _text(recorded.get(key)))
            for label, key in keys
            if recorded.get(key) not in (None, "", [])
        ]
        sections.append(ForPeople(title, why, last))
    return sections


def _text(value: Any) -> str:
    return ", ".join(str(v) for v in value) if isinstance(value, (list, tuple)) else str(value)


# -- shared helpers -------------------------------------------------------------------------------
def _in(period: ClosedPeriod, moment: datetime | None) -> bool:
    return moment is not None and period.start <= moment < period.end


def _between(column, period: ClosedPeriod):
    """The SQL condition for a moment inside the period (half-open, like :meth:`Period.end`)."""
    return and_(column >= period.start, column < period.end)


def _open_at(start: datetime | None, end: datetime | None, at: datetime) -> bool:
    return start is not None and start <= at and (end is None or end > at)


def _chunks(items: list[str]) -> Iterator[list[str]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]


def _ledger_of(
    conn: Connection, run_ids: Iterable[str], model: type[_Payload]
) -> Iterator[tuple[str, str, _Payload]]:
    """(run, recorded_at, payload) of these runs' rows of one kind, in ledger order: read through
    the run_id index, never a scan of the ledger.

    The kind is picked here rather than in SQL: given both, SQLite (without statistics) walks
    the kind index, which on a million-row ledger means every row of that kind for each chunk.
    A run has a few dozen rows, so reading all of them costs nothing."""
    e = _EVIDENCE
    for chunk in _chunks(sorted(set(run_ids))):
        query = (
            select(e.c.run_id, e.c.kind, e.c.recorded_at, e.c.payload)
            .where(e.c.run_id.in_(chunk))
            .order_by(e.c.seq)
        )
        for run_id, kind, recorded_at, payload in conn.execute(query):
            if kind != model.KIND:
                continue
            try:
                parsed = model.model_validate_json(payload)
            except ValidationError:
                # a row that does not fit its kind's contract says nothing the pack can use;
                # whether the row is intact is the chain check's business
                continue
            yield run_id, recorded_at, parsed


def _artefacts(conn: Connection, run_ids: Iterable[str]) -> dict[str, dict[str, dict[str, Any]]]:
    """run -> artefact name -> its fields (the last one recorded, as a rework replaces it)."""
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for run_id, _, recorded in _ledger_of(conn, run_ids, ArtefactRecorded):
        found.setdefault(run_id, {})[recorded.artefact] = recorded.fields
    return found


def _when(recorded_at: str) -> datetime:
    return datetime.fromisoformat(recorded_at.replace("Z", "+00:00"))


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _days(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 86400


# -- 1. actions from previous reviews --------------------------------------------------------------
def _actions(conn: Connection, rp: ReviewPeriod, as_of: datetime) -> ActionsSection:
    cur, prev = rp.current, rp.previous
    r = _RUNS
    found = last_review(conn, cur.end)
    review = None
    if found is not None:
        row = conn.execute(
            select(r.c.id, r.c.started_at, r.c.completed_at).where(r.c.id == found[0])
        ).one()
        recorded = _artefacts(conn, [row.id]).get(row.id, {})
        review = LastReview(
            row.id,
            row.started_at,
            row.completed_at,
            recorded.get("management_review_minutes", {}),
            recorded.get("management_review_input_pack", {}),
        )
    open_reviews = [
        OpenReview(x.id, x.started_at, x.current_step)
        for x in conn.execute(
            select(r.c.id, r.c.started_at, r.c.current_step)
            .where(r.c.workflow_id == MANAGEMENT_REVIEW, r.c.status.in_(("new", "running")))
            .order_by(r.c.started_at)
        )
    ]
    reviews = (
        conn.execute(
            select(r.c.completed_at).where(
                r.c.workflow_id == MANAGEMENT_REVIEW,
                r.c.status == "completed",
                r.c.completed_at >= prev.start,
                r.c.completed_at < cur.end,
            )
        )
        .scalars()
        .all()
    )

    # Actions active at any time from the start of the
    # previous period, and every action of the last review.
    wanted = [
        r.c.started_at < cur.end,
        or_(r.c.completed_at.is_(None), r.c.completed_at >= prev.start),
    ]
    decided: set[str] = set()
    if review is not None:
        # A review does not wait for its actions, so their
        # runs name no parent: its minutes list them.
        decided = {str(x) for x in review.minutes.get("action_runs") or []}
        wanted = [
            or_(
                and_(*wanted),
                r.c.parent_run_id == review.run_id,
                r.c.id.in_(sorted(decided) or [""]),
            )
        ]
    runs = conn.execute(
        select(r.c.id, r.c.parent_run_id, r.c.status, r.c.started_at, r.c.completed_at)
        .where(r.c.workflow_id == REVIEW_ACTION, *wanted)
        .order_by(r.c.started_at, r.c.id)
    ).all()
    ids = [x.id for x in runs]
    inputs: dict[str, dict[str, Any]] = {}
    spawned_by: dict[str, str] = {}
    for run_id, _, run_started in _ledger_of(conn, ids, RunStarted):
        inputs[run_id] = run_started.inputs
        trigger = run_started.trigger
        if trigger.startswith("spawned by "):
            spawned_by[run_id] = trigger.removeprefix("spawned by ")
    status_of = {
        run_id: artefacts.get("review_action_status", {})
        for run_id, artefacts in _artefacts(conn, ids).items()
    }
    tasks = _tasks_of(conn, ids)

    def overdue_at(run_id: str, at: datetime) -> bool:
        return any(
            _open_at(t.created_at, t.completed_at, at) and t.due_at is not None and t.due_at < at
            for t in tasks.get(run_id, [])
        )

    def state(x) -> str:
        done = x.completed_at is not None and x.completed_at <= as_of
        if done:
            outcome = status_of.get(x.id, {}).get("outcome")
            return str(outcome) if x.status == "completed" and outcome else x.status
        return "overdue" if overdue_at(x.id, as_of) else "open"

    def of_last(x) -> bool:
        return review is not None and (
            x.id in decided or review.run_id in (x.parent_run_id, spawned_by.get(x.id))
        )

    shown = [x for x in runs if of_last(x) or cur.overlaps(x.started_at, x.completed_at)]
    rank = {"overdue": 0, "open": 1}
    shown.sort(key=lambda x: (rank.get(state(x), 2), x.started_at, x.id))
    items = []
    for x in shown[:LIST_LIMIT]:
        task = (tasks.get(x.id) or [None])[-1]
        made = status_of.get(x.id, {})
        items.append(
            ReviewAction(
                x.id,
                str(
                    inputs.get(x.id, {}).get("action")
                    or made.get("action")
                    or "(action text not recorded)"
                ),
                inputs.get(x.id, {}).get("review_date") or made.get("review_date"),
                x.parent_run_id or spawned_by.get(x.id),
                (task.assignee or f"({task.role})") if task else None,
                task.due_at if task else None,
                state(x),
                x.started_at,
                x.completed_at if x.completed_at and x.completed_at <= as_of else None,
                made.get("what_was_done"),
            )
        )

    def count(period: ClosedPeriod, test) -> int:
        return sum(1 for x in runs if test(x, period))

    def started(x, p: ClosedPeriod) -> bool:
        return _in(p, x.started_at)

    def completed(x, p: ClosedPeriod) -> bool:
        return x.status == "completed" and _in(p, x.completed_at)

    def not_done(x, p: ClosedPeriod) -> bool:
        return completed(x, p) and status_of.get(x.id, {}).get("outcome") in (
            "dropped",
            "partly_done",
        )

    figures = [
        Figure(
            "Management reviews completed",
            sum(_in(cur, t) for t in reviews),
            sum(_in(prev, t) for t in reviews),
        ),
        Figure("Review actions started", count(cur, started), count(prev, started)),
        Figure(
            "Review actions completed", count(cur, completed), count(prev, completed), better="up"
        ),
        Figure(
            "... of which dropped or only partly done",
            count(cur, not_done),
            count(prev, not_done),
            better="down",
        ),
        Figure(
            "Review actions open",
            sum(_open_at(x.started_at, x.completed_at, as_of) for x in runs),
            sum(_open_at(x.started_at, x.completed_at, cur.start) for x in runs),
            state=True,
        ),
        Figure(
            "Review actions overdue",
            sum(
                _open_at(x.started_at, x.completed_at, as_of) and overdue_at(x.id, as_of)
                for x in runs
            ),
            sum(
                _open_at(x.started_at, x.completed_at, cur.start) and overdue_at(x.id, cur.start)
                for x in runs
            ),
            better="down",
            state=True,
        ),
    ]
    return ActionsSection(review, open_reviews, Capped(items, len(shown)), figures)


def _tasks_of(conn: Connection, run_ids: list[str]) -> dict[str, list[Any]]:
    s = _STEPS
    found: dict[str, list[Any]] = {}
    for chunk in _chunks(run_ids):
        for row in conn.execute(
            select(s.c.run_id, s.c.role, s.c.assignee, s.c.created_at, s.c.due_at, s.c.completed_at)
            .where(s.c.run_id.in_(chunk))
            .order_by(s.c.created_at, s.c.id)
        ):
            found.setdefault(row.run_id, []).append(row)
    return found


# -- 2. performance --------------------------------------------------------------------------------
def _performance(
    conn: Connection,
    rp: ReviewPeriod,
    as_of: datetime,
    snapshots: dict,
    targets: Any,
    notes: list[str],
) -> PerformanceSection:
    cur, prev = rp.current, rp.previous
    start, end = snapshots["start"], snapshots["end"]
    work_start, work_end = open_work(conn, cur.start), open_work(conn, as_of)

    def coverage(kpi: str, label: str, target: float) -> Figure:
        return Figure(
            label,
            end.ratio(kpi),
            start.ratio(kpi),
            "ratio",
            "up",
            target,
            f"{start.current(kpi):,} of {len(start.in_scope):,} at the start, "
            f"{end.current(kpi):,} of {len(end.in_scope):,} at the end",
            state=True,
        )

    kpis = [
        coverage(
            "risk_assessment",
            "In-scope AI systems with a current risk assessment",
            targets.risk_assessment_coverage,
        ),
        coverage(
            "impact_assessment",
            "In-scope AI systems with a current impact assessment",
            targets.impact_assessment_coverage,
        ),
        Figure("Open tasks", work_end.tasks, work_start.tasks, state=True),
        Figure(
            "Overdue tasks",
            work_end.overdue_tasks,
            work_start.overdue_tasks,
            better="down",
            target=targets.overdue_tasks,
            state=True,
        ),
        Figure("Open approvals", work_end.approvals, work_start.approvals, state=True),
        Figure(
            "Open nonconformities",
            work_end.nonconformities,
            work_start.nonconformities,
            better="down",
            state=True,
        ),
    ]

    s, a = _STEPS, _APPROVALS
    # Counted in SQL: a year on 10,000 AI systems completes tens of thousands of tasks.
    late = and_(s.c.due_at.is_not(None), s.c.completed_at > s.c.due_at)
    tasks = conn.execute(
        select(
            func.count().filter(_between(s.c.completed_at, cur)),
            func.count().filter(_between(s.c.completed_at, prev)),
            func.count().filter(and_(_between(s.c.completed_at, cur), late)),
            func.count().filter(and_(_between(s.c.completed_at, prev), late)),
        ).where(s.c.status == "done", s.c.completed_at >= prev.start, s.c.completed_at < cur.end)
    ).one()
    decided = a.c.status.in_(("approved", "rejected"))
    approvals = conn.execute(
        select(
            func.count().filter(_between(a.c.closed_at, cur)),
            func.count().filter(_between(a.c.closed_at, prev)),
            func.count().filter(and_(_between(a.c.closed_at, cur), a.c.status == "rejected")),
            func.count().filter(and_(_between(a.c.closed_at, prev), a.c.status == "rejected")),
        ).where(decided, a.c.closed_at >= prev.start, a.c.closed_at < cur.end)
    ).one()

    def median_hours(p: ClosedPeriod) -> float | None:
        values = (
            conn.execute(
                select(a.c.latency_seconds).where(
                    decided, _between(a.c.closed_at, p), a.c.latency_seconds.is_not(None)
                )
            )
            .scalars()
            .all()
        )
        return statistics.median(values) / 3600 if values else None

    activity = [
        Figure("Tasks completed", tasks[0], tasks[1]),
        Figure("... of which after their due date", tasks[2], tasks[3], better="down"),
        Figure("Approvals decided", approvals[0], approvals[1]),
        Figure("... of which rejected", approvals[2], approvals[3]),
        Figure(
            "Median approval latency",
            median_hours(cur),
            median_hours(prev),
            "hours",
            "down",
            targets.median_approval_latency_hours,
            "approvals decided in the period, from request to decision",
        ),
    ]
    return PerformanceSection(kpis, activity, _workflow_tally(conn, rp, as_of), notes)


def _workflow_tally(conn: Connection, rp: ReviewPeriod, as_of: datetime) -> Tally:
    cur, prev = rp.current, rp.previous
    r = _RUNS
    done = r.c.status == "completed"
    query = (
        select(
            r.c.workflow_id,
            func.count().filter(_between(r.c.started_at, prev)),
            func.count().filter(_between(r.c.started_at, cur)),
            func.count().filter(and_(done, _between(r.c.completed_at, prev))),
            func.count().filter(and_(done, _between(r.c.completed_at, cur))),
            func.count().filter(
                and_(
                    r.c.started_at <= as_of,
                    or_(r.c.completed_at.is_(None), r.c.completed_at > as_of),
                )
            ),
        )
        .where(
            r.c.started_at < cur.end,
            or_(r.c.completed_at.is_(None), r.c.completed_at >= prev.start),
        )
        .group_by(r.c.workflow_id)
        .order_by(r.c.workflow_id)
    )
    return Tally(
        (
            "started, previous period",
            "started, this period",
            "completed, previous period",
            "completed, this period",
            "open at the end",
        ),
        [(row[0], tuple(int(v or 0) for v in row[1:])) for row in conn.execute(query)],
    )


# -- 3. nonconformities ----------------------------------------------------------------------------
def _findings(conn: Connection, since: datetime, until: datetime) -> Sequence[Any]:
    """Findings active at any time from ``since`` to ``until`` (the two periods)."""
    f = _FINDINGS
    return conn.execute(
        select(f)
        .where(f.c.raised_at < until, or_(f.c.closed_at.is_(None), f.c.closed_at >= since))
        .order_by(f.c.raised_at, f.c.id)
    ).all()


def _source(source: str) -> str:
    """``internal-audit/R0A1...`` -> ``internal-audit``: the workflow that raised it."""
    return source.split("/", 1)[0] if source else "(not stated)"


def _checks(conn: Connection, run_ids: list[str]) -> list[tuple[str, datetime, bool]]:
    """Effectiveness checks: task answers with a yes/no ``effective`` in these corrective runs."""
    found = []
    for run_id, recorded_at, completed in _ledger_of(conn, run_ids, TaskCompleted):
        effective = completed.answers.get("effective")
        if isinstance(effective, bool):
            found.append((run_id, _when(recorded_at), effective))
    return found


def _nonconformities(
    conn: Connection, rp: ReviewPeriod, as_of: datetime, findings: Sequence[Any], targets: Any
) -> NonconformitySection:
    cur, prev = rp.current, rp.previous
    checks = _checks(conn, [f.corrective_run_id for f in findings if f.corrective_run_id])
    last_check = {run_id: effective for run_id, _, effective in checks}

    def closed_in(f, p: ClosedPeriod) -> bool:
        return f.status == "closed" and _in(p, f.closed_at)

    def mean_days(p: ClosedPeriod) -> float | None:
        return _mean([_days(f.raised_at, f.closed_at) for f in findings if closed_in(f, p)])

    def open_at(f, at: datetime) -> bool:
        return _open_at(f.raised_at, f.closed_at if f.status == "closed" else None, at)

    def n(test, p) -> int:
        return sum(1 for f in findings if test(f, p))

    def raised(f, p: ClosedPeriod) -> bool:
        return _in(p, f.raised_at)

    def major(f, p: ClosedPeriod) -> bool:
        return raised(f, p) and f.severity == "major"

    figures = [
        # Fewer nonconformities raised may mean fewer problems or less looking: no verdict on it.
        Figure("Nonconformities raised", n(raised, cur), n(raised, prev)),
        Figure("... of which major", n(major, cur), n(major, prev)),
        Figure("Nonconformities closed", n(closed_in, cur), n(closed_in, prev)),
        Figure(
            "Nonconformities open",
            sum(open_at(f, as_of) for f in findings),
            sum(open_at(f, cur.start) for f in findings),
            better="down",
            state=True,
        ),
        Figure(
            "Mean days to close",
            mean_days(cur),
            mean_days(prev),
            "days",
            "down",
            targets.mean_days_to_close_nonconformity,
            "of those closed in the period",
        ),
        Figure(
            "Effectiveness checks: effective",
            sum(1 for _, at, ok in checks if ok and _in(cur, at)),
            sum(1 for _, at, ok in checks if ok and _in(prev, at)),
        ),
        Figure(
            "Effectiveness checks: not effective (back to root cause)",
            sum(1 for _, at, ok in checks if not ok and _in(cur, at)),
            sum(1 for _, at, ok in checks if not ok and _in(prev, at)),
            better="down",
        ),
    ]

    def tally(key, others: str) -> Tally:
        counts: dict[str, list[int]] = {}
        for f in findings:
            marks = (raised(f, prev), raised(f, cur), closed_in(f, cur), open_at(f, as_of))
            if any(marks):
                row = counts.setdefault(key(f), [0, 0, 0, 0])
                for i, mark in enumerate(marks):
                    row[i] += mark
        return _capped_tally(
            (
                "raised, previous period",
                "raised, this period",
                "closed, this period",
                "open at the end",
            ),
            counts,
            others,
        )

    shown = [f for f in findings if raised(f, cur) or closed_in(f, cur) or open_at(f, as_of)]
    shown.sort(key=lambda f: (0 if open_at(f, as_of) else 1, f.raised_at, f.id))
    items = []
    for f in shown[:LIST_LIMIT]:
        closed = f.closed_at if f.status == "closed" and f.closed_at <= as_of else None
        items.append(
            NonconformityRow(
                f.id,
                f.title,
                f.severity,
                _source(f.source),
                f.system_name,
                "closed" if closed else "open",
                f.raised_at,
                closed,
                _days(f.raised_at, closed or as_of),
                f.corrective_run_id,
                last_check.get(f.corrective_run_id),
            )
        )
    return NonconformitySection(
        figures,
        tally(lambda f: _source(f.source), "other sources"),
        tally(lambda f: f.severity or "(not rated)", "other severities"),
        Capped(items, len(shown)),
    )


_TALLY_ROWS = 20


def _capped_tally(columns: tuple[str, ...], counts: dict[str, list[int]], others: str) -> Tally:
    """Rows by name; past ``_TALLY_ROWS`` names the smallest are summed into one row, so a source
    named per run cannot turn a summary table into a register."""
    names = sorted(counts)
    if len(names) > _TALLY_ROWS:
        names = sorted(counts, key=lambda name: (-sum(counts[name]), name))
        kept, rest = sorted(names[: _TALLY_ROWS - 1]), names[_TALLY_ROWS - 1 :]
        summed = [sum(counts[name][i] for name in rest) for i in range(len(columns))]
        return Tally(
            columns,
            [(name, tuple(counts[name])) for name in kept]
            + [(f"({len(rest)} {others})", tuple(summed))],
        )
    return Tally(columns, [(name, tuple(counts[name])) for name in names])


# -- 4. audits -------------------------------------------------------------------------------------
_RESULTS = ("conforming", "observation", "minor_nonconformity", "major_nonconformity")


def _audits(
    conn: Connection, rp: ReviewPeriod, as_of: datetime, findings: Sequence[Any]
) -> AuditSection:
    cur, prev = rp.current, rp.previous
    r = _RUNS
    runs = conn.execute(
        select(r.c.id, r.c.status, r.c.started_at, r.c.completed_at)
        .where(
            r.c.workflow_id == INTERNAL_AUDIT,
            r.c.started_at < cur.end,
            or_(r.c.completed_at.is_(None), r.c.completed_at >= prev.start),
        )
        .order_by(r.c.started_at, r.c.id)
    ).all()
    reports: dict[str, tuple[datetime, dict[str, Any]]] = {}
    for run_id, recorded_at, recorded in _ledger_of(conn, [x.id for x in runs], ArtefactRecorded):
        if recorded.artefact == "internal_audit_report":
            reports[run_id] = (_when(recorded_at), recorded.fields)
    f = _FINDINGS
    raised_by: dict[str, int] = dict(
        conn.execute(
            select(f.c.source, func.count())
            .where(f.c.source.in_([f"{INTERNAL_AUDIT}/{x.id}" for x in runs] or [""]))
            .group_by(f.c.source)
        ).all()
    )

    def results(p: ClosedPeriod, wanted: str) -> int:
        return sum(
            1
            for when, fields in reports.values()
            if _in(p, when)
            for value in (fields.get("results") or {}).values()
            if value == wanted
        )

    def from_audits(f, p: ClosedPeriod) -> bool:
        return _source(f.source) == INTERNAL_AUDIT and _in(p, f.raised_at)

    def completed(x, p: ClosedPeriod) -> bool:
        return x.status == "completed" and _in(p, x.completed_at)

    figures = [
        Figure(
            "Internal audits completed",
            sum(completed(x, cur) for x in runs),
            sum(completed(x, prev) for x in runs),
        ),
        Figure(
            "Internal audits in progress",
            sum(_open_at(x.started_at, x.completed_at, as_of) for x in runs),
            sum(_open_at(x.started_at, x.completed_at, cur.start) for x in runs),
            state=True,
        ),
        Figure(
            "Audit areas found conforming", results(cur, "conforming"), results(prev, "conforming")
        ),
        Figure("Observations", results(cur, "observation"), results(prev, "observation")),
        Figure(
            "Nonconformities raised by internal audits",
            sum(from_audits(f, cur) for f in findings),
            sum(from_audits(f, prev) for f in findings),
        ),
    ]
    shown = [x for x in runs if cur.overlaps(x.started_at, x.completed_at)]
    items = []
    for x in shown[:LIST_LIMIT]:
        fields = reports.get(x.id, (None, {}))[1]
        results_ = {str(k): str(v) for k, v in (fields.get("results") or {}).items()}
        found = [str(v) for v in fields.get("findings") or [] if v]
        done = x.completed_at is not None and x.completed_at <= as_of
        items.append(
            AuditRow(
                x.id,
                x.status if done else "in progress",
                x.started_at,
                x.completed_at if done else None,
                fields.get("audit_reference"),
                fields.get("scope"),
                results_,
                found,
                raised_by.get(f"{INTERNAL_AUDIT}/{x.id}", 0),
            )
        )
    return AuditSection(figures, Capped(items, len(shown)))


# -- 6. the ledger ---------------------------------------------------------------------------------
def _chain(conn: Connection, period: ClosedPeriod, now: datetime, verify: bool) -> ChainSection:
    from ...engine.evidence import iso

    check = check_chain(conn, iso(now)) if verify else None
    head_seq, head_hash = ledger.head(conn)
    bounds = seq_range(conn, period)
    return ChainSection(check, head_seq, head_hash, bounds[1] - bounds[0] + 1 if bounds else 0)
