"""Certification readiness: each piece of mandatory documented information, met, partial,
missing or stale, with the reason and what fixes it; and the clauses they roll up to.

Stage 1 asks that the documented information exists and is approved; Stage 2 asks in addition
for the operational records of the last twelve months: assessments current for every AI system
in scope, an internal audit and a management review held, nonconformities taken through
corrective action. A parent clause is met only when everything under it is.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Connection, select

from ..store.models import AISystem, Finding, RiskRegisterEntry, Run
from .gap_analysis import latest_gap_analysis
from .register import Document
from .requirements import REQUIREMENTS, Requirement

__all__ = ["ReadinessLine", "ReadinessReport", "assess", "readiness_of", "PERIOD"]

Status = Literal["met", "partial", "missing", "stale"]
PERIOD = timedelta(days=365)
"""How far back Stage 2 looks for operational records: the year before the audit."""

_RANK = {"missing": 0, "stale": 1, "partial": 2, "met": 3}
_SHOWN_NAMES = 3


@dataclass(frozen=True)
class ReadinessLine:
    """One requirement (or clause) and where it stands."""

    key: str
    clause: str
    title: str
    status: Status
    reason: str
    fix: str
    required: bool

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class ReadinessReport:
    stage: int
    at: str
    period_start: str
    lines: list[ReadinessLine]
    clauses: list[ReadinessLine]

    @property
    def ready(self) -> bool:
        return all(line.status == "met" for line in self.lines if line.required)

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(_RANK, 0)
        for line in self.lines:
            if line.required:
                counts[line.status] += 1
        return counts

    def as_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "at": self.at,
            "period_start": self.period_start,
            "ready": self.ready,
            "counts": self.counts(),
            "requirements": [line.as_dict() for line in self.lines],
            "clauses": [line.as_dict() for line in self.clauses],
        }


@dataclass(frozen=True)
class _Verdict:
    status: Status
    reason: str
    fix: str = ""


def assess(
    conn: Connection,
    *,
    stage: int,
    at: datetime,
    documents: Iterable[Document],
    workflow_ids: Iterable[str],
    clause_ids: Iterable[str],
) -> ReadinessReport:
    """Readiness for ``stage`` on ``at``, from the register and the database."""
    if stage not in (1, 2):
        from ..errors import ConfigError

        raise ConfigError(f"there is no Stage {stage}", hint="--stage 1 or --stage 2")
    facts = _Facts(conn, at, set(workflow_ids))
    by_requirement: dict[str, list[Document]] = {}
    for document in documents:
        by_requirement.setdefault(document.snapshot.requirement, []).append(document)
    lines = []
    gaps = latest_gap_analysis(conn, at)
    for req in REQUIREMENTS:
        verdicts = [_document_verdict(d, at.date()) for d in by_requirement.get(req.key, [])]
        verdicts.append(_produced_verdict(req, facts))
        best = max(verdicts, key=lambda v: _RANK[v.status])
        # what the gap analysis said about the clause, and who owns closing it
        gap_note = gaps.note(req.clause) if gaps and best.status != "met" else None
        lines.append(
            ReadinessLine(
                req.key,
                req.clause,
                req.title,
                best.status,
                best.reason + (f"; {gap_note}" if gap_note else ""),
                "" if best.status == "met" else best.fix,
                req.stage <= stage,
            )
        )
    return ReadinessReport(
        stage,
        at.isoformat(timespec="seconds"),
        (at - PERIOD).date().isoformat(),
        lines,
        roll_up(lines, clause_ids),
    )


def roll_up(lines: list[ReadinessLine], clause_ids: Iterable[str]) -> list[ReadinessLine]:
    """A line per clause with required documented information under it: met only when every
    requirement under it is met."""
    rows = []
    required = [line for line in lines if line.required]
    for clause in clause_ids:
        under = [
            line
            for line in required
            if line.clause == clause or line.clause.startswith(clause + ".")
        ]
        if not under or (len(under) == 1 and under[0].clause == clause):
            continue  # a clause with one requirement of its own: its line says it already
        statuses = {line.status for line in under}
        status: Status
        if statuses == {"met"}:
            status = "met"
        elif statuses == {"missing"}:
            status = "missing"
        elif statuses <= {"met", "stale"}:
            status = "stale"
        else:
            status = "partial"
        not_met = [line.key for line in under if line.status != "met"]
        reason = (
            f"{len(under)} of {len(under)} met"
            if not not_met
            else f"{len(under) - len(not_met)} of {len(under)} met; not met: {', '.join(not_met)}"
        )
        rows.append(ReadinessLine(f"clause {clause}", clause, "", status, reason, "", True))
    return rows


# -- documents in the register ---------------------------------------------------------------
def _document_verdict(document: Document, today: date) -> _Verdict:
    snap = document.snapshot
    name = f"{snap.reference} v{snap.version}"
    review = (
        f"aims documents review {snap.reference} --approver EMAIL --approved-on DAY "
        "--next-review DAY"
    )
    where = " (aims.yaml)" if document.origin == "aims.yaml" else ""
    if document.problem and "changed since" in document.problem:
        return _Verdict("stale", f"{name}{where}: {document.problem}", review + " --version NEW")
    if document.problem:
        return _Verdict("partial", f"{name}{where}: {document.problem}", review + " --file PATH")
    if snap.approver is None:
        return _Verdict("partial", f"{name}{where} is a draft: not approved", review)
    if snap.next_review is None:
        return _Verdict(
            "partial",
            f"{name}{where} approved by {snap.approver} on {snap.approved_on}, "
            "with no next review day",
            review,
        )
    if date.fromisoformat(snap.next_review) <= today:
        return _Verdict("stale", f"{name}{where}: its review was due on {snap.next_review}", review)
    return _Verdict(
        "met",
        f"{name}{where} approved by {snap.approver} on {snap.approved_on}; "
        f"next review {snap.next_review}",
    )


# -- what runs produce -------------------------------------------------------------------------
class _Facts:
    """The database's answers, asked once per report."""

    def __init__(self, conn: Connection, at: datetime, loaded: set[str]) -> None:
        self.conn, self.at, self.loaded = conn, at, loaded
        self.start = at - PERIOD
        r = Run.__table__
        self.runs: dict[str, dict[str, Any]] = {}
        query = (
            select(
                r.c.workflow_id,
                r.c.id,
                r.c.status,
                r.c.started_at,
                r.c.completed_at,
                r.c.subject_type,
                r.c.subject_name,
            )
            .where(r.c.started_at <= at)
            .order_by(r.c.started_at)
        )
        # (workflow, AI system name) -> a run about it still under way on the day
        self.open_about: dict[tuple[str, str], str] = {}
        for workflow, run_id, status, started, completed, subject_type, name in conn.execute(query):
            info = self.runs.setdefault(
                workflow, {"in_period": [], "before": [], "open": [], "failed": []}
            )
            if status == "completed" and completed is not None and completed <= at:
                info["in_period" if completed > self.start else "before"].append(
                    (run_id, completed)
                )
            elif status in ("new", "running", "completed"):  # completed only after the day
                info["open"].append((run_id, started))
                if subject_type == "ai_system":
                    self.open_about[(workflow, name)] = run_id
            else:
                info["failed"].append((run_id, status))
        s = AISystem.__table__
        self.systems = conn.execute(
            select(
                s.c.name,
                s.c.risk_assessed_at,
                s.c.risk_valid_until,
                s.c.impact_assessed_at,
                s.c.impact_valid_until,
            )
            .where(s.c.in_scope.is_(True), s.c.created_at <= at)
            .order_by(s.c.name)
        ).all()
        rr = RiskRegisterEntry.__table__
        self.treated = {
            name
            for (name,) in conn.execute(
                select(rr.c.system_name)
                .where(
                    rr.c.treatment.is_not(None),
                    rr.c.recorded_at > self.start,
                    rr.c.recorded_at <= at,
                )
                .group_by(rr.c.system_name)
            )
        }
        self.ever_treated = {
            name
            for (name,) in conn.execute(
                select(rr.c.system_name)
                .where(rr.c.treatment.is_not(None))
                .group_by(rr.c.system_name)
            )
        }
        f = Finding.__table__
        self.findings = conn.execute(
            select(f.c.id, f.c.status, f.c.corrective_run_id, f.c.raised_at).where(
                f.c.raised_at <= at
            )
        ).all()
        self.run_status = (
            dict(
                conn.execute(
                    select(r.c.id, r.c.status).where(
                        r.c.id.in_(
                            [x.corrective_run_id for x in self.findings if x.corrective_run_id]
                        )
                    )
                ).all()
            )
            if self.findings
            else {}
        )


