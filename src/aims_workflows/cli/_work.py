"""``aims start``, ``aims tasks``, ``aims approvals``, ``aims findings``."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from ._group import command_group
from ._listing import FormatOption, ListFormat
from ._output import console


class Decision(StrEnum):
    approve = "approve"
    reject = "reject"
    withdraw = "withdraw"


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
        again: bool = typer.Option(
            False, "--again", help="start it even if a run of it on this subject is still open"
        ),
    ) -> None:
        """Start a workflow run by hand. A second open run of the same workflow on the same
        subject is refused (registering an AI system already starts its assessments)."""
        from ._context import open_cli_app, parse_assignments, settle
        from ._output import ok

        app_ = open_cli_app()
        transition = app_.runtime.start(
            workflow,
            system=system,
            finding=finding,
            inputs=parse_assignments(input_, "input"),
            again=again,
        )
        settle(app_)
        ok(
            f"started run {transition.run.run_id} ({workflow} on {transition.run.subject.name}); "
            f"see `aims runs show {transition.run.run_id}`"
        )

    @tasks.command("list")
    def tasks_list(
        all_: bool = typer.Option(False, "--all", help="include done and cancelled"),
        fmt: FormatOption = ListFormat.table,
    ) -> None:
        """Tasks waiting for people, with due dates."""
        from sqlalchemy import select

        from ..store.models import StepRecord
        from ._context import open_cli_app
        from ._listing import Column, emit

        app_ = open_cli_app()
        now = app_.runtime.clock.now()
        t = StepRecord.__table__
        query = select(t).where(t.c.kind == "task").order_by(t.c.created_at)
        if not all_:
            query = query.where(t.c.status == "open")
        with app_.db.connect() as conn:
            rows = conn.execute(query).all()
        listed = []
        for r in rows:
            overdue = r.status == "open" and r.due_at is not None and r.due_at < now
            listed.append(
                {
                    "run": r.run_id,
                    "step": r.step_id,
                    "title": r.title,
                    "assignee": r.assignee or r.role,
                    "due": r.due_at.strftime("%Y-%m-%d") if r.due_at else "",
                    "overdue": overdue,
                    "status": r.status,
                    "ref": r.external_ref or "",
                }
            )
        emit(
            [
                Column("run", "run", 0),
                Column("step", "step", 0),
                Column("title", "title", 3),
                Column("assignee", "assignee", 1),
                Column("due", "due", 1),
                Column("status", "status", 2),
                Column("ref", "ref", 0),
            ],
            listed,
            fmt,
            styles={
                "due": lambda row: (
                    f"[red]{row['due']} overdue[/]" if row["overdue"] else row["due"]
                ),
                # the stand-in tracker's references are no issue anyone can open
                "ref": lambda row: "" if row["ref"].startswith("LOCAL:") else _escape(row["ref"]),
            },
            empty="no open tasks" if not all_ else "no tasks",
        )
        if fmt is ListFormat.table and listed:
            console().print("see a task's form with `aims tasks show RUN STEP`", markup=False)

    @tasks.command("show")
    def tasks_show(
        run_id: str = typer.Argument(..., metavar="RUN"),
        step_id: str = typer.Argument(..., metavar="STEP"),
        template: bool = typer.Option(
            False, "--template", help="print an answers file to fill in (for --answers-file)"
        ),
        fmt: FormatOption = ListFormat.table,
    ) -> None:
        """A task's form: each key, its label, type, allowed values and whether it is
        required. Answer with `aims tasks complete RUN STEP --answer KEY=VALUE`."""
        from ._context import open_cli_app
        from ._forms import field_rows, step_title, task_step, template_yaml
        from ._listing import Column, emit
        from ._output import write

        app_ = open_cli_app()
        run, step = task_step(app_, run_id, step_id)
        if template:
            write(template_yaml(step))
            return
        if fmt is ListFormat.table:
            console().print(
                f"{run_id} {step_id}: {step_title(run, step)} ({run.spec_id})",
                markup=False,
                soft_wrap=True,
            )
        emit(
            [
                Column("key", "key", 0),
                Column("label", "label", 2),
                Column("type", "type", 1),
                Column("allowed", "allowed", 1),
                Column("required", "required", 1),
                Column("help", "help", 3),
            ],
            field_rows(step),
            fmt,
            empty="this task has no form: complete it with no answers",
        )
        if fmt is ListFormat.table:
            first = step.form[0].id if step.form else "KEY"
            console().print(
                f"answer: aims tasks complete {run_id} {step_id} --as EMAIL "
                f"--answer {first}=... (or --answers-file FILE; --template writes one)",
                markup=False,
                soft_wrap=True,
            )

    @tasks.command("complete")
    def tasks_complete(
        run_id: str = typer.Argument(..., metavar="RUN"),
        step_id: str = typer.Argument(..., metavar="STEP"),
        person: str = typer.Option(
            ..., "--as", help="who you are (recorded as claimed, with your OS user)"
        ),
        answer: list[str] | None = typer.Option(
            None, "--answer", help="an answer as KEY=VALUE (repeatable; keys: `aims tasks show`)"
        ),
        answers_file: Path | None = typer.Option(
            None, "--answers-file", help="YAML file of KEY: VALUE answers (--answer overrides)"
        ),
    ) -> None:
        """Complete a task with answers (what an engineer does in Jira)."""
        from rich.markup import escape

        from ..engine.evidence_kinds import TaskAnswersRefused, TaskRefused
        from ._context import open_cli_app, parse_assignments, settle
        from ._forms import check_keys, keyed_problem, read_answers_file, task_step
        from ._output import err_console, ok

        answers: dict[str, object] = dict(read_answers_file(answers_file)) if answers_file else {}
        answers.update(parse_assignments(answer, "answer"))
        app_ = open_cli_app()
        _, step = task_step(app_, run_id, step_id)
        check_keys(step, answers)
        outcome = app_.runtime.complete_task(run_id, step_id, answers, person=person)
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
                err_console().print(f"[red]✗[/] {escape(keyed_problem(step, problem))}")
            err_console().print(
                "the task stays open: fix the answers and complete it again "
                f"(`aims tasks show {run_id} {step_id}` lists the keys)"
            )
            raise typer.Exit(1)
        ok(
            f"completed {step_id}; run {run_id} is {t.run.status}"
            + (f" at '{t.run.current}'" if t.run.current else "")
        )

    @approvals.command("list")
    def approvals_list(fmt: FormatOption = ListFormat.table) -> None:
        """Approvals waiting for a decision: workflow, subject, step, who may still decide and
        how long it has waited; one nobody may decide is shown as BLOCKED, with the fix."""
        from ._approvals_view import pending_approvals
        from ._context import open_cli_app
        from ._listing import Column, emit

        app_ = open_cli_app()
        pending = pending_approvals(app_)
        emit(
            [
                Column("approval", "approval", 0),
                Column("workflow", "workflow", 5),
                Column("subject", "subject", 2),
                Column("title", "step", 4),
                Column("may_decide", "may decide", 1),
                Column("age", "age", 3),
                Column("status", "status", 1),
                Column("decided", "decided", 5),
                Column("run", "run", 6),
                Column("step", "step id", 7),
                Column("requested", "requested", 8),
            ],
            [p.as_row() for p in pending],
            fmt,
            styles={
                "status": lambda row: (
                    "[red]BLOCKED[/]: " + _escape(row["status"][9:])
                    if row["status"].startswith("BLOCKED")
                    else row["status"]
                )
            },
            empty="no approvals waiting",
        )
        if fmt is ListFormat.table and pending:
            console().print(
                "decide with `aims approvals decide APPROVAL approve|reject --as EMAIL "
                "--reason TEXT`",
                markup=False,
            )

    @approvals.command("decide")
    def approvals_decide(
        approval_id: str,
        decision: Decision = typer.Argument(
            ...,
            help="approve, reject, or withdraw (your own decision, within the step's "
            "withdraw_within window)",
        ),
        person: str = typer.Option(
            ..., "--as", help="who you are (recorded as claimed, with your OS user)"
        ),
        reason: str = typer.Option(..., "--reason", help="why (required, kept as evidence)"),
    ) -> None:
        """Approve, reject or withdraw one's decision (what an approver does in Slack)."""
        from rich.markup import escape

        from ..engine.evidence_kinds import ApprovalRefused
        from ._context import open_cli_app, settle
        from ._output import err_console, ok

        app_ = open_cli_app()
        outcome = app_.runtime.decide(
            approval_id, person=person, decision=decision.value, reason=reason
        )
        settle(app_)
        refused = [
            ApprovalRefused.model_validate(e.payload)
            for e in outcome.transition.evidence
            if e.kind == ApprovalRefused.KIND
        ]
        if refused:
            err_console().print(f"[red]refused:[/] {escape(refused[0].reason)}")
            raise typer.Exit(1)
        if decision is Decision.withdraw:
            ok(f"withdrew the decision of {person}; the request is open again")
            return
        ok(f"recorded {decision.value} by {person}; run is {outcome.transition.run.status}")

    from . import _findings

    _findings.register(findings)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
