"""Evidence payloads as types: every row the product writes parses into its kind's model and
writes back byte for byte, every kind is written somewhere, and a payload that does not fit is
refused with the kind and the field named."""

from __future__ import annotations

import ast
import importlib.util
import json
import sys
import typing
from collections.abc import Iterable
from pathlib import Path

import pytest

from aims_workflows.engine import ChainedEvidence, canonical_json
from aims_workflows.engine.evidence_kinds import (
    AREAS,
    EVIDENCE_KINDS,
    AISystemSnapshot,
    AnyEvidence,
    TaskCompleted,
    TaskIssued,
    TaskRequested,
    evidence_payload,
    parse_evidence,
)
from aims_workflows.errors import EvidenceError
from aims_workflows.inventory import AISystemRecord
from aims_workflows.store import Database, ledger
from conftest import (
    ENGINEER,
    RISK_OWNER,
    T0,
    Driver,
    ai_system,
    fixture_spec,
)

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "aims_workflows" / "engine" / "evidence_kinds"
GOLDEN = ROOT / "tests" / "golden"

NOT_PRODUCED_HERE = {
    "attachment.recorded": (
        "written only by the Jira adapter for a file an engineer attached to an issue; "
        "tests/contract/test_jira_adapter.py writes one against the Jira sandbox and checks that "
        "it parses and writes back byte for byte"
    ),
    "document.published": (
        "written only by `aims publish` after a Confluence page is created or updated; "
        "tests/unit/test_publish_confluence.py publishes against the Confluence sandbox and "
        "reads the rows back through the model"
    ),
    "document.reviewed": (
        "written only by `aims documents review`; tests/unit/test_documents.py reviews documents "
        "and reads every row back through the model byte for byte"
    ),
    "ledger.timestamp": (
        "written only when an RFC 3161 time-stamp authority is configured; "
        "tests/unit/test_witness_tsa.py timestamps checkpoints at the loopback TSA and reads "
        "the rows back through the model byte for byte"
    ),
    "inbox.retried": (
        "written only by `aims inbox retry`; tests/unit/test_cli_inbox.py puts parked "
        "deliveries back and reads the rows back through the model byte for byte"
    ),
}
"""Kinds none of the runs in this module writes, and why. Keep it short."""

ADDED_IN_1_1 = {
    "task.completed": ("assurance",),
    "approval.decided": ("on_behalf_of", "assurance"),
    "ai_system.registered": ("assurance",),
    "ai_system.changed": ("assurance",),
    # contract 1.5: a request asked of an alternate after an expiry, or held for a step-up;
    # a withdrawal of a delegate's decision
    "approval.requested": ("escalated_from", "step_up"),
    "approval.withdrawn": ("on_behalf_of",),
}
"""Optional fields, added with contract 1.1 (how a person's identity is known, a delegate's
principal) and 1.5 (approval states): rows written before them do not have them."""

ADDED_IN_1_5 = {
    "finding.raised": ("source_type", "tracker_issue"),
    "ai_system.registered": ("tracker_issue",),
}
"""A finding's kind of source and the Jira issue it was reported in, and the Jira issue an AI
system was proposed in: absent in older rows, and the issue in rows not reported in Jira."""

ADDED_IN_1_6 = {
    "ai_system.changed": ("decided_in", "approval_id"),
    "role.granted": ("decided_in", "approval_id"),
    "ledger.timestamp": (),  # a new kind: every field in every row
}
"""Contract 1.6: RFC 3161 timestamps of checkpoints (a new kind), and the run and approval that
decided an inventory change (an intake) or a role (an approved role assignment): absent in older
rows and in changes nobody approved in a run."""


def round_trip(rows: Iterable[ChainedEvidence]) -> list[str]:
    """Every row whose payload does not parse, or does not write back to its stored bytes."""
    problems = []
    for row in rows:
        try:
            written = canonical_json(evidence_payload(parse_evidence(row.kind, row.payload)))
        except EvidenceError as err:
            problems.append(f"#{row.seq} {row.kind}: {err}")
            continue
        if written != row.payload:
            problems.append(f"#{row.seq} {row.kind}: stored {row.payload} but wrote {written}")
    return problems


def all_rows(db: Database) -> list[ChainedEvidence]:
    with db.connect() as conn:
        return list(ledger.iter_rows(conn))


# -- the runs that write evidence ----------------------------------------------------------------
@pytest.fixture(scope="module")
def demo_rows(tmp_path_factory) -> list[ChainedEvidence]:
    """The ledger `aims demo` leaves: three systems through the shipped workflows."""
    from aims_workflows.cli import main

    path = tmp_path_factory.mktemp("demo") / "aims-demo.db"
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("AIMS_DATABASE_URL", raising=False)
        try:
            main(["demo", "--db", str(path), "--quiet"])
        except SystemExit as ended:
            assert not ended.code, f"aims demo exited {ended.code}"
    db = Database(f"sqlite:///{path}")
    try:
        return all_rows(db)
    finally:
        db.dispose()


