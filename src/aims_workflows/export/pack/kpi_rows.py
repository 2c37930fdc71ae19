"""The KPIs' base measures rebuilt from ledger rows, for the pack's verifier to compare with
``evidence/kpi_facts.json`` (which the export read from the database's projections).

The facts of a KPI are what :mod:`aims_workflows.kpi.formulas` (shipped as
``evidence/aims_kpis.py``) makes its reading of; this module only counts again, from the rows,
what the database's tables counted: the same facts dict (``{"formula": name, ...}``), so that
the one formula module turns either into the same value. Each rule here follows how the rows
move the projections (``store/projections.py``, ``store/risk_register.py``, the findings
service) and how the KPI measures read them (``kpi/measures.py``, ``kpi/operations.py``,
``kpi/measures_risks.py``); ``tests/unit/test_pack_kpi_rows.py`` keeps the constants in step.

Only the whole ledger gives the facts: a count such as "open tasks" depends on every task ever
requested. So the verifier rebuilds them when the pack's rows start at row 1 and end at the head
the facts were read at, and otherwise says which facts only the manifest's hash vouches for.

Standard library only, Python 3.8 syntax: shipped as ``evidence/aims_kpi_rows.py``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, timedelta, timezone
from typing import Any

__all__ = [
    "NOT_FROM_ROWS",
    "REBUILT",
    "KpiRows",
    "differences",
    "moment",
    "spec_coverage",
]

REBUILT = {
    "risk_assessment_coverage": "in-scope AI systems from their ai_system rows; a current "
    "risk assessment from the completion of a run whose pinned definition (workflows/) counts "
    "towards risk_assessment coverage, valid for its valid_for",
    "impact_assessment_coverage": "the same, for impact_assessment coverage",
    "open_tasks": "task.requested rows not followed by the visit's task.completed or by the "
    "end of the run",
    "overdue_tasks": "the open ones whose task.requested row gives a due date passed",
    "median_approval_latency_hours": "the latency_seconds of every approval.closed row",
    "mean_days_to_close_nonconformity": "finding.raised rows, the task rows of each "
    "finding's corrective-action run (implement, root_cause, plan, verify) and the run's "
    "completion that closes the finding",
    "nonconformity_action_effectiveness": "the same rows as the mean days to close",
    "repeated_audit_findings": "finding.raised rows of the last three years, by clause",
    "overdue_treatments": "risk-treatment runs' run.started rows (target_date input), their "
    "risk_treatment_result artefact or cancellation",
    "incident_median_hours_to_triage": "ai-incident runs' report and triage task answers "
    "(corrected answers replacing the first), cancelled runs left out",
    "incident_median_hours_to_contain": "ai-incident runs' report and contain task answers",
    "incident_median_days_to_close": "ai-incident runs' report answers and their "
    "ai_incident_record artefact",
    "open_findings": "finding.raised rows, closed by the completion of a run on the finding",
    "nonconformities_raised": "finding.raised rows of the last findings_period_days "
    "(aims-config.json)",
    "training_completion": "role.granted and role.revoked rows (the holders, by the e-mail "
    "their person.linked row gives), the last training_completion artefact of each run, "
    "current for training_valid_days (aims-config.json)",
}
"""KPI key -> the rows its facts are rebuilt from."""

NOT_FROM_ROWS = {
    "controls_with_current_evidence": "which Annex A controls exist and which workflows in use "
    "evidence each come from the catalog and the installed workflow files, not from ledger "
    "rows (soa.csv's rows are rebuilt from the rows instead)",
}
"""KPI key -> why its facts cannot be rebuilt from ledger rows."""

CERTIFICATION_CYCLE = timedelta(days=3 * 365)  # kpi/measures.py
NO_AREA = "area not stated"  # kpi/measures.py
CORRECTIVE_ACTION = "corrective-action"  # kpi/measures.py
CORRECTIVE_ACTION_DONE = "implement"
EFFECTIVENESS_CHECK = "verify"
BACK_BEFORE_ACTION = ("root_cause", "plan")
TREATMENT_WORKFLOW = "risk-treatment"  # store/risk_register.py
TREATMENT_ARTEFACT = "risk_treatment_result"
TRAINING_ARTEFACT = "training_completion"  # kpi/operations.py
ALL_ROLES = "all_roles"
COMPLETED = ("passed", "attended")
INCIDENT = "ai-incident"
INCIDENT_RECORD = "ai_incident_record"
INCIDENT_TIMES = {"report": "detected_at", "triage": "triaged_at", "contain": "contained_at"}
INCIDENT_KPIS = {
    # key -> (the moment it measures to, seconds a unit, unit): kpi/operations.py's _incident_kpi
    "incident_median_hours_to_triage": ("triage", 3600.0, "hours"),
    "incident_median_hours_to_contain": ("contain", 3600.0, "hours"),
    "incident_median_days_to_close": ("closed", 86400.0, "days"),
}
COVERAGE_KPIS = {
    "risk_assessment_coverage": "risk_assessment",
    "impact_assessment_coverage": "impact_assessment",
}
_DURATION = re.compile(r"^(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_UNITS = (604800, 86400, 3600, 60, 1)


def moment(text: Any) -> datetime | None:
    """An ISO 8601 moment (``Z``, an offset or none: UTC) as an aware datetime; None for none."""
    if text is None or text == "":
        return None
    found = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    if found.tzinfo is None:
        found = found.replace(tzinfo=timezone.utc)  # noqa: UP017 - datetime.UTC is 3.11+
    return found


def _when(text: str) -> datetime:
    """A moment a row always holds (its effective_at, a due date given)."""
    found = moment(text)
    if found is None:
        raise ValueError("a moment is missing")
    return found


def _duration(text: Any) -> timedelta | None:
    """A pinned definition's duration (``365d``, as the canonical JSON writes it)."""
    match = _DURATION.match(str(text or ""))
    if match is None or not any(match.groups()):
        return None
    parts = zip(match.groups(), _UNITS)  # noqa: B905 - zip(strict=) is 3.10+
    return timedelta(seconds=sum(int(n) * s for n, s in parts if n))


