"""A Jira issue of type Nonconformity as a finding: whoever finds a nonconformity (an incident
responder, the complaints desk, an external auditor's liaison) reports it where they already
work, and its creation starts corrective action.

The finding is built from the issue's own fields: the summary is its title, the description
its description, the priority its severity (Highest and High: major; the rest: minor), and its
labels say the source (``complaint`` or ``source-complaint``) and, when one is a clause or
Annex A control id (``8.2``, ``A.6.2.4``), the requirement not met. The issue is the finding's
tracker issue: corrective action's own tasks are made as usual, the issue is not copied.
"""

from __future__ import annotations

from typing import Any

from ...findings import SOURCES, FindingError, FindingReport
from ...findings.report import DESCRIPTION_MAX
from ._adf import to_text

__all__ = ["NONCONFORMITY_TYPE", "is_nonconformity", "finding_from_issue", "MAJOR_PRIORITIES"]

NONCONFORMITY_TYPE = "Nonconformity"
"""The issue type ``aims jira setup`` creates for nonconformities."""
MAJOR_PRIORITIES = frozenset({"highest", "high", "blocker", "critical"})
_SOURCE_PREFIXES = ("source-", "source:", "source_")


def is_nonconformity(fields: dict[str, Any], type_name: str = NONCONFORMITY_TYPE) -> bool:
    from ._reported import is_of_type

    return is_of_type(fields, type_name)


def _source(labels: list[str]) -> str:
    named = []
    for label in labels:
        value = label.lower()
        for prefix in _SOURCE_PREFIXES:
            if value.startswith(prefix):
                value = value[len(prefix) :]
                break
        if value in SOURCES:
            named.append(value)
    if len(set(named)) == 1:
        return named[0]
    given = ", ".join(labels) if labels else "none"
    raise FindingError(
        "a Nonconformity issue needs exactly one source label "
        + ("(it has several)" if named else f"(its labels: {given})"),
        hint=f"add one label of: {', '.join(SOURCES)}",
    )


def _requirement(labels: list[str]) -> str | None:
    from ...catalog import load_catalog

    catalog = load_catalog()
    for label in labels:
        if catalog.is_known(label):
            return catalog.get(label).id
    return None


def _severity(fields: dict[str, Any]) -> str:
    priority = fields.get("priority")
    name = priority.get("name") if isinstance(priority, dict) else None
    return "major" if isinstance(name, str) and name.lower() in MAJOR_PRIORITIES else "minor"


def finding_from_issue(issue_id: str, issue_key: str, fields: dict[str, Any]) -> FindingReport:
    """The finding a Nonconformity issue reports; a FindingError says what the issue lacks."""
    labels = fields.get("labels")
    labels = [str(label) for label in labels] if isinstance(labels, list) else []
    description = fields.get("description")
    text = to_text(description) if isinstance(description, dict) else description
    if isinstance(text, str) and len(text) > DESCRIPTION_MAX:
        # the issue keeps the whole text; the finding points to it rather than being refused
        text = text[: DESCRIPTION_MAX - 60].rstrip() + f"\n[... the rest is in {issue_key}]"
    summary = fields.get("summary")
    return FindingReport.checked(
        source=_source(labels),
        title=summary if isinstance(summary, str) else "",
        severity=_severity(fields),
        clause=_requirement(labels),
        description=text if isinstance(text, str) else None,
        raised_by=f"jira:{issue_key}",
        tracker_issue=issue_key,
        tracker_issue_id=issue_id,
    )
