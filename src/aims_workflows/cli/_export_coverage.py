"""``aims export soa`` and ``aims export clauses``: clause and control coverage as a table on the
terminal, or as CSV, Markdown or JSON to a file."""

from __future__ import annotations

from pathlib import Path

import typer

from ._export_options import period_from_options

__all__ = ["export_coverage"]

_FORMATS = ("table", "csv", "md", "json")


def export_coverage(
    part: str, fmt: str, out: Path | None, since: str | None, until: str | None, force: bool
) -> None:
    """Coverage of the Annex A controls (``part="controls"``) or of clauses 4-10 (``"clauses"``)
    in the period, printed or written to ``out``."""
    if fmt not in _FORMATS:
        raise typer.BadParameter("must be table, csv, md or json", param_hint="--format")
    if out is not None and fmt == "table":
        raise typer.BadParameter(
            "a table is for the terminal: use --format csv, md or json with --out",
            param_hint="--format",
        )
    period = period_from_options(since, until)

    from ..catalog import load_catalog
    from ..engine.evidence import iso
    from ..export._files import atomic_output, check_target
    from ..export._snapshot import snapshot
    from ..export.soa import build_coverage
    from ..export.soa import render as soa_render
    from ._context import open_cli_app
    from ._output import console, ok, write

    if out is not None:
        check_target(out, force=force)  # before any work: a wrong path fails fast
    app_ = open_cli_app()
    now = app_.runtime.clock.now()
    with snapshot(app_.db) as conn:
        report = build_coverage(
            conn,
            catalog=load_catalog(),
            workflows=app_.workflows,
            soa=app_.config.soa,
            period=period,
            generated_at=iso(now),
            organisation=app_.config.organisation,
        )
    if fmt == "table":
        from ._listing import note_left_out

        width = console().width
        table, left_out = (_soa_table if part == "controls" else _clauses_table)(report, width)
        console().print(table)
        note_left_out(left_out, width, other="csv, md or json")
        _print_summary(report, part)
        return
    renderers = {
        ("controls", "csv"): soa_render.soa_csv,
        ("controls", "md"): soa_render.soa_markdown,
        ("clauses", "csv"): soa_render.clauses_csv,
        ("clauses", "md"): soa_render.clauses_markdown,
    }
    text = (
        soa_render.coverage_json(report, part=part)
        if fmt == "json"
        else renderers[(part, fmt)](report)
    )
    if out is None:
        write(text)
        return
    with atomic_output(out, force=force) as handle:
        handle.write(text.encode("utf-8"))
    from rich.markup import escape

    ok(f"wrote {escape(str(out))}")


def _print_summary(report, part: str) -> None:
    from ._output import console

    s = report.summary()
    if part == "controls":
        line = (
            f"{s['controls']} controls: {s['applicable']} applicable, "
            f"{s['excluded']} excluded; {s['implemented']} implemented with "
            f"evidence, {s['in_progress']} in progress, {s['described']} described "
            f"(evidence outside aims), {s['no_evidence']} without evidence yet"
        )
        console().print(line)
        approved = report.approved_soa
        console().print(
            f"approved SoA: {approved.label()}"
            if approved
            else "approved SoA: none yet (aims start soa-review)",
            markup=False,
        )
        if s["gaps"]:
            console().print(
                f"[bold red]{len(s['gaps'])} gap(s)[/]: {', '.join(s['gaps'])} "
                "(applicable, no workflow and no implementation: exclude them with a "
                "reason or describe the implementation under soa.controls in aims.yaml)"
            )
    else:
        console().print(
            f"{s['clauses_evidenced']} of {s['clauses']} clauses have evidence from completed runs"
        )


_STYLES = {
    "implemented": "green",
    "in_progress": "yellow",
    "described": "blue",
    "partial": "yellow",
    "no_evidence": "red",
    "excluded": "dim",
}


def _styled(style: str, text: str) -> str:
    from rich.markup import escape

    return f"[{style}]{escape(text)}[/]"


def _soa_table(report, width: int):
    """The SoA at the terminal's width: the control id and its status always shown (they are
    what the table is for); evidence counts and dates go first when it is narrow."""
    from ._listing import Column

    rows = [
        {
            "control": c.id,
            "applies": "yes" if c.applicable else f"no: {c.justification}",
            "risks": " ".join(c.risks) or "-",
            **_coverage_cells(c),
            "status": ("GAP: " if c.gap else "") + c.status_label,
            "style": "bold red" if c.gap else _STYLES[c.status],
        }
        for c in report.controls
    ]
    first = [
        Column("control", "control", 0),
        Column("applies", "applies", 1),
        Column("risks", "risks", 2),
    ]
    title = f"Statement of Applicability: {report.organisation} ({report.period.label()})"
    return _coverage_table(first, rows, title, width)


def _clauses_table(report, width: int):
    from ._listing import Column

    rows = [
        {
            "clause": c.id,
            **_coverage_cells(c),
            "status": "no workflow" if c.gap else c.status_label,
            "style": "yellow" if c.gap else _STYLES[c.status],
        }
        for c in report.clauses
    ]
    title = f"Clauses 4-10: {report.organisation} ({report.period.label()})"
    return _coverage_table([Column("clause", "clause", 0)], rows, title, width)


def _coverage_cells(c) -> dict[str, str]:
    """What a control's row and a clause's row both show."""
    return {
        "title": c.title,
        "workflows": c.workflows_text() or "-",
        "runs": f"{c.runs_completed}/{c.runs_open}",
        "evidence": str(c.evidence_rows),
        "latest": (c.latest_evidence or "-")[:10],
    }


def _coverage_table(first, rows, title: str, width: int):
    """The id column(s), then title, workflows, runs, evidence, latest and the styled status;
    the numbers give way first when the terminal is narrow."""
    from ._listing import Column, fitted_table

    columns = [
        first[0],
        Column("title", "title", 2),
        *first[1:],
        Column("workflows", "workflows", 3),
        Column("runs", "runs done/open", 4),
        Column("evidence", "evidence", 5),
        Column("latest", "latest", 6),
        Column("status", "status", 1),
    ]
    return fitted_table(
        columns,
        rows,
        {"status": lambda row: _styled(row["style"], row["status"])},
        width,
        title=title,
    )
