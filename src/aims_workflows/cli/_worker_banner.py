"""What ``aims worker`` says when it starts: what it runs, where, and how to stop it."""

from __future__ import annotations

from typing import Any

__all__ = ["banner", "started_line"]


def banner(app: Any, *, interval: float, once: bool) -> list[str]:
    from ..app import shipped_workflows_dir
    from ..runtime.first_due import next_due
    from ..runtime.subjects import organisation_subject
    from ..store import redact_url

    settings = app.settings
    shipped = str(shipped_workflows_dir())
    sources = sorted({str(item.source).rsplit("/", 1)[0] for item in app.workflows})
    where = "shipped with aims-workflows" if sources == [shipped] else ", ".join(sources)
    lines = [
        f"aims worker: database {redact_url(settings.database_url)}",
        f"  configuration {settings.config}; {len(app.workflows)} workflow(s) ({where})",
    ]
    if settings.jira_url:
        lines.append(f"  Jira: {settings.jira_url} (project {settings.jira_project})")
    else:
        lines.append("  Jira: not configured; tasks are completed with `aims tasks complete`")
    if settings.slack_bot_token:
        lines.append(f"  Slack: {settings.slack_api_url}")
    else:
        lines.append("  Slack: not configured; approvals are decided with `aims approvals decide`")
    with app.db.connect() as conn:
        for item in app.workflows:
            schedule = item.spec.trigger.schedule
            if schedule is None:
                continue
            every = schedule.model_dump(mode="json")["every"]
            if item.spec.subject != "organisation":
                lines.append(
                    f"  schedule {item.spec.id}: every {every} per AI system, from its last run"
                )
                continue
            subject = organisation_subject(app.config.organisation)
            due = next_due(conn, app.config, item.spec.id, subject, schedule.every)
            when = f"next due {due:%Y-%m-%d}" if due else "not due until the ledger has a row"
            lines.append(f"  schedule {item.spec.id}: every {every}, {when}")
    for broken in app.workflows.broken:
        lines.append(f"  not loaded: {broken.summary()}")
    if once:
        lines.append("one pass, then exit")
    else:
        lines.append(f"a pass every {interval:g}s; stop with Ctrl-C")
    return lines


def started_line(app: Any, run_id: str) -> str:
    from sqlalchemy import select

    from ..store.models import Run

    t = Run.__table__
    with app.db.connect() as conn:
        row = conn.execute(
            select(t.c.workflow_id, t.c.subject_name).where(t.c.id == run_id)
        ).first()
    if row is None:
        return f"started run {run_id} (schedule)"
    return f"started run {run_id}: {row.workflow_id} on {row.subject_name} (schedule)"