def _produced_verdict(req: Requirement, facts: _Facts) -> _Verdict:
    add = f"aims documents add REF --requirement {req.key} ..."
    loaded = [w for w in req.workflows if w in facts.loaded]
    if not loaded:
        return _Verdict("missing", "not in the register", add)
    if req.measure in ("risk_per_system", "impact_per_system"):
        return _per_system(req, facts, loaded[0])
    if req.measure == "treatment_per_system":
        return _treatments(facts, loaded[0])
    if req.measure == "findings":
        return _findings(facts)
    return _held(req, facts, loaded)


def _held(req: Requirement, facts: _Facts, workflows: list[str]) -> _Verdict:
    in_period: list[tuple[str, datetime]] = []
    before: list[tuple[str, datetime]] = []
    open_: list[tuple[str, datetime]] = []
    for workflow in workflows:
        info = facts.runs.get(workflow, {})
        in_period += info.get("in_period", [])
        before += info.get("before", [])
        open_ += info.get("open", [])
    start = req.start_with or " or ".join(f"aims start {w}" for w in workflows)
    if in_period:
        run_id, when = max(in_period, key=lambda x: x[1])
        more = f"; {len(in_period)} in the last 12 months" if len(in_period) > 1 else ""
        return _Verdict("met", f"{'/'.join(workflows)} completed {when:%Y-%m-%d} ({run_id}){more}")
    if open_:
        run_id, when = open_[-1]
        return _Verdict(
            "partial",
            f"{'/'.join(workflows)} under way (run {run_id} started {when:%Y-%m-%d}), "
            "none completed in the last 12 months",
            f"complete it: aims runs show {run_id}",
        )
    if before:
        run_id, when = max(before, key=lambda x: x[1])
        return _Verdict(
            "stale",
            f"last {'/'.join(workflows)} completed {when:%Y-%m-%d}, over 12 months ago",
            start,
        )
    return _Verdict("missing", f"no {'/'.join(workflows)} run yet", start)


