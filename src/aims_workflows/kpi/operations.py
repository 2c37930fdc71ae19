"""KPIs of the operational workflows: training completion by role (7.2, 7.3), AI incident
response times (A.8.4) and findings by where they came from (10.2).

Training and incidents are read from what their runs recorded in the ledger (the
``training_completion`` artefact, the incident tasks' answers and the ``ai_incident_record``),
each row bounded by its effective moment, so that a past moment is measured as it was then.
Who holds a role is read from the directory's dated role grants."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select

from ..engine.evidence_kinds import FINDING_SOURCES
from ..store.models import Evidence
from ..store.models_people import Person, RoleGrant
from .definitions import KpiDefinition
from .queries import (
    _FINDINGS,
    _RUNS,
    BySystem,
    Measure,
    Reading,
    findings_counted,
    findings_counted_by_system,
    measure,
    read,
)

__all__ = [
    "INCIDENT",
    "TRAINING_ARTEFACT",
    "incidents_of",
    "role_holders",
    "trained_holders",
]

_EVIDENCE = Evidence.__table__
_GRANTS, _PEOPLE = RoleGrant.__table__, Person.__table__

TRAINING_ARTEFACT = "training_completion"
_ALL_ROLES = "all_roles"  # the training workflow's choice for a course every role holder takes
_COMPLETED = ("passed", "attended")

INCIDENT = "ai-incident"
_INCIDENT_RECORD = "ai_incident_record"
_INCIDENT_TIMES = {"report": "detected_at", "triage": "triaged_at", "contain": "contained_at"}
_RUNS_PER_QUERY = 500  # run ids per IN list (SQLite allows 32,766 parameters; kept small)


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _artefacts(m: Measure, artefact: str) -> dict[str | None, dict]:
    """Run -> the fields of the last ``artefact`` record it wrote by ``m.at`` (a record is
    written again when edited answers change it)."""
    e = _EVIDENCE.c
    query = (
        select(e.run_id, e.effective_at, e.payload)
        .where(e.kind == "artefact.recorded", e.payload.contains(f'"{artefact}"'))
        .order_by(e.seq)
    )
    latest: dict[str | None, dict] = {}
    for run_id, effective_at, payload in m.conn.execute(query):
        data = json.loads(payload)
        # the name may appear in another artefact's text: the payload's own name decides
        if _moment(effective_at) <= m.at and data.get("artefact") == artefact:
            latest[run_id] = data.get("fields") or {}
    return latest


# -- training completion by role ---------------------------------------------------------------


def role_holders(m: Measure) -> dict[str, set[str]]:
    """Role -> the people (lower-case e-mail, or directory id without one) holding it at
    ``m.at``, from the directory's dated grants (kept in step with aims.yaml's ``roles``)."""
    g, p = _GRANTS.c, _PEOPLE.c
    query = (
        select(g.role, g.person_id, p.email)
        .select_from(_GRANTS.outerjoin(_PEOPLE, p.person_id == g.person_id))
        .where(g.valid_from <= m.at, or_(g.valid_to.is_(None), g.valid_to > m.at))
    )
    holders: dict[str, set[str]] = defaultdict(set)
    for role, person_id, email in m.conn.execute(query):
        holders[role].add((email or person_id).lower())
    return dict(holders)


def trained_holders(m: Measure) -> dict[str, set[str]]:
    """Role -> the people with a current completion of training for it at ``m.at``: a
    ``training_completion`` record (the last one each run wrote) passed or attended, and
    acknowledged, completed within ``training_valid_days`` before ``m.at``'s day."""
    latest = _artefacts(m, TRAINING_ARTEFACT)
    today = m.at.date()
    oldest = today - timedelta(days=m.targets.training_valid_days)
    trained: dict[str, set[str]] = defaultdict(set)
    for fields in latest.values():
        try:
            completed_on = date.fromisoformat(str(fields.get("completed_on")))
        except ValueError:
            continue
        if (
            oldest <= completed_on <= today
            and fields.get("result") in _COMPLETED
            and fields.get("acknowledged") is True
            and fields.get("role")
            and fields.get("person")
        ):
            trained[str(fields["role"])].add(str(fields["person"]).strip().lower())
    return dict(trained)


