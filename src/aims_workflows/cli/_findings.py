"""``aims findings raise | list | count``: nonconformities from any source, and how many each
source raised."""

from __future__ import annotations

import typer

from ._listing import FormatOption, ListFormat

__all__ = ["register"]

_SOURCE_HELP = (
    "incident, complaint, monitoring, external-audit, certification-audit or internal "
    "(an internal audit)"
)


def register(findings: typer.Typer) -> None:
    @findings.command("raise")
    def findings_raise(
        source: str = typer.Option(..., "--source", help=_SOURCE_HELP),
        title: str = typer.Option(..., "--title", help="what was found, in short"),
        severity: str = typer.Option(..., "--severity", help="minor or major"),
        clause: str | None = typer.Option(
            None, "--clause", help="the clause not met, e.g. 8.2 (or --control)"
        ),
        control: str | None = typer.Option(
            None, "--control", help="the Annex A control not met, e.g. A.6.2.4 (or --clause)"
        ),
        system: str | None = typer.Option(
            None, "--system", help="the AI system concerned, if one is"
        ),
        description: str | None = typer.Option(
            None, "--description", help="the finding in full: requirement, what was found, evidence"
        ),
        person: str | None = typer.Option(
            None, "--as", help="who reports it (recorded as claimed, with your OS user)"
        ),
    ) -> None:
        """Raise a nonconformity from any source and start its corrective action (10.2)."""
        from ..findings import FindingError, FindingReport, Findings
        from ..runtime.core import CLI
        from ._context import open_cli_app, settle
        from ._output import ok

        if clause and control:
            raise FindingError(
                "give --clause or --control, not both",
                hint="raise one finding per requirement not met",
            )
        requirement = clause or control
        if not requirement:
            raise FindingError(
                "a finding names the requirement it does not meet",
                hint="add --clause (e.g. 8.2) or --control (e.g. A.6.2.4)",
            )
        if control and not control.strip().upper().startswith("A."):
            raise FindingError(
                f"--control takes an Annex A control (A.x.y), not '{control}'",
                hint=f"use --clause {control}",
            )
        if clause and clause.strip().upper().startswith("A."):
            raise FindingError(
                f"--clause takes a clause (4 to 10), not the control '{clause}'",
                hint=f"use --control {clause}",
            )
        report = FindingReport.checked(
            source=source,
            title=title,
            severity=severity,
            clause=requirement,
            description=description,
            system=system,
        )
        app_ = open_cli_app()
        actor = app_.runtime.actor(person, "cli") if person else CLI
        raised = Findings(app_.runtime).raise_finding(report, actor=actor)
        settle(app_)
        runs = ", ".join(raised.started)
        ok(
            f"raised {raised.finding_id} ({report.source_type}, {report.severity}); "
            f"corrective action: run {runs} (see `aims runs show {raised.started[0]}`)"
        )

    @findings.command("list")
    def findings_list(
        source: str | None = typer.Option(
            None, "--source", help="only this source: " + _SOURCE_HELP
        ),
        open_: bool = typer.Option(False, "--open", help="only findings still open"),
        fmt: FormatOption = ListFormat.table,
    ) -> None:
        """Findings with their source, corrective action and status."""
        from ..findings import list_findings, parse_source
        from ._context import open_cli_app
        from ._listing import Column, emit

        wanted = parse_source(source) if source is not None else None
        app_ = open_cli_app()
        with app_.db.connect() as conn:
            rows = list_findings(conn, source=wanted, open_only=open_)
        emit(
            [
                Column("finding", "finding", 0),
                Column("source", "source", 1),
                Column("severity", "severity", 1),
                Column("title", "title", 2),
                Column("clause", "requirement", 3),
                Column("system", "system", 4),
                Column("raised", "raised", 3),
                Column("status", "status", 1),
                Column("corrective_run", "corrective action run", 0),
                Column("tracker_issue", "issue", 4),
            ],
            [r.as_row() for r in rows],
            fmt,
            empty="no findings"
            + (" of that source" if wanted else "")
            + (" open" if open_ else ""),
        )

    @findings.command("count")
    def findings_count(
        open_: bool = typer.Option(False, "--open", help="only findings still open"),
        fmt: FormatOption = ListFormat.table,
    ) -> None:
        """How many findings each source raised (every source shown, 0 when none)."""
        from ..findings import count_by_source
        from ._context import open_cli_app
        from ._listing import Column, emit

        app_ = open_cli_app()
        with app_.db.connect() as conn:
            counts = count_by_source(conn, open_only=open_)
        emit(
            [Column("source", "source", 0), Column("findings", "findings", 0)],
            [{"source": s, "findings": n} for s, n in counts.items()],
            fmt,
            empty="no sources",
        )
