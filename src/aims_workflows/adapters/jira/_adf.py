"""Atlassian Document Format (ADF), the rich text of REST API v3 descriptions and comments.

Only what the adapter writes (paragraphs, headings, bullet lists, bold labels) and what it reads
(plain text out of a document an engineer typed into a multi-line field).

Every builder keeps to Atlassian's ADF schema (``@atlaskit/adf-schema``), which Jira enforces:
a text node is never empty, a list never has no items, a heading's level is 1-6. Empty input
gives an empty paragraph or nothing, never a node Jira would refuse with a 400.

>>> to_text(document(paragraph("Hello"), bullets(["one", "two"])))
'Hello\\none\\ntwo'
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["document", "paragraph", "heading", "bullets", "from_text", "to_text", "is_document"]

Node = dict[str, Any]


def _text(text: str, *, strong: bool = False) -> list[Node]:
    """Zero or one text node: the schema refuses a text node with an empty ``text``."""
    if not text:
        return []
    node: Node = {"type": "text", "text": text}
    if strong:
        node["marks"] = [{"type": "strong"}]
    return [node]


def paragraph(text: str, *, label: str | None = None) -> Node:
    """One paragraph; ``label`` is written in bold before the text."""
    return {"type": "paragraph", "content": _text(label or "", strong=True) + _text(text)}


def heading(text: str, level: int = 3) -> Node:
    """A heading of ``level`` 1-6 (clamped: the schema allows no other)."""
    return {
        "type": "heading",
        "attrs": {"level": min(6, max(1, level))},
        "content": _text(text),
    }


def bullets(items: Iterable[str]) -> Node:
    """A bullet list, or an empty node (dropped by ``document``) when there are no items:
    the schema refuses a list without items."""
    listed = [{"type": "listItem", "content": [paragraph(item)]} for item in items]
    if not listed:
        return {}
    return {"type": "bulletList", "content": listed}


def document(*blocks: Node) -> Node:
    return {"type": "doc", "version": 1, "content": [b for b in blocks if b]}


def from_text(text: str) -> Node:
    """A document with one paragraph per line (blank lines kept as empty paragraphs)."""
    return document(*[paragraph(line) for line in (text or "").split("\n")])


def is_document(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and value.get("type") == "doc"
        and isinstance(value.get("content"), list)
    )


def to_text(node: Any) -> str:
    """The plain text of a node; block nodes are joined by newlines, as Jira flattens them."""
    if isinstance(node, str):
        return node
    if not isinstance(node, dict):
        return ""
    kind = node.get("type")
    if kind == "text":
        return str(node.get("text", ""))
    if kind == "hardBreak":
        return "\n"
    if kind in ("mention", "emoji", "status"):
        return str((node.get("attrs") or {}).get("text", ""))
    parts = [to_text(child) for child in node.get("content") or []]
    block = kind in (
        "doc",
        "bulletList",
        "orderedList",
        "listItem",
        "blockquote",
        "panel",
        "table",
        "tableRow",
    )
    return ("\n" if block else "").join(parts)