@measure(
    KpiDefinition(
        key="training_completion",
        label="Role holders with current training",
        information_need="Are the people in AIMS roles competent and aware (7.2, 7.3)?",
        base_measures=(
            "role holders: each person holding each role at the moment (the directory, kept "
            "from aims.yaml's roles)",
            "of those, the holders with a training-record for that role (or for all_roles) "
            "passed or attended, acknowledged, and completed within training_valid_days "
            "(365 by default)",
        ),
        formula="trained (role, holder) pairs / (role, holder) pairs; the breakdown gives the "
        "share per role",
        indicator="below target: start the training workflow for the roles lowest in the "
        "breakdown; a holder counts again once their own training-record is complete",
        target="training_completion",
        direction="at_least",
        unit="ratio",
        frequency="measured daily; reported quarterly and at each management review",
        owner="aims_owner",
        scopes=(),
    )
)
def _training_completion(m: Measure) -> Reading:
    holders = role_holders(m)
    # the training records are read only when someone holds a role: with nobody, there is no
    # one to count (and they are read from every artefact row of the ledger)
    trained = trained_holders(m) if any(holders.values()) else {}
    everyone = trained.get(_ALL_ROLES, set())
    by_role = {
        role: (len(people & (trained.get(role, set()) | everyone)), len(people))
        for role, people in sorted(holders.items())
        if people
    }
    return read({"formula": "training", "by_role": {r: list(pair) for r, pair in by_role.items()}})


# -- AI incident response --------------------------------------------------------------------


@dataclass(frozen=True)
class Incident:
    run_id: str
    system: str
    detected_at: datetime
    triaged_at: datetime | None
    contained_at: datetime | None
    closed_at: datetime | None  # when the incident record was written (the close approved)


def incidents_of(m: Measure, *, all_systems: bool = False) -> list[Incident]:
    """The AI incidents of the scope (every system with ``all_systems``) reported by ``m.at``
    (their detection time given), with the moments triaged, contained and closed as of then:
    the times people typed in the tasks (corrected answers replacing the first ones) and the
    moment the incident record was written."""
    key = "incidents" if all_systems else f"incidents:{m.scope.key}"
    if key not in m.kept:
        m.kept[key] = _read_incidents(m, all_systems)
    found: list[Incident] = m.kept[key]
    return found


def _read_incidents(m: Measure, all_systems: bool) -> list[Incident]:
    if not all_systems and m.scope.workflow and m.scope.workflow != INCIDENT:
        return []  # the runs of another workflow are no incidents: nothing to read
    r = _RUNS.c
    where = [r.workflow_id == INCIDENT, r.started_at <= m.at]
    if not all_systems:
        where += m.runs_where()
    # the runs first, then their rows by the ledger's index on run: the incidents' rows are a
    # small part of a ledger that holds every task of every workflow
    systems: dict[str, str] = {}
    cancelled: set[str] = set()
    for run_id, system, status, ended in m.conn.execute(
        select(r.id, r.subject_name, r.status, r.completed_at).where(*where)
    ):
        systems[run_id] = system
        if status == "cancelled" and ended is not None and ended <= m.at:
            cancelled.add(run_id)  # cancelled by then: no incident (reported by mistake, twice)
    answers: dict[str, dict[str, dict]] = defaultdict(dict)
    closed: dict[str, datetime] = {}
    e = _EVIDENCE.c
    kinds = ("task.completed", "task.answers_changed", "artefact.recorded")
    rows: list[Any] = []
    # the rows of the runs found, looked up by run in the ledger's run index; the kinds are
    # picked here, not in SQL, else the planner may read every row of those kinds instead
    ids = sorted(systems)
    for start in range(0, len(ids), _RUNS_PER_QUERY):
        rows += m.conn.execute(
            select(e.seq, e.run_id, e.step_id, e.kind, e.effective_at, e.payload).where(
                e.run_id.in_(ids[start : start + _RUNS_PER_QUERY])
            )
        ).all()
    rows.sort(key=lambda row: row[0])  # in ledger order, as they were written
    for _seq, run_id, step_id, kind, effective_at, payload in rows:
        if kind not in kinds:
            continue
        when = _moment(effective_at)
        if when > m.at:
            continue
        data = json.loads(payload)
        if kind == "task.completed" and step_id in _INCIDENT_TIMES:
            answers[run_id][step_id] = data.get("answers") or {}
        elif kind == "task.answers_changed" and step_id in _INCIDENT_TIMES:
            answers[run_id][step_id] = data.get("after") or {}
        elif kind == "artefact.recorded" and data.get("artefact") == _INCIDENT_RECORD:
            closed.setdefault(run_id, when)

    def typed(run_id: str, step: str) -> datetime | None:
        value = answers[run_id].get(step, {}).get(_INCIDENT_TIMES[step])
        try:
            return _moment(str(value)) if value else None
        except ValueError:
            return None

    found = []
    for run_id in answers:
        detected = typed(run_id, "report")
        if detected is None or run_id in cancelled:
            continue
        found.append(
            Incident(
                run_id,
                systems[run_id],
                detected,
                typed(run_id, "triage"),
                typed(run_id, "contain"),
                closed.get(run_id),
            )
        )
    return found


