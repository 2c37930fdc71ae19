"""``docs/evidence.md``: the evidence contract for auditors, written from the models."""

from __future__ import annotations

from typing import Any

from ._registry import AREAS, SCHEMA_VERSION
from ._schema import evidence_json_schema, prose

__all__ = ["evidence_reference"]

_INTRO = """\
# Evidence payloads

<!-- Generated from src/aims_workflows/engine/evidence_kinds by
     `python -m aims_workflows.engine.evidence_kinds docs/evidence.md`. Do not edit by hand:
     a test fails when this file and the models differ. -->

Every state change, decision and artefact of the AIMS is a row of the hash-chained evidence
ledger. A row holds `seq`, `kind`, `run_id`, `step_id`, `actor`, `via`, `effective_at`,
`recorded_at`, `payload`, `ref`, `prev_hash` and `hash`. This page is the contract of the
`payload` of every kind: its fields, their types, whether every row has them, and what they
mean for an auditor. The ISO/IEC 42001 clauses named are the ones the record supports.

- The **kind** is stored in its own column, never inside the payload.
- The **payload** is stored as canonical JSON: keys sorted, no spaces, UTF-8 kept. The row's
  SHA-256 covers those bytes, so `aims evidence verify` (and the audit pack's stdlib verifier)
  checks them whatever reads them afterwards.
- Timestamps are UTC text with microseconds: `2026-11-29T19:25:41.000000Z`.
- The machine-readable form of this page is `aims schema --evidence` (JSON Schema, draft
  2020-12, one definition per kind under `$defs`); `aims schema --evidence --kind task.completed`
  prints one kind.
- In Python, `aims_workflows.engine.evidence_kinds.parse_evidence(kind, payload)` reads a stored
  payload into its model (fields become attributes) and refuses one that does not fit;
  `evidence_payload(model)` gives back the dict whose canonical JSON is the stored text.
- Exports (audit pack, Statement of Applicability, OSCAL, management review input) read these
  rows and add none.
"""

_VERSIONING = """\
## Schema version

`schema_version`: **{version}** (`SCHEMA_VERSION` in the package; `x-schema-version` in the
JSON Schema).

Rows are never rewritten: they stay in the ledger, hashed, for as long as records are kept. So
the contract only grows:

- **Additive changes raise the minor version** (1.0 to 1.1): a new kind; a new field in a
  kind, which is optional because older rows do not have it (a row read without it is written
  back without it, so its bytes and hash stay the same); a new value in a closed list.
- **A field is never removed, renamed, or given another type or meaning.** A record that needs
  a different shape gets a **new kind name**, and the old kind stays in the contract so that
  every row already written keeps parsing. The major version (the `1` in the schema's `$id`,
  `urn:aims-workflows:schema:evidence:1`) would change only if a kind left the contract, which
  this policy rules out.
"""

_TYPES = """\
## Reading the tables

**Required** `yes` means every row of the kind has the field (its value may still be `null`
where the type says so); `no` means older rows may lack it. Types: *text*, *integer*, *number*,
*true/false*, *timestamp* (the text form above), *list of ...*, *object* (keys are names),
*any JSON value*, one of a closed list of values, and the shared shapes at the end.
"""


def _anchor(name: str) -> str:
    """An explicit id per section: kinds hold dots, which renderers drop from heading ids."""
    prefix = "kind-" if "." in name else "shape-"
    return prefix + name.replace(".", "-").replace("_", "-").lower()


def _type(node: dict[str, Any]) -> str:
    """A property's JSON Schema as words."""
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        return "any JSON value" if name == "JsonValue" else f"[{name}](#{_anchor(name)})"
    if "anyOf" in node:
        return " or ".join(_type(branch) for branch in node["anyOf"])
    if "enum" in node:
        return "one of " + ", ".join(f"`{value!r}`".replace("'", '"') for value in node["enum"])
    kind = node.get("type")
    if kind == "string":
        return "timestamp" if node.get("format") == "date-time" else "text"
    if kind == "array":
        items = node.get("prefixItems") or [node.get("items", {})]
        item = _type(items[0]) if items[0] else "any JSON value"
        if node.get("minItems") == node.get("maxItems") == 2:
            return f"pair, each {item}"
        return f"list of {item}"
    if kind == "object":
        values = node.get("additionalProperties")
        if isinstance(values, dict) and values:
            return f"object (name: {_type(values)})"
        return "object"
    return {"integer": "integer", "number": "number", "boolean": "true/false", "null": "null"}.get(
        str(kind), str(kind)
    )


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _table(definition: dict[str, Any]) -> list[str]:
    required = set(definition.get("required", ()))
    lines = ["| Field | Type | Required | Meaning |", "| --- | --- | --- | --- |"]
    for name, prop in definition.get("properties", {}).items():
        lines.append(
            f"| `{name}` | {_cell(_type(prop))} | {'yes' if name in required else 'no'} "
            f"| {_cell(prop.get('description', ''))} |"
        )
    return lines


def evidence_reference() -> str:
    """The text of ``docs/evidence.md``: every kind by area, each field with its type,
    whether it is required, and its meaning; then the versioning rules."""
    schema = evidence_json_schema()
    definitions: dict[str, Any] = schema["$defs"]
    out = [_INTRO, _VERSIONING.format(version=SCHEMA_VERSION), _TYPES, "## Contents", ""]
    for area, models in AREAS.items():
        links = ", ".join(f"[`{m.KIND}`](#{_anchor(m.KIND)})" for m in models)
        out.append(f"- **{area}**: {links}")
    shared = [name for name in definitions if name not in _kinds() and name != "JsonValue"]
    out.append("- **Shared shapes**: " + ", ".join(f"[{n}](#{_anchor(n)})" for n in shared))
    out.append("")
    for area, models in AREAS.items():
        out += [f"## {area}", ""]
        for model in models:
            definition = definitions[model.KIND]
            out += [f'<a id="{_anchor(model.KIND)}"></a>', f"### `{model.KIND}`", ""]
            out += [prose(model.__doc__), ""]
            out += _table(definition) + [""]
    out += ["## Shared shapes", ""]
    for name in shared:
        definition = definitions[name]
        out += [f'<a id="{_anchor(name)}"></a>', f"### {name}", ""]
        out += [definition.get("description", ""), ""]
        out += _table(definition) + [""]
    return "\n".join(out).rstrip() + "\n"


def _kinds() -> set[str]:
    return {model.KIND for models in AREAS.values() for model in models}
