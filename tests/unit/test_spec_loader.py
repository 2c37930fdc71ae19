"""The workflow loader: every problem located as ``file:line:column path: message (hint)``,
all of them reported at once, and bad input of any kind turned into a SpecError."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aims_workflows.errors import NotFound, SpecError
from aims_workflows.spec import Problem, load_spec, load_workflows, parse_spec, spec_hash
from aims_workflows.spec.loader import MAX_FILE_BYTES
from aims_workflows.spec.model import ApprovalStep, NotifyStep

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "workflows"
GOOD = FIXTURES / "good"
BAD = FIXTURES / "bad"


def problems_of(call, *args, **kwargs) -> list[str]:
    with pytest.raises(SpecError) as caught:
        call(*args, **kwargs)
    err = caught.value
    assert err.problems, "a SpecError always carries at least one problem"
    assert all(isinstance(p, Problem) for p in err.problems)
    # the exception text lists every problem, so a CLI can print it as it is
    for p in err.problems:
        assert str(p) in str(err)
    return [str(p) for p in err.problems]


def minimal(**overrides: str) -> str:
    """A valid one-step workflow as text; ``overrides`` replace whole top-level lines."""
    lines = {
        "id": "id: tiny",
        "version": "version: 1",
        "title": "title: Tiny",
        "subject": "subject: ai_system",
    }
    lines.update(overrides)
    head = "\n".join(v for v in lines.values() if v)
    return (
        head + "\nsteps:\n  - id: tell\n    kind: notify\n    to: [aims_owner]\n    message: hi\n"
    )


# -- good files ------------------------------------------------------------------------------


def test_the_good_fixtures_load_together_and_pin_a_content_hash():
    workflows = load_workflows([GOOD])
    assert workflows.ids() == [
        "change-review",
        "internal-audit",
        "nonconformity",
        "risk-assessment",
    ]
    risk = workflows.get("risk-assessment")
    assert risk.spec.version == 1 and risk.content_hash == spec_hash(risk.spec)
    assert len(risk.content_hash) == 64
    assert "risk-assessment" in workflows and len(workflows) == 4


def test_hash_ignores_comments_and_formatting_but_not_content():
    text = (GOOD / "nonconformity.yaml").read_text()
    base = parse_spec(text).content_hash
    assert (
        parse_spec(
            "# a new comment\n" + text.replace("duration: 30d", "duration:   30d  # settle")
        ).content_hash
        == base
    )
    assert parse_spec(text.replace("duration: 30d", "duration: 31d")).content_hash != base


def test_a_step_looked_up_with_its_kind_comes_back_as_that_kind():
    spec = parse_spec(minimal()).spec
    assert spec.step("tell") is spec.step("tell", NotifyStep)
    with pytest.raises(TypeError, match="step 'tell' is a notify step, not ApprovalStep"):
        spec.step("tell", ApprovalStep)
    with pytest.raises(KeyError):
        spec.step("nowhere", NotifyStep)


def test_unknown_workflow_id_in_a_set_is_not_found_with_a_hint():
    workflows = load_workflows([GOOD])
    with pytest.raises(NotFound) as caught:
        workflows.get("risk-asessment")
    assert caught.value.hint == "did you mean 'risk-assessment'?"


def test_parse_spec_accepts_utf8_bytes_and_a_bom():
    text = minimal(title="title: Évaluation des risques")
    assert parse_spec(text.encode()).spec.title == "Évaluation des risques"
    assert parse_spec(b"\xef\xbb\xbf" + text.encode()).spec.id == "tiny"


# -- each problem kind, exactly located -----------------------------------------------------


def test_semantic_problems_are_all_reported_at_once_in_file_order():
    path = str(BAD / "many-problems.yaml")
    assert problems_of(load_spec, path) == [
        f"{path}:5:13 evidences[0]: unknown clause or control id 'A.5.22' (did you mean 'A.5.2'?)",
        f"{path}:9:5 steps[0].role: unknown role 'enginer' (did you mean 'engineer'?)",
        f"{path}:10:5 steps[0].title: unknown field 'subject.nmae' in 'Assess {{{{ subject.nmae "
        "}}' (did you mean 'name'?)",
        f"{path}:15:9 steps[1].cases[0].when: unknown field 'assess.score' in 'assess.score > 1' "
        "('assess' has: completed_by, issue)",
        f"{path}:17:5 steps[1].otherwise: unknown target 'endd' (did you mean 'end'?)",
        f"{path}:21:5 steps[2].message: unknown name 'foo' in '{{{{ foo }}}}' (names are subject, "
        "inputs, item and step ids)",
    ]


def test_structural_problems_are_all_reported_at_once():
    path = str(BAD / "structure.yaml")
    found = problems_of(load_spec, path)
    assert sorted(found) == sorted(
        [
            f"{path}:1:1 id: must be lower-case words joined by '-' (e.g. 'ai-risk-assessment')",
            f"{path}:2:1 version: input should be a valid "
            "integer, unable to parse string as an integer",
            f"{path}:3:1 title: input should be a valid string",
            f"{path}:4:1 subject: 'robot' is not one of 'ai_system', 'organisation' or 'finding'",
            f"{path}:5:1 stepz: unknown key 'stepz' (did you mean 'steps'?)",
            f"{path}:7:5 steps[0]: unknown step kind 'tsk' (did you mean 'task'?)",
            f"{path}:13:5 steps[1].duration: 'soon' is not a duration: write a number and "
            "a unit (w, d, h, m, s) such as '90d' or '1d12h', or ISO 8601 such as 'P90D'",
            f"{path}:14:5 steps[1].titel: unknown key 'titel' (did you mean 'title'?)",
        ]
    )


def test_problem_fields_are_separate_for_tools():
    with pytest.raises(SpecError) as caught:
        load_spec(BAD / "structure.yaml")
    stepz = next(p for p in caught.value.problems if p.path == "stepz")
    assert (Path(stepz.file).name, stepz.line, stepz.column) == ("structure.yaml", 5, 1)
    assert (stepz.message, stepz.hint) == ("unknown key 'stepz'", "did you mean 'steps'?")


def test_unreachable_steps_are_located_at_the_step():
    path = str(BAD / "unreachable.yaml")
    hint = "no step leads to it: point a 'next', 'goto' or 'on_reject' at '{0}' or remove it"
    assert problems_of(load_spec, path) == [
        f"{path}:11:5 steps[1]: step 'orphan' is unreachable ({hint.format('orphan')})",
        f"{path}:15:5 steps[2]: step 'again' is unreachable ({hint.format('again')})",
    ]


def test_a_loop_with_no_exit_names_every_stuck_step():
    text = """id: looping
