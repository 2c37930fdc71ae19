"""The JSON Schema of workflow files, for editors and other tools.

The schema is generated from the pydantic models (:class:`~aims_workflows.spec.model.WorkflowSpec`),
so it can never disagree with the loader about which keys exist and what type each one has. It
adds what an editor shows on hover: a description for every key, taken from the models where they
have one and from :data:`KEY_DESCRIPTIONS` otherwise.

A schema covers the shape of one file only. What it cannot express (step targets that exist,
reachability, loops with no exit, known roles and catalogue ids, names used in expressions) is
checked by :func:`~aims_workflows.spec.load_workflows`; run it as well.

``docs/workflow.schema.json`` holds :func:`schema_text` and is named at the top of every shipped
workflow so that editors using yaml-language-server validate and complete them::

    # yaml-language-server: $schema=../docs/workflow.schema.json

Regenerate it after changing the models with::

    python -m aims_workflows.spec.schema docs/workflow.schema.json
"""

from __future__ import annotations

import copy
import json
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

from .model import WorkflowSpec

__all__ = [
    "SCHEMA_DIALECT",
    "SCHEMA_ID",
    "KEY_DESCRIPTIONS",
    "workflow_json_schema",
    "schema_text",
    "write_schema",
]

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_ID = "urn:aims-workflows:schema:workflow:1"
"""Stable identifier of this schema; the trailing number changes only if the language breaks."""

_ROOT = "WorkflowSpec"

# (definition, key) -> description, for keys whose model field carries none. The models stay
# the single source of shape; these are only the words an editor shows.
KEY_DESCRIPTIONS: dict[tuple[str, str], str] = {
    # workflow
    (_ROOT, "id"): (
        "Workflow id: lower-case words joined by '-', unique "
        "among loaded workflows, e.g. 'ai-risk-assessment'."
    ),
    (_ROOT, "version"): (
        "Version number (1, 2, ...). A run stays on the version "
        "it started on; raise it when the steps change."
    ),
    (_ROOT, "title"): "Human title, shown in Jira, Slack and reports.",
    (_ROOT, "description"): "What the workflow does and why, for readers of the audit pack.",
    (_ROOT, "subject"): (
        "What one run is about: an AI system of the inventory, the organisation, or a finding."
    ),
    (_ROOT, "trigger"): (
        "What starts a run: by hand, on inventory or run "
        "events, on a schedule; 'scope' filters subjects."
    ),
    (_ROOT, "sla"): "Time a whole run is expected to take, from start to completion.",
    (_ROOT, "coverage"): (
        "Completed runs count towards a coverage KPI per AI system for 'valid_for'."
    ),
    (_ROOT, "inputs"): (
        "Values passed in when a run is started (by 'spawn' or 'aims start --input NAME=VALUE')."
    ),
    (_ROOT, "steps"): (
        "The steps, run in order unless a step says otherwise "
        "('next', decision 'goto', approval 'on_reject')."
    ),
    # trigger
    ("Trigger", "manual"): "Whether people may start runs by hand (CLI, API).",
    ("Trigger", "on"): "Events that start a run.",
    ("Trigger", "schedule"): (
        "Start a run every period, per subject in scope (or once for the organisation)."
    ),
    ("EventTrigger", "event"): (
        "ai_system.registered, ai_system.changed, run.completed or finding.raised."
    ),
    ("Schedule", "every"): "Period between scheduled runs, e.g. '365d'.",
    ("Coverage", "kpi"): "The coverage KPI that completed runs count towards.",
    ("InputDecl", "id"): "Input name, read in expressions as inputs.<id>.",
    ("InputDecl", "type"): (
        "Type of the value: text, number, bool, or list (JSON values, e.g. objects with fields)."
    ),
    ("InputDecl", "required"): (
        "Whether a run cannot start without this input (undeclared optional inputs are null)."
    ),
    # every step
    ("*", "id"): (
        "Step id: lower-case snake_case, unique in the workflow; "
        "later expressions read this step's data by it."
    ),
    ("*", "title"): (
        "Template for the title of the Jira issue, Slack request "
        "or notification, e.g. 'Risk review: {{ subject.name }}'."
    ),
    ("*", "kind"): "Step kind: task, approval, decision, spawn, record, notify or wait.",
    ("*", "due"): "Time from creation until the step is overdue.",
    ("*", "reminders"): "Reminders, each counted from when the step was created.",
    ("*", "escalate"): "Who is told, and how long after the due date, when the step is overdue.",
    # task
    ("TaskStep", "role"): "Role whose members do the task (a Jira issue).",
    ("TaskStep", "description"): "Template for the issue description.",
    ("TaskStep", "form"): (
        "Answers the task asks for; each becomes a Jira field, checked when the issue is completed."
    ),
    ("TaskStep", "priority"): "Jira priority of the issue.",
    # form field
    ("FormField", "id"): "Answer name, read in expressions as <step id>.<field id>.",
    ("FormField", "type"): (
        "text, number, choice, multi_choice, date (YYYY-MM-DD), "
        "user (e-mail or account id), url (http/https) or bool."
    ),
    ("FormField", "label"): "Question shown to the person completing the task.",
    ("FormField", "help"): "Extra guidance shown with the field.",
    ("FormField", "required"): (
        "Whether an answer is needed (default true). 'required_if' overrides it when present."
    ),
    ("FormField", "choices"): "Allowed answers of a choice or multi_choice field.",
    ("FormField", "min"): "Smallest allowed number (number fields).",
    ("FormField", "max"): "Largest allowed number (number fields).",
    ("FormField", "integer"): "Only whole numbers (number fields).",
    ("FormField", "max_length"): "Most characters a text answer may have (text fields).",
    # approval
    ("ApprovalStep", "approvers"): (
        "Roles whose members may decide (a Slack request with approve and reject and a reason)."
    ),
    ("ApprovalStep", "quorum"): (
        "'any' (one approval), 'all' (every eligible person) or "
        "a number of distinct approvers. One rejection rejects."
    ),
    ("ApprovalStep", "separation"): "Segregation of duties: who may not decide this approval.",
    ("ApprovalStep", "on_reject"): "Step to go to when the request is rejected (rework), or 'end'.",
    ("ApprovalStep", "channel"): "Ask approvers in direct messages or in the configured channel.",
    ("ApprovalStep", "expire"): (
        "A request not decided by its due date (plus 'after') expires, which is not a "
        "rejection, and is asked of an alternate role ('to', default escalate.to), once."
    ),
    ("ApprovalStep", "withdraw_within"): (
        "How long an approver may take back a decision (e.g. 1h); the workflow acts on a "
        "decision only once this window has passed."
    ),
    ("ApprovalStep", "step_up"): (
        "When 'when' is true at the request, an approval counts only after the same person "
        "confirms it in Jira (a second channel)."
    ),
    ("Expiry", "after"): "Time after the due date when the request expires (default: at it).",
    ("Expiry", "to"): "Role asked once the request expired (default: the step's escalate.to).",
    ("StepUp", "when"): "Condition (expression), e.g. 'assess.score > 15'.",
    ("StepUp", "confirm_in"): "Where the second confirmation is given: jira.",
    ("Separation", "forbidden_roles"): (
        "People with any of these roles may not decide, even if they are approvers."
    ),
    # decision
    ("DecisionStep", "cases"): (
        "Conditions tried in order; the first true one chooses the next step."
    ),
    ("DecisionStep", "otherwise"): "Step to go to when no case is true, or 'end'.",
    ("Case", "when"): "Condition (expression), e.g. 'evaluate.score >= 15'.",
    ("Case", "goto"): "Step to go to when the condition is true, or 'end'.",
    # spawn
    ("SpawnStep", "workflow"): "Id of the workflow to start.",
    ("SpawnStep", "for_each"): (
        "Expression giving a list: one run is started per item, which expressions read as 'item'."
    ),
    ("SpawnStep", "inputs"): "Input name of the started workflow -> expression giving its value.",
    ("SpawnStep", "wait"): "Wait until every started run has finished before going on.",
    ("FindingTemplate", "title"): "Expression for the finding's title.",
    ("FindingTemplate", "severity"): (
        "Expression for the finding's severity, e.g. 'minor' or 'major'."
    ),
    ("FindingTemplate", "clause"): "Expression for the clause or control the finding is about.",
    ("FindingTemplate", "description"): "Expression for the finding's description.",
    ("FindingTemplate", "source"): (
        "Expression for the kind of source: incident, complaint, monitoring, external-audit, "
        "certification-audit or internal (the default)."
    ),
    # record
    ("RecordStep", "artefact"): (
        "Name of the artefact written to the evidence ledger, e.g. 'risk_register_entry'."
    ),
    ("RecordStep", "fields"): (
        "Field name -> expression computing its value; later steps read them as <step id>.<field>."
    ),
    # notify and wait
    ("NotifyStep", "to"): "Roles to notify.",
    ("NotifyStep", "message"): "Template for the message.",
    ("WaitStep", "duration"): "How long the run pauses, e.g. '30d'.",
}


