"""Atlassian Document Format (ADF): the rich-text JSON that REST API v3 uses for descriptions
and comment bodies. Only what the sandbox needs: build one from text, read text out of one,
tell a document from a plain string (which v3 rejects), and hold a document to Atlassian's own
schema (``adf_schema/full.json`` from ``@atlaskit/adf-schema``), as Jira Cloud does: an empty
text node, an empty list, a heading without a level or an unknown mark is refused with a 400.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any, TypeGuard

from jsonschema import Draft4Validator

__all__ = ["doc", "to_text", "is_adf", "schema_problem", "NOT_VALID_ADF"]

# Jira Cloud's answer to a description or rich-text field whose document breaks the schema
# (as reported by users of the v3 API; Atlassian does not document the wording)
NOT_VALID_ADF = "The field value is not valid Atlassian Document Format (ADF) content."


@cache
def _validator() -> Draft4Validator:
    text = resources.files(__package__).joinpath("adf_schema/full.json").read_text("utf-8")
    schema = json.loads(text)
    Draft4Validator.check_schema(schema)
    return Draft4Validator(schema)


def schema_problem(value: Any) -> str | None:
    """Why ``value`` is not a valid ADF document by Atlassian's schema, or None when it is.

    The reason names the deepest failing node (``content/0/content/0``), so a test that sees
    the refusal can tell what to fix; Jira's own answer carries no such detail.

    >>> schema_problem(doc("fine")) is None
    True
    >>> schema_problem({"type": "doc", "version": 1, "content": [
    ...     {"type": "paragraph", "content": [{"type": "text", "text": ""}]}]}) is not None
    True
    """
    errors = list(_validator().iter_errors(value))
    if not errors:
        return None

    # anyOf failures nest the real reasons in their context; the deepest one is the most useful
    def leaves(error: Any) -> list[Any]:
        if not error.context:
            return [error]
        return [leaf for sub in error.context for leaf in leaves(sub)]

    deepest = max((leaf for e in errors for leaf in leaves(e)), key=lambda e: len(e.absolute_path))
    where = "/".join(str(p) for p in deepest.absolute_path) or "(document)"
    return f"{where}: {deepest.message}"


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