version: 1
title: T
subject: ai_system
steps:
  - id: a
    kind: task
    role: engineer
    title: t
  - id: b
    kind: notify
    to: [aims_owner]
    message: hi
    next: a
"""
    hint = "give one step of the loop a way out, e.g. a decision case or 'next: end'"
    assert problems_of(parse_spec, text, "loop.yaml") == [
        "loop.yaml:6:5 steps[0]: loop with no exit: from 'a' "
        f"the run can never reach 'end' (a -> b) ({hint})",
        "loop.yaml:10:5 steps[1]: loop with no exit: from "
        f"'b' the run can never reach 'end' (a -> b) ({hint})",
    ]


def test_a_loop_with_a_decision_exit_is_fine():
    # the nonconformity fixture loops back to 'correct' until the check says effective
    assert load_spec(GOOD / "nonconformity.yaml").spec.id == "nonconformity"


def test_duplicate_step_field_and_input_ids():
    text = """id: dups
version: 1
title: T
subject: ai_system
inputs:
  - id: reason
  - id: reason
steps:
  - id: a
    kind: task
    role: engineer
    title: t
    form:
      - {id: x, type: text, label: X}
      - {id: x, type: bool, label: Y}
  - id: a
    kind: notify
    to: [aims_owner]
    message: hi
