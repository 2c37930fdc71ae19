"""The KPI registry: each KPI a written definition (:mod:`.definitions`) and a query function,
registered together, measured at a moment for the whole AIMS or one scope (an AI system, a risk
tier, a workflow). The shipped KPIs are in :mod:`.measures`.

Most read projections kept current with the ledger (a few indexed lookups, not a scan of the
evidence); those made of dated rows (nonconformities, controls, findings) read them as of the
moment asked, so they answer for a past moment too.

Adding a KPI is one definition and one function in :mod:`.measures` (or in a module of its own
that the package's ``__init__`` imports next to it, as :mod:`.operations` does for training,
incidents and findings by source), plus its target:

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
does not count what came later; ``by_system=`` (see :func:`measure`) lets the history measure it
for thousands of AI systems at once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, case, func, select

from ..config import KpiTargets
from ..store.models import (
    AISystem,
    Approval,
    Finding,
    Run,
    SpecVersion,
    StepRecord,
)
from . import formulas
from .definitions import KpiDefinition, KpiDefinitionError, check_definition
from .formulas import median_from_histogram

__all__ = [
    "Kpi",
    "KpiContext",
    "KpiFigures",
    "Measure",
    "Reading",
    "Scope",
    "compute_kpis",
    "compute_kpis_by_system",
    "compute_kpis_by_workflow",
    "definitions",
    "findings_counted",
    "findings_counted_by_system",
    "measure",
    "median_from_histogram",
    "overdue_tasks_of",
    "read",
    "step_durations",
    "tasks_by_role",
]

_SYSTEMS, _STEPS, _RUNS = AISystem.__table__, StepRecord.__table__, Run.__table__
_APPROVALS, _FINDINGS = Approval.__table__, Finding.__table__


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
    # the base measures the reading was made from (formulas.apply), for the audit pack
    facts: dict[str, Any] | None = field(default=None, compare=False, repr=False)

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
    for the present (the projections themselves) or rebuilt for a past moment (:mod:`.history`)."""

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
    facts: dict[str, Any] | None = None  # what it was made from (see :func:`read`)


def read(facts: dict[str, Any]) -> Reading:
    """The reading :mod:`.formulas` makes of a KPI's base measures ``facts`` (JSON values,
    moments as ISO text), which it keeps: the audit pack carries them for its verifier to run
    the same formula again."""
    value, detail, breakdown = formulas.apply(facts)
    return Reading(value, detail, breakdown, facts)


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
    # the workflows whose runs some finding names as its corrective run, when the caller read
    # them (the history, before measuring every workflow): another workflow has no findings
    workflows_with_findings: frozenset[str] | None = None

    def no_findings(self) -> bool:
        """Whether the scope is known to have no findings at all (then none is read)."""
        known, workflow = self.workflows_with_findings, self.scope.workflow
        return known is not None and workflow is not None and workflow not in known

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
ByWorkflow = Callable[[Measure, list[str]], dict[str, Reading]]
"""The same KPI for many workflows at once (the daily history measures every workflow)."""


@dataclass(frozen=True)
class _Registered:
    definition: KpiDefinition
    query: Query
    by_system: BySystem | None
    by_workflow: ByWorkflow | None = None


_REGISTRY: dict[str, _Registered] = {}


def measure(
    definition: KpiDefinition,
    *,
    by_system: BySystem | None = None,
    by_workflow: ByWorkflow | None = None,
) -> Callable[[Query], Query]:
    """Register ``definition`` with the function that measures it (see the module's docstring);
    ``by_system`` measures it for many systems at once, with the same readings the function
    gives for each (without it, the history calls the function once per system);
    ``by_workflow`` likewise for many workflows."""
    check_definition(definition)
    if definition.key in _REGISTRY:
        raise KpiDefinitionError(f"KPI '{definition.key}' is defined twice")

    def register(function: Query) -> Query:
        _REGISTRY[definition.key] = _Registered(definition, function, by_system, by_workflow)
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
        reading.facts,
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


def compute_kpis_by_workflow(
    conn: Connection,
    now: datetime,
    targets: KpiTargets,
    workflows: list[str],
    *,
    context: KpiContext | None = None,
    bounded: bool = False,
) -> dict[str, list[Kpi]]:
    """Every KPI as of ``now`` for each of ``workflows``: what :func:`compute_kpis` gives with
    ``scope=Scope(workflow=w)``, for each, with grouped queries where a KPI has them and no
    query at all for the findings of a workflow none of whose runs is a corrective run."""
    m = Measure(
        conn,
        now,
        targets,
        Scope(),
        context or KpiContext(),
        bounded=bounded,
        workflows_with_findings=workflows_with_findings(conn),
    )
    # one measurement per workflow, kept across its KPIs (what they read alike is read once)
    each = {w: replace(m, scope=Scope(workflow=w), kept={}) for w in workflows}
    found: dict[str, list[Kpi]] = {w: [] for w in workflows}
    for entry in _REGISTRY.values():
        if "workflow" not in entry.definition.scopes:
            readings = {w: Reading(None, "not measured per workflow") for w in workflows}
        elif entry.by_workflow is not None:
            readings = entry.by_workflow(m, workflows)
        else:
            readings = {w: entry.query(each[w]) for w in workflows}
        for w in workflows:
            found[w].append(_kpi(entry.definition, readings[w], targets))
    return found


def workflows_with_findings(conn: Connection) -> frozenset[str]:
    """The workflows with a run that some finding names as its corrective run."""
    f, r = _FINDINGS.c, _RUNS.c
    return frozenset(
        conn.scalars(
            select(r.workflow_id)
            .select_from(_FINDINGS.join(_RUNS, r.id == f.corrective_run_id))
            .distinct()
        )
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


def findings_counted(m: Measure, column: Any, *where: Any) -> list[tuple[Any, int]]:
    """(value of ``column``, how many) for the findings of the scope raised by ``m.at`` that
    meet ``where``, one pair per value."""
    if m.no_findings():
        return []
    f = _FINDINGS.c
    query = (
        select(column, func.count())
        .where(f.raised_at <= m.at, *m.findings_where(), *where)
        .group_by(column)
    )
    return [(value, int(count)) for value, count in m.conn.execute(query)]


def findings_counted_by_system(
    m: Measure, column: Any, *where: Any
) -> dict[str, list[tuple[Any, int]]]:
    """:func:`findings_counted` for every AI system at once, whatever the scope: system -> its
    (value of ``column``, how many); findings of no system are left out."""
    f = _FINDINGS.c
    counted: dict[str, list[tuple[Any, int]]] = defaultdict(list)
    for system, value, count in m.conn.execute(
        select(f.system_name, column, func.count())
        .where(f.raised_at <= m.at, f.system_name.is_not(None), *where)
        .group_by(f.system_name, column)
    ):
        counted[system].append((value, int(count)))
    return dict(counted)