def _golden_module():
    spec = importlib.util.spec_from_file_location("golden_replay", GOLDEN / "test_golden.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


HISTORIES = sorted((GOLDEN / "histories").glob("*.json"))


@pytest.fixture(scope="module")
def golden_rows() -> dict[str, list[ChainedEvidence]]:
    golden = _golden_module()
    return {
        path.stem: golden.replay_with_rows(json.loads(path.read_text()))[1] for path in HISTORIES
    }


def failed_run_rows(spec_from_text) -> list[ChainedEvidence]:
    """A run that stops on an error in its definition: ``run.failed``."""
    loaded = spec_from_text(
        "id: bad-list\nversion: 1\ntitle: T\nsubject: ai_system\nsteps:\n"
        "  - id: many\n    kind: spawn\n    workflow: other\n    for_each: subject.risk_tier\n"
    )
    d = Driver(loaded, ai_system())
    d.start()
    assert d.run.status == "failed"
    return d.rows


def escalated_approval_rows() -> list[ChainedEvidence]:
    """An approval left open past its due date: reminded, overdue, escalated."""
    d = Driver(fixture_spec("risk-assessment"), ai_system())
    d.start()
    d.send(
        "task.created", ENGINEER, step_id="assess", attempt=1, ref="AIMS-1", assignee=ENGINEER.id
    )
    d.complete("assess", ENGINEER, {"likelihood": 3, "impact": 4, "rationale": "customer facing"})
    for days in (2, 3, 1):
        d.tick(days=days)
    d.decide(RISK_OWNER, "approve", "late, but reviewed")
    return d.rows


def approval_state_rows(spec_from_text) -> list[ChainedEvidence]:
    """An approval that expired and went to its alternate, a decision withdrawn within its
    window, and an approval above the step-up threshold confirmed in Jira."""
    from aims_workflows.engine import Actor

    text = (
        "id: states\nversion: 1\ntitle: T\nsubject: ai_system\nsteps:\n"
        "  - id: assess\n    kind: task\n    role: engineer\n    title: Assess\n"
        "    form:\n      - id: score\n        type: number\n        label: Score\n"
        "  - id: signoff\n    kind: approval\n    approvers: [risk_owner]\n    due: 2d\n"
        "    on_reject: assess\n    expire:\n      to: ciso\n    withdraw_within: 1h\n"
        "    step_up:\n      when: assess.score > 15\n"
    )
    d = Driver(spec_from_text(text), ai_system())
    d.start()
    d.send("task.created", ENGINEER, step_id="assess", attempt=1, ref="AIMS-1")
    d.complete("assess", ENGINEER, {"score": 20})
    d.tick(days=2)  # expired, asked of the ciso
    ciso = Actor("carl@example.com", "slack", ("ciso",))
    d.decide(ciso, "approve", "accepted")
    d.decide(Actor("carl@example.com", "jira", ("ciso",)), "confirm", "aims confirm")
    d.later(minutes=5)
    d.decide(ciso, "withdraw", "not yet")
    return d.rows


def dead_command_rows(harness) -> list[ChainedEvidence]:
    """A Jira issue that cannot be created (dead), queued again once Jira is fixed (revived)."""
    from aims_workflows.engine import Actor

    harness.add_system("Chatbot", in_scope=False)
    harness.tracker.fail_next(1, retryable=False, message="Jira has no field 'Likelihood'")
    run_id = harness.rt.start("ai-risk-assessment", system="Chatbot").run.run_id
    assert harness.pump().dead == 1
    assert harness.app.dispatcher.revive(run_id, actor=Actor("ana@example.com", "cli"))
    harness.pump()
    return all_rows(harness.db)


def checkpoint_rows(harness, key_file) -> list[ChainedEvidence]:
    """A signed checkpoint of the ledger head, as the worker makes one a day."""
    from aims_workflows.runtime.witness import WitnessKey, make_checkpoint

    key = WitnessKey.create(key_file)
    with harness.db.begin() as conn:
        make_checkpoint(conn, key, ["git"], harness.clock.now())
    return all_rows(harness.db)


def directory_rows(harness) -> list[ChainedEvidence]:
    """The directory of people: a link by hand, a delegation, a refused one, a stranger's task
    refused, and a role revoked when aims.yaml no longer gives it."""
    from datetime import timedelta

    from aims_workflows.engine import Actor
    from aims_workflows.runtime import DirectoryRefusal

    amy = Actor("amy@example.com", "cli", handle="amy")
    people = harness.rt.people
    people.link("eve@example.com", "jira", "712020:eve", by=amy)
    until = harness.clock.now() + timedelta(days=5)
    people.delegate("rita@example.com", "amy@example.com", "risk_owner", until, "leave", by=amy)
    with pytest.raises(DirectoryRefusal):
        people.delegate("rita@example.com", "rita@example.com", "risk_owner", until, "x", by=amy)
    _, started = harness.add_system("Directory world")
    run_id = next(r for r in started if harness.run_row(r).workflow_id == "ai-risk-assessment")
    harness.rt.complete_task(run_id, "identify", {}, person="stranger@elsewhere.org")
    roles = {k: v for k, v in harness.rt.config.roles.items() if k != "ciso"}
    harness.rt.config = harness.rt.config.model_copy(update={"roles": roles})
    with harness.db.begin() as conn:
        assert people.sync_roles(conn, harness.clock.now()).revoked == ["carl@example.com ciso"]
    return all_rows(harness.db)


# -- every row parses and writes back byte for byte -----------------------------------------------
def test_every_row_of_the_demo_parses_and_writes_back_byte_for_byte(demo_rows):
    assert len(demo_rows) > 150
    assert round_trip(demo_rows) == []


@pytest.mark.parametrize("name", [p.stem for p in HISTORIES])
def test_every_row_of_a_golden_history_parses_and_writes_back_byte_for_byte(name, golden_rows):
    assert golden_rows[name]
    assert round_trip(golden_rows[name]) == []


def test_every_kind_is_written_by_one_of_the_runs(
    demo_rows, golden_rows, harness, spec_from_text, tmp_path
):
    worlds = {
        "failed run": failed_run_rows(spec_from_text),
        "escalated approval": escalated_approval_rows(),
        "approval states": approval_state_rows(spec_from_text),
        "dead command": dead_command_rows(harness),
        "ledger checkpoint": checkpoint_rows(harness, tmp_path / "witness.key"),
        "directory": directory_rows(harness),
    }
    for name, rows in worlds.items():
        assert round_trip(rows) == [], name
    written = {row.kind for row in demo_rows}
    written |= {row.kind for rows in golden_rows.values() for row in rows}
    written |= {row.kind for rows in worlds.values() for row in rows}
    assert written <= set(EVIDENCE_KINDS), "a kind outside the contract was written"
    assert set(EVIDENCE_KINDS) - written == set(NOT_PRODUCED_HERE)


# -- payloads that do not fit -----------------------------------------------------------------
COMPLETED = {"answers": {"impact": 3}, "attempt": 1, "by": "eve@example.com", "overdue": False}


def refusal(kind: str, payload) -> str:
    with pytest.raises(EvidenceError) as caught:
        parse_evidence(kind, payload)
    return str(caught.value)


def test_an_unknown_field_is_refused_naming_the_kind_and_the_field():
    message = refusal("task.completed", {**COMPLETED, "colour": "red"})
    assert "evidence task.completed does not fit its contract" in message
    assert "unknown field 'colour'" in message
    assert "task.completed has the fields answers, by, attempt, overdue" in message


def test_a_value_of_the_wrong_type_is_refused_naming_the_kind_and_the_field():
    message = refusal("task.completed", json.dumps({**COMPLETED, "attempt": "1"}))
    assert "evidence task.completed" in message
    assert "field 'attempt': input should be a valid integer (got \"1\")" in message
    # exact types: a yes/no is not a number, nor a number text
    assert "field 'overdue'" in refusal("task.completed", {**COMPLETED, "overdue": 0})
    assert "field 'attempt'" in refusal("task.completed", {**COMPLETED, "attempt": True})


def test_nested_and_missing_fields_are_named_by_their_path():
    subject = {"type": "ai_system", "id": 7, "name": "Chatbot", "owner": None, "attributes": {}}
    message = refusal("subject.changed", {"before": subject, "after": {**subject, "id": "7"}})
    assert "field 'before.id': input should be a valid string (got 7)" in message
    assert "field 'after.id'" not in message
    assert "field 'by': missing" in refusal(
        "task.completed", {"answers": {}, "attempt": 1, "overdue": True}
    )


def test_a_payload_that_is_not_a_json_object_is_refused():
    assert "the payload must be a JSON object" in refusal("task.completed", "[1, 2]")
    assert "the payload is not JSON" in refusal("task.completed", "{answers")


def test_a_timestamp_must_be_the_stored_text_form():
    good = {"due_at": "2026-01-19T09:00:00.000000Z"}
    assert canonical_json(evidence_payload(parse_evidence("task.overdue", good))) == (
        '{"due_at":"2026-01-19T09:00:00.000000Z"}'
    )
    for other in ("2026-01-19T09:00:00Z", "2026-01-19T09:00:00.000000+00:00", "2026-01-19"):
        message = refusal("task.overdue", {"due_at": other})
        assert "field 'due_at': a timestamp is UTC text with microseconds" in message


def test_an_unknown_kind_is_refused_with_the_close_matches():
    with pytest.raises(EvidenceError) as caught:
        parse_evidence("task.complete", COMPLETED)
    assert caught.value.message == "unknown evidence kind 'task.complete'"
    assert caught.value.hint.startswith("did you mean task.completed or")
    with pytest.raises(EvidenceError) as caught:
        parse_evidence("zzz", {})
    assert "task.completed" in caught.value.hint  # nothing close: every kind is listed


# -- the models ----------------------------------------------------------------------------------
def test_fields_are_attributes_and_the_models_are_frozen():
    completed = parse_evidence("task.completed", canonical_json(COMPLETED))
    assert isinstance(completed, TaskCompleted)
    assert (completed.by, completed.attempt, completed.overdue) == ("eve@example.com", 1, False)
    assert completed.answers == {"impact": 3}
    with pytest.raises(ValueError):
        completed.by = "mallory@example.com"  # type: ignore[misc]


def test_a_model_made_in_code_gives_the_payload_the_engine_writes():
    # what the engine writes for task.requested today (engine/_tasks.py), from a datetime
    requested = TaskRequested(title="Assess", role="engineer", attempt=1, due_at=T0)
    assert canonical_json(evidence_payload(requested)) == (
        '{"attempt":1,"due_at":"2026-01-05T09:00:00.000000Z","role":"engineer","title":"Assess"}'
    )
    # a null that is written stays written
    issued = TaskIssued(ref=None, assignee=None, attempt=2)
    assert canonical_json(evidence_payload(issued)) == '{"assignee":null,"attempt":2,"ref":null}'


def test_a_field_added_later_stays_absent_from_rows_written_before_it():
    class TaskIssuedLater(TaskIssued):  # the contract one minor version on
        board: str | None = None

    stored = '{"assignee":"eve@example.com","attempt":1,"ref":"AIMS-1"}'
    assert canonical_json(evidence_payload(TaskIssuedLater.model_validate_json(stored))) == stored
    with_null = '{"assignee":null,"attempt":1,"board":null,"ref":"AIMS-1"}'
    assert canonical_json(evidence_payload(TaskIssuedLater.model_validate_json(with_null))) == (
        with_null
    )


def test_the_registry_holds_one_documented_model_per_kind():
    in_areas = [model for models in AREAS.values() for model in models]
    assert len(in_areas) == len(set(in_areas)) == len(EVIDENCE_KINDS)
    assert {model.KIND: model for model in in_areas} == EVIDENCE_KINDS
    assert set(typing.get_args(AnyEvidence)) == set(EVIDENCE_KINDS.values())
    for kind, model in EVIDENCE_KINDS.items():
        assert model.__doc__ and model.__doc__ != model.__mro__[1].__doc__, kind
        config = model.model_config
        assert config.get("frozen") and config.get("extra") == "forbid", kind
        for name, field in model.model_fields.items():
            assert field.description, f"{kind}.{name} has no description"
            optional = (
                ADDED_IN_1_1.get(kind, ()) + ADDED_IN_1_5.get(kind, ()) + ADDED_IN_1_6.get(kind, ())
            )
            assert field.is_required() or name in optional, (
                f"{kind}.{name}: every field is in every row today"
            )


def test_the_inventory_snapshot_mirrors_the_inventory_record():
    assert list(AISystemSnapshot.model_fields) == list(AISystemRecord.model_fields)
    for name, field in AISystemRecord.model_fields.items():
        assert AISystemSnapshot.model_fields[name].annotation == field.annotation, name


def test_the_package_imports_only_pydantic_the_standard_library_and_its_engine_neighbours():
    allowed_relative = {(1, None), (2, "evidence"), (3, "errors")}
    for path in sorted(PACKAGE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                roots = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                roots = {(node.module or "").split(".")[0]}
            elif isinstance(node, ast.ImportFrom):
                module = node.module if node.level > 1 else None
                assert (node.level, module) in allowed_relative, (path.name, node.module)
                continue
            else:
                continue
            for root in roots:
                assert root in sys.stdlib_module_names or root in ("pydantic", "__future__"), (
                    path.name,
                    root,
                )


# -- the JSON Schema agrees with the models ------------------------------------------------------
def test_every_row_of_the_demo_validates_against_the_json_schema(demo_rows):
    import jsonschema

    from aims_workflows.engine.evidence_kinds import evidence_json_schema

    validator = jsonschema.Draft202012Validator(evidence_json_schema())
    problems = [
        f"#{row.seq} {row.kind}: {error.message}"
        for row in demo_rows
        for error in validator.iter_errors({"kind": row.kind, "payload": json.loads(row.payload)})
    ]
    assert problems == []
