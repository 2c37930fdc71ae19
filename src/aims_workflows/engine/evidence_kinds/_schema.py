"""The evidence contract as JSON Schema (draft 2020-12): one definition per kind."""

from __future__ import annotations

import copy
import json
import re
from functools import lru_cache
from typing import Any

from ._base import EvidencePayload
from ._registry import AREAS, SCHEMA_VERSION, evidence_model

__all__ = ["SCHEMA_DIALECT", "SCHEMA_ID", "evidence_json_schema", "evidence_schema_text", "prose"]

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_ID = f"urn:aims-workflows:schema:evidence:{SCHEMA_VERSION.split('.')[0]}"
"""Stable identifier; the trailing number is the contract's major version."""

_JSON_VALUE = {"description": "any JSON value: text, number, true/false, null, list or object"}


def prose(docstring: str | None) -> str:
    """A docstring as text: paragraphs joined into lines, ``literal`` as `literal`."""
    paragraphs = re.split(r"\n\s*\n", (docstring or "").strip())
    text = "\n\n".join(" ".join(line.strip() for line in p.splitlines()) for p in paragraphs)
    return text.replace("``", "`")


def _tidy(node: Any) -> Any:
    """Drop pydantic's generated titles of properties and unwrap descriptions, recursively."""
    if isinstance(node, list):
        return [_tidy(item) for item in node]
    if not isinstance(node, dict):
        return node
    tidy: dict[str, Any] = {}
    for key, value in node.items():
        if key == "properties":
            tidy[key] = {
                name: _tidy({k: v for k, v in prop.items() if k != "title"})
                for name, prop in value.items()
            }
        elif key == "description" and isinstance(value, str):
            tidy[key] = prose(value)
        else:
            tidy[key] = _tidy(value)
    return tidy


def _model_schema(model: type[EvidencePayload]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the payload's schema titled by its kind, the shared definitions it refers to)."""
    generated = _tidy(model.model_json_schema(mode="serialization"))
    shared = generated.pop("$defs", {})
    if "JsonValue" in shared:
        shared["JsonValue"] = dict(_JSON_VALUE)
    order = ("description", "type", "properties", "required", "additionalProperties")
    ordered = {key: generated[key] for key in order if key in generated}
    rest = {k: v for k, v in generated.items() if k not in ordered and k != "title"}
    return {"title": model.KIND, **ordered, **rest}, shared


@lru_cache(maxsize=1)
def _all_kinds() -> dict[str, Any]:
    kinds: dict[str, Any] = {}
    shared: dict[str, Any] = {}
    for models in AREAS.values():
        for model in models:
            kinds[model.KIND], used = _model_schema(model)
            shared.update(used)
    conditions = [
        {
            "if": {"properties": {"kind": {"const": kind}}},
            "then": {"properties": {"payload": {"$ref": f"#/$defs/{kind}"}}},
        }
        for kind in kinds
    ]
    return {
        "$schema": SCHEMA_DIALECT,
        "$id": SCHEMA_ID,
        "title": "aims-workflows evidence",
        "description": (
            f"The evidence contract, version {SCHEMA_VERSION}. A ledger row stores its kind in "
            "its own column and its payload as canonical JSON (sorted keys, no spaces, UTF-8), "
            "which the row's SHA-256 covers. This document validates a pair {kind, payload} with "
            "the payload parsed from that JSON; $defs holds one definition per kind, named by "
            "the kind. Reference: docs/evidence.md."
        ),
        "x-schema-version": SCHEMA_VERSION,
        "type": "object",
        "required": ["kind", "payload"],
        "properties": {
            "kind": {"description": "the evidence kind", "enum": list(kinds)},
            "payload": {"description": "the payload, parsed", "type": "object"},
        },
        "allOf": conditions,
        "$defs": {**kinds, **dict(sorted(shared.items()))},
    }


def evidence_json_schema(kind: str | None = None) -> dict[str, Any]:
    """The JSON Schema of every kind (``$defs`` per kind), or of one kind's payload, as a fresh
    dict. An unknown kind raises :class:`~aims_workflows.errors.EvidenceError`."""
    if kind is None:
        return copy.deepcopy(_all_kinds())
    payload, shared = _model_schema(evidence_model(kind))
    document = {
        "$schema": SCHEMA_DIALECT,
        "$id": f"{SCHEMA_ID}:{kind}",
        **payload,
        "x-schema-version": SCHEMA_VERSION,
    }
    if shared:
        document["$defs"] = dict(sorted(shared.items()))
    return document


def evidence_schema_text(kind: str | None = None) -> str:
    """:func:`evidence_json_schema` as indented JSON text."""
    return json.dumps(evidence_json_schema(kind), indent=2, ensure_ascii=False) + "\n"