"""
    assert problems_of(parse_spec, text, "d.yaml") == [
        "d.yaml:7:5 inputs[1].id: duplicate input id 'reason'",
        "d.yaml:15:10 steps[0].form[1].id: duplicate field id 'x'",
        "d.yaml:16:5 steps[1].id: duplicate step id 'a' (steps[0] has it already)",
    ]


def test_unknown_roles_everywhere_a_role_is_named():
    text = """id: roles
version: 1
title: T
subject: ai_system
steps:
  - id: a
    kind: task
    role: engineer
    title: t
    due: 1d
    escalate: {after: 1d, to: cisoo}
  - id: ok
    kind: approval
    approvers: [risk_ownr, wizard]
    separation:
      forbidden_roles: [enginer]
    on_reject: a
  - id: tell
    kind: notify
    to: [top_managment]
    message: hi
"""
    assert problems_of(parse_spec, text, "r.yaml") == [
        "r.yaml:11:27 steps[0].escalate.to: unknown role 'cisoo' (did you mean 'ciso'?)",
        "r.yaml:14:17 steps[1].approvers[0]: unknown role 'risk_ownr' (did you mean 'risk_owner'?)",
        "r.yaml:14:28 steps[1].approvers[1]: unknown role "
        "'wizard' (declare it under 'roles' in aims.yaml)",
        "r.yaml:16:25 steps[1].separation.forbidden_roles[0]: "
        "unknown role 'enginer' (did you mean 'engineer'?)",
        "r.yaml:20:10 steps[2].to[0]: unknown role "
        "'top_managment' (did you mean 'top_management'?)",
    ]


def test_roles_from_configuration_replace_the_defaults():
    text = minimal().replace("[aims_owner]", "[model_committee]")
    assert parse_spec(text, roles=["model_committee"]).spec.steps[0].to == ("model_committee",)
    assert problems_of(parse_spec, minimal(), "x.yaml", roles=["model_committee"]) == [
        "x.yaml:8:10 steps[0].to[0]: unknown role 'aims_owner' (did you mean 'system_owner'?)"
    ]


def test_system_owner_is_always_a_known_role():
    text = minimal().replace("[aims_owner]", "[system_owner]")
    assert parse_spec(text, roles=[]).spec.steps[0].to == ("system_owner",)


def test_catalogue_ids_must_use_the_canonical_spelling():
    found = problems_of(
        parse_spec, minimal(id="id: tiny\nevidences: [a.5.2, 6.1.2, Z.1]"), "c.yaml"
    )
    assert found == [
        "c.yaml:2:13 evidences[0]: unknown clause or control id 'a.5.2' (did you mean 'A.5.2'?)",
        "c.yaml:2:27 evidences[2]: unknown clause or control id 'Z.1' (did you mean '4.1'?)",
    ]


def test_approves_and_separation_must_name_the_right_kind_of_step():
    text = """id: refs
version: 1
title: T
subject: ai_system
steps:
  - id: assess
    kind: task
    role: engineer
    title: t
  - id: tell
    kind: notify
    to: [aims_owner]
    message: hi
  - id: ok
    kind: approval
    approvers: [risk_owner]
    approves: [tell, asess]
    separation:
      not_assignee_of: [tell]
    on_reject: assess
"""
    assert problems_of(parse_spec, text, "s.yaml") == [
        "s.yaml:17:16 steps[2].approves[0]: 'tell' is not a task or record step",
        "s.yaml:17:22 steps[2].approves[1]: 'asess' is not "
        "a task or record step (did you mean 'assess'?)",
        "s.yaml:19:25 steps[2].separation.not_assignee_of[0]: 'tell' is not a task step",
    ]


def test_expression_syntax_and_names_are_checked_before_a_run_starts():
    text = """id: exprs
version: 1
title: T
subject: finding
inputs:
  - id: area
trigger:
  scope: "subject.severity == 'major'"
steps:
  - id: bad_syntax
    kind: decision
    cases:
      - when: "1 +"
        goto: end
      - when: "inputs.aera"
        goto: end
    otherwise: rec
  - id: rec
    kind: record
    artefact: thing
    fields:
      a: "item"
      b: "rec.zz"
      c: "subject.risk_tier"
