"""``aims systems add | import | list | show | set``."""

from __future__ import annotations

from pathlib import Path

import typer

from ._group import command_group
from ._listing import FormatOption, ListFormat

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    systems = command_group("The AI system inventory.")
    app.add_typer(systems, name="systems")

    @systems.command("add")
    def add(
        name: str = typer.Argument(...),
        owner: str = typer.Option(..., "--owner", help="accountable person's e-mail"),
        field: list[str] | None = typer.Option(
            None, "--set", help="another field as name=value (repeatable)"
        ),
        as_: str | None = typer.Option(
            None, "--as", help="who makes the change (recorded as claimed, with your OS user)"
        ),
    ) -> None:
        """Register an AI system."""
        from ..inventory import AISystemRecord, validate_changes
        from ._context import cli_actor, open_cli_app, parse_assignments, settle
        from ._output import ok

        app_ = open_cli_app()
        record: AISystemRecord = validate_changes(
            {"name": name, "owner": owner}, parse_assignments(field, "field")
        )
        row, started = app_.inventory.add(record, actor=cli_actor(as_))
        settle(app_)
        ok(
            f"registered '{row['name']}' (id {row['id']})"
            + (f"; started runs {', '.join(started)}" if started else "")
        )

    @systems.command("import")
    def import_(
        path: Path = typer.Argument(..., help=".csv, .json or .yaml"),
        as_: str | None = typer.Option(
            None, "--as", help="who makes the change (recorded as claimed, with your OS user)"
        ),
    ) -> None:
        """Import systems from a file; one bad row refuses the whole file."""
        from ._context import cli_actor, open_cli_app, settle
        from ._output import ok

        app_ = open_cli_app()
        added, changed, started = app_.inventory.import_file(path, actor=cli_actor(as_))
        settle(app_)
        ok(f"imported {path}: {added} added, {changed} changed, {len(started)} run(s) started")

    @systems.command("list")
    def list_(fmt: FormatOption = ListFormat.table) -> None:
        """List the inventory with assessment coverage."""
        from ..store import inventory as inventory_store
        from ._context import open_cli_app
        from ._listing import Column, emit

        app_ = open_cli_app()
        now = app_.runtime.clock.now()
        with app_.db.connect() as conn:
            rows = inventory_store.list_all(conn)

        def current(until) -> str:
            return "current" if until and until > now else "missing or stale"

        def coloured(key: str):
            return lambda row: (
                f"[green]{row[key]}[/]" if row[key] == "current" else f"[red]{row[key]}[/]"
            )

        emit(
            [
                Column("id", "id", 0),
                Column("name", "name", 1),
                Column("owner", "owner", 2),
                Column("risk_tier", "risk tier", 3),
                Column("stage", "stage", 5),
                Column("in_scope", "in scope", 4),
                Column("risk_assessment", "risk assessment", 1),
                Column("impact_assessment", "impact assessment", 1),
            ],
            [
                {
                    "id": str(r["id"]),
                    "name": r["name"],
                    "owner": r["owner"],
                    "risk_tier": r["risk_tier"] or "-",
                    "stage": r["lifecycle_stage"] or "-",
                    "in_scope": "yes" if r["in_scope"] else "no",
                    "risk_assessment": current(r["risk_valid_until"]),
                    "impact_assessment": current(r["impact_valid_until"]),
                }
                for r in rows
            ],
            fmt,
            styles={k: coloured(k) for k in ("risk_assessment", "impact_assessment")},
            empty="no AI systems yet: `aims systems add` or `aims systems import`",
        )

    @systems.command("show")
    def show(name: str) -> None:
        """A system's record and its change history."""
        from ..inventory.scope_change import waiting_request
        from ..store import inventory as inventory_store
        from ._context import open_cli_app
        from ._output import console

        app_ = open_cli_app()
        with app_.db.connect() as conn:
            row = inventory_store.get(conn, name)
            history = inventory_store.history(conn, row["id"])
            waiting = waiting_request(conn, row["id"])
        for key, value in inventory_store.record_of(row).items():
            console().print(f"[bold]{key}[/]: {value}", markup=True, highlight=False)
        if waiting:
            console().print(
                f"  (a change of in_scope waits for top management's decision: "
                f"aims runs show {waiting})",
                markup=False,
                highlight=False,
            )
        console().print("\n[bold]history[/]")
        for h in history:
            changes = ", ".join(f"{k}: {v[0]!r} -> {v[1]!r}" for k, v in h["changes"].items())
            console().print(
                f"  v{h['version']} {h['changed_at']:%Y-%m-%d %H:%M} "
                f"by {h['changed_by']}: {changes}",
                markup=False,
            )

    @systems.command(
        "set", short_help="Change fields of a system (material changes start workflows)."
    )
    def set_(
        name: str,
        assignments: list[str] = typer.Argument(..., help="field=value ..."),
        as_: str | None = typer.Option(
            None, "--as", help="who makes the change (recorded as claimed, with your OS user)"
        ),
        reason: str | None = typer.Option(
            None,
            "--reason",
            help="why in_scope changes (required for it: top management approves the change "
            "before the inventory shows it)",
        ),
    ) -> None:
        """Change fields of a system; material changes start the workflows subscribed to them.
        A change of in_scope needs --reason and waits for top management's approval."""
        from ._context import cli_actor, open_cli_app, parse_assignments, settle
        from ._output import ok

        app_ = open_cli_app()
        wanted = parse_assignments(assignments, "field")
        changes, started = app_.inventory.set(name, wanted, actor=cli_actor(as_), reason=reason)
        settle(app_)
        if not changes and started and "in_scope" in wanted:
            ok(
                f"in_scope of '{name}' is unchanged until top management approves: "
                f"started run {started[0]} (ai-system-scope-change); "
                f"`aims runs show {started[0]}` follows it"
            )
            return
        if not changes:
            ok("nothing changed")
            return
        ok(
            "changed "
            + ", ".join(changes)
            + (f"; started runs {', '.join(started)}" if started else "")
        )
