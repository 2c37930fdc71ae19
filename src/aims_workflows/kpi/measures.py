"""The KPIs shipped with aims-workflows: each a written definition registered with the function
that measures it (:func:`~.queries.measure`; the module :mod:`.queries` says how to add one).
Imported by the package, so the KPIs are registered whatever module of it is imported first."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from sqlalchemy import and_, case, func, select

from ..store.models import ApprovalLatencyBucket
from .definitions import KpiDefinition
from .queries import (
    _APPROVALS,
    _FINDINGS,
    _RUNS,
    _STEPS,
    _SYSTEMS,
    BySystem,
    Measure,
    Reading,
    findings_counted,
    findings_counted_by_system,
    measure,
    read,
)

__all__ = [
    "nonconformity_days",
    "CERTIFICATION_CYCLE",
    "CORRECTIVE_ACTION",
    "CORRECTIVE_ACTION_DONE",
    "EFFECTIVENESS_CHECK",
]

# The shipped corrective-action workflow and its steps: the action is done when ``implement``
# is, and ``verify`` is the effectiveness check after the 30-day wait.
CORRECTIVE_ACTION = "corrective-action"
CORRECTIVE_ACTION_DONE = "implement"
EFFECTIVENESS_CHECK = "verify"
_BACK_BEFORE_ACTION = ("root_cause", "plan", CORRECTIVE_ACTION_DONE)
CERTIFICATION_CYCLE = timedelta(days=3 * 365)

# -- coverage -------------------------------------------------------------------------------


def _coverage(m: Measure, prefix: str) -> tuple[int, int]:
    """(in-scope systems, those with a current ``prefix`` assessment) at ``m.at``."""
    if m.past is not None and not m.scope.dimension:
        current = m.past.risk_current if prefix == "risk" else m.past.impact_current
        return m.past.in_scope, current
    c = _SYSTEMS.c
    base = [c.in_scope.is_(True), *m.systems_where()]
    if m.bounded:
        base.append(c.created_at <= m.at)
    valid_until = c.risk_valid_until if prefix == "risk" else c.impact_valid_until
    return m.count(_SYSTEMS, *base), m.count(_SYSTEMS, *base, valid_until > m.at)


def _coverage_reading(m: Measure, prefix: str) -> Reading:
    in_scope, current = _coverage(m, prefix)
    return _covered(in_scope, current)


def _covered(in_scope: int, current: int) -> Reading:
    return read({"formula": "coverage", "in_scope": in_scope, "current": current})


def _coverage_by_system(prefix: str) -> BySystem:
    def grouped(m: Measure, names: list[str]) -> dict[str, Reading]:
        c = _SYSTEMS.c
        valid_until = c.risk_valid_until if prefix == "risk" else c.impact_valid_until
        counts: dict[str, tuple[int, int]] = {}
        for name, in_scope, created_at, until in m.conn.execute(
            select(c.name, c.in_scope, c.created_at, valid_until)
        ):
            counted = bool(in_scope) and (not m.bounded or created_at <= m.at)
            counts[name] = (int(counted), int(counted and until is not None and until > m.at))
        return {name: _covered(*counts.get(name, (0, 0))) for name in names}

    return grouped


_COVERAGE_COMMON = dict(
    unit="ratio",
    direction="at_least",
    frequency="measured daily; reported monthly and at each management review",
    owner="risk_owner",
    scopes=("system", "tier"),
)


@measure(
    KpiDefinition(
        key="risk_assessment_coverage",
        label="In-scope AI systems with a current risk assessment",
        information_need="Is every AI system in scope covered by a valid risk assessment (6.1.2, "
        "8.2)?",
        base_measures=(
            "AI systems in scope",
            "of those, systems whose last completed risk assessment is still within its validity",
        ),
        formula="systems with a current risk assessment / systems in scope",
        indicator="below target: start the missing or expired assessments (`aims systems show`)",
        target="risk_assessment_coverage",
        **_COVERAGE_COMMON,  # type: ignore[arg-type]
    ),
    by_system=_coverage_by_system("risk"),
)
def _risk_coverage(m: Measure) -> Reading:
    return _coverage_reading(m, "risk")


@measure(
    KpiDefinition(
        key="impact_assessment_coverage",
        label="In-scope AI systems with a current impact assessment",
        information_need="Is every AI system in scope covered by a valid impact assessment "
        "(6.1.4, 8.4)?",
        base_measures=(
            "AI systems in scope",
            "of those, systems whose last impact assessment is within its validity and predates "
            "no material change",
        ),
        formula="systems with a current impact assessment / systems in scope",
        indicator="below target: assess the systems named by `aims systems list`",
        target="impact_assessment_coverage",
        **_COVERAGE_COMMON,  # type: ignore[arg-type]
    ),
    by_system=_coverage_by_system("impact"),
)
def _impact_coverage(m: Measure) -> Reading:
    return _coverage_reading(m, "impact")


# -- tasks ----------------------------------------------------------------------------------


def _open_tasks(m: Measure, *also: Any) -> int:
    s = _STEPS.c
    if m.bounded:
        also = (*also, s.created_at <= m.at)
    return m.count(_STEPS, s.status == "open", *also, scoped_runs=True)


def _tasks_grouped(overdue: bool, *, by_workflow: bool) -> BySystem:
    """Open (or overdue) tasks counted per AI system or per workflow in one grouped query."""

    def grouped(m: Measure, names: list[str]) -> dict[str, Reading]:
        s, r = _STEPS.c, _RUNS.c
        key = r.workflow_id if by_workflow else r.subject_name
        # per workflow, as _open_tasks counts them for one workflow; per system, systems' runs
        where = (
            [s.status == "open"]
            if by_workflow
            else [s.status == "open", r.subject_type == "ai_system"]
        )
        if m.bounded:
            where.append(s.created_at <= m.at)
        if overdue:
            where.append(s.due_at < m.at)
        counts: dict[str, int] = dict(
            m.conn.execute(
                select(key, func.count())
                .select_from(_STEPS.join(_RUNS, s.run_id == r.id))
                .where(*where)
                .group_by(key)
            ).all()
        )
        reading = _overdue_reading if overdue else _open_reading
        return {name: reading(int(counts.get(name, 0))) for name in names}

    return grouped


def _open_reading(count: int) -> Reading:
    return read({"formula": "open_tasks", "count": count})


def _overdue_reading(count: int) -> Reading:
    return read({"formula": "overdue_tasks", "count": count})


@measure(
    KpiDefinition(
        key="open_tasks",
        label="Open tasks",
        information_need="Is governance work being finished as fast as it is started?",
        base_measures=("task visits issued and not completed or cancelled",),
        formula="count of open task visits",
        indicator="above target: work piles up; see who holds it on the dashboard",
        target="open_tasks",
        direction="at_most",
        unit="count",
        frequency="measured daily; reported weekly",
        owner="aims_owner",
    ),
    by_system=_tasks_grouped(overdue=False, by_workflow=False),
    by_workflow=_tasks_grouped(overdue=False, by_workflow=True),
)
def _open_tasks_kpi(m: Measure) -> Reading:
    if m.past is not None and not m.scope.dimension:
        return _open_reading(m.past.open_tasks)
    return _open_reading(_open_tasks(m))


@measure(
    KpiDefinition(
        key="overdue_tasks",
        label="Overdue tasks",
        information_need="Are governance tasks done when they are due?",
        base_measures=("open task visits", "their due dates"),
        formula="count of open task visits whose due date has passed",
        indicator="above target: escalate to the owners named on the dashboard",
        target="overdue_tasks",
        direction="at_most",
        unit="count",
        frequency="measured daily; reported weekly",
        owner="aims_owner",
    ),
    by_system=_tasks_grouped(overdue=True, by_workflow=False),
    by_workflow=_tasks_grouped(overdue=True, by_workflow=True),
)
def _overdue_tasks(m: Measure) -> Reading:
    if m.past is not None and not m.scope.dimension:
        return _overdue_reading(m.past.overdue_tasks)
    return _overdue_reading(_open_tasks(m, _STEPS.c.due_at < m.at))


def _latency_reading(buckets: list[tuple[int, int]]) -> Reading:
    pairs = [[int(minute), int(count)] for minute, count in buckets]
    return read({"formula": "approval_latency", "buckets": pairs})


def _latency_by_system(m: Measure, names: list[str]) -> dict[str, Reading]:
    a, r = _APPROVALS.c, _RUNS.c
    counted: dict[str, Counter[int]] = defaultdict(Counter)
    for name, seconds in m.conn.execute(
        select(r.subject_name, a.latency_seconds)
        .select_from(_APPROVALS.join(_RUNS, a.run_id == r.id))
        .where(a.latency_seconds.is_not(None), a.closed_at <= m.at, r.subject_type == "ai_system")
    ):
        counted[name][int(seconds // 60)] += 1
    return {name: _latency_reading(sorted(counted[name].items())) for name in names}


def _latency_by_workflow(m: Measure, names: list[str]) -> dict[str, Reading]:
    a, r = _APPROVALS.c, _RUNS.c
    counted: dict[str, Counter[int]] = defaultdict(Counter)
    for workflow, seconds in m.conn.execute(
        select(r.workflow_id, a.latency_seconds)
        .select_from(_APPROVALS.join(_RUNS, a.run_id == r.id))
        .where(a.latency_seconds.is_not(None), a.closed_at <= m.at)
    ):
        counted[workflow][int(seconds // 60)] += 1
    return {name: _latency_reading(sorted(counted[name].items())) for name in names}


# -- approvals ------------------------------------------------------------------------------


@measure(
    KpiDefinition(
        key="median_approval_latency_hours",
        label="Median approval latency",
        information_need="Do approvers decide without holding work up (5.1, 5.3)?",
        base_measures=("approval requests decided", "time from request to decision"),
        formula="median of (decided at - requested at) over decided requests, in hours",
        indicator="above target: remind approvers, add a deputy or delegate",
        target="median_approval_latency_hours",
        direction="at_most",
        unit="hours",
        frequency="measured daily; reported monthly",
        owner="top_management",
    ),
    by_system=_latency_by_system,
    by_workflow=_latency_by_workflow,
)
def _approval_latency(m: Measure) -> Reading:
    if m.past is not None and not m.scope.dimension:
        buckets = m.past.latency_buckets
    elif not m.scope.dimension:
        histogram = ApprovalLatencyBucket.__table__.c
        # unpacked, not read as r.count: on SQLAlchemy 2.0 a Row's .count is the tuple method
        buckets = [
            (minute, count)
            for minute, count in m.conn.execute(select(histogram.bucket_minutes, histogram.count))
        ]
    else:
        a = _APPROVALS.c
        query = (
            select(a.latency_seconds)
            .select_from(_APPROVALS.join(_RUNS, a.run_id == _RUNS.c.id))
            .where(a.latency_seconds.is_not(None), a.closed_at <= m.at, *m.runs_where())
        )
        counted = Counter(int(seconds // 60) for seconds in m.conn.scalars(query))
        buckets = sorted(counted.items())
    return _latency_reading(buckets)


# -- nonconformities ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Nonconformity:
    system: str | None
    raised_at: datetime
    actioned_at: datetime | None  # the corrective action implemented (and not sent back)
    closed_at: datetime | None  # the effectiveness check found it effective
    checks: int  # effectiveness checks done

    @cached_property
    def as_text(self) -> tuple[str, str | None, str | None, int]:
        """As the facts of the KPIs write it (once, for the two KPIs reading the same list)."""

        def moment(when: datetime | None) -> str | None:
            return None if when is None else when.isoformat()

        return (
            self.raised_at.isoformat(),
            moment(self.actioned_at),
            moment(self.closed_at),
            self.checks,
        )


def _nonconformities(m: Measure) -> list[_Nonconformity]:
    """Each nonconformity raised by ``m.at``, with when its corrective action was done, as of
    ``m.at``: the last completion of the action, unless the run went back to the root cause
    after it (an ineffective action is not done)."""
    if "nonconformities" not in m.kept:
        m.kept["nonconformities"] = _read_nonconformities(m)
    return m.kept["nonconformities"]


def _read_nonconformities(m: Measure) -> list[_Nonconformity]:
    if m.no_findings():
        return []
    # one row per finding, its corrective action's visits summed up by correlated subqueries
    # (each a lookup in the steps' unique index on run, step and visit)
    f, s, r = _FINDINGS.c, _STEPS.c, _RUNS.c
    # the run an audit spawned for the finding, else the latest one started for it by hand
    by_hand = (
        select(r.id)
        .where(
            r.workflow_id == CORRECTIVE_ACTION,
            r.subject_type == "finding",
            r.subject_id == f.id,
            r.started_at <= m.at,
        )
        .order_by(r.started_at.desc())
        .limit(1)
        .correlate(_FINDINGS)  # two levels down: SQLAlchemy correlates only the next one itself
        .scalar_subquery()
    )
    own = s.run_id == func.coalesce(f.corrective_run_id, by_hand)
    # the conditions on the visit stay inside the aggregate, so that the planner looks the
    # visits up by run and step (SQLite would otherwise scan every done step by status)
    done = and_(s.status == "done", s.completed_at <= m.at)
    actioned = (
        select(func.max(case((done, s.completed_at))))
        .where(own, s.step_id == CORRECTIVE_ACTION_DONE)
        .scalar_subquery()
    )
    sent_back = (
        select(func.max(case((s.created_at <= m.at, s.created_at))))
        .where(own, s.step_id.in_(_BACK_BEFORE_ACTION[:2]))
        .scalar_subquery()
    )
    checks = (
        select(func.count(case((done, 1))))
        .where(own, s.step_id == EFFECTIVENESS_CHECK)
        .scalar_subquery()
    )
    found = []
    for system, raised_at, closed_at, action_done, back, checked in m.conn.execute(
        select(f.system_name, f.raised_at, f.closed_at, actioned, sent_back, checks).where(
            f.raised_at <= m.at, *m.findings_where()
        )
    ):
        if action_done is not None and back is not None and back > action_done:
            action_done = None  # sent back to the root cause after an ineffective check
        closed = closed_at if closed_at is not None and closed_at <= m.at else None
        if action_done is None and closed is not None:
            action_done = closed  # a corrective action without an implement step: its closure
        found.append(_Nonconformity(system, raised_at, action_done, closed, int(checked or 0)))
    return found


def _nonconformity_facts(formula: str, ncs: list[_Nonconformity], at: datetime) -> Reading:
    found = [list(nc.as_text) for nc in ncs]
    return read({"formula": formula, "at": at.isoformat(), "nonconformities": found})


def _days_reading(ncs: list[_Nonconformity], at: datetime) -> Reading:
    return _nonconformity_facts("nonconformity_days", ncs, at)


def _nonconformities_by_system(
    reading: Callable[[list[_Nonconformity], datetime], Reading],
) -> BySystem:
    def grouped(m: Measure, names: list[str]) -> dict[str, Reading]:
        by_system: dict[str | None, list[_Nonconformity]] = defaultdict(list)
        for nc in _nonconformities(m):
            by_system[nc.system].append(nc)
        return {name: reading(by_system.get(name, []), m.at) for name in names}

    return grouped


def _effectiveness_reading(ncs: list[_Nonconformity], at: datetime) -> Reading:
    return _nonconformity_facts("nonconformity_effectiveness", ncs, at)


@measure(
    KpiDefinition(
        key="mean_days_to_close_nonconformity",
        label="Mean time to close a nonconformity (to corrective action done)",
        information_need="Are nonconformities acted on promptly (10.2)?",
        base_measures=(
            "nonconformities raised",
            "for each, when its corrective action was implemented (the `implement` task)",
            "for each still open, its age so far",
        ),
        formula="mean over all nonconformities of (action implemented at, or now while open, "
        "- raised at), in days",
        indicator="above target: look at the oldest open ones first; the 30-day effectiveness "
        "wait is not counted, the effectiveness KPI beside it reports the checks",
        target="mean_days_to_close_nonconformity",
        direction="at_most",
        unit="days",
        frequency="measured daily; reported at each management review",
        owner="aims_owner",
    ),
    by_system=_nonconformities_by_system(_days_reading),
)
def _days_to_close(m: Measure) -> Reading:
    return _days_reading(_nonconformities(m), m.at)


def nonconformity_days(conn: Any, at: datetime, targets: Any) -> Reading:
    """The KPI ``mean_days_to_close_nonconformity`` for the whole AIMS as of ``at``: what the
    management review shows as the mean days to close, so that it and ``aims kpi`` agree."""
    from .queries import KpiContext, Scope

    m = Measure(conn, at, targets, Scope(), KpiContext(), bounded=True)
    return _days_reading(_nonconformities(m), at)


@measure(
    KpiDefinition(
        key="nonconformity_action_effectiveness",
        label="Corrective actions found effective",
        information_need="Do corrective actions remove the causes of nonconformities (10.2 e)?",
        base_measures=(
            "effectiveness checks done",
            "checks that found the action effective (the nonconformity closed)",
        ),
        formula="checks finding the action effective / checks done",
        indicator="below target: root causes are missed; review the analyses with the owners",
        target="nonconformity_action_effectiveness",
        direction="at_least",
        unit="ratio",
        frequency="measured daily; reported at each management review",
        owner="aims_owner",
    ),
    by_system=_nonconformities_by_system(_effectiveness_reading),
)
def _effectiveness(m: Measure) -> Reading:
    return _effectiveness_reading(_nonconformities(m), m.at)


# -- controls -------------------------------------------------------------------------------


def _control_evidence(m: Measure) -> tuple[dict[str, str], int] | None:
    """Applicable Annex A control -> current | stale | no_evidence at ``m.at``, and how many
    controls are excluded; None without the workflows to tell which control each evidences."""
    if m.context.workflows is None:
        return None
    from ..catalog import load_catalog
    from ..config import SoaConfig

    soa = m.context.soa or SoaConfig()
    citations = m.context.citations(m.conn)
    r = _RUNS.c
    latest = dict(
        m.conn.execute(
            select(r.workflow_id, func.max(r.completed_at))
            .where(r.status == "completed", r.completed_at <= m.at)
            .group_by(r.workflow_id)
        ).all()
    )
    fresh_from = m.at - timedelta(days=m.targets.control_evidence_fresh_days)
    states: dict[str, str] = {}
    excluded = 0
    for entry in load_catalog().controls():
        if not soa.control(entry.id).applicable:
            excluded += 1
            continue
        when = [latest[w] for w in citations.naming({entry.id}) if w in latest]
        newest = max(when) if when else None
        states[entry.id] = (
            "no_evidence" if newest is None else "current" if newest >= fresh_from else "stale"
        )
    return states, excluded


@measure(
    KpiDefinition(
        key="controls_with_current_evidence",
        label="Applicable controls with current evidence",
        information_need="Is each applicable Annex A control evidenced, and recently (9.1, SoA)?",
        base_measures=(
            "Annex A controls applicable in the SoA (aims.yaml's soa)",
            "for each, the last completed run of a workflow whose `evidences:` name it",
        ),
        formula="controls whose latest evidence is at most control_evidence_fresh_days old / "
        "applicable controls",
        indicator="below target: run the workflows of the stale controls, and give the ones "
        "without evidence a workflow or an implementation note",
        target="controls_with_current_evidence",
        direction="at_least",
        unit="ratio",
        frequency="measured daily; reported quarterly and at each management review",
        owner="aims_owner",
        scopes=(),
    )
)
def _controls(m: Measure) -> Reading:
    found = _control_evidence(m)
    if found is None:
        return read({"formula": "controls", "states": None})
    states, excluded = found
    ordered = dict(sorted(states.items()))
    return read({"formula": "controls", "states": ordered, "excluded": excluded})


# -- findings -------------------------------------------------------------------------------


_NO_AREA = "area not stated"


def _in_cycle(m: Measure) -> Any:
    """Raised in the certification cycle (:func:`.queries.findings_counted` adds: by ``m.at``)."""
    return _FINDINGS.c.raised_at > m.at - CERTIFICATION_CYCLE


def _by_area(rows: Iterable[tuple[str | None, int]]) -> dict[str, int]:
    return {(clause or _NO_AREA): count for clause, count in rows}


def _repeats_reading(by_area: dict[str, int]) -> Reading:
    return read({"formula": "repeated_findings", "by_area": by_area})


def _repeats_by_system(m: Measure, names: list[str]) -> dict[str, Reading]:
    by_system = findings_counted_by_system(m, _FINDINGS.c.clause, _in_cycle(m))
    return {name: _repeats_reading(_by_area(by_system.get(name, []))) for name in names}


@measure(
    KpiDefinition(
        key="repeated_audit_findings",
        label="Findings repeated in the same area",
        information_need="Do findings recur where they were found before (9.2, 10.2)?",
        base_measures=(
            "nonconformities raised in the certification cycle (three years), from any source",
            "the area (clause or control) each is against",
        ),
        formula="sum over areas of (findings in the area - 1)",
        indicator="above target: the earlier corrective actions in those areas did not hold; "
        "the breakdown counts findings by area",
        target="repeated_audit_findings",
        direction="at_most",
        unit="count",
        frequency="measured daily; reported after each audit and at each management review",
        owner="internal_auditor",
    ),
    by_system=_repeats_by_system,
)
def _repeated_findings(m: Measure) -> Reading:
    return _repeats_reading(_by_area(findings_counted(m, _FINDINGS.c.clause, _in_cycle(m))))
