"""``aims start``, ``aims tasks``, ``aims approvals``, ``aims findings``."""

from __future__ import annotations

import typer

from ._group import command_group

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    tasks = command_group("Open tasks (without Jira: complete them here).")
    approvals = command_group("Open approvals (without Slack: decide them here).")
    findings = command_group("Findings and nonconformities.")
    app.add_typer(tasks, name="tasks")
    app.add_typer(approvals, name="approvals")
    app.add_typer(findings, name="findings")

    @app.command()
    def start(
        workflow: str,
        system: str | None = typer.Option(
            None, "--system", help="AI system name (workflows on an AI system)"
        ),
        finding: str | None = typer.Option(
            None, "--finding", help="finding id (workflows on a finding)"
        ),
        input_: list[str] | None = typer.Option(
            None, "--input", help="input as name=value (repeatable)"
        ),
    ) -> None:
        """Start a workflow run by hand."""
        from ._context import open_cli_app, parse_assignments, settle
        from ._output import ok

        app_ = open_cli_app()
        transition = app_.runtime.start(
            workflow, system=system, finding=finding, inputs=parse_assignments(input_, "input")
        )
        settle(app_)
        ok(
            f"started run {transition.run.run_id} ({workflow} on {transition.run.subject.name}); "
            f"see `aims runs show {transition.run.run_id}`"
        )

    @tasks.command("list")
    def tasks_list(
        all_: bool = typer.Option(False, "--all", help="include done and cancelled"),
    ) -> None:
        """Tasks waiting for people, with due dates."""
        from sqlalchemy import select

        from ..store.models import StepRecord
        from ._context import open_cli_app
        from ._output import console, styled
        from ._output import table as make_table

        app_ = open_cli_app()
        now = app_.runtime.clock.now()
        t = StepRecord.__table__
        query = select(t).order_by(t.c.created_at)
        if not all_:
            query = query.where(t.c.status == "open")
        with app_.db.connect() as conn:
            rows = conn.execute(query).all()
        table = make_table(
            "run", "step", "title", "assignee", "due", "status", "ref", ids=("run", "ref")
        )
        for r in rows:
            due = r.due_at.strftime("%Y-%m-%d") if r.due_at else "-"
            if r.status == "open" and r.due_at and r.due_at < now:
                due = styled(f"[red]{due} overdue[/]")
            table.add_row(
                r.run_id,
                r.step_id,
                r.title,
                r.assignee or r.role,
                due,
                r.status,
                r.external_ref or "",
            )
        console().print(table)

    @tasks.command("complete")
    def tasks_complete(
        run_id: str,
        step_id: str,
        person: str = typer.Option(
            ..., "--as", help="who you are (recorded as claimed, with your OS user)"
        ),
        answer: list[str] | None = typer.Option(None, "--answer", help="field=value (repeatable)"),
    ) -> None:
        """Complete a task with answers (what an engineer does in Jira)."""
        from rich.markup import escape

        from ..engine.evidence_kinds import TaskAnswersRefused, TaskRefused
        from ._context import open_cli_app, parse_assignments, settle
        from ._output import err_console, ok

        app_ = open_cli_app()
        outcome = app_.runtime.complete_task(
            run_id, step_id, parse_assignments(answer, "answer"), person=person
        )
        settle(app_)
        t = outcome.transition
        if t.ignored:
            err_console().print(f"[yellow]nothing done:[/] {escape(t.ignored)}")
            raise typer.Exit(1)
        not_allowed = [
            TaskRefused.model_validate(e.payload) for e in t.evidence if e.kind == TaskRefused.KIND
        ]
        if not_allowed:
            err_console().print(f"[red]refused:[/] {escape(not_allowed[0].reason)}")
            raise typer.Exit(1)
        refused = [
            TaskAnswersRefused.model_validate(e.payload)
            for e in t.evidence
            if e.kind == TaskAnswersRefused.KIND
        ]
        if refused:
            for problem in refused[0].problems:
                err_console().print(f"[red]✗[/] {escape(problem)}")
            err_console().print("the task stays open: fix the answers and complete it again")
            raise typer.Exit(1)
        ok(
            f"completed {step_id}; run {run_id} is {t.run.status}"
            + (f" at '{t.run.current}'" if t.run.current else "")
        )

    @approvals.command("list")
    def approvals_list() -> None:
        """Approvals waiting for a decision."""
        from sqlalchemy import select

        from ..store.models import Approval
        from ._context import open_cli_app
        from ._output import console
        from ._output import table as make_table

        app_ = open_cli_app()
        t = Approval.__table__
        with app_.db.connect() as conn:
            rows = conn.execute(
                select(t).where(t.c.status == "open").order_by(t.c.requested_at)
            ).all()
        table = make_table("approval", "approvers", "requested", "content", ids=("approval",))
        for r in rows:
            table.add_row(
                r.approval_id,
                ", ".join(r.approvers),
                f"{r.requested_at:%Y-%m-%d %H:%M}",
                r.content_hash[:12],
            )
        console().print(table)

    @approvals.command("decide")
    def approvals_decide(
        approval_id: str,
        decision: str = typer.Argument(..., help="approve or reject"),
        person: str = typer.Option(
            ..., "--as", help="who you are (recorded as claimed, with your OS user)"
        ),
        reason: str = typer.Option(..., "--reason", help="why (required, kept as evidence)"),
    ) -> None:
        """Approve or reject (what an approver does in Slack)."""
        from rich.markup import escape

        from ..engine.evidence_kinds import ApprovalRefused
        from ._context import open_cli_app, settle
        from ._output import err_console, ok

        if decision not in ("approve", "reject"):
            raise typer.BadParameter("must be 'approve' or 'reject'", param_hint="DECISION")
        app_ = open_cli_app()
        outcome = app_.runtime.decide(approval_id, person=person, decision=decision, reason=reason)
        settle(app_)
        refused = [
            ApprovalRefused.model_validate(e.payload)
            for e in outcome.transition.evidence
            if e.kind == ApprovalRefused.KIND
        ]
        if refused:
            err_console().print(f"[red]refused:[/] {escape(refused[0].reason)}")
            raise typer.Exit(1)
        ok(f"recorded {decision} by {person}; run is {outcome.transition.run.status}")

    @findings.command("list")
    def findings_list() -> None:
        """Findings with their corrective action and status."""
        from sqlalchemy import select

        from ..store.models import Finding
        from ._context import open_cli_app
        from ._output import console
        from ._output import table as make_table

        app_ = open_cli_app()
        t = Finding.__table__
        with app_.db.connect() as conn:
            rows = conn.execute(select(t).order_by(t.c.raised_at)).all()
        table = make_table(
            "finding",
            "severity",
            "title",
            "raised",
            "status",
            "corrective action run",
            ids=("finding", "corrective action run"),
        )
        for r in rows:
            table.add_row(
                r.id,
                r.severity,
                r.title,
                f"{r.raised_at:%Y-%m-%d}",
                r.status,
                r.corrective_run_id or "",
            )
        console().print(table)
