"""A Jira issue of type "AI system proposal" as a new entry of the inventory: whoever wants a
new AI system proposes it where they already work, and its creation registers the system at
the inception stage, outside the scope, which starts its intake (``ai-system-intake``).

The record is built from the issue's own fields: the summary is the system's name, the
description its business purpose, the reporter its owner (the person the directory of people
ties to the reporter's Jira account, else the e-mail Jira shows), and labels of the form
``FIELD:VALUE`` fill the other inventory fields (``model_type:classifier``,
``deployment_scale:pilot``, ``data_sources:crm``, ``jurisdictions:EU``, ``owner:EMAIL`` to name
another owner; a list field takes one label per value). Other labels are left alone.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from ...errors import AimsError
from ...inventory.model import LIST_FIELDS, AISystemRecord, field_problems
from ._adf import to_text

__all__ = [
    "PROPOSAL_TYPE",
    "LABEL_FIELDS",
    "ProposalError",
    "record_from_issue",
]

PROPOSAL_TYPE = "AI system proposal"
"""The issue type ``aims jira setup`` creates for proposals of new AI systems."""
LABEL_FIELDS = ("owner", "model_type", "deployment_scale", *LIST_FIELDS)
"""The inventory fields a ``FIELD:VALUE`` label may set (the others are decided at intake)."""
NAME_MAX: int = next(
    m.max_length for m in AISystemRecord.model_fields["name"].metadata if hasattr(m, "max_length")
)


class ProposalError(AimsError):
    """A proposal issue that cannot be registered as it is: what to fix is in the message."""


def _label_fields(labels: list[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for label in labels:
        key, sep, value = label.partition(":")
        key = key.strip().lower().replace("-", "_")
        if not sep or key not in LABEL_FIELDS:
            continue
        if key in LIST_FIELDS:
            values.setdefault(key, []).append(value.strip())
        elif key in values and values[key] != value.strip():
            raise ProposalError(
                f"the labels give {key} twice ({values[key]}, {value.strip()})",
                hint=f"keep one {key}:VALUE label",
            )
        else:
            values[key] = value.strip()
    return values


def _name(summary: Any, issue_key: str) -> str:
    name = summary.strip() if isinstance(summary, str) else ""
    if not name:
        raise ProposalError(
            f"{issue_key} has no summary, and the summary is the proposed system's name",
            hint="edit the issue: put the AI system's name in its summary",
        )
    if len(name) > NAME_MAX:
        raise ProposalError(
            f"the summary of {issue_key} is {len(name)} characters long; an AI system's name "
            f"is at most {NAME_MAX}",
            hint="edit the issue: make the summary the system's short name and move the rest "
            "to the description",
        )
    return name


def record_from_issue(issue_key: str, fields: dict[str, Any], owner: str | None) -> AISystemRecord:
    """The inventory record a proposal issue proposes, at inception and out of scope; a
    ProposalError says what the issue lacks. ``owner``: the reporter's e-mail, if known."""
    name = _name(fields.get("summary"), issue_key)
    labels = fields.get("labels")
    values = _label_fields([str(x) for x in labels] if isinstance(labels, list) else [])
    owner = values.pop("owner", None) or owner
    if not owner:
        raise ProposalError(
            f"the owner of the system proposed in {issue_key} is not known: the reporter's "
            "Jira account is tied to no person of the directory and Jira hides its e-mail",
            hint="add a label owner:EMAIL, or tie the account to its person "
            "(`aims people sync`), then edit the issue",
        )
    description = fields.get("description")
    text = to_text(description) if isinstance(description, dict) else description
    try:
        return AISystemRecord.model_validate(
            {
                **values,
                "name": name,
                "owner": owner,
                "business_purpose": text.strip() if isinstance(text, str) else "",
                "lifecycle_stage": "inception",
                "in_scope": False,
            }
        )
    except ValidationError as err:
        problems = "; ".join(f"{column}: {message}" for column, message in field_problems(err))
        raise ProposalError(
            f"{issue_key} cannot be registered: {problems}",
            hint="fix the issue's FIELD:VALUE labels (or its summary), then edit it again",
        ) from None
