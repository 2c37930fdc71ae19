"""``aims people list | show | sync | link`` and ``aims delegate``: the directory of people."""

from __future__ import annotations

import typer

from ._group import command_group

__all__ = ["register"]


def _cli_actor(person: str | None):
    from ._context import cli_actor

    return cli_actor(person)


def register(app: typer.Typer) -> None:
    people = command_group("The directory of people: accounts in Jira and Slack, roles held.")
    app.add_typer(people, name="people")

    @people.command("list")
    def people_list() -> None:
        """Everyone in the directory with their accounts and roles; conflicting roles flagged."""
        from rich.markup import escape

        from ._context import open_cli_app
        from ._output import console, err_console
        from ._output import table as make_table

        app_ = open_cli_app()
        everyone = app_.runtime.people.everyone()
        table = make_table("person", "name", "jira", "slack", "roles", ids=("person",))
        for p in everyone:
            table.add_row(
                p.person_id,
                p.display_name,
                p.jira_account_id or "-",
                p.slack_user_id or "-",
                ", ".join(p.roles) or "-",
            )
        console().print(table)
        for p in everyone:
            for first, second in p.conflicts:
                err_console().print(
                    f"[red]conflict:[/] {escape(p.person_id)} holds both {first} and {second}, "
                    "which aims.yaml keeps apart (segregation.conflicting_roles)"
                )
        for line in app_.runtime.role_holders.disagreements():
            err_console().print(f"[yellow]not in aims.yaml:[/] {escape(line)}")

    @people.command("show")
    def people_show(person: str = typer.Argument(..., help="id, e-mail, Jira or Slack id")) -> None:
        """One person: accounts, roles with their dates, delegations."""
        from rich.markup import escape

        from ._context import open_cli_app
        from ._output import console

        p = open_cli_app().runtime.people.show(person)
        out = console()
        out.print(f"[bold]{escape(p.person_id)}[/] ({escape(p.display_name)})")
        out.print(f"  e-mail: {escape(p.email or '-')}")
        out.print(f"  jira:   {escape(p.jira_account_id or '- (not linked)')}")
        out.print(f"  slack:  {escape(p.slack_user_id or '- (not linked)')}")
        out.print(f"  roles:  {escape(', '.join(p.roles) or '-')}")
        for line in p.history:
            out.print(f"    {escape(line)}")
        for line in p.delegations:
            out.print(f"  delegation: {escape(line)}")
        for first, second in p.conflicts:
            out.print(f"  [red]conflict:[/] holds both {first} and {second}")

    @people.command("sync")
    def people_sync(
        as_: str | None = typer.Option(None, "--as", help="your e-mail (recorded with the links)"),
    ) -> None:
        """Fill the directory: aims.yaml's roles, then accounts from Jira and Slack."""
        from rich.markup import escape

        from ._context import open_cli_app
        from ._output import console, ok

        app_ = open_cli_app()
        actor = _cli_actor(as_)
        with app_.db.begin() as conn:
            roles = app_.runtime.people.sync_roles(conn, app_.runtime.clock.now())
        reports = {}
        if app_.jira is not None:
            reports["jira"] = app_.jira.sync_people(actor)
        if app_.slack is not None:
            reports["slack"] = app_.slack.sync_people(actor)
        ok(f"roles from aims.yaml: {len(roles.granted)} granted, {len(roles.revoked)} revoked")
        if not reports:
            console().print("neither Jira nor Slack is configured: only aims.yaml was read")
        unmatched = 0
        for tool, report in reports.items():
            ok(f"{tool}: {len(report.linked)} linked")
            for line in report.unmatched.get(tool, []):
                unmatched += 1
                console().print(f"  [yellow]not matched in {tool}:[/] {escape(line)}")
        if unmatched:
            console().print("match them by hand: `aims people link PERSON jira|slack ACCOUNT_ID`")

    @people.command("link")
    def people_link(
        person: str = typer.Argument(..., help="the person: id or e-mail"),
        account: str = typer.Argument(..., help="jira, slack or email"),
        value: str = typer.Argument(..., help="the Jira accountId, Slack user id or e-mail"),
        as_: str | None = typer.Option(None, "--as", help="your e-mail (recorded as who linked)"),
    ) -> None:
        """Tie a Jira or Slack account to a person by hand (recorded in the ledger)."""
        from ._context import open_cli_app
        from ._output import ok

        linked = open_cli_app().runtime.people.link(person, account, value, by=_cli_actor(as_))
        ok(f"linked {account} {value} to {linked.person_id}")

    @app.command("delegate")
    def delegate(
        from_: str = typer.Option(..., "--from", help="who delegates (holds the role)"),
        to: str = typer.Option(..., "--to", help="who acts for them"),
        role: str = typer.Option(..., "--role", help="the role delegated"),
        until: str = typer.Option(..., "--until", help="last day, YYYY-MM-DD (UTC, inclusive)"),
        reason: str = typer.Option(..., "--reason", help="why (kept as evidence)"),
        as_: str | None = typer.Option(None, "--as", help="your e-mail (recorded as who did it)"),
    ) -> None:
        """Let someone act for a role holder until a date: decisions read "B for A"."""
        from ._context import open_cli_app
        from ._output import ok

        app_ = open_cli_app()
        actor = _cli_actor(as_)
        end = _end_of_day(until)
        if end is None:
            asked = {"from": from_, "to": to, "role": role, "until": until, "reason": reason}
            app_.runtime.people.refuse(
                "delegate",
                f"'{until}' is not a date: write --until as YYYY-MM-DD",
                asked,
                by=actor,
            )
        made = app_.runtime.people.delegate(from_, to, role, end, reason, by=actor)
        ok(
            f"{made.to_person} may act for {made.from_person} as {made.role} until "
            f"{made.until:%Y-%m-%d %H:%M} UTC"
        )


def _end_of_day(text: str):
    """``YYYY-MM-DD`` -> the end of that day, UTC; None for anything else."""
    from datetime import UTC, datetime, timedelta

    try:
        day = datetime.strptime(text.strip(), "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        return None
    return day + timedelta(days=1)
