"""The Jira integration's own storage (tables of migrations 0002 and 0005): which issue is which
task visit, which engineer attachments are in the ledger, and where the reconciliation poll
stopped. :class:`JiraIssueRecords` is the :class:`~aims_workflows.ports.JiraIssueStore` the
Jira adapter is given; each method is one transaction of its own."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Connection, Table, cast, func, or_, select

from ..engine.evidence import EvidenceRecord
from ..ports import Clock
from . import ledger
from .db import Database
from .models import Run
from .models_jira import JiraAttachment, JiraCreateAttempt, JiraIssue, JiraSyncCursor
from .upsert import insert_for

__all__ = ["JiraIssueRecords"]

_ISSUES: Table = JiraIssue.__table__
_ATTACHMENTS: Table = JiraAttachment.__table__
_SYNC: Table = JiraSyncCursor.__table__
_ATTEMPTS: Table = JiraCreateAttempt.__table__
_RUNS: Table = Run.__table__
_OPEN_RUN = ("new", "running", "waiting")


def _insert(conn: Connection, table: Table) -> Any:
    return insert_for(conn.dialect.name, table)


class JiraIssueRecords:
    """The issue mapping, recorded attachments and poll cursor in the application's database."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    # -- which issue is which task --------------------------------------------------------
    def find_issue(
        self, *, issue_id: str | None = None, key: str | None = None
    ) -> dict[str, Any] | None:
        """The mapping row of an issue, by its id or else by its key."""
        where = _ISSUES.c.issue_id == issue_id if issue_id else _ISSUES.c.issue_key == key
        with self.db.connect() as conn:
            row = conn.execute(select(_ISSUES).where(where).limit(1)).first()
        return dict(row._mapping) if row else None

    def issue_by_idem(self, idem_key: str) -> dict[str, Any] | None:
        """The issue made for the ``task.create`` command with this key."""
        with self.db.connect() as conn:
            row = conn.execute(select(_ISSUES).where(_ISSUES.c.idem_key == idem_key)).first()
        return dict(row._mapping) if row else None

    def issues_of_run(self, run_id: str) -> list[str]:
        """The keys of a run's issues, oldest first."""
        with self.db.connect() as conn:
            return list(
                conn.scalars(
                    select(_ISSUES.c.issue_key)
                    .where(_ISSUES.c.run_id == run_id)
                    .order_by(_ISSUES.c.created_at)
                )
            )

    def issues_of_parent(self, run_id: str) -> list[str]:
        """The keys of the issues of the run that started ``run_id`` (a finding's audit)."""
        with self.db.connect() as conn:
            parent = conn.scalar(select(_RUNS.c.parent_run_id).where(_RUNS.c.id == run_id))
        return self.issues_of_run(parent) if parent else []

    def create_attempted(self, idem_key: str) -> datetime | None:
        """When the issue for this command was first asked of Jira, if ever."""
        with self.db.connect() as conn:
            return conn.scalar(
                select(_ATTEMPTS.c.started_at).where(_ATTEMPTS.c.idem_key == idem_key)
            )

    def note_create_attempt(self, idem_key: str) -> None:
        """Record, before asking Jira, that this command's issue is being created (first time
        only: the window a retry waits in counts from the first attempt), with the highest
        issue id known now: the issue Jira makes gets a higher one."""
        with self.db.begin() as conn:
            floor = conn.scalar(select(func.max(cast(_ISSUES.c.issue_id, BigInteger))))
            conn.execute(
                _insert(conn, _ATTEMPTS)
                .values(idem_key=idem_key, started_at=self.clock.now(), id_floor=floor)
                .on_conflict_do_nothing(index_elements=["idem_key"])
            )

    def create_id_floor(self, idem_key: str) -> int | None:
        """The highest issue id known when this command's create was first sent."""
        with self.db.connect() as conn:
            found: int | None = conn.scalar(
                select(_ATTEMPTS.c.id_floor).where(_ATTEMPTS.c.idem_key == idem_key)
            )
        return found

    def forget_create_attempt(self, idem_key: str) -> None:
        """Jira answered that it created nothing: a retry need not wait for the search."""
        with self.db.begin() as conn:
            conn.execute(_ATTEMPTS.delete().where(_ATTEMPTS.c.idem_key == idem_key))

    def note_unassignable(self, idem_key: str, reason: str) -> None:
        """Jira refused the assignee of this command's issue: kept before the issue is made
        unassigned, so the comment saying so is posted whatever happens after the create."""
        with self.db.begin() as conn:
            statement = _insert(conn, _ATTEMPTS).values(
                idem_key=idem_key, started_at=self.clock.now(), unassignable=reason
            )
            conn.execute(
                statement.on_conflict_do_update(
                    index_elements=["idem_key"], set_={"unassignable": reason}
                )
            )

    def unassignable(self, idem_key: str) -> tuple[str, bool] | None:
        """Jira's reason for refusing this command's assignee, and whether the issue was told."""
        with self.db.connect() as conn:
            row = conn.execute(
                select(_ATTEMPTS.c.unassignable, _ATTEMPTS.c.unassignable_told_at).where(
                    _ATTEMPTS.c.idem_key == idem_key, _ATTEMPTS.c.unassignable.is_not(None)
                )
            ).first()
        return (str(row[0]), row[1] is not None) if row else None

    def unassignable_told(self, idem_key: str) -> None:
        """The comment about the refused assignee is on the issue."""
        with self.db.begin() as conn:
            conn.execute(
                _ATTEMPTS.update()
                .where(_ATTEMPTS.c.idem_key == idem_key)
                .values(unassignable_told_at=self.clock.now())
            )

    def remember_issue(
        self,
        *,
        issue_id: str,
        issue_key: str,
        idem_key: str,
        run_id: str,
        step_id: str,
        attempt: int,
        fields: dict[str, Any],
    ) -> None:
        """Record which task an issue is; a second record of the same issue changes nothing."""
        now = self.clock.now()
        with self.db.begin() as conn:
            conn.execute(
                _insert(conn, _ISSUES)
                .values(
                    issue_id=issue_id,
                    issue_key=issue_key,
                    idem_key=idem_key,
                    run_id=run_id,
                    step_id=step_id,
                    attempt=attempt,
                    fields=fields,
                    created_at=now,
                    updated_at=now,
                )
                .on_conflict_do_nothing()
            )

    # -- engineers' attachments -----------------------------------------------------------
    def attachment_recorded(self, attachment_id: str) -> bool:
        with self.db.connect() as conn:
            found = conn.execute(
                select(_ATTACHMENTS.c.attachment_id).where(
                    _ATTACHMENTS.c.attachment_id == attachment_id
                )
            ).first()
        return found is not None

    def record_attachment(
        self,
        *,
        attachment_id: str,
        issue_key: str,
        filename: str,
        size: int,
        sha256: str,
        evidence: EvidenceRecord,
    ) -> bool:
        """Remember the attachment and append its ledger row, in one transaction, once: True
        when it was new."""
        now = self.clock.now()
        with self.db.begin() as conn:
            added = conn.execute(
                _insert(conn, _ATTACHMENTS)
                .values(
                    attachment_id=attachment_id,
                    issue_key=issue_key,
                    filename=filename[:255],
                    size=size,
                    sha256=sha256,
                    recorded_at=now,
                )
                .on_conflict_do_nothing()
                .returning(_ATTACHMENTS.c.attachment_id)
            ).first()
            if added is None:
                return False
            ledger.append(conn, [evidence], recorded_at=now)
            return True

    def evidence_rows(self, first: int, last: int) -> list[dict[str, Any]]:
        """Ledger rows ``first`` to ``last`` as stored (hashes included), payloads parsed."""
        with self.db.connect() as conn:
            rows = ledger.rows_between(conn, first, last)
        return [{**row.__dict__, "payload": json.loads(row.payload)} for row in rows]

    # -- the reconciliation poll ----------------------------------------------------------
    def cursor(self, name: str) -> datetime | None:
        with self.db.connect() as conn:
            found: datetime | None = conn.scalar(select(_SYNC.c.cursor).where(_SYNC.c.name == name))
        return found

    def set_cursor(self, name: str, value: datetime) -> None:
        now = self.clock.now()
        with self.db.begin() as conn:
            statement = _insert(conn, _SYNC).values(name=name, cursor=value, polled_at=now)
            conn.execute(
                statement.on_conflict_do_update(
                    index_elements=["name"], set_={"cursor": value, "polled_at": now}
                )
            )

    def open_issue_ids(self, limit: int = 50) -> list[int]:
        """Ids of the newest issues of runs not known to be over: the ones a poll asks Jira to
        reconcile, so a task completed moments ago is seen although the search lags."""
        with self.db.connect() as conn:
            ids = conn.scalars(
                select(_ISSUES.c.issue_id)
                .select_from(_ISSUES.outerjoin(_RUNS, _RUNS.c.id == _ISSUES.c.run_id))
                .where(or_(_RUNS.c.id.is_(None), _RUNS.c.status.in_(_OPEN_RUN)))
                .order_by(_ISSUES.c.created_at.desc(), _ISSUES.c.issue_id.desc())
                .limit(limit)
            ).all()
        return [int(i) for i in ids if str(i).isdigit()]

    def open_since(self) -> datetime | None:
        """When the oldest issue of a run not known to be over was made (where a first poll
        starts)."""
        with self.db.connect() as conn:
            oldest: datetime | None = conn.scalar(
                select(func.min(_ISSUES.c.created_at))
                .select_from(_ISSUES.outerjoin(_RUNS, _RUNS.c.id == _ISSUES.c.run_id))
                .where(or_(_RUNS.c.id.is_(None), _RUNS.c.status.in_(_OPEN_RUN)))
            )
        return oldest