def _names(names: list[str]) -> str:
    shown = ", ".join(names[:_SHOWN_NAMES])
    return shown + (f" and {len(names) - _SHOWN_NAMES} more" if len(names) > _SHOWN_NAMES else "")


def _per_system(req: Requirement, facts: _Facts, workflow: str) -> _Verdict:
    what = "risk" if req.measure == "risk_per_system" else "impact"
    if not facts.systems:
        return _Verdict(
            "missing",
            "no AI system in scope in the inventory",
            "aims systems add NAME --owner EMAIL (or aims systems import FILE)",
        )
    assessed_col, until_col = f"{what}_assessed_at", f"{what}_valid_until"
    current = [
        s.name for s in facts.systems if getattr(s, until_col) and getattr(s, until_col) > facts.at
    ]
    lapsed = [
        s.name
        for s in facts.systems
        if s.name not in current and getattr(s, assessed_col) is not None
    ]
    lacking = [s.name for s in facts.systems if s.name not in current]
    total = len(facts.systems)
    if not lacking:
        return _Verdict(
            "met",
            f"the {_systems(total)} in scope ha{'s' if total == 1 else 've'} a current "
            f"{what} assessment",
        )
    fix = _start_or_finish(facts, workflow, lacking)
    if current:
        return _Verdict(
            "partial",
            f"{len(current)} of {total} AI systems in scope have a current {what} assessment; "
            f"not {_names(lacking)}",
            fix,
        )
    if lapsed:
        return _Verdict("stale", f"the {what} assessments of {_names(lapsed)} have lapsed", fix)
    return _Verdict("missing", f"no {what} assessment of {_names(lacking)} yet", fix)


