"""NIST's OSCAL JSON schemas (``../shared/specs/oscal/``, OSCAL 1.2.1, draft-07) as validators
for the OSCAL files aims writes.

compliance-trestle's models are looser than NIST's schemas (a finding's ``target.status`` is
optional in trestle and required by NIST), so every OSCAL file is also checked here: format
checking on (``date-time``, ``uri``, ``uri-reference``, ``email``), and the schemas' patterns
matched with the ``regex`` package, since they use ``\\p{L}``-style classes that Python's ``re``
refuses.

Imported by the test modules (``from oscal_schemas import ...``).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import regex
from jsonschema import Draft7Validator, FormatChecker, ValidationError, validators

PROJECT_ROOT = Path(__file__).resolve().parents[2]
OSCAL_SPECS = PROJECT_ROOT / ".." / "shared" / "specs" / "oscal"

# the document's top-level key -> the schema that describes it
SCHEMAS = {
    "catalog": "oscal_catalog_schema.json",
    "profile": "oscal_profile_schema.json",
    "system-security-plan": "oscal_ssp_schema.json",
    "assessment-plan": "oscal_assessment-plan_schema.json",
    "assessment-results": "oscal_assessment-results_schema.json",
    "plan-of-action-and-milestones": "oscal_poam_schema.json",
}


@cache
def _compiled(pattern: str) -> Any:
    return regex.compile(pattern)


def _pattern(validator: Any, pattern: str, instance: Any, schema: dict[str, Any]) -> Any:
    # draft-07's own check, with the regex package doing the matching (search, as ECMA 262 does)
    if validator.is_type(instance, "string") and not _compiled(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _format_checker() -> FormatChecker:
    checker = FormatChecker()  # draft-07's formats, with the libraries they need installed

    # the metaschema's "regex" format (each schema pattern is one), read as the patterns are
    @checker.checks("regex", raises=regex.error)
    def _is_regex(instance: object) -> bool:
        return not isinstance(instance, str) or bool(regex.compile(instance))

    return checker


_Validator = validators.extend(Draft7Validator, {"pattern": _pattern})


@cache
def validator(model: str) -> Any:
    path = OSCAL_SPECS / SCHEMAS[model]
    schema = json.loads(path.read_text(encoding="utf-8"))
    checker = _format_checker()
    # the schema itself first: a damaged or wrong file must not pass everything
    _Validator(Draft7Validator.META_SCHEMA, format_checker=checker).validate(schema)
    for name in ("date-time", "email", "uri", "uri-reference"):
        # without rfc3339-validator / rfc3986-validator jsonschema skips these silently
        assert name in checker.checkers, f"format {name!r} is not checked: install the test extra"
    return _Validator(schema, format_checker=checker)


def schema_errors(document: dict[str, Any]) -> list[str]:
    """Every way ``document`` (a whole OSCAL file, its model the one top-level key) fails NIST's
    schema, each as ``path: message``; empty when it passes."""
    (model,) = document
    found = sorted(validator(model).iter_errors(document), key=lambda e: list(e.absolute_path))
    return [f"{'/'.join(str(p) for p in e.absolute_path) or '.'}: {e.message}" for e in found]


def assert_valid_oscal(document: dict[str, Any] | bytes | str | Path) -> dict[str, Any]:
    """Fail the test, listing the first problems, unless ``document`` passes NIST's schema for
    its model; returns the document as a dict."""
    if isinstance(document, Path):
        document = document.read_bytes()
    if isinstance(document, (bytes, str)):
        document = json.loads(document)
    errors = schema_errors(document)
    assert not errors, f"{len(errors)} schema error(s):\n" + "\n".join(errors[:20])
    return document
