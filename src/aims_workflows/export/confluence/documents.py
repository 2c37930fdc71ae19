"""The documents aims publishes to Confluence, each a titled storage-format body.

A document's title is stable (it names the organisation, not a date), so each publish finds and
updates the same page; what changed is in the page's version history, with the ledger head it
was built from in the version comment.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from ...store.ledger import VerifyReport
from ..review.model import ReviewPack
from ..review.render import render_review
from ..soa.coverage import CoverageReport
from .storage import element, html_to_storage

__all__ = [
    "DOCUMENT_KEYS",
    "Document",
    "audit_summary_document",
    "review_pack_document",
    "soa_document",
]

DOCUMENT_KEYS = ("soa", "review-pack", "audit-summary")


@dataclass(frozen=True)
class Document:
    key: str
    title: str
    body: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body.encode("utf-8")).hexdigest()


def _row(cells: list[str], *, head: bool = False) -> str:
    tag = "th" if head else "td"
    return element("tr", *(element(tag, text=c) for c in cells))


def _table(header: list[str], rows: list[list[str]]) -> str:
    return element("table", element("tbody", _row(header, head=True), *(_row(r) for r in rows)))


def soa_document(report: CoverageReport) -> Document:
    """Every Annex A control: applicable or not and why, implementation, workflows, status."""
    rows = [
        [
            f"{c.id} {c.title}",
            "yes" if c.applicable else "no",
            c.justification or "",
            c.implementation or "",
            c.workflows_text(),
            str(c.evidence_rows),
            (c.latest_evidence or "")[:10],
            c.status + (" (gap)" if c.gap else ""),
        ]
        for c in report.controls
    ]
    summary = report.summary()
    body = "".join(
        [
            element(
                "p",
                # no generation time here: a publish that changes nothing adds no version
                text=f"{report.standard}. Period: {report.period.label()}.",
            ),
            element(
                "p",
                text=(
                    f"{summary['applicable']} of {summary['controls']} controls applicable, "
                    f"{summary['excluded']} excluded; {summary['implemented']} implemented; "
                    f"gaps: {', '.join(summary['gaps']) or 'none'}."
                ),
            ),
            _table(
                [
                    "Control",
                    "Applicable",
                    "Justification",
                    "Implementation",
                    "Workflows",
                    "Evidence rows",
                    "Latest evidence",
                    "Status",
                ],
                rows,
            ),
        ]
    )
    return Document("soa", f"Statement of Applicability - {report.organisation}", body)


def review_pack_document(pack: ReviewPack) -> Document:
    """The management-review input pack, as its HTML rendering reads."""
    body = html_to_storage(render_review(pack, "html"))
    return Document("review-pack", f"Management review input pack - {pack.organisation}", body)


def audit_summary_document(
    report: CoverageReport, chain: VerifyReport, head: tuple[int, str]
) -> Document:
    """What an auditor reads first: the ledger's state, and coverage of controls and clauses."""
    summary = report.summary()
    chain_text = (
        f"verified: {chain.rows} rows, head #{head[0]} {head[1]}"
        if chain.ok
        else f"NOT verified: {chain.problem} (first bad row {chain.first_bad_seq})"
    )
    facts = [
        ["Organisation", report.organisation],
        ["Standard", report.standard],
        ["Generated", report.generated_at[:19]],
        ["Evidence chain", chain_text],
        ["Controls applicable", f"{summary['applicable']} of {summary['controls']}"],
        ["Controls implemented", str(summary["implemented"])],
        ["Controls in progress", str(summary["in_progress"])],
        ["Controls described, no evidence", str(summary["described"])],
        ["Controls with a gap", ", ".join(summary["gaps"]) or "none"],
        ["Clauses evidenced", f"{summary['clauses_evidenced']} of {summary['clauses']}"],
        ["Clauses without a workflow", ", ".join(summary["clauses_without_workflow"]) or "none"],
    ]
    body = element("h2", text="Audit summary") + _table(["", "Value"], facts)
    return Document("audit-summary", f"Audit summary - {report.organisation}", body)
