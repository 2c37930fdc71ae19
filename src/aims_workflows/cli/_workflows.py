"""``aims validate``, ``aims workflows``, ``aims catalog``."""

from __future__ import annotations

from pathlib import Path

import typer

from ._listing import FormatOption, ListFormat

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    @app.command(short_help="Check workflow files and report every problem.")
    def validate(
        paths: list[Path] | None = typer.Argument(
            None,
            help="workflow files or directories (default: the workflows in use, as aims.yaml says)",
        ),
    ) -> None:
        """Check workflow files; every problem of every file is reported at once, each as
        file:line:column path: message."""
        import sys

        from ..app import workflow_paths
        from ..config import Settings, load_config
        from ..errors import SpecError
        from ..spec.checks import DEFAULT_ROLES
        from ..spec.loader import load_workflows
        from ._output import console, err_console, ok

        settings = Settings()
        # files named on the command line need aims.yaml only for its role names
        config = load_config(settings.config, required=settings.config_required and not paths)
        paths = paths or workflow_paths(settings, config)
        try:
            loaded = load_workflows(paths, roles=set(DEFAULT_ROLES) | config.role_names())
        except SpecError as err:
            for problem in err.problems:  # one line each, unwrapped: editors and CI parse them
                sys.stderr.write(f"{problem}\n")
            err_console().print(f"[red]{len(err.problems)} problem(s)[/]")
            raise typer.Exit(1) from None
        if len(loaded) == 0:
            err_console().print(
                "[red]no workflow files found[/] (give .yaml files or a directory holding them)"
            )
            raise typer.Exit(1)
        for item in loaded:
            console().print(
                f"  {item.source}: {item.spec.id} "
                f"v{item.spec.version}, {len(item.spec.steps)} steps",
                markup=False,
            )
        ok(f"{len(loaded)} workflow(s) valid")
        conflicts = [
            f"{person} holds both {first} and {second}, which segregation.conflicting_roles "
            "keeps apart"
            for person in sorted({p for people in config.roles.values() for p in people})
            for first, second in config.conflicts_of(config.roles_of(person))
        ]
        for line in conflicts:
            err_console().print(f"[red]conflict:[/] {line}", markup=True, highlight=False)
        if conflicts:
            err_console().print(
                f"[red]{len(conflicts)} segregation of duties conflict(s) in aims.yaml[/]: "
                "give one of the two roles to someone else"
            )
            raise typer.Exit(1)

    @app.command("workflows", short_help="The workflows in use, their triggers and controls.")
    def list_workflows(fmt: FormatOption = ListFormat.table) -> None:
        """List the workflows in use, with their triggers and the controls they evidence."""
        from ._context import open_cli_app
        from ._listing import Column, emit

        app_ = open_cli_app(require_db=False)
        rows = []
        for item in app_.workflows:
            spec = item.spec
            triggers = (["manual"] if spec.trigger.manual else []) + [
                o.event for o in spec.trigger.on
            ]
            if spec.trigger.schedule:
                triggers.append("every " + spec.trigger.schedule.model_dump(mode="json")["every"])
            rows.append(
                {
                    "id": spec.id,
                    "version": str(spec.version),
                    "subject": spec.subject,
                    "triggers": ", ".join(triggers),
                    "evidences": ", ".join(spec.evidences),
                    "file": item.source,
                }
            )
        emit(
            [
                Column("id", "id", 0),
                Column("version", "version", 2),
                Column("subject", "subject", 1),
                Column("triggers", "triggers", 1),
                Column("evidences", "evidences", 3),
                Column("file", "file", 4),
            ],
            rows,
            fmt,
            empty="no workflows loaded",
        )

    @app.command(short_help="ISO/IEC 42001 clauses and Annex A controls.")
    def catalog(
        controls: bool = typer.Option(False, "--controls", help="only Annex A controls"),
        fmt: FormatOption = ListFormat.table,
    ) -> None:
        """List the ISO/IEC 42001 clauses and Annex A controls workflows may reference."""
        from ..catalog import load_catalog
        from ._listing import Column, emit

        cat = load_catalog()
        entries = cat.controls() if controls else cat.clauses() + cat.controls()
        emit(
            [Column("id", "id", 0), Column("kind", "kind", 2), Column("title", "title", 1)],
            [{"id": e.id, "kind": e.kind, "title": e.title} for e in entries],
            fmt,
        )
