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
        console().print(_soa_table(report) if part == "controls" else _clauses_table(report))
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


def _soa_table(report):
    from rich.text import Text

    from ._output import table as make_table

    table = make_table(
        "control",
        "title",
        "applies",
        "workflows",
        "runs done/open",
        "evidence",
        "latest",
        "status",
        ids=("control",),
    )
    table.title = f"Statement of Applicability: {report.organisation} ({report.period.label()})"
    table.title_justify = "left"
    for c in report.controls:
        status = Text(
            ("GAP: " if c.gap else "") + c.status_label,
            style="bold red" if c.gap else _STYLES[c.status],
        )
        table.add_row(
            c.id,
            c.title,
            "yes" if c.applicable else f"no: {c.justification}",
            c.workflows_text() or "-",
            f"{c.runs_completed}/{c.runs_open}",
            str(c.evidence_rows),
            (c.latest_evidence or "-")[:10],
            status,
        )
    return table


def _clauses_table(report):
    from rich.text import Text

    from ._output import table as make_table

    table = make_table(
        "clause",
        "title",
        "workflows",
        "runs done/open",
        "evidence",
        "latest",
        "status",
        ids=("clause",),
    )
    table.title = f"Clauses 4-10: {report.organisation} ({report.period.label()})"
    table.title_justify = "left"
    for c in report.clauses:
        label = "no workflow" if c.gap else c.status_label
        table.add_row(
            c.id,
            c.title,
            c.workflows_text() or "-",
            f"{c.runs_completed}/{c.runs_open}",
            str(c.evidence_rows),
            (c.latest_evidence or "-")[:10],
            Text(label, style="yellow" if c.gap else _STYLES[c.status]),
        )
    return table
