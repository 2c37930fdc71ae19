"""Atlassian Document Format (ADF): the rich-text JSON that REST API v3 uses for descriptions
and comment bodies. Only what the sandbox needs: build one from text, read text out of one,
and tell a document from a plain string (which v3 rejects).
"""

from __future__ import annotations

from typing import Any, TypeGuard

__all__ = ["doc", "to_text", "is_adf"]


def doc(text: str) -> dict[str, Any]:
    """A version-1 ADF document with one paragraph per line of ``text``.

    >>> doc("hi")["content"][0]["content"][0]["text"]
    'hi'
    """
    paragraphs = [
        {"type": "paragraph", "content": [{"type": "text", "text": line}] if line else []}
        for line in text.split("\n")
    ]
    return {"type": "doc", "version": 1, "content": paragraphs}


def is_adf(value: Any) -> TypeGuard[dict[str, Any]]:
    """True for a top-level ADF node (``type: doc``, ``version: 1``, a ``content`` list)."""
    return (
        isinstance(value, dict)
        and value.get("type") == "doc"
        and value.get("version") == 1
        and isinstance(value.get("content"), list)
    )


def to_text(node: Any) -> str:
    """Plain text of an ADF node; block nodes are separated by newlines.

    Used for changelog ``toString`` values and JQL text matching, where Jira also flattens.
    """
    if not isinstance(node, dict):
        return ""
    if node.get("type") == "text":
        return str(node.get("text", ""))
    if node.get("type") == "hardBreak":
        return "\n"
    parts = [to_text(child) for child in node.get("content", []) or []]
    joiner = "\n" if node.get("type") in ("doc", "bulletList", "orderedList") else ""
    return joiner.join(parts)
