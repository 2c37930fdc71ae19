"""The KPIs a compliance lead steers by: each one a written definition (:mod:`.definitions`) and a
query function, registered together, measured at a moment for the whole AIMS or one scope (an AI
system, a risk tier, a workflow).

Most read projections kept current with the ledger (a few indexed lookups, not a scan of the
evidence); those made of dated rows (nonconformities, controls, findings) read them as of the
moment asked, so they answer for a past moment too.

Adding a KPI (training completion by role, incident response times, overdue risk treatments,
findings by source...) is one definition and one function here, plus its target:

1. a field with a default in :class:`~aims_workflows.config.KpiTargets` (``aims.yaml``'s
   ``kpi_targets`` can then change it; a definition without a target is refused);
2. a function decorated with :func:`measure`, given a :class:`Measure` (the connection, the
   moment ``m.at``, the scope's filters ``m.runs_where`` / ``m.systems_where`` /
   ``m.findings_where``) and returning a :class:`Reading` (value, detail, and a breakdown by
   role, source or area when the KPI has one). The building blocks :func:`step_durations`
   (incident time to triage, contain, close), :func:`tasks_by_role` (training completion by
   role) and :func:`overdue_tasks_of` (overdue risk treatments) read what such KPIs need from
   the steps a workflow's runs kept::

       @measure(KpiDefinition(
           key="training_completion", label="Role holders trained", unit="ratio",
           information_need="Are the people in AIMS roles competent (7.2, 7.3)?",
           base_measures=("role holders assigned training", "role holders who completed it"),
           formula="completed / assigned", indicator="below target: chase by role",
           target="training_completion", direction="at_least",
           frequency="measured daily, reported monthly", owner="aims_owner",
           scopes=("workflow",)))
       def _training_completion(m: Measure) -> Reading:
           by_role = tasks_by_role(m, "training")
           done, issued = sum(d for d, _ in by_role.values()), sum(i for _, i in by_role.values())
           return Reading(done / issued if issued else None, f"{done} of {issued}",
                          {role: d / i for role, (d, i) in by_role.items() if i})

It then appears in ``aims kpi``, ``--explain``, the dashboard, the JSON and CSV, and is kept in the
daily history (:mod:`.snapshots`) with the others. A function should bound every row it reads by
``m.at`` (created, raised or completed by then) so that a snapshot taken after the day closed
does not count what came later.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, case, func, select

from ..config import KpiTargets
from ..store.models import (
    AISystem,
    Approval,
    ApprovalLatencyBucket,
    Finding,
    KpiCounter,
    Run,
    SpecVersion,
    StepRecord,
)
from .definitions import KpiDefinition, KpiDefinitionError, check_definition

__all__ = [
    "Kpi",
    "KpiContext",
    "KpiFigures",
    "Measure",
    "Reading",
    "Scope",
    "compute_kpis",
    "compute_kpis_by_system",
    "definitions",
    "measure",
    "median_from_histogram",
    "overdue_tasks_of",
    "read_figures",
    "step_durations",
    "tasks_by_role",
]

_SYSTEMS, _STEPS, _RUNS = AISystem.__table__, StepRecord.__table__, Run.__table__
_APPROVALS, _FINDINGS = Approval.__table__, Finding.__table__

# The shipped corrective-action workflow and its steps: the action is done when ``implement``
# is, and ``verify`` is the effectiveness check after the 30-day wait.
CORRECTIVE_ACTION = "corrective-action"
CORRECTIVE_ACTION_DONE = "implement"
EFFECTIVENESS_CHECK = "verify"
_BACK_BEFORE_ACTION = ("root_cause", "plan", CORRECTIVE_ACTION_DONE)
CERTIFICATION_CYCLE = timedelta(days=3 * 365)


@dataclass(frozen=True)
class Kpi:
    key: str
    label: str
    value: float | None
    unit: str
    target: float | None
    met: bool | None
    detail: str
    breakdown: dict[str, float] | None = None

    def as_dict(self) -> dict:
        # by hand, not dataclasses.asdict: the daily history turns thousands of these into rows
        return {
            "key": self.key,
            "label": self.label,
            "value": self.value,
            "unit": self.unit,
            "target": self.target,
            "met": self.met,
            "detail": self.detail,
            "breakdown": None if self.breakdown is None else dict(self.breakdown),
        }

    @classmethod
    def from_dict(cls, data: dict) -> Kpi:
        values: dict[str, Any] = {name: data.get(name) for name in cls.__dataclass_fields__}
        return cls(**values)


@dataclass(frozen=True)
class Scope:
    """The whole AIMS (nothing set) or one AI system, risk tier or workflow."""

    system: str | None = None
    tier: str | None = None
    workflow: str | None = None

    def __post_init__(self) -> None:
        given = [name for name in ("system", "tier", "workflow") if getattr(self, name)]
        if len(given) > 1:
            raise KpiDefinitionError(
                f"KPIs are cut one way at a time, not by {' and '.join(given)}",
                hint="give one of --system, --tier, --workflow",
            )

    @property
    def dimension(self) -> str | None:
        return next((n for n in ("system", "tier", "workflow") if getattr(self, n)), None)

    @property
    def key(self) -> str:
        """How the scope is stored: '' for the whole AIMS, else ``dimension:value``."""
        dimension = self.dimension
        return "" if dimension is None else f"{dimension}:{getattr(self, dimension)}"

    @classmethod
    def from_key(cls, key: str) -> Scope:
        if not key:
            return cls()
        dimension, _, value = key.partition(":")
        return cls(**{dimension: value})

    def describe(self) -> str:
        dimension = self.dimension
        if dimension is None:
            return "the whole AIMS"
        noun = {"system": "AI system", "tier": "risk tier", "workflow": "workflow"}[dimension]
        return f"{noun} {getattr(self, dimension)}"


@dataclass
class KpiContext:
    """What some KPIs need besides the database: the workflows in use (which controls each one
    evidences) and the Statement of Applicability (which controls apply)."""

    workflows: Any = None
    soa: Any = None
    _citations: Any = field(default=None, repr=False)

    def citations(self, conn: Connection) -> Any:
        if self._citations is None:
            from ..export.citations import collect_citations

            versions = SpecVersion.__table__.c
            stored = [
                (r.workflow_id, r.version, r.text)
                for r in conn.execute(select(versions.workflow_id, versions.version, versions.text))
            ]
            self._citations = collect_citations(self.workflows or (), stored)
        return self._citations


@dataclass(frozen=True)
class KpiFigures:
    """The projection counts some KPIs are made of, as of one moment: read from the projections
    for the present (:func:`read_figures`) or rebuilt for a past moment (:mod:`.history`)."""

    in_scope: int
    risk_current: int
    impact_current: int
    open_tasks: int
    overdue_tasks: int
    latency_buckets: list[tuple[int, int]]  # (whole minutes, closed approvals)
    nonconformities_closed: int = 0
    nonconformity_close_seconds: float = 0.0
    nonconformities_open: int = 0


@dataclass(frozen=True)
class Reading:
    """What a query function measured: the value (None: nothing to measure yet), in words, and
    its parts by role, source or area when it has them."""

    value: float | None
    detail: str
    breakdown: dict[str, float] | None = None


@dataclass
class Measure:
    """One measurement: the connection, the moment, the scope and the targets."""

    conn: Connection
    at: datetime
    targets: KpiTargets
    scope: Scope
    context: KpiContext
    past: KpiFigures | None = None  # rebuilt figures when measuring a past moment without them
    # what several KPIs of one measurement read alike, read once (see _nonconformities)
    kept: dict[str, Any] = field(default_factory=dict)
    # rows may exist that were written after ``at`` (the history measures a closed day from a
    # unit of work of the next): bound the projections' rows by their dates too
    bounded: bool = False

    def runs_where(self) -> list[Any]:
        """Conditions on ``runs`` for the runs of this scope."""
        s, r = self.scope, _RUNS.c
        if s.workflow:
            return [r.workflow_id == s.workflow]
        if s.system:
            return [r.subject_type == "ai_system", r.subject_name == s.system]
        if s.tier:
            tiered = select(_SYSTEMS.c.name).where(_SYSTEMS.c.risk_tier == s.tier)
            return [r.subject_type == "ai_system", r.subject_name.in_(tiered)]
        return []

    def systems_where(self) -> list[Any]:
        s, c = self.scope, _SYSTEMS.c
        if s.system:
            return [c.name == s.system]
        if s.tier:
            return [c.risk_tier == s.tier]
        return []

    def findings_where(self) -> list[Any]:
        s, c = self.scope, _FINDINGS.c
        if s.system:
            return [c.system_name == s.system]
        if s.tier:
            return [
                c.system_name.in_(select(_SYSTEMS.c.name).where(_SYSTEMS.c.risk_tier == s.tier))
            ]
        if s.workflow:
            return [c.corrective_run_id.in_(select(_RUNS.c.id).where(*self.runs_where()))]
        return []

    def count(self, table: Any, *where: Any, scoped_runs: bool = False) -> int:
        query = select(func.count()).select_from(table)
        if scoped_runs and self.scope.dimension:
            query = select(func.count()).select_from(
                table.join(_RUNS, table.c.run_id == _RUNS.c.id)
            )
            where = (*where, *self.runs_where())
        return int(self.conn.scalar(query.where(*where)) or 0)


Query = Callable[[Measure], Reading]
BySystem = Callable[[Measure, list[str]], dict[str, Reading]]
"""The same KPI for many AI systems at once (a few grouped queries instead of a few per
system): the daily history measures every system, and there may be thousands."""


@dataclass(frozen=True)
class _Registered:
    definition: KpiDefinition
    query: Query
    by_system: BySystem | None


_REGISTRY: dict[str, _Registered] = {}


def measure(
    definition: KpiDefinition, *, by_system: BySystem | None = None
) -> Callable[[Query], Query]:
    """Register ``definition`` with the function that measures it (see the module's docstring);
    ``by_system`` measures it for many systems at once, with the same readings the function
    gives for each (without it, the history calls the function once per system)."""
    check_definition(definition)
    if definition.key in _REGISTRY:
        raise KpiDefinitionError(f"KPI '{definition.key}' is defined twice")

    def register(function: Query) -> Query:
        _REGISTRY[definition.key] = _Registered(definition, function, by_system)
        return function

    return register


def definitions() -> list[KpiDefinition]:
    """Every KPI's definition, in the order the KPIs are shown."""
    return [entry.definition for entry in _REGISTRY.values()]


def _kpi(definition: KpiDefinition, reading: Reading, targets: KpiTargets) -> Kpi:
    return Kpi(
        definition.key,
        definition.label,
        reading.value,
        definition.unit,
        definition.target_value(targets),
        definition.met(reading.value, targets),
        reading.detail,
        reading.breakdown,
    )


def compute_kpis(
    conn: Connection,
    now: datetime,
    targets: KpiTargets,
    *,
    scope: Scope | None = None,
    context: KpiContext | None = None,
    figures: KpiFigures | None = None,
    bounded: bool = False,
) -> list[Kpi]:
    """Every KPI as of ``now``, for ``scope`` (the whole AIMS by default). ``figures`` are the
    rebuilt projection counts of a past moment (:mod:`.history`); without them the projections
    are read as they are; ``bounded``: rows written after ``now`` may exist (see Measure)."""
    m = Measure(
        conn, now, targets, scope or Scope(), context or KpiContext(), figures, bounded=bounded
    )
    kpis = []
    for entry in _REGISTRY.values():
        dimension = m.scope.dimension
        if dimension is not None and dimension not in entry.definition.scopes:
            reading = Reading(None, f"not measured per {dimension}")
        else:
            reading = entry.query(m)
        kpis.append(_kpi(entry.definition, reading, targets))
    return kpis


def compute_kpis_by_system(
    conn: Connection,
    now: datetime,
    targets: KpiTargets,
    systems: list[str],
    *,
    context: KpiContext | None = None,
    bounded: bool = False,
) -> dict[str, list[Kpi]]:
    """Every KPI as of ``now`` for each of ``systems``: what :func:`compute_kpis` gives with
    ``scope=Scope(system=name)``, for each name, in a few grouped queries."""
    m = Measure(conn, now, targets, Scope(), context or KpiContext(), bounded=bounded)
    found: dict[str, list[Kpi]] = {name: [] for name in systems}
    for entry in _REGISTRY.values():
        if "system" not in entry.definition.scopes:
            readings = {name: Reading(None, "not measured per system") for name in systems}
        elif entry.by_system is not None:
            readings = entry.by_system(m, systems)
        else:
            readings = {name: entry.query(replace(m, scope=Scope(system=name))) for name in systems}
        for name in systems:
            found[name].append(_kpi(entry.definition, readings[name], targets))
    return found


def median_from_histogram(buckets: list[tuple[int, int]]) -> float | None:
    """Median of values grouped in whole-minute buckets [(minute, count)], in minutes.

    Within half a minute of the exact median: each value is taken as the middle of its bucket,
    and for an even count the two middle values are averaged, as a plain median does.
    """
    total = sum(count for _, count in buckets)
    if total == 0:
        return None
    ordered = sorted((minute, count) for minute, count in buckets if count > 0)

    def value_at(position: int) -> float:  # 1-based position in the sorted values
        seen = 0
        for minute, count in ordered:
            seen += count
            if seen >= position:
                return minute + 0.5
        raise AssertionError("unreachable: position <= total")  # pragma: no cover

    if total % 2:
        return value_at(total // 2 + 1)
    return (value_at(total // 2) + value_at(total // 2 + 1)) / 2


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def read_figures(conn: Connection, now: datetime) -> KpiFigures:
    """The present projection counts for the whole AIMS."""
    m = Measure(conn, now, KpiTargets(), Scope(), KpiContext())
    in_scope, risk = _coverage(m, "risk")
    _, impact = _coverage(m, "impact")
    histogram = ApprovalLatencyBucket.__table__.c
    counters = dict(
        conn.execute(select(KpiCounter.__table__.c.name, KpiCounter.__table__.c.value)).all()
    )
    return KpiFigures(
        in_scope,
        risk,
        impact,
        m.count(_STEPS, _STEPS.c.status == "open"),
        m.count(_STEPS, _STEPS.c.status == "open", _STEPS.c.due_at < now),
        [
            (minute, count)
            for minute, count in conn.execute(select(histogram.bucket_minutes, histogram.count))
        ],
        int(counters.get("nonconformities_closed", 0)),
        float(counters.get("nonconformity_close_seconds", 0)),
        m.count(_FINDINGS, _FINDINGS.c.status == "open"),
    )


# -- building blocks for KPIs of other workflows ---------------------------------------------
# (incident response times, training completion by role, overdue risk treatments: each such
# KPI is a definition and a function calling one of these)


def step_durations(m: Measure, workflow_id: str, step_id: str) -> list[float]:
    """Hours from the start of each run of ``workflow_id`` (in the scope) to the first
    completion of its task ``step_id``, for the runs where that happened by ``m.at``."""
    s, r = _STEPS.c, _RUNS.c
    query = (
        select(r.started_at, func.min(s.completed_at))
        .select_from(_STEPS.join(_RUNS, s.run_id == r.id))
        .where(
            r.workflow_id == workflow_id,
            s.step_id == step_id,
            s.status == "done",
            s.completed_at <= m.at,
            *m.runs_where(),
        )
        .group_by(r.id, r.started_at)
    )
    return [(done - started).total_seconds() / 3600 for started, done in m.conn.execute(query)]


def tasks_by_role(m: Measure, workflow_id: str) -> dict[str, tuple[int, int]]:
    """For each role given tasks in runs of ``workflow_id`` (in the scope) by ``m.at``: (task
    visits completed by then, task visits issued)."""
    s, r = _STEPS.c, _RUNS.c
    completed = and_(s.status == "done", s.completed_at <= m.at)
    query = (
        select(s.role, func.count(case((completed, 1))), func.count())
        .select_from(_STEPS.join(_RUNS, s.run_id == r.id))
        .where(
            r.workflow_id == workflow_id,
            s.created_at <= m.at,
            s.status != "cancelled",
            *m.runs_where(),
        )
        .group_by(s.role)
    )
    return {role: (int(done), int(issued)) for role, done, issued in m.conn.execute(query)}


def overdue_tasks_of(m: Measure, workflow_id: str) -> int:
    """Open task visits of runs of ``workflow_id`` (in the scope) past their due date."""
    s, r = _STEPS.c, _RUNS.c
    query = (
        select(func.count())
        .select_from(_STEPS.join(_RUNS, s.run_id == r.id))
        .where(r.workflow_id == workflow_id, s.status == "open", s.due_at < m.at, *m.runs_where())
    )
    return int(m.conn.scalar(query) or 0)


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
    return Reading(_ratio(current, in_scope), f"{current} of {in_scope}")


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


def _tasks_by_system(overdue: bool) -> BySystem:
    def grouped(m: Measure, names: list[str]) -> dict[str, Reading]:
        s, r = _STEPS.c, _RUNS.c
        where = [s.status == "open", r.subject_type == "ai_system"]
        if m.bounded:
            where.append(s.created_at <= m.at)
        if overdue:
            where.append(s.due_at < m.at)
        counts: dict[str, int] = dict(
            m.conn.execute(
                select(r.subject_name, func.count())
                .select_from(_STEPS.join(_RUNS, s.run_id == r.id))
                .where(*where)
                .group_by(r.subject_name)
            ).all()
        )
        reading = _overdue_reading if overdue else _open_reading
        return {name: reading(int(counts.get(name, 0))) for name in names}

    return grouped


def _open_reading(count: int) -> Reading:
    return Reading(count, f"{count} open")


def _overdue_reading(count: int) -> Reading:
    return Reading(count, f"{count} past their due date")


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
    by_system=_tasks_by_system(overdue=False),
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
    by_system=_tasks_by_system(overdue=True),
)
def _overdue_tasks(m: Measure) -> Reading:
    if m.past is not None and not m.scope.dimension:
        return _overdue_reading(m.past.overdue_tasks)
    return _overdue_reading(_open_tasks(m, _STEPS.c.due_at < m.at))


def _latency_reading(buckets: list[tuple[int, int]]) -> Reading:
    minutes = median_from_histogram(buckets)
    hours = minutes / 60 if minutes is not None else None
    return Reading(hours, f"over {sum(c for _, c in buckets)} closed approvals")


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


def _nonconformities(m: Measure) -> list[_Nonconformity]:
    """Each nonconformity raised by ``m.at``, with when its corrective action was done, as of
    ``m.at``: the last completion of the action, unless the run went back to the root cause
    after it (an ineffective action is not done)."""
    if "nonconformities" not in m.kept:
        m.kept["nonconformities"] = _read_nonconformities(m)
    return m.kept["nonconformities"]


def _read_nonconformities(m: Measure) -> list[_Nonconformity]:
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


def _days_reading(ncs: list[_Nonconformity], at: datetime) -> Reading:
    if not ncs:
        return Reading(None, "no nonconformities")
    ages = [((nc.actioned_at or at) - nc.raised_at).total_seconds() / 86400 for nc in ncs]
    actioned = [nc for nc in ncs if nc.actioned_at is not None]
    still_open = [nc for nc in ncs if nc.actioned_at is None]
    waiting = sum(1 for nc in actioned if nc.closed_at is None)
    detail = f"{len(actioned)} actioned, {len(still_open)} open"
    if still_open:
        oldest = max((at - nc.raised_at).total_seconds() for nc in still_open) / 86400
        detail += f" (oldest {oldest:.0f} days)"
    detail += f"; {waiting} awaiting the effectiveness check"
    return Reading(
        sum(ages) / len(ages),
        detail,
        {"actioned": len(actioned), "open": len(still_open), "awaiting_check": waiting},
    )


def _nonconformities_by_system(
    reading: Callable[[list[_Nonconformity], datetime], Reading],
) -> BySystem:
    def grouped(m: Measure, names: list[str]) -> dict[str, Reading]:
        by_system: dict[str | None, list[_Nonconformity]] = defaultdict(list)
        for nc in _nonconformities(m):
            by_system[nc.system].append(nc)
        return {name: reading(by_system.get(name, []), m.at) for name in names}

    return grouped


def _effectiveness_reading(ncs: list[_Nonconformity], _at: datetime) -> Reading:
    checks = sum(nc.checks for nc in ncs)
    effective = sum(1 for nc in ncs if nc.closed_at is not None and nc.checks)
    waiting = sum(1 for nc in ncs if nc.actioned_at is not None and nc.closed_at is None)
    return Reading(
        _ratio(effective, checks),
        f"{effective} of {checks} checks found the action effective; {waiting} awaiting a check",
        {"checks": checks, "effective": effective, "awaiting_check": waiting},
    )


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


def _first(ids: Iterable[str], limit: int = 5) -> str:
    ids = sorted(ids)
    shown = ", ".join(ids[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


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
        return Reading(None, "needs the workflows in use to tell which controls they evidence")
    states, excluded = found
    by_state = Counter(states.values())
    current, stale, none = by_state["current"], by_state["stale"], by_state["no_evidence"]
    detail = (
        f"{current} of {len(states)} applicable current, {stale} stale, {none} without evidence"
        f" ({excluded} excluded)"
    )
    if stale:
        detail += f"; stale: {_first(c for c, s in states.items() if s == 'stale')}"
    return Reading(
        _ratio(current, len(states)),
        detail,
        {"current": current, "stale": stale, "no_evidence": none},
    )


# -- findings -------------------------------------------------------------------------------


_NO_AREA = "area not stated"


def _in_cycle(m: Measure) -> list[Any]:
    f = _FINDINGS.c
    return [f.raised_at <= m.at, f.raised_at > m.at - CERTIFICATION_CYCLE]


def _repeats_reading(by_area: dict[str, int]) -> Reading:
    repeats = {area: n for area, n in by_area.items() if n > 1}
    total = sum(by_area.values())
    detail = f"{total} finding{'' if total == 1 else 's'} in {len(by_area)} area" + (
        "" if len(by_area) == 1 else "s"
    )
    if repeats:
        detail += "; repeated in " + ", ".join(f"{a} ({n})" for a, n in sorted(repeats.items()))
    return Reading(
        sum(n - 1 for n in repeats.values()),
        detail,
        {area: float(n) for area, n in sorted(by_area.items())},
    )


def _repeats_by_system(m: Measure, names: list[str]) -> dict[str, Reading]:
    f = _FINDINGS.c
    by_system: dict[str, dict[str, int]] = defaultdict(dict)
    for system, clause, count in m.conn.execute(
        select(f.system_name, f.clause, func.count())
        .where(*_in_cycle(m), f.system_name.is_not(None))
        .group_by(f.system_name, f.clause)
    ):
        by_system[system][clause or _NO_AREA] = int(count)
    return {name: _repeats_reading(by_system.get(name, {})) for name in names}


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
    f = _FINDINGS.c
    rows = m.conn.execute(
        select(f.clause, func.count()).where(*_in_cycle(m), *m.findings_where()).group_by(f.clause)
    ).all()
    return _repeats_reading({(clause or _NO_AREA): int(count) for clause, count in rows})
