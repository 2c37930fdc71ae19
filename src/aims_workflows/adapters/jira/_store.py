"""Reads and writes of the Jira tables (migration 0002). Callers pass the connection, so each
write joins the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from ...store.models_jira import JiraAttachment, JiraIssue, JiraSyncCursor
from ...store.upsert import insert_for

__all__ = [
    "find_issue",
    "issue_by_idem",
    "issues_of_run",
    "remember_issue",
    "set_status",
    "attachment_recorded",
    "remember_attachment",
    "cursor",
    "set_cursor",
    "open_since",
]

_ISSUES = JiraIssue.__table__
_ATTACHMENTS = JiraAttachment.__table__
_SYNC = JiraSyncCursor.__table__


def _insert(conn: Connection, table):
    return insert_for(conn.dialect.name, table)


def find_issue(
    conn: Connection, *, issue_id: str | None = None, key: str | None = None
) -> dict[str, Any] | None:
    query = select(_ISSUES)
    query = (
        query.where(_ISSUES.c.issue_id == issue_id)
        if issue_id
        else query.where(_ISSUES.c.issue_key == key)
    )
    row = conn.execute(query.limit(1)).first()
    return dict(row._mapping) if row else None


def issue_by_idem(conn: Connection, idem_key: str) -> dict[str, Any] | None:
    row = conn.execute(select(_ISSUES).where(_ISSUES.c.idem_key == idem_key)).first()
    return dict(row._mapping) if row else None


def issues_of_run(conn: Connection, run_id: str) -> list[str]:
    return list(
        conn.scalars(
            select(_ISSUES.c.issue_key)
            .where(_ISSUES.c.run_id == run_id)
            .order_by(_ISSUES.c.created_at)
        )
    )


def remember_issue(
    conn: Connection,
    *,
    issue_id: str,
    issue_key: str,
    idem_key: str,
    run_id: str,
    step_id: str,
    attempt: int,
    fields: dict[str, Any],
    now: datetime,
) -> None:
    """Record which task an issue is; a second record of the same issue changes nothing."""
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
            status="open",
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing()
    )


def set_status(conn: Connection, issue_id: str, status: str, now: datetime) -> None:
    conn.execute(
        update(_ISSUES).where(_ISSUES.c.issue_id == issue_id).values(status=status, updated_at=now)
    )


def attachment_recorded(conn: Connection, attachment_id: str) -> bool:
    return (
        conn.execute(
            select(_ATTACHMENTS.c.attachment_id).where(
                _ATTACHMENTS.c.attachment_id == attachment_id
            )
        ).first()
        is not None
    )


def remember_attachment(
    conn: Connection,
    *,
    attachment_id: str,
    issue_key: str,
    filename: str,
    size: int,
    sha256: str,
    now: datetime,
) -> bool:
    """True when this attachment is new (and is now recorded)."""
    result = conn.execute(
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
    )
    return result.rowcount == 1


def cursor(conn: Connection, name: str) -> datetime | None:
    return conn.scalar(select(_SYNC.c.cursor).where(_SYNC.c.name == name))


def set_cursor(conn: Connection, name: str, value: datetime, now: datetime) -> None:
    statement = _insert(conn, _SYNC).values(name=name, cursor=value, polled_at=now)
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=["name"], set_={"cursor": value, "polled_at": now}
        )
    )


def open_since(conn: Connection) -> datetime | None:
    """When the oldest still-open task issue was made (where a first poll starts)."""
    from sqlalchemy import func

    return conn.scalar(select(func.min(_ISSUES.c.created_at)).where(_ISSUES.c.status == "open"))
