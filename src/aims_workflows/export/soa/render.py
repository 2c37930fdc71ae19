"""The Statement of Applicability and clause coverage
as CSV, Markdown, JSON (the CLI draws the table)."""

from __future__ import annotations

import json
from typing import Any

from .._csv import csv_text
from .coverage import Coverage, CoverageReport

__all__ = ["soa_csv", "clauses_csv", "soa_markdown", "clauses_markdown", "coverage_json"]

_SOA_COLUMNS = (
    "control",
    "title",
    "applicable",
    "justification",
    "risks",
    "implementation",
    "workflows",
    "runs_completed",
    "runs_open",
    "evidence_rows",
    "latest_evidence",
    "status",
    "gap",
    "notes",
)
_CLAUSE_COLUMNS = (
    "clause",
    "title",
    "workflows",
    "runs_completed",
    "runs_open",
    "evidence_rows",
    "latest_evidence",
    "status",
    "no_workflow",
    "notes",
)


def _day(moment: str | None) -> str:
    return moment[:10] if moment else ""


def _soa_values(c: Coverage) -> list[Any]:
    return [
        c.id,
        c.title,
        "yes" if c.applicable else "no",
        c.justification,
        " ".join(c.risks),
        c.implementation,
        c.workflows_text(),
        c.runs_completed,
        c.runs_open,
        c.evidence_rows,
        c.latest_evidence or "",
        c.status,
        c.gap,
        "; ".join(c.notes),
    ]


def _clause_values(c: Coverage) -> list[Any]:
    return [
        c.id,
        c.title,
        c.workflows_text(),
        c.runs_completed,
        c.runs_open,
        c.evidence_rows,
        c.latest_evidence or "",
        c.status,
        c.gap,
        "; ".join(c.notes),
    ]


def soa_csv(report: CoverageReport) -> str:
    return csv_text(_SOA_COLUMNS, (_soa_values(c) for c in report.controls))


def clauses_csv(report: CoverageReport) -> str:
    return csv_text(_CLAUSE_COLUMNS, (_clause_values(c) for c in report.clauses))


def coverage_json(report: CoverageReport, *, part: str = "all") -> str:
    data = report.as_dict()
    if part == "controls":
        data.pop("clauses")
    elif part == "clauses":
        data.pop("controls")
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _md(text: Any) -> str:
    """A Markdown table cell: pipes escaped, line breaks kept as <br>, HTML-like text defused,
    and brackets escaped, so that no text from people (a system's name, an answer) becomes a
    link such as ``[Open](javascript:...)`` or an image in the rendered page."""
    value = "" if text is None else str(text)
    value = (
        value.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")
    )
    value = value.replace("[", "\\[").replace("]", "\\]")
    return "<br>".join(line.strip() for line in value.splitlines()) or " "


def _header(report: CoverageReport, title: str) -> list[str]:
    return [
        f"# {title}: {_md(report.organisation)}",
        "",
        f"- Standard: {report.standard}",
        f"- Period: {report.period.label()}",
        f"- Generated: {report.generated_at}",
        "",
    ]


def soa_markdown(report: CoverageReport) -> str:
    s = report.summary()
    lines = _header(report, "Statement of Applicability")
    approved = report.approved_soa
    lines[-1:-1] = [
        f"- Approved: {_md(approved.label())} (run {approved.run_id})"
        if approved
        else "- Approved: no version approved yet (aims start soa-review)"
    ]
    lines += [
        f"{s['controls']} Annex A controls: {s['applicable']} applicable, "
        f"{s['excluded']} excluded; {s['implemented']} implemented with evidence, "
        f"{s['in_progress']} in progress, {s['described']} described with "
        f"evidence kept outside aims, {s['no_evidence']} without evidence yet.",
        "",
    ]
    if s["gaps"]:
        lines += [
            "**Gaps** (applicable, no workflow and no implementation described): "
            f"{', '.join(s['gaps'])}",
            "",
        ]
    else:
        lines += [
            "No gaps: every applicable control has a workflow or a described implementation.",
            "",
        ]
    group = None
    for c in report.controls:
        top = c.group or ""
        if top != group:
            group = top
            lines += [
                "",
                f"## {top} {_md(report.group_titles.get(top, ''))}".rstrip(),
                "",
                "| Control | Applicable | Justification | Implementation | Workflows | Runs done / "
                "open | Evidence rows | Latest | Status |",
                "|---|---|---|---|---|---|---|---|---|",
            ]
        status = ("**GAP** " if c.gap else "") + c.status_label
        if c.notes:
            status += "<br>" + "<br>".join(_md(n) for n in c.notes)
        lines.append(
            f"| {c.id} {_md(c.title)} | {'yes' if c.applicable else '**no**'} | "
            f"{_md(c.justification)}{'<br>Risks: ' + ', '.join(c.risks) if c.risks else ''} | "
            f"{_md(c.implementation)} | "
            f"{_md(c.workflows_text()) if c.workflows else '-'} | {c.runs_completed} / "
            f"{c.runs_open} | {c.evidence_rows} | "
            f"{_day(c.latest_evidence) or '-'} | {status} |"
        )
    return "\n".join(lines) + "\n"


def clauses_markdown(report: CoverageReport) -> str:
    s = report.summary()
    lines = _header(report, "Clauses 4-10: coverage by workflows")
    lines += [
        f"{s['clauses_evidenced']} of {s['clauses']} clauses have evidence from completed runs. "
        "A clause counts what evidences it or any of its sub-clauses.",
        "",
        "| Clause | Workflows | Runs done / open | Evidence rows | Latest | Status |",
        "|---|---|---|---|---|---|",
    ]
    for c in report.clauses:
        status = c.status_label if not c.gap else "no workflow"
        lines.append(
            f"| {c.id} {_md(c.title)} | {_md(c.workflows_text()) if c.workflows else '-'} | "
            f"{c.runs_completed} / {c.runs_open} | {c.evidence_rows} | "
            f"{_day(c.latest_evidence) or '-'} | {status} |"
        )
    return "\n".join(lines) + "\n"
