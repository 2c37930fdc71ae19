"""When a recurring workflow first falls due for a subject that has never had a run of it.

Without this, the worker's very first pass would start every yearly workflow at once (an
internal audit and a management review the day aims is installed). The first due date is:

1. ``schedules: {WORKFLOW: {first_due: YYYY-MM-DD}}`` in aims.yaml, when given;
2. else, for an AI system, one interval after it was registered;
3. else (the organisation), one interval after the ledger's first row: the day the AIMS began
   keeping records. An empty ledger has nothing due yet.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from sqlalchemy import Connection, func, select

from ..config import AimsConfig
from ..engine.state import Subject
from ..store.models import AISystem, Evidence

__all__ = ["first_due", "next_due"]


def first_due(
    conn: Connection, config: AimsConfig, workflow_id: str, subject: Subject, every: timedelta
) -> datetime | None:
    """The moment the first run of ``workflow_id`` on ``subject`` falls due (``None``: not yet
    known, so not due)."""
    configured = config.schedules.get(workflow_id)
    if configured is not None:
        return datetime.combine(configured.first_due, time(0, 0), tzinfo=UTC)
    if subject.type == "ai_system":
        systems = AISystem.__table__
        try:
            system_id = int(subject.id)
        except ValueError:
            return None
        registered = conn.execute(
            select(systems.c.created_at).where(systems.c.id == system_id)
        ).scalar()
        return _aware(registered) + every if registered is not None else None
    first = conn.execute(select(func.min(Evidence.__table__.c.effective_at))).scalar()
    if not first:
        return None
    return _aware(datetime.fromisoformat(str(first))) + every


def _aware(moment: datetime) -> datetime:
    # SQLite gives naive datetimes back; every time aims stores is UTC
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def next_due(
    conn: Connection, config: AimsConfig, workflow_id: str, subject: Subject, every: timedelta
) -> datetime | None:
    """When the schedule of ``workflow_id`` next starts a run on ``subject`` (``aims worker``
    says it on start-up): one interval after the last start, or the first due date."""
    from ..store.models import Run

    runs = Run.__table__
    last = conn.execute(
        select(func.max(runs.c.started_at)).where(
            runs.c.workflow_id == workflow_id, runs.c.subject_id == subject.id
        )
    ).scalar()
    if last is not None:
        return _aware(last) + every
    return first_due(conn, config, workflow_id, subject, every)