"""
    assert problems_of(parse_spec, text, "e.yaml") == [
        "e.yaml:13:9 steps[0].cases[0].when: cannot parse '1 +': unexpected 'end of template'",
        "e.yaml:15:9 steps[0].cases[1].when: unknown field "
        "'inputs.aera' in 'inputs.aera' (did you mean 'area'?)",
        "e.yaml:22:7 steps[1].fields.a: unknown name 'item' in 'item' "
        "('item' is only known in the inputs and finding of a spawn with 'for_each')",
        "e.yaml:23:7 steps[1].fields.b: unknown field 'rec.zz' in 'rec.zz' ('rec' has: a, b, c)",
        "e.yaml:24:7 steps[1].fields.c: unknown field 'subject.risk_tier' in 'subject.risk_tier' "
        "('subject' has: clause, description, id, raised_at, severity, source, source_type, "
        "system, title, tracker_issue)",
    ]


def test_item_is_known_only_inside_for_each():
    text = """id: loops
version: 1
title: T
subject: ai_system
steps:
  - id: many
    kind: spawn
    workflow: other
    for_each: "[1, 2]"
    inputs:
      n: "item"
  - id: one
    kind: spawn
    workflow: other
    inputs:
      n: "item"
"""
    found = problems_of(parse_spec, text, "i.yaml")
    assert found == [
        "i.yaml:16:7 steps[1].inputs.n: unknown name 'item' in 'item' "
        "('item' is only known in the inputs and finding of a spawn with 'for_each')"
    ]


def test_trigger_rules():
    text = """id: triggers
version: 1
title: T
subject: organisation
trigger:
  schedule: {every: 90d}
  on:
    - event: ai_system.changed
      fields: [risk_teir]
    - event: run.completed
    - event: finding.raised
      workflow: other
coverage: {kpi: risk_assessment, valid_for: 365d}
steps:
  - id: tell
    kind: notify
    to: [aims_owner]
    message: hi
"""
    assert problems_of(parse_spec, text, "t.yaml") == [
        "t.yaml:8:7 trigger.on[0].event: 'ai_system.changed' "
        "needs 'subject: ai_system', not 'organisation'",
        "t.yaml:9:16 trigger.on[0].fields[0]: unknown inventory "
        "field 'risk_teir' (did you mean 'risk_tier'?)",
        "t.yaml:10:7 trigger.on[1]: 'run.completed' needs 'workflow': the workflow whose "
        "completion starts this one",
        "t.yaml:11:7 trigger.on[2].event: 'finding.raised' "
        "needs 'subject: finding', not 'organisation'",
        "t.yaml:12:7 trigger.on[2].workflow: 'workflow' is only for 'run.completed'",
        "t.yaml:13:1 coverage: coverage KPIs count AI systems: it needs 'subject: ai_system'",
    ]


def test_form_field_rules_are_located_at_the_field():
    text = """id: forms
version: 1
title: T
subject: ai_system
steps:
  - id: a
    kind: task
    role: engineer
    title: t
    form:
      - {id: pick, type: choice, label: Pick}
      - {id: n, type: number, label: N, min: 5, max: 1}
      - {id: t, type: text, label: T, pattern: "("}
      - {id: b, type: bool, label: B, integer: true}
      - {id: Bad-Id, type: wrong, label: X}