def _describe(name: str, definition: dict[str, Any]) -> None:
    for key, prop in definition.get("properties", {}).items():
        if "description" not in prop:
            text = KEY_DESCRIPTIONS.get((name, key)) or KEY_DESCRIPTIONS.get(("*", key))
            if text is None:
                raise KeyError(f"no description for {name}.{key}: add one to KEY_DESCRIPTIONS")
            prop["description"] = text


@lru_cache(maxsize=1)
def _schema() -> dict[str, Any]:
    generated = WorkflowSpec.model_json_schema()
    for name, definition in generated.get("$defs", {}).items():
        if "description" in definition:
            # a model's docstring, wrapped to the line length: one paragraph to an editor
            definition["description"] = " ".join(definition["description"].split())
        _describe(name, definition)
    _describe(_ROOT, generated)
    generated.setdefault("$defs", {})
    return {
        "$schema": SCHEMA_DIALECT,
        "$id": SCHEMA_ID,
        "title": "aims-workflows workflow definition",
        "description": (
            "One ISO/IEC 42001 governance workflow: tasks become Jira issues, approvals become "
            "Slack sign-offs, and every result is written to the evidence ledger. The schema "
            "checks the shape of the file; the loader (aims_workflows.spec.load_workflows) "
            "also checks targets, reachability, roles, catalogue ids and the names used in "
            "expressions. Reference: docs/workflow-language.md."
        ),
        **{k: v for k, v in generated.items() if k not in ("title", "description")},
    }


def workflow_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a workflow file, as a fresh dict.

    >>> schema = workflow_json_schema()
    >>> schema["$schema"], sorted(schema["required"])
    ('https://json-schema.org/draft/2020-12/schema', ['id', 'steps', 'subject', 'title', 'version'])
    """
    return copy.deepcopy(_schema())


def schema_text() -> str:
    """The schema as the text of ``docs/workflow.schema.json``: indented, keys in model order."""
    return json.dumps(_schema(), indent=2, ensure_ascii=False) + "\n"


def write_schema(path: str | Path) -> Path:
    """Write :func:`schema_text` to ``path`` and return the path."""
    target = Path(path)
    target.write_text(schema_text(), encoding="utf-8")
    return target


if __name__ == "__main__":  # pragma: no cover - a maintenance helper
    if len(sys.argv) > 1:
        print(write_schema(sys.argv[1]))
    else:
        sys.stdout.write(schema_text())