def _response_reading(
    field: str, per: float, unit: str
) -> Callable[[list[Incident], datetime], Reading]:
    def reading(incidents: list[Incident], at: datetime) -> Reading:
        def moment(when: datetime | None) -> str | None:
            return None if when is None else when.isoformat()

        found = [[i.detected_at.isoformat(), moment(getattr(i, field))] for i in incidents]
        facts = {"at": at.isoformat(), "per": per, "unit": unit, "incidents": found}
        return read({"formula": "incident_response", **facts})

    return reading


def _incidents_by_system(reading: Callable[[list[Incident], datetime], Reading]) -> BySystem:
    def grouped(m: Measure, names: list[str]) -> dict[str, Reading]:
        by_system: dict[str, list[Incident]] = defaultdict(list)
        for incident in incidents_of(m, all_systems=True):
            by_system[incident.system].append(incident)
        return {name: reading(by_system.get(name, []), m.at) for name in names}

    return grouped


_INCIDENT_COMMON = dict(
    direction="at_most",
    owner="aims_owner",
    frequency="measured daily; reported monthly and at each management review",
)
_WHY_MEDIAN = (
    "the median, not the mean: a single incident that stays open for weeks would otherwise "
    "hide how the others are handled; open incidents count with their age, so a backlog "
    "still raises it"
)


def _incident_kpi(
    key: str, label: str, field: str, step: str, unit: str, per: float, need: str
) -> None:
    reading = _response_reading(field, per, unit)

    @measure(
        KpiDefinition(
            key=key,
            label=label,
            information_need=need,
            base_measures=(
                "AI incidents reported (ai-incident runs with a detection time; cancelled runs "
                "left out)",
                f"for each, the time typed as detected at and the {step}",
                f"for each not yet {step.split()[0]}, its age so far",
            ),
            formula=f"median over incidents of ({step} at, or now while not yet, - detected "
            f"at), in {unit}; {_WHY_MEDIAN}",
            indicator="above target: look at the open incidents first (`aims runs list "
            "--workflow ai-incident`)",
            target=key,
            unit=unit,  # type: ignore[arg-type]
            **_INCIDENT_COMMON,  # type: ignore[arg-type]
        ),
        by_system=_incidents_by_system(reading),
    )
    def _measured(m: Measure) -> Reading:
        return reading(incidents_of(m), m.at)


_incident_kpi(
    "incident_median_hours_to_triage",
    "Median time from detecting an AI incident to its triage",
    "triaged_at",
    "triage (severity set)",
    "hours",
    3600,
    "Are AI incidents assessed promptly once detected (A.8.4)?",
)
_incident_kpi(
    "incident_median_hours_to_contain",
    "Median time from detecting an AI incident to its containment",
    "contained_at",
    "containment",
    "hours",
    3600,
    "Is harm from AI incidents stopped promptly (A.8.4)?",
)
_incident_kpi(
    "incident_median_days_to_close",
    "Median time from detecting an AI incident to its closure",
    "closed_at",
    "closure (the close approved and the incident record written)",
    "days",
    86400,
    "Are AI incidents followed through to their root cause and closed (A.8.4, 10.2)?",
)