"""
    found = problems_of(parse_spec, text, "f.yaml")
    assert sorted(found) == sorted(
        [
            "f.yaml:11:9 steps[0].form[0]: a choice field needs 'choices'",
            "f.yaml:12:9 steps[0].form[1]: 'min' (5.0) is greater than 'max' (1.0)",
            "f.yaml:13:9 steps[0].form[2]: 'pattern' is not a valid regular expression: missing ), "
            "unterminated subpattern at position 0",
            "f.yaml:14:9 steps[0].form[3]: 'min', 'max' and 'integer' are only for number fields",
            "f.yaml:15:10 steps[0].form[4].id: must be lower-case snake_case: letters, digits and "
            "'_', starting with a letter",
            "f.yaml:15:22 steps[0].form[4].type: 'wrong' is not one of 'text', "
            "'number', 'choice', 'multi_choice', 'date', 'user', 'url' or 'bool'",
        ]
    )


def test_missing_required_keys_and_missing_kind():
    text = (
        "id: nokeys\nversion: 1\nsteps:\n"
        "  - id: a\n    role: engineer\n"
        "  - kind: approval\n    id: b\n"
    )
    found = problems_of(parse_spec, text, "m.yaml")
    assert sorted(found) == sorted(
        [
            "m.yaml:1:1 title: missing required key 'title'",
            "m.yaml:1:1 subject: missing required key 'subject'",
            "m.yaml:4:5 steps[0]: missing required key 'kind' (kinds are task, approval, decision, "
            "spawn, record, notify, wait)",
            "m.yaml:6:5 steps[1].approvers: missing required key 'approvers'",
            "m.yaml:6:5 steps[1].on_reject: missing required key 'on_reject'",
        ]
    )


def test_unknown_step_kind_without_a_near_miss_lists_the_kinds():
    text = minimal().replace("kind: notify", "kind: teleport")
    assert problems_of(parse_spec, text, "k.yaml") == [
        "k.yaml:6:5 steps[0]: unknown step kind 'teleport' (kinds are task, approval, decision, "
        "spawn, record, notify, wait)"
    ]


def test_literal_near_miss_gets_a_hint():
    text = minimal(subject="subject: ai_sytem")
    assert problems_of(parse_spec, text, "l.yaml") == [
        "l.yaml:4:1 subject: 'ai_sytem' is not one of 'ai_system', 'organisation' or 'finding' "
        "(did you mean 'ai_system'?)"
    ]


# -- bad input of every kind -> SpecError, never another exception ---------------------------


@pytest.mark.parametrize(
    "name, expected",
    [
        ("binary.yaml", "{path}: is a binary file, not YAML text (give a .yaml workflow file)"),
        ("latin1.yaml", "{path}: is not UTF-8 text (byte 7) (save the file as UTF-8)"),
        (
            "empty.yaml",
            "{path}: is empty (a workflow needs at least id, version, title, subject and steps)",
        ),
        ("syntax.yaml", "{path}:3:1: YAML syntax: expected ',' or ']', but got '<stream end>'"),
        (
            "top-list.yaml",
            "{path}:1:1: must be a mapping of keys (id, version, steps ...), not list",
        ),
    ],
)
def test_bad_files(name, expected):
    path = str(BAD / name)
    assert problems_of(load_spec, path) == [expected.format(path=path)]


@pytest.mark.parametrize(
    "text, message",
    [
        ("   \n\t\n", "is empty"),
        ("hello\n", "must be a mapping of keys (id, version, steps ...), not str"),
        ("42\n", "must be a mapping of keys (id, version, steps ...), not int"),
        ("~\n", "must be a mapping of keys (id, version, steps ...), not NoneType"),
        (
            "id: a-b\nid: c-d\n",
            'YAML syntax: found duplicate key "id" with value "c-d" (original value: "a-b")',
        ),
        ("a: 1\n---\nb: 2\n", "YAML syntax: but found another document"),
        (
            "id: \x07\n",
            "YAML syntax: unacceptable character #x0007: special characters are not allowed",
        ),
        ("id: a\x00b\n", "is a binary file, not YAML text"),
        ("&x {b: *x}\n", "YAML syntax: an alias refers to a node that contains it"),
    ],
)
def test_bad_text(text, message):
    with pytest.raises(SpecError) as caught:
        parse_spec(text, "t.yaml")
    assert [p.message for p in caught.value.problems] == [message]


def test_an_alias_bomb_is_refused_quickly():
    text = 'a: &a ["x","x","x","x","x","x","x","x","x"]\n' + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 9) + "]\n"
        for i in range(7)
    )
    with pytest.raises(SpecError) as caught:
        parse_spec(text, "bomb.yaml")
    assert caught.value.problems[0].message.startswith("YAML syntax: expands to more than")


def test_very_deep_nesting_is_a_spec_error():
    with pytest.raises(SpecError) as caught:
        parse_spec("a: " + "[" * 1200 + "]" * 1200, "deep.yaml")
    assert "nested too deeply" in caught.value.problems[0].message


def test_odd_but_valid_yaml_reaches_the_schema():
    # non-string keys, tags, merge keys and timestamps are data, not crashes
    for text in (
        "? [a, b]\n: c\n",
        "1: 2\n",
        "id: !foo bar\n",
        "a: &m {x: 1}\nb: {<<: *m}\n",
        "id: 2001-12-14\n",
    ):
        with pytest.raises(SpecError) as caught:
            parse_spec(text, "odd.yaml")
        assert any(p.message == "missing required key 'steps'" for p in caught.value.problems)


def test_a_huge_file_is_refused_before_reading(tmp_path):
    big = tmp_path / "big.yaml"
    with big.open("w") as handle:
        handle.write("# padding\n" * (MAX_FILE_BYTES // 10 + 1))
    size = big.stat().st_size
    assert problems_of(load_spec, big) == [
        f"{big}: is {size} bytes; workflow files are limited to {MAX_FILE_BYTES}"
    ]


def test_a_directory_and_a_missing_file(tmp_path):
    assert problems_of(load_spec, tmp_path) == [
        f"{tmp_path}: is a directory (pass its .yaml files or use load_workflows)"
    ]
    missing = tmp_path / "nope.yaml"
    assert problems_of(load_spec, missing) == [f"{missing}: no such file (check the path)"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_file(tmp_path):
    locked = tmp_path / "locked.yaml"
    locked.write_text(minimal())
    locked.chmod(0)
    try:
        assert problems_of(load_spec, locked) == [f"{locked}: cannot be read: Permission denied"]
    finally:
        locked.chmod(0o600)


# -- several files at once ------------------------------------------------------------------


def test_every_problem_of_every_file_is_reported_together(tmp_path):
    shutil.copy(BAD / "many-problems.yaml", tmp_path)
    shutil.copy(BAD / "empty.yaml", tmp_path)
    shutil.copy(GOOD / "nonconformity.yaml", tmp_path)
    (tmp_path / "notes.txt").write_text("not a workflow")
    with pytest.raises(SpecError) as caught:
        load_workflows([tmp_path])
    files = [Path(p.file).name for p in caught.value.problems]
    assert files == ["empty.yaml"] + ["many-problems.yaml"] * 6


def test_cross_file_spawn_and_trigger_checks():
    path = str(BAD / "spawn-unknown.yaml")
    found = problems_of(load_workflows, [GOOD, path])
    assert found == [
        f"{path}:12:5 steps[0].workflow: unknown workflow "
        "'risk-asessment' (did you mean 'risk-assessment'?)",
        f"{path}:17:7 steps[1].inputs.reasn: 'risk-assessment' "
        "has no input 'reasn' (did you mean 'reason'?)",
        f"{path}:20:5 steps[2].workflow: 'nonconformity' runs on a finding, this "
        "workflow on a ai_system (add 'finding:' to raise a finding for it)",
        f"{path}:8:7 trigger.on[0].workflow: unknown workflow "
        "'risk-asessment' (did you mean 'risk-assessment'?)",
    ]


def test_a_spawn_alone_is_not_checked_against_other_files():
    assert load_spec(BAD / "spawn-unknown.yaml").spec.id == "spawn-unknown"


def test_duplicate_workflow_id_across_files(tmp_path):
    shutil.copy(GOOD / "nonconformity.yaml", tmp_path / "a.yaml")
    shutil.copy(GOOD / "nonconformity.yaml", tmp_path / "b.yaml")
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    assert problems_of(load_workflows, [tmp_path]) == [
        f"{b}:1:1 id: duplicate workflow id 'nonconformity' ({a} has it already)"
    ]


def test_spawn_of_a_finding_workflow_and_required_inputs(tmp_path):
    text = (
        (GOOD / "nonconformity.yaml")
        .read_text()
        .replace(
            "  - id: area\n    type: text\n", "  - id: area\n    type: text\n    required: true\n"
        )
    )
    (tmp_path / "nonconformity.yaml").write_text(text)
    parent = tmp_path / "parent.yaml"
    parent.write_text("""id: parent
