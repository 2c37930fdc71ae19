"""The evidence contract for people and tools: ``docs/evidence.md`` and ``aims schema --evidence``
are generated from the models, so they cannot drift from what the ledger holds."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from aims_workflows.engine.evidence_kinds import (
    AREAS,
    EVIDENCE_KINDS,
    SCHEMA_VERSION,
    evidence_json_schema,
    evidence_reference,
)
from conftest import cli_environment, run_aims

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "docs" / "evidence.md"

COMPLETED = {"answers": {"impact": 3}, "attempt": 1, "by": "eve@example.com", "overdue": False}


@pytest.fixture(autouse=True)
def _cli(monkeypatch):
    cli_environment(monkeypatch)


# -- docs/evidence.md ------------------------------------------------------------------------------
def test_the_committed_reference_is_the_generated_one():
    assert REFERENCE.read_text(encoding="utf-8") == evidence_reference(), (
        "docs/evidence.md is stale: run "
        "python -m aims_workflows.engine.evidence_kinds docs/evidence.md"
    )


def test_the_reference_lists_every_kind_by_area_with_its_fields():
    text = evidence_reference()
    for area, models in AREAS.items():
        assert f"\n## {area}\n" in text
        section = text.split(f"\n## {area}\n", 1)[1]
        for model in models:
            assert f"### `{model.KIND}`" in section
            body = section.split(f"### `{model.KIND}`", 1)[1].split("\n### ", 1)[0]
            for name in model.model_fields:
                assert f"| `{name}` |" in body, (model.KIND, name)
    assert f"`schema_version`: **{SCHEMA_VERSION}**" in text
    assert "new kind name" in text and "minor version" in text


def test_the_reference_says_types_and_nulls_in_words():
    text = evidence_reference()
    assert "| `due_at` | timestamp or null | yes | when it is due; null: no due date |" in text
    assert '| `decision` | one of `"approve"`, `"reject"` | yes |' in text
    assert "| `subject` | [SubjectSnapshot](#shape-subjectsnapshot) | yes |" in text
    assert (
        '<a id="shape-subjectsnapshot"></a>' in text and '<a id="kind-task-completed"></a>' in text
    )


# -- the JSON Schema ---------------------------------------------------------------------------
def test_the_schema_has_one_definition_per_kind_and_is_valid():
    schema = evidence_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["x-schema-version"] == SCHEMA_VERSION
    assert set(EVIDENCE_KINDS) <= set(schema["$defs"])
    assert schema["properties"]["kind"]["enum"] == list(EVIDENCE_KINDS)
    for kind in EVIDENCE_KINDS:
        definition = schema["$defs"][kind]
        assert definition["title"] == kind and definition["description"]
        assert definition["additionalProperties"] is False


def test_the_schema_refuses_what_parse_evidence_refuses():
    validator = jsonschema.Draft202012Validator(evidence_json_schema())
    assert validator.is_valid({"kind": "task.completed", "payload": COMPLETED})
    for bad in (
        {"kind": "task.completed", "payload": {**COMPLETED, "colour": "red"}},
        {"kind": "task.completed", "payload": {**COMPLETED, "attempt": "1"}},
        {"kind": "task.completed", "payload": {k: v for k, v in COMPLETED.items() if k != "by"}},
        {"kind": "task.overdue", "payload": {"due_at": "2026-01-19T09:00:00Z"}},
        {"kind": "task.complete", "payload": COMPLETED},
    ):
        assert not validator.is_valid(bad), bad


def test_the_schema_is_a_fresh_copy_each_time():
    evidence_json_schema()["$defs"].clear()
    assert "task.completed" in evidence_json_schema()["$defs"]


# -- aims schema ---------------------------------------------------------------------------------
def test_aims_schema_evidence_prints_every_kind(capsys):
    result = run_aims(capsys, "schema", "--evidence")
    assert result.code == 0, result
    printed = json.loads(result.out)
    assert printed == evidence_json_schema()
    assert printed["$id"] == "urn:aims-workflows:schema:evidence:1"


def test_aims_schema_evidence_kind_prints_one_kind(capsys):
    result = run_aims(capsys, "schema", "--evidence", "--kind", "task.completed")
    assert result.code == 0, result
    printed = json.loads(result.out)
    assert printed["title"] == "task.completed"
    assert list(printed["properties"]) == ["answers", "by", "attempt", "overdue", "assurance"]
    assert "task.requested" not in json.dumps(printed)
    jsonschema.Draft202012Validator.check_schema(printed)
    validator = jsonschema.Draft202012Validator(printed)
    assert validator.is_valid(COMPLETED)
    assert not validator.is_valid({**COMPLETED, "overdue": "no"})


def test_aims_schema_with_an_unknown_kind_names_the_close_ones(capsys):
    result = run_aims(capsys, "schema", "--evidence", "--kind", "task.complete")
    assert result.code == 1 and result.out == ""
    assert "unknown evidence kind 'task.complete'" in result.err
    assert "did you mean task.completed or" in result.err


def test_aims_schema_kind_needs_evidence(capsys):
    result = run_aims(capsys, "schema", "--kind", "task.completed")
    assert result.code == 2
    assert "use it with --evidence" in result.err


def test_aims_schema_alone_still_prints_the_workflow_schema(capsys):
    from aims_workflows.spec.schema import workflow_json_schema

    result = run_aims(capsys, "schema")
    assert result.code == 0, result
    assert json.loads(result.out) == workflow_json_schema()
