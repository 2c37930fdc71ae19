"""Records (and documents) that runs produce, with the identification of 7.5.2 read from the
ledger.

A completed run is a record: its reference is the run id, its version the workflow version it
ran on, its author the first person who completed one of its tasks, its approver the last person
who approved it, its approval day the day it completed, and its next review the day its result
lapses (an assessment's validity, or a year for a recurring review). The latest completed run of
each workflow about each subject is listed: the current record, older ones stay in the ledger.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from ..engine import evidence_kinds as ev
from ..store.models import AISystem, Evidence, Run
from .readiness import PERIOD
from .register import Document
from .requirements import REQUIREMENTS

__all__ = ["produced_records"]

_VALIDITY = {"ai-risk-assessment": "risk_valid_until", "ai-impact-assessment": "impact_valid_until"}
_LIMIT = 200  # records listed per requirement; the ledger holds every one
_SOA_WORKFLOW, _SOA_ARTEFACT = "soa-review", "statement_of_applicability"


def produced_records(
    conn: Connection, *, workflow_ids: Iterable[str], titles: dict[str, str] | None = None
) -> list[Document]:
    """The current record of each (workflow, subject) for the requirements that runs produce."""
    loaded = set(workflow_ids)
    # a document a workflow produces (the scope, the policy, the objectives) is listed as well
    # as the records: its latest approved run is the current version
    wanted = {w: r for r in REQUIREMENTS for w in r.workflows if w in loaded}
    if not wanted:
        return []
    r = Run.__table__
    latest: dict[tuple[str, str, str], Any] = {}
    for row in conn.execute(
        select(
            r.c.id,
            r.c.workflow_id,
            r.c.spec_version,
            r.c.subject_type,
            r.c.subject_id,
            r.c.subject_name,
            r.c.completed_at,
        )
        .where(r.c.status == "completed", r.c.workflow_id.in_(list(wanted)))
        .order_by(r.c.completed_at)
    ):
        latest[(row.workflow_id, row.subject_type, row.subject_id)] = row
    runs = sorted(latest.values(), key=lambda x: x.completed_at, reverse=True)
    people = _people(conn, [x.id for x in runs])
    s = AISystem.__table__
    validity = {
        name: {"risk_valid_until": risk, "impact_valid_until": impact}
        for name, risk, impact in conn.execute(
            select(s.c.name, s.c.risk_valid_until, s.c.impact_valid_until)
        )
    }
    soa_versions = _soa_versions(conn, [x.id for x in runs if x.workflow_id == _SOA_WORKFLOW])
    documents: list[Document] = []
    counted: dict[str, int] = {}
    for run in runs:
        # one run may be the record of several requirements (a management review: 9.1 and 9.3)
        for req in REQUIREMENTS:
            if run.workflow_id not in req.workflows:
                continue
            if counted.get(req.key, 0) >= _LIMIT:
                continue
            counted[req.key] = counted.get(req.key, 0) + 1
            author, approver = people.get(run.id, (None, None))
            documents.append(
                Document(
                    ev.DocumentSnapshot(
                        reference=run.id,
                        requirement=req.key,
                        clause=req.clause,
                        title=f"{(titles or {}).get(run.workflow_id, run.workflow_id)}: "
                        f"{run.subject_name}",
                        version=soa_versions.get(run.id)
                        or f"{run.workflow_id} v{run.spec_version}",
                        author=author or "-",
                        approver=approver,
                        approved_on=_day(run.completed_at) if approver else None,
                        next_review=_next_review(run, validity),
                        location=f"aims runs show {run.id}",
                        file=None,
                        sha256=None,
                    ),
                    "runs",
                )
            )
    return documents


def _soa_versions(conn: Connection, run_ids: list[str]) -> dict[str, str]:
    """Run id -> the SoA version its approval recorded (``SoA 2.0``): the version people know
    the Statement of Applicability by, rather than the workflow's."""
    found: dict[str, str] = {}
    e = Evidence.__table__
    for start in range(0, len(run_ids), 500):
        for run_id, payload in conn.execute(
            select(e.c.run_id, e.c.payload)
            .where(
                e.c.run_id.in_(run_ids[start : start + 500]),
                e.c.kind == ev.ArtefactRecorded.KIND,
            )
            .order_by(e.c.seq)  # an edited answer records the artefact again: the last counts
        ):
            data = json.loads(payload)
            version = (data.get("fields") or {}).get("version")
            if data.get("artefact") == _SOA_ARTEFACT and version:
                found[run_id] = f"SoA {version}"
    return found


def _people(conn: Connection, run_ids: list[str]) -> dict[str, tuple[str | None, str | None]]:
    """Run id -> (first person who completed a task, last person who approved the run's first
    approval that passed). Later approvals are not its approval: the role holders who
    acknowledge an approved AI policy did not approve it."""
    found: dict[str, tuple[str | None, str | None]] = {}
    settled: set[str] = set()
    e = Evidence.__table__
    kinds = (ev.TaskCompleted.KIND, ev.ApprovalDecided.KIND, ev.ApprovalClosed.KIND)
    for start in range(0, len(run_ids), 500):
        chunk = run_ids[start : start + 500]
        for run_id, kind, payload in conn.execute(
            select(e.c.run_id, e.c.kind, e.c.payload)
            .where(e.c.run_id.in_(chunk), e.c.kind.in_(kinds))
            .order_by(e.c.seq)
        ):
            data = json.loads(payload)
            author, approver = found.get(run_id, (None, None))
            if kind == ev.TaskCompleted.KIND and author is None:
                author = data.get("by")
            elif run_id in settled:
                pass
            elif kind == ev.ApprovalDecided.KIND and data.get("decision") == "approve":
                approver = data.get("person")
            elif kind == ev.ApprovalClosed.KIND and data.get("outcome") == "approved":
                settled.add(run_id)
            found[run_id] = (author, approver)
    return found


def _next_review(run: Any, validity: dict[str, dict[str, datetime | None]]) -> str | None:
    column = _VALIDITY.get(run.workflow_id)
    if column and run.subject_type == "ai_system":
        until = validity.get(run.subject_name, {}).get(column)
        return _day(until) if until else None
    return _day(run.completed_at + PERIOD) if run.completed_at else None


def _day(moment: datetime | None) -> str | None:
    return moment.date().isoformat() if moment else None
