"""Confluence pages for documented information aims holds: the AI policy (5.2) and the register
of documented information (7.5) from ``aims documents``, and the two records a management
review run makes (its input pack and its minutes, 9.3).

Every page starts with what identifies it (7.5.2: title, reference, version, author, approval),
so a reader of the wiki sees which approved version the text is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ...documents.register import Document as RegisterEntry
from .documents import Document, _table
from .storage import element, html_to_storage

__all__ = [
    "POLICY_REQUIREMENT",
    "policy_document",
    "register_document",
    "review_record_document",
    "text_to_storage",
    "REVIEW_ARTEFACTS",
]

POLICY_REQUIREMENT = "policy"
REVIEW_ARTEFACTS = {
    "management_review_input_pack": ("review-input-pack", "Management review input pack"),
    "management_review_minutes": ("review-minutes", "Management review minutes"),
}
"""The management-review workflow's records, with the document key and title of their page."""

_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_BULLET = re.compile(r"^\s*[-*]\s+(.*)$")


def text_to_storage(text: str) -> str:
    """Plain text or simple Markdown as storage XHTML: ``#`` headings, ``-``/``*`` bullets,
    blank-line separated paragraphs (line breaks inside one kept). Everything is escaped; no
    other Markdown is interpreted."""
    out: list[str] = []
    paragraph: list[str] = []
    bullets: list[str] = []

    def flush() -> None:
        if paragraph:
            out.append(element("p", "<br />".join(element("span", text=p) for p in paragraph)))
            paragraph.clear()
        if bullets:
            out.append(element("ul", *(element("li", text=b) for b in bullets)))
            bullets.clear()

    for line in text.replace("\r\n", "\n").split("\n"):
        heading = _HEADING.match(line)
        bullet = _BULLET.match(line)
        if not line.strip():
            flush()
        elif heading:
            flush()
            out.append(element(f"h{len(heading.group(1))}", text=heading.group(2).strip()))
        elif bullet:
            if paragraph:
                flush()
            bullets.append(bullet.group(1).strip())
        else:
            if bullets:
                flush()
            paragraph.append(line.strip())
    flush()
    return "".join(out)


def _identification(entry: RegisterEntry) -> list[list[str]]:
    snap = entry.snapshot
    return [
        ["Reference", snap.reference],
        ["Title", snap.title],
        ["Version", snap.version],
        ["Required by", f"clause {snap.clause} ({snap.requirement})"],
        ["Author", snap.author],
        ["Approved by", snap.approver or "not approved (draft)"],
        ["Approved on", snap.approved_on or ""],
        ["Next review", snap.next_review or ""],
        ["Kept at", snap.location or snap.file or ""],
        ["SHA-256 of the approved file", snap.sha256 or ""],
    ]


def policy_document(entry: RegisterEntry, content: str | None, organisation: str) -> Document:
    """The AI policy: its identification, then its approved text when aims can read it
    (``content``: HTML, Markdown or plain text of the registered file; None: kept elsewhere)."""
    parts = [_table(["", ""], _identification(entry))]
    if content is None:
        where = entry.snapshot.location or entry.snapshot.file or "outside aims"
        parts.append(element("p", text=f"The approved text is kept at {where}."))
    else:
        suffix = (entry.file_path.suffix if entry.file_path else "").lower()
        if suffix in (".html", ".htm"):
            parts.append(html_to_storage(content))
        else:
            parts.append(text_to_storage(content))
    return Document("policy", f"AI policy - {organisation}", "".join(parts))


def register_document(entries: list[RegisterEntry], organisation: str) -> Document:
    """The register of documented information: one row per entry as it stands now."""
    rows = [
        [
            e.snapshot.reference,
            e.snapshot.title,
            e.snapshot.version,
            e.snapshot.clause,
            e.snapshot.approver or "draft",
            e.snapshot.approved_on or "",
            e.snapshot.next_review or "",
            e.snapshot.location or e.snapshot.file or "",
            e.problem or "",
        ]
        for e in entries
    ]
    body = element(
        "p", text=f"{len(entries)} documents, as recorded in the evidence ledger."
    ) + _table(
        [
            "Reference",
            "Title",
            "Version",
            "Clause",
            "Approved by",
            "Approved on",
            "Next review",
            "Kept at",
            "Problem",
        ],
        rows,
    )
    return Document("documents", f"Register of documented information - {organisation}", body)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(_cell(v) for v in value)
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {_cell(v)}" for k, v in value.items())
    return str(value)


def review_record_document(
    artefact: str, run_id: str, fields: Mapping[str, Any], organisation: str, recorded_at: str
) -> Document:
    """A management review run's input pack or minutes: one page per run, titled with the run
    so that a later review never replaces an earlier one's record."""
    key, title = REVIEW_ARTEFACTS[artefact]
    rows = [[name.replace("_", " ").capitalize(), _cell(value)] for name, value in fields.items()]
    body = element(
        "p", text=f"Recorded by run {run_id} of the management-review workflow at {recorded_at}."
    ) + _table(["", ""], rows)
    return Document(f"{key}/{run_id}", f"{title} - {organisation} - {run_id}", body)


def readable_content(entry: RegisterEntry) -> str | None:
    """The registered file's text when it is a text file aims can publish, else None."""
    path: Path | None = entry.file_path
    if path is None or path.suffix.lower() not in (".md", ".markdown", ".txt", ".html", ".htm"):
        return None
    return path.read_text(encoding="utf-8")