def _start_or_finish(facts: _Facts, workflow: str, systems: list[str]) -> str:
    """Finish the run under way for the first system that lacks one, or start one."""
    first = systems[0]
    run_id = facts.open_about.get((workflow, first))
    fix = (
        f"finish run {run_id} ({workflow} of {first}): aims runs show {run_id}"
        if run_id
        else f"aims start {workflow} --system {first!r}"
    )
    return fix + (" (and the same for the others named)" if len(systems) > 1 else "")


def _treatments(facts: _Facts, workflow: str) -> _Verdict:
    if not facts.systems:
        return _Verdict(
            "missing",
            "no AI system in scope in the inventory",
            "aims systems add NAME --owner EMAIL",
        )
    names = [s.name for s in facts.systems]
    lacking = [n for n in names if n not in facts.treated]
    if not lacking:
        return _Verdict(
            "met",
            f"a risk treatment decided in the last 12 months for the {_systems(len(names))} "
            "in scope",
        )
    fix = _start_or_finish(facts, workflow, lacking)
    if len(lacking) < len(names):
        return _Verdict(
            "partial", f"no risk treatment decided in the last 12 months for {_names(lacking)}", fix
        )
    if any(n in facts.ever_treated for n in names):
        return _Verdict("stale", "no risk treatment decided in the last 12 months", fix)
    return _Verdict("missing", "no risk treatment decided yet", fix)


def _findings(facts: _Facts) -> _Verdict:
    if not facts.findings:
        audited = facts.runs.get("internal-audit", {}).get("in_period")
        if audited:
            return _Verdict(
                "met",
                "no nonconformity raised: the internal audit of the last 12 months found none",
            )
        return _Verdict(
            "partial",
            "no nonconformity raised, and no internal audit held to look for any",
            "aims start internal-audit",
        )
    stuck = [
        f.id
        for f in facts.findings
        if f.status != "closed"
        and (
            not f.corrective_run_id
            or facts.run_status.get(f.corrective_run_id) in ("failed", "cancelled")
        )
    ]
    closed = sum(1 for f in facts.findings if f.status == "closed")
    total = len(facts.findings)
    if stuck:
        return _Verdict(
            "partial",
            f"{len(stuck)} of {total} nonconformities have no corrective action under way "
            f"({_names(stuck)})",
            f"aims start corrective-action --finding {stuck[0]}",
        )
    parts = [f"{closed} closed"] if closed else []
    if total - closed:
        parts.append(f"{total - closed} with corrective action under way")
    return _Verdict(
        "met", f"{total} nonconformit{'y' if total == 1 else 'ies'} raised: {', '.join(parts)}"
    )


def _systems(n: int) -> str:
    return "AI system" if n == 1 else f"{n} AI systems"


def readiness_of(app: Any, stage: int, at: datetime) -> ReadinessReport:
    """The report over an opened application (:func:`aims_workflows.app.open_app`): its
    database, ``aims.yaml`` and the workflows in use."""
    from ..catalog import load_catalog
    from .register import read_register

    with app.db.connect() as conn:
        documents = read_register(conn, app.config, app.settings.config.parent)
        return assess(
            conn,
            stage=stage,
            at=at,
            documents=documents,
            workflow_ids=app.workflows.ids(),
            clause_ids=[c.id for c in load_catalog().clauses()],
        )
