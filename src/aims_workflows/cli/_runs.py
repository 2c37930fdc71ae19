"""``aims runs list | show``."""

from __future__ import annotations

from enum import StrEnum

import typer

from ._group import command_group
from ._listing import FormatOption, ListFormat


class RunStatus(StrEnum):
    """The statuses a run can have (engine.state.RunStatus)."""

    new = "new"
    running = "running"
    waiting = "waiting"
    completed = "completed"
    cancelled = "cancelled"
    failed = "failed"


__all__ = ["register"]


def register(app: typer.Typer) -> None:
    runs = command_group("Workflow runs.")
    app.add_typer(runs, name="runs")

    @runs.command("list")
    def list_(
        status: RunStatus | None = typer.Option(None, "--status", help="only runs in this status"),
        workflow: str | None = typer.Option(None, "--workflow", help="only runs of this workflow"),
        fmt: FormatOption = ListFormat.table,
    ) -> None:
        """Runs, newest first."""
        from sqlalchemy import select

        from ..store.models import Run
        from ._context import open_cli_app
        from ._listing import Column, emit

        app_ = open_cli_app()
        t = Run.__table__
        query = select(t).order_by(t.c.started_at.desc(), t.c.id)
        if status:
            query = query.where(t.c.status == status.value)
        if workflow:
            query = query.where(t.c.workflow_id == workflow)
        with app_.db.connect() as conn:
            rows = conn.execute(query).all()
        emit(
            [
                Column("run", "run", 0),
                Column("workflow", "workflow", 1),
                Column("subject", "subject", 1),
                Column("status", "status", 1),
                Column("at_step", "at step", 2),
                Column("started", "started", 3),
                Column("completed", "completed", 4),
            ],
            [
                {
                    "run": r.id,
                    "workflow": f"{r.workflow_id} v{r.spec_version}",
                    "subject": r.subject_name,
                    "status": r.status,
                    "at_step": r.current_step or "",
                    "started": f"{r.started_at:%Y-%m-%d %H:%M}",
                    "completed": f"{r.completed_at:%Y-%m-%d %H:%M}" if r.completed_at else "",
                }
                for r in rows
            ],
            fmt,
            empty="no runs" + (f" with status {status.value}" if status else ""),
        )

    @runs.command("show", short_help="A run's timeline, open work and failing commands.")
    def show(run_id: str) -> None:
        """A run's timeline from the ledger, its open work and any dead commands."""
        from rich.markup import escape

        from ..kpi.timeline import run_timeline
        from ._context import open_cli_app
        from ._output import console

        app_ = open_cli_app()
        with app_.db.connect() as conn:
            timeline = run_timeline(conn, run_id)
        run = timeline.run
        c = console()
        c.print(
            f"[bold]{escape(run.run_id)}[/] {run.spec_id} v{run.spec_version} on "
            f"{run.subject.type} '{escape(run.subject.name)}'"
        )
        c.print(
            f"status: [bold]{run.status}[/]"
            + (f" at '{run.current}'" if run.current else "")
            + (f" ({escape(run.failure)})" if run.failure else "")
        )
        if timeline.spawned_by:
            c.print(
                f"started by run {escape(timeline.spawned_by)}"
                + (" (which waits for it)" if run.parent_run_id else "")
            )
        if timeline.spawned:
            c.print(
                f"started {len(timeline.spawned)} run(s): {escape(', '.join(timeline.spawned))}"
            )
        if run.task:
            due = f", due {run.task.due_at:%Y-%m-%d}" if run.task.due_at else ""
            overdue = ", OVERDUE" if run.task.overdue else ""
            c.print(
                f"waiting for: task '{run.task.step_id}'"
                f" ({run.task.ref or 'not issued yet'}{due}{overdue})"
            )
        if run.approval:
            after = (
                f", asked of {', '.join(run.approval.approvers)} after "
                f"{run.approval.escalated_from} expired"
                if run.approval.escalated_from and run.approval.approvers
                else ""
            )
            settles = [t.fire_at for t in run.timers if t.kind == "settle"]
            final = (
                f", final at {min(settles):%Y-%m-%d %H:%M} UTC unless withdrawn" if settles else ""
            )
            c.print(
                f"waiting for: approval {run.approval.approval_id} "
                f"({len(run.approval.decisions)} decision(s) so far{after}{final})"
            )
        c.print("\n[bold]timeline[/]")
        for entry in timeline.entries:
            c.print(f"  {entry.at}  #{entry.seq:<6} {escape(entry.text)}")
        for p in timeline.problems:
            label = "[red]dead[/]" if p.dead else "[yellow]retrying[/]"
            c.print(f"\n{label} command {p.kind} ({p.attempts} attempt(s)): {escape(p.error)}")
        for d in timeline.parked:
            c.print(
                f"\n[red]parked[/] {d.source} delivery {escape(d.delivery_id)} "
                f"(received {d.received_at:%Y-%m-%d %H:%M}): {escape(d.reason)}"
            )

    @runs.command("retry")
    def retry(
        run_id: str,
        person: str = typer.Option("cli", "--as", help="who asks (kept in the ledger)"),
    ) -> None:
        """Queue a run's dead commands again, once their
        cause is fixed (e.g. after `aims jira setup`)."""
        from ..engine import Actor
        from ._context import open_cli_app, settle
        from ._output import console, ok

        app_ = open_cli_app()
        revived = app_.dispatcher.revive(
            run_id, actor=Actor(person, "cli", app_.config.roles_of(person))
        )
        if not revived:
            ok(f"run {run_id} has no dead commands")
            return
        ok(f"queued {len(revived)} command(s) again: {', '.join(kind for kind, _ in revived)}")
        report = settle(app_)
        if report is not None and (report.dead or report.retried):
            console().print(
                f"still failing: {report.dead} dead, {report.retried} "
                f"to retry; see `aims runs show {run_id}`"
            )