version: 1
title: T
subject: ai_system
steps:
  - id: raise
    kind: spawn
    workflow: nonconformity
    finding:
      title: "'t'"
      severity: "'minor'"
  - id: audit
    kind: spawn
    workflow: parent
    finding:
      title: "'t'"
      severity: "'minor'"
""")
    assert problems_of(load_workflows, [tmp_path]) == [
        f"{parent}:6:5 steps[0].inputs: missing required input 'area' of 'nonconformity'",
        f"{parent}:15:5 steps[1].finding: 'parent' does not take a finding as its subject",
    ]


def test_a_directory_of_good_and_one_bad_file_reports_only_the_bad(tmp_path):
    for name in ("risk-assessment.yaml", "change-review.yaml"):
        shutil.copy(GOOD / name, tmp_path)
    shutil.copy(BAD / "syntax.yaml", tmp_path)
    found = problems_of(load_workflows, [tmp_path])
    assert found == [
        f"{tmp_path / 'syntax.yaml'}:3:1: YAML syntax: expected ',' or ']', but got '<stream end>'"
    ]


# -- fuzzing --------------------------------------------------------------------------------

_yamlish = st.lists(
    st.sampled_from(
        [
            "id: ",
            "version: ",
            "title: ",
            "subject: ",
            "steps:",
            "\n",
            "  ",
            "- ",
            "kind: ",
            "task",
            "approval",
            "decision",
            "ai_system",
            "{",
            "}",
            "[",
            "]",
            ",",
            ":",
            "&a ",
            "*a",
            "!!",
            "|",
            ">",
            "'",
            '"',
            "#",
            "---",
            "...",
            "?",
            "{{ subject.name }}",
            "1",
            "1.5",
            "true",
            "~",
            "14d",
            "x",
            "on_reject: ",
            "cases:",
            "\t",
            "%YAML 1.2",
            "<<: ",
            "\ufeff",
            "é",
        ]
    ),
    max_size=40,
).map("".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=300), st.text(max_size=300), _yamlish))
def test_parse_spec_only_ever_succeeds_or_raises_spec_error(data):
    try:
        parse_spec(data, "fuzz.yaml")
    except SpecError as err:
        assert err.problems
        for p in err.problems:
            assert p.file == "fuzz.yaml" and p.line >= 0 and p.column >= 0
            str(p)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_mutating_a_good_file_only_ever_succeeds_or_raises_spec_error(data):
    text = (GOOD / "risk-assessment.yaml").read_text()
    position = data.draw(st.integers(0, len(text)))
    cut = data.draw(st.integers(0, 20))
    insert = data.draw(_yamlish)
    try:
        parse_spec(text[:position] + insert + text[position + cut :], "mutant.yaml")
    except SpecError as err:
        assert err.problems


def test_templates_may_bind_their_own_names():
    message = (
        "{% set n = subject.name %}{% for j in subject.jurisdictions %}{{ j }} {{ n }}{% endfor %}"
        "{% for k, v in {'a': 1}.items() %}{{ k }}{{ v }}{% endfor %}{{ ghost }}"
    )
    text = minimal().replace("message: hi", "message: " + json.dumps(message))
    assert problems_of(parse_spec, text, "b.yaml") == [
        f"b.yaml:9:5 steps[0].message: unknown name 'ghost' in {message!r} (names are subject, "
        "inputs, item and step ids)"
    ]


def test_an_unsupported_yaml_directive_is_a_spec_error():
    with pytest.raises(SpecError) as err:
        parse_spec("%YAML 1.0\n---\nid: x\n", "old.yaml")
    assert str(err.value.problems[0]).startswith("old.yaml:1:1: YAML syntax: unsupported YAML")