def spec_coverage(spec: Mapping[str, Any]) -> tuple[str, timedelta] | None:
    """(coverage KPI, how long a completion counts) of a pinned definition, or None."""
    coverage = spec.get("coverage")
    if not isinstance(coverage, dict):
        return None
    valid_for = _duration(coverage.get("valid_for"))
    return None if valid_for is None else (str(coverage.get("kpi")), valid_for)


class _Visit:
    """A task visit; its moments as the rows write them, read as moments only when counted (a
    large pack has hundreds of thousands of visits, few of them open)."""

    __slots__ = ("created", "due", "status", "completed")

    def __init__(self, created: str, due: str | None) -> None:
        self.created, self.due = created, due
        self.status: str = "open"
        self.completed: str | None = None


class KpiRows:
    """What the KPIs' facts need from the rows, gathered in one pass: :meth:`add` every row in
    ``seq`` order with its parsed payload; ``started`` is the run id -> ``run.started`` payload
    map :class:`aims_auditor.RegisterRows` keeps (read, not copied)."""

    def __init__(self, started: Mapping[str, Mapping[str, Any]]) -> None:
        self.started = started
        self.in_scope: dict[str, bool] = {}  # AI system id -> in scope
        self.completions: list[tuple[str, str]] = []  # (run, completed at)
        self.visits: dict[tuple[str, str, Any], _Visit] = {}
        self.open_by_run: dict[str, list[_Visit]] = {}
        self.latencies: dict[int, int] = {}  # whole minutes -> approvals closed
        self.findings: dict[str, dict[str, Any]] = {}
        self.finding_run: dict[str, str] = {}  # finding -> its corrective-action run
        self.treatments: dict[str, list[Any]] = {}  # run -> [started, due date, completed]
        self.answers: dict[str, dict[str, Mapping[str, Any]]] = {}  # incident run -> answers
        self.recorded: dict[str, datetime] = {}  # incident run -> its record's moment
        self.cancelled: dict[str, str] = {}
        self.emails: dict[str, str] = {}  # person id -> e-mail
        self.grants: dict[tuple[str, str], list[list[Any]]] = {}  # (person, role) -> [from, to]
        self.training: dict[str, dict[str, Any]] = {}  # run -> its last training record
        self.handlers = {
            "ai_system.registered": self._registered,
            "ai_system.changed": self._changed,
            "task.requested": self._requested,
            "task.completed": self._completed,
            "task.answers_changed": self._answers_changed,
            "approval.closed": self._approval_closed,
            "finding.raised": self._raised,
            "run.started": self._run_started,
            "run.completed": self._run_ended,
            "run.cancelled": self._run_ended,
            "run.failed": self._run_ended,
            "artefact.recorded": self._artefact,
            "person.linked": self._linked,
            "role.granted": self._granted,
            "role.revoked": self._revoked,
        }

    def add(self, row: Mapping[str, Any], payload: Any) -> None:
        handler = self.handlers.get(row["kind"])
        if handler is not None and isinstance(payload, dict):
            handler(row, payload)

    # -- the rows -------------------------------------------------------------------------
    def _registered(self, row: Mapping[str, Any], payload: dict[str, Any]) -> None:
        record = payload.get("record") or {}
        self.in_scope[str(payload.get("system_id"))] = record.get("in_scope") is True

    def _changed(self, row: Mapping[str, Any], payload: dict[str, Any]) -> None:
        change = (payload.get("changes") or {}).get("in_scope")
        if isinstance(change, list) and len(change) == 2:
            self.in_scope[str(payload.get("system_id"))] = change[1] is True

    def _requested(self, row: Mapping[str, Any], payload: dict[str, Any]) -> None:
        visit = _Visit(row["effective_at"], payload.get("due_at"))
        self.visits[(row["run_id"], row["step_id"], payload.get("attempt"))] = visit
        self.open_by_run.setdefault(row["run_id"], []).append(visit)

    def _completed(self, row: Mapping[str, Any], payload: dict[str, Any]) -> None:
        run_id, step = row["run_id"], row["step_id"]
        visit = self.visits.get((run_id, step, payload.get("attempt")))
        if visit is not None:
            visit.status, visit.completed = "done", row["effective_at"]
        if step in INCIDENT_TIMES and self._workflow(run_id) == INCIDENT:
            self.answers.setdefault(run_id, {})[step] = payload.get("answers") or {}

    def _answers_changed(self, row: Mapping[str, Any], payload: dict[str, Any]) -> None:
        run_id, step = row["run_id"], row["step_id"]
        if step in INCIDENT_TIMES and self._workflow(run_id) == INCIDENT:
            self.answers.setdefault(run_id, {})[step] = payload.get("after") or {}

    def _approval_closed(self, row: Mapping[str, Any], payload: dict[str, Any]) -> None:
        minute = int(float(payload.get("latency_seconds") or 0) // 60)
        self.latencies[minute] = self.latencies.get(minute, 0) + 1

    def _raised(self, row: Mapping[str, Any], payload: dict[str, Any]) -> None:
        self.findings[str(payload.get("id"))] = {
            "raised": moment(row["effective_at"]),
            "clause": payload.get("clause"),
            "source": payload.get("source_type"),
            "closed": None,
        }

    def _run_started(self, row: Mapping[str, Any], payload: dict[str, Any]) -> None:
        subject = payload.get("subject") or {}
        if subject.get("type") == "finding":
            # the first run a finding's raise started is its corrective action
            self.finding_run.setdefault(str(subject.get("id")), row["run_id"])
        if payload.get("workflow") == TREATMENT_WORKFLOW:
            due = str((payload.get("inputs") or {}).get("target_date") or "")[:10]
            self.treatments[row["run_id"]] = [moment(row["effective_at"]), due, None]

    def _run_ended(self, row: Mapping[str, Any], payload: dict[str, Any]) -> None:
        run_id, at = row["run_id"], row["effective_at"]
        for visit in self.open_by_run.pop(run_id, ()):
            if visit.status == "open":
                visit.status, visit.completed = "cancelled", at
        kind = row["kind"]
        if kind == "run.cancelled":
            self.cancelled[run_id] = at
            treatment = self.treatments.get(run_id)
            if treatment is not None and treatment[2] is None:
                treatment[2] = moment(at)
        if kind != "run.completed":
            return
        self.completions.append((run_id, at))
        subject = (self.started.get(run_id) or {}).get("subject") or {}
        if subject.get("type") == "finding":
            finding = self.findings.get(str(subject.get("id")))
            if finding is not None and finding["closed"] is None:
                finding["closed"] = moment(at)

    def _artefact(self, row: Mapping[str, Any], payload: dict[str, Any]) -> None:
        name, run_id = payload.get("artefact"), row["run_id"]
        if name == TREATMENT_ARTEFACT and run_id in self.treatments:
            self.treatments[run_id][2] = moment(row["effective_at"])
        elif name == TRAINING_ARTEFACT:
            self.training[run_id] = payload.get("fields") or {}
        elif name == INCIDENT_RECORD and self._workflow(run_id) == INCIDENT:
            self.recorded.setdefault(run_id, moment(row["effective_at"]))  # type: ignore[arg-type]

    def _linked(self, row: Mapping[str, Any], payload: dict[str, Any]) -> None:
        if payload.get("account") == "email":
            self.emails[str(payload.get("person_id"))] = str(payload.get("value"))

    def _granted(self, row: Mapping[str, Any], payload: dict[str, Any]) -> None:
        key = (str(payload.get("person_id")), str(payload.get("role")))
        self.grants.setdefault(key, []).append([moment(payload.get("valid_from")), None])

    def _revoked(self, row: Mapping[str, Any], payload: dict[str, Any]) -> None:
        for grant in self.grants.get((str(payload.get("person_id")), str(payload.get("role"))), []):
            if grant[1] is None:
                grant[1] = moment(payload.get("valid_to"))

    def _workflow(self, run_id: Any) -> Any:
        return (self.started.get(run_id) or {}).get("workflow")

    # -- the facts ------------------------------------------------------------------------
    def facts(
        self,
        at: datetime,
        specs: Mapping[tuple[str, str], tuple[str, timedelta] | None],
        targets: Mapping[str, Any],
    ) -> dict[str, dict[str, Any]]:
        """KPI key -> its facts as of ``at`` (the moment the export measured), for every KPI
        of :data:`REBUILT` the rows give; ``specs``: (workflow, version) -> the coverage its
        pinned definition counts towards; ``targets``: aims-config.json's ``kpi_targets``."""
        found: dict[str, dict[str, Any]] = {}
        found.update(self._coverage(at, specs))
        open_visits = [v for v in self.visits.values() if v.status == "open"]
        found["open_tasks"] = {"formula": "open_tasks", "count": len(open_visits)}
        overdue = sum(1 for v in open_visits if v.due is not None and _when(v.due) < at)
        found["overdue_tasks"] = {"formula": "overdue_tasks", "count": overdue}
        buckets = [[m, n] for m, n in sorted(self.latencies.items())]
        found["median_approval_latency_hours"] = {"formula": "approval_latency", "buckets": buckets}
        ncs = self._nonconformities(at)
        for key, formula in (
            ("mean_days_to_close_nonconformity", "nonconformity_days"),
            ("nonconformity_action_effectiveness", "nonconformity_effectiveness"),
        ):
            found[key] = {"formula": formula, "at": at.isoformat(), "nonconformities": ncs}
        found.update(self._findings(at, targets))
        found["overdue_treatments"] = {"formula": "overdue_treatments", "count": self._late(at)}
        found.update(self._incidents(at))
        found["training_completion"] = {
            "formula": "training",
            "by_role": self._trained(at, targets),
        }
        return found

    def _coverage(
        self, at: datetime, specs: Mapping[tuple[str, str], tuple[str, timedelta] | None]
    ) -> dict[str, dict[str, Any]]:
        valid_until: dict[tuple[str, str], datetime] = {}  # (coverage KPI, system) -> until
        for run_id, completed in self.completions:
            started = self.started.get(run_id) or {}
            subject = started.get("subject") or {}
            coverage = specs.get((str(started.get("workflow")), str(started.get("version"))))
            if coverage is not None and subject.get("type") == "ai_system":
                until = _when(completed) + coverage[1]
                valid_until[(coverage[0], str(subject.get("id")))] = until
        in_scope = [system for system, yes in self.in_scope.items() if yes]
        found: dict[str, dict[str, Any]] = {}
        for key, kpi in COVERAGE_KPIS.items():
            # a system never assessed has no validity: not current
            current = sum(1 for s in in_scope if valid_until.get((kpi, s), at) > at)
            found[key] = {"formula": "coverage", "in_scope": len(in_scope), "current": current}
        return found

    def _nonconformities(self, at: datetime) -> list[list[Any]]:
        wanted = set(self.finding_run.values())
        steps: dict[str, list[tuple[str, _Visit]]] = {}  # corrective run -> its task visits
        for (run, step, _), visit in self.visits.items():
            if run in wanted:
                steps.setdefault(run, []).append((step, visit))
        found = []
        for finding_id, finding in self.findings.items():
            raised = finding["raised"]
            if raised is None or raised > at:
                continue
            actioned = sent_back = None
            checks = 0
            for step, visit in steps.get(self.finding_run.get(finding_id, ""), ()):
                created, completed = moment(visit.created), moment(visit.completed)
                done = visit.status == "done" and completed <= at  # type: ignore[operator]
                if step == CORRECTIVE_ACTION_DONE and done:
                    actioned = max(actioned or completed, completed)  # type: ignore[type-var]
                elif step in BACK_BEFORE_ACTION and created <= at:  # type: ignore[operator]
                    sent_back = max(sent_back or created, created)  # type: ignore[type-var]
                elif step == EFFECTIVENESS_CHECK and done:
                    checks += 1
            if actioned is not None and sent_back is not None and sent_back > actioned:
                actioned = None  # sent back to the root cause after an ineffective check
            closed = finding["closed"] if finding["closed"] and finding["closed"] <= at else None
            if actioned is None and closed is not None:
                actioned = closed
            found.append([raised.isoformat(), _iso(actioned), _iso(closed), checks])
        return found

    def _findings(self, at: datetime, targets: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
        by_area: dict[str, int] = {}
        open_: dict[str, float] = {}
        total: dict[str, float] = {}
        recent: dict[str, float] = {}
        days = int(targets.get("findings_period_days", 30))
        for finding in self.findings.values():
            raised = finding["raised"]
            if raised is None or raised > at:
                continue
            source = str(finding["source"] or "internal")
            total[source] = total.get(source, 0.0) + 1
            closed = finding["closed"]
            if closed is None or closed > at:
                open_[source] = open_.get(source, 0.0) + 1
            if raised > at - timedelta(days=days):
                recent[source] = recent.get(source, 0.0) + 1
            if raised > at - CERTIFICATION_CYCLE:
                area = str(finding["clause"] or NO_AREA)
                by_area[area] = by_area.get(area, 0) + 1
        return {
            "repeated_audit_findings": {"formula": "repeated_findings", "by_area": by_area},
            "open_findings": {"formula": "open_findings", "open": open_, "total": total},
            "nonconformities_raised": {
                "formula": "nonconformities_raised",
                "counts": recent,
                "days": days,
            },
        }

    def _late(self, at: datetime) -> int:
        today = at.date().isoformat()
        return sum(
            1
            for started, due, completed in self.treatments.values()
            if started <= at and (completed is None or completed > at) and due < today
        )

    def _trained(self, at: datetime, targets: Mapping[str, Any]) -> dict[str, list[int]]:
        holders: dict[str, set[str]] = {}
        for (person, role), grants in self.grants.items():
            if any(since <= at and (until is None or until > at) for since, until in grants):
                holders.setdefault(role, set()).add(self.emails.get(person, person).lower())
        today = at.date()
        oldest = today - timedelta(days=int(targets.get("training_valid_days", 365)))
        trained: dict[str, set[str]] = {}
        for fields in self.training.values():
            try:
                completed_on = date.fromisoformat(str(fields.get("completed_on")))
            except ValueError:
                continue
            if (
                oldest <= completed_on <= today
                and fields.get("result") in COMPLETED
                and fields.get("acknowledged") is True
                and fields.get("role")
                and fields.get("person")
            ):
                person = str(fields["person"]).strip().lower()
                trained.setdefault(str(fields["role"]), set()).add(person)
        everyone = trained.get(ALL_ROLES, set())
        return {
            role: [len(people & (trained.get(role, set()) | everyone)), len(people)]
            for role, people in sorted(holders.items())
            if people
        }

    def _incidents(self, at: datetime) -> dict[str, dict[str, Any]]:
        def typed(answers: Mapping[str, Any], step: str) -> datetime | None:
            value = (answers.get(step) or {}).get(INCIDENT_TIMES[step])
            try:
                return moment(value) if value else None
            except ValueError:
                return None

        incidents = []
        for run_id, answers in self.answers.items():
            detected = typed(answers, "report")
            cancelled = moment(self.cancelled.get(run_id))
            if detected is None or (cancelled is not None and cancelled <= at):
                continue
            incidents.append(
                (
                    detected,
                    {
                        "triage": typed(answers, "triage"),
                        "contain": typed(answers, "contain"),
                        "closed": self.recorded.get(run_id),
                    },
                )
            )
        found = {}
        for key, (until, per, unit) in INCIDENT_KPIS.items():
            pairs = [[d.isoformat(), _iso(moments[until])] for d, moments in incidents]
            found[key] = {
                "formula": "incident_response",
                "at": at.isoformat(),
                "per": per,
                "unit": unit,
                "incidents": pairs,
            }
        return found


def _iso(when: datetime | None) -> str | None:
    return None if when is None else when.isoformat()


# -- the comparison ----------------------------------------------------------------------------
def _same_moment(text: Any) -> Any:
    try:
        return moment(text)
    except (TypeError, ValueError):
        return text


def _normal(name: str, value: Any) -> Any:
    """A fact as compared: moments as moments, lists in no particular order (the database
    returns rows unordered), counts by source without the sources counted zero."""
    if name in ("at",):
        return _same_moment(value)
    if name in ("nonconformities", "incidents") and isinstance(value, list):
        return sorted(
            (tuple(_same_moment(v) if isinstance(v, str) else v for v in item) for item in value),
            key=repr,
        )
    if name == "buckets" and isinstance(value, list):
        return sorted((int(m), int(n)) for m, n in value if int(n))
    if name in ("open", "total", "counts", "by_area") and isinstance(value, dict):
        return {str(k): float(v) for k, v in value.items() if v}
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return value


def differences(recorded: Mapping[str, Any], rebuilt: Mapping[str, Any]) -> list[str]:
    """The facts (by name, in the rebuilt facts' order) whose values differ."""
    names = list(rebuilt) + [n for n in recorded if n not in rebuilt]
    return [
        name
        for name in names
        if _normal(name, recorded.get(name)) != _normal(name, rebuilt.get(name))
    ]
