"""Issue types people report things with in Jira, each of which the engine acts on when an
issue of it is created: a Nonconformity raises a finding (``_nonconformity``), an AI system
proposal registers the proposed system and starts its intake (``_proposal``).

What they share lives here: telling an issue's type, ``aims jira setup`` making the type, and
the delivery the reconciliation poll builds for an issue no webhook reported.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...runtime import Delivery
from ._nonconformity import NONCONFORMITY_TYPE
from ._proposal import PROPOSAL_TYPE

if TYPE_CHECKING:
    from ._client import JiraConnection
    from ._setup import SetupReport

__all__ = [
    "ReportedType",
    "NONCONFORMITIES",
    "PROPOSALS",
    "is_of_type",
    "ensure_issue_type",
    "missing_type_problem",
    "polled_delivery",
]


@dataclass(frozen=True)
class ReportedType:
    """One issue type people report with: its default name, what it is for (in setup's and
    the poll's messages) and the description the site shows for it."""

    default_name: str
    purpose: str
    description: str
    setting: str
    """The environment variable that names the type on a site that calls it otherwise."""
    cursor: str
    """Where the reconciliation poll stopped for issues of this type."""


NONCONFORMITIES = ReportedType(
    NONCONFORMITY_TYPE,
    "nonconformities",
    "A nonconformity from any source; creating one starts its corrective action in aims-workflows",
    "AIMS_JIRA_NONCONFORMITY_TYPE",
    "jira.nonconformities",
)
PROPOSALS = ReportedType(
    PROPOSAL_TYPE,
    "AI system proposals",
    "A new AI system proposed for the inventory (summary: its name; description: its purpose); "
    "creating one starts its intake in aims-workflows",
    "AIMS_JIRA_PROPOSAL_TYPE",
    "jira.proposals",
)


def is_of_type(fields: Mapping[str, Any], type_name: str) -> bool:
    """Whether an issue's fields say it is of the issue type ``type_name`` (any case)."""
    issuetype = fields.get("issuetype")
    name = issuetype.get("name") if isinstance(issuetype, dict) else None
    return isinstance(name, str) and name.lower() == type_name.lower()


def missing_type_problem(
    project: str, types: Iterable[str], name: str, kind: ReportedType
) -> str | None:
    """What is wrong when ``name`` was configured for ``kind`` but ``project`` has no such
    type; None when it has, or when ``name`` is the default that setup makes itself."""
    if name in types or name == kind.default_name:
        return None
    return (
        f"project {project} has no issue type '{name}' for {kind.purpose} "
        f"(it has {', '.join(sorted(types))}): set {kind.setting} to one of them, or add "
        "the type to the project's issue type scheme (Project settings > Issue types)"
    )


def ensure_issue_type(
    conn: JiraConnection,
    project: str,
    types: Mapping[str, str],
    name: str,
    kind: ReportedType,
    report: SetupReport,
    *,
    dry_run: bool,
) -> None:
    """The issue type ``name`` created on the site when missing. A project on the default
    issue type scheme has it at once; one on a scheme of its own needs an admin to add it."""
    if name in types:
        report.done.append(f"issue type '{name}' available for {kind.purpose}")
        return
    if dry_run:
        report.done.append(f"would create the issue type '{name}' for {kind.purpose}")
        return
    existing = conn.call("GET", "issuetype", what="list the issue types")
    if not any(isinstance(t, dict) and t.get("name") == name for t in existing or []):
        conn.call(
            "POST",
            "issuetype",
            what=f"create the issue type '{name}'",
            json={"name": name, "description": kind.description, "type": "standard"},
        )
        report.change(f"added the issue type '{name}' for {kind.purpose}")
    proj = conn.project(project, what=f"read project {project}")
    if not any(t.get("name") == name for t in proj.get("issueTypes") or []):
        report.problems.append(
            f"the issue type '{name}' exists but project {project} does not offer it: add it "
            "to the project's issue type scheme (Project settings > Issue types), then run "
            "`aims jira setup` again"
        )


def polled_delivery(source: str, issue: Mapping[str, Any]) -> Delivery:
    """The delivery of an issue the poll found: one per issue and ``updated`` time, so the
    same state seen twice is applied once and a later edit is a delivery of its own."""
    fields = issue.get("fields") or {}
    return Delivery(
        source, f"{issue['id']}:{fields.get('updated')}", json.dumps({"issue": issue["key"]})
    )
