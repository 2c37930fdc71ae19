"""Raising a finding: its row, its ``finding.raised`` evidence and the start of the workflows
subscribed to it (corrective action), all in one transaction; with the inbox row of the Jira
delivery that reported it, when one did."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..engine import Actor
from ..engine import evidence_kinds as ev
from ..engine.state import Subject
from ..errors import AimsError
from ..runtime import inbound
from ..runtime.core import CLI, Runtime
from ..runtime.inbound import Delivery
from ..runtime.subjects import finding_subject, finding_subject_of
from ..store import inventory as inventory_store
from ..store import runs as run_store
from ..store.models import Finding
from .report import FindingError, FindingReport

__all__ = ["Findings", "Raised"]

_TABLE = Finding.__table__
_ID_ATTEMPTS = 5


@dataclass(frozen=True)
class Raised:
    """What raising did: the finding (new, or the one its tracker issue raised before) and the
    runs it started. ``duplicate``: the delivery or the issue had raised it already."""

    finding_id: str
    started: list[str] = field(default_factory=list)
    duplicate: bool = False
    already_applied: bool = False
    """The delivery that reported it was applied before (by this or another worker)."""


class Findings:
    """``aims findings raise`` and the Jira Nonconformity intake."""

    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime

    def raise_finding(
        self, report: FindingReport, *, actor: Actor = CLI, delivery: Delivery | None = None
    ) -> Raised:
        for attempt in range(_ID_ATTEMPTS):
            try:
                return self._raise_once(report, actor, delivery)
            except (IntegrityError, run_store.ConcurrentUpdate):
                # another raise took the same number (or the same issue) meanwhile: try again,
                # which finds the issue's finding or takes the next number
                if attempt == _ID_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _plan(
        self, report: FindingReport, actor: Actor, now: datetime
    ) -> tuple[Subject, list[Any]] | None:
        """The finding this raise would record and the runs it would start (their scope and
        first step evaluated), on a snapshot before the write transaction; None when the
        snapshot cannot tell (the transaction then finds why)."""
        try:
            with self.rt.db.connect() as read:
                system = self._system_name(read, report.system)
                finding_id = self._new_id(read, report, now.year)
        except AimsError:
            return None
        subject = finding_subject_of(_row(report, finding_id, system, now))
        return subject, self.rt._plan_triggers("finding.raised", subject, now, actor=actor)

    def _raise_once(self, report: FindingReport, actor: Actor, delivery: Delivery | None) -> Raised:
        now = self.rt.clock.now()
        plan = self._plan(report, actor, now)
        with self.rt.db.begin() as conn:
            if delivery is not None and not inbound.take(conn, delivery, now):
                return Raised(
                    self._by_issue(conn, report) or "", duplicate=True, already_applied=True
                )
            earlier = self._by_issue(conn, report)
            if earlier is not None:
                if delivery is not None:
                    inbound.settle(conn, delivery, now, f"raised before as finding {earlier}")
                return Raised(earlier, duplicate=True)
            system = self._system_name(conn, report.system)
            finding_id = self._new_id(conn, report, now.year)
            conn.execute(insert(_TABLE).values(_row(report, finding_id, system, now)))
            extra = {"tracker_issue": report.tracker_issue} if report.tracker_issue else {}
            self.rt.record(
                conn,
                ev.FindingRaised(
                    id=finding_id,
                    title=report.title,
                    severity=report.severity,
                    clause=report.clause,
                    description=report.description,
                    source=report.raised_by,
                    system=system,
                    source_type=report.source_type,  # type: ignore[arg-type]
                    **extra,
                ),
                now,
                actor=actor,
                ref=finding_id,
            )
            subject = finding_subject(conn, finding_id)
            if plan is None or plan[0] != subject:
                # another raise took the number meanwhile: planned again with the next one
                raise run_store.ConcurrentUpdate(f"finding {finding_id} was planned differently")
            started = self.rt._fire_triggers(
                conn, "finding.raised", subject, now, actor=actor, planned=plan[1]
            )
            if not started:
                # rolled back with the rest: a finding nobody acts on is not raised
                raise FindingError(
                    "no workflow starts on a raised finding, so it would get no corrective "
                    "action; nothing was recorded",
                    hint="ship corrective-action (`aims workflows list`) or a workflow with "
                    "`trigger: on: [{event: finding.raised}]` and `subject: finding`",
                )
            conn.execute(
                update(_TABLE).where(_TABLE.c.id == finding_id).values(corrective_run_id=started[0])
            )
            if delivery is not None:
                inbound.settle(conn, delivery, now)
        return Raised(finding_id, started)

    def raised_for_issue(self, issue_id: str) -> str | None:
        """The finding a tracker issue raised, if it raised one."""
        with self.rt.db.connect() as conn:
            return conn.scalar(select(_TABLE.c.id).where(_TABLE.c.tracker_issue_id == issue_id))

    @staticmethod
    def _by_issue(conn: Connection, report: FindingReport) -> str | None:
        if report.tracker_issue_id is None:
            return None
        return conn.scalar(
            select(_TABLE.c.id).where(_TABLE.c.tracker_issue_id == report.tracker_issue_id)
        )

    @staticmethod
    def _system_name(conn: Connection, name: str | None) -> str | None:
        """The inventory's spelling of the system's name; NotFound with a suggestion."""
        if name is None:
            return None
        return str(inventory_store.get(conn, name)["name"])

    @staticmethod
    def _new_id(conn: Connection, report: FindingReport, year: int) -> str:
        """``NC-KEY`` for a finding reported in a Jira issue, else ``NC-YEAR-NNN``."""
        if report.tracker_issue:
            return f"NC-{report.tracker_issue}"
        prefix = f"NC-{year}-"
        ids = conn.scalars(select(_TABLE.c.id).where(_TABLE.c.id.like(f"{prefix}%"))).all()
        numbers = [int(i[len(prefix) :]) for i in ids if i[len(prefix) :].isdigit()]
        return f"{prefix}{max(numbers, default=0) + 1:03d}"


def _row(
    report: FindingReport, finding_id: str, system: str | None, now: datetime
) -> dict[str, Any]:
    """The findings row a raise records (its columns)."""
    return dict(
        id=finding_id,
        title=report.title,
        severity=report.severity,
        source=report.raised_by,
        source_type=report.source_type,
        clause=report.clause,
        description=report.description,
        system_name=system,
        status="open",
        raised_at=now,
        tracker_issue=report.tracker_issue,
        tracker_issue_id=report.tracker_issue_id,
    )