# -- findings by source ----------------------------------------------------------------------


def _source() -> Any:
    # grouped by the column itself: PostgreSQL refuses to group by a coalesce with a bound
    # default, as each use of it is a parameter of its own
    return _FINDINGS.c.source_type


def _open_at(m: Measure) -> Any:
    f = _FINDINGS.c
    return or_(f.closed_at.is_(None), f.closed_at > m.at)


def _by_source(rows: Iterable[tuple[str, int]]) -> dict[str, float]:
    counts = dict.fromkeys(FINDING_SOURCES, 0.0)
    for source, count in rows:
        # a row from before sources were kept was raised by an internal audit
        kind = str(source or "internal")
        counts[kind] = counts.get(kind, 0.0) + float(count)
    return counts


def _open_findings_reading(open_: dict[str, float], total: dict[str, float]) -> Reading:
    return read({"formula": "open_findings", "open": open_, "total": total})


def _grouped_sources(m: Measure, *where: Any) -> dict[str, dict[str, float]]:
    counted = findings_counted_by_system(m, _source(), *where)
    return {system: _by_source(found) for system, found in counted.items()}


def _open_findings_by_system(m: Measure, names: list[str]) -> dict[str, Reading]:
    open_, total = _grouped_sources(m, _open_at(m)), _grouped_sources(m)
    empty = _by_source(())
    return {
        name: _open_findings_reading(open_.get(name, empty), total.get(name, empty))
        for name in names
    }


def _count_sources(m: Measure, *where: Any) -> dict[str, float]:
    return _by_source(findings_counted(m, _source(), *where))


@measure(
    KpiDefinition(
        key="open_findings",
        label="Open nonconformities, by source",
        information_need="How many nonconformities wait for their corrective action to be "
        "found effective, and where do they come from (10.2)?",
        base_measures=(
            "nonconformities raised by the moment, each with its kind of source (incident, "
            "complaint, monitoring, external-audit, certification-audit, internal)",
            "of those, the ones not closed by then",
        ),
        formula="count of open nonconformities; the breakdown counts them per source, the "
        "detail gives open of raised per source",
        indicator="above target: corrective action falls behind; a source with many open ones "
        "points to where the process needs attention",
        target="open_findings",
        direction="at_most",
        unit="count",
        frequency="measured daily; reported monthly and at each management review",
        owner="aims_owner",
    ),
    by_system=_open_findings_by_system,
)
def _open_findings(m: Measure) -> Reading:
    return _open_findings_reading(_count_sources(m, _open_at(m)), _count_sources(m))


def _raised_reading(counts: dict[str, float], days: int) -> Reading:
    return read({"formula": "nonconformities_raised", "counts": counts, "days": days})


def _raised_by_system(m: Measure, names: list[str]) -> dict[str, Reading]:
    days = m.targets.findings_period_days
    raised = _grouped_sources(m, _FINDINGS.c.raised_at > m.at - timedelta(days=days))
    empty = _by_source(())
    return {name: _raised_reading(raised.get(name, empty), days) for name in names}


@measure(
    KpiDefinition(
        key="nonconformities_raised",
        label="Nonconformities raised in the period, by source",
        information_need="How often are nonconformities found, and by which means (9.2, 10.2)?",
        base_measures=(
            "nonconformities raised in the findings_period_days (30 by default) up to the moment",
            "the kind of source of each",
        ),
        formula="count of nonconformities raised in the period; the breakdown counts them per "
        "source",
        indicator="above target: look for a common cause across them; a count that stays at "
        "zero for long may mean too little looking rather than no problems",
        target="nonconformities_raised",
        direction="at_most",
        unit="count",
        frequency="measured daily; reported monthly and at each management review",
        owner="aims_owner",
    ),
    by_system=_raised_by_system,
)
def _nonconformities_raised(m: Measure) -> Reading:
    days = m.targets.findings_period_days
    since = _FINDINGS.c.raised_at > m.at - timedelta(days=days)
    return _raised_reading(_count_sources(m, since), days)
