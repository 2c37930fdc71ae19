"""The sandbox's in-memory records: users, projects, fields, issues and what hangs off them.

Plain dataclasses, no behaviour: the operations live in ``_issues``, the JSON shapes in
``_render``. Values are kept in the form the REST API accepts (ADF dicts, ``yyyy-MM-dd``
strings, account ids) so that rendering is a straight projection.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = [
    "JiraUser",
    "Project",
    "FieldDef",
    "FieldOption",
    "FieldContext",
    "Comment",
    "Attachment",
    "IssueLink",
    "ChangeItem",
    "History",
    "Issue",
]


@dataclass
class JiraUser:
    """An Atlassian account that can sign in to the sandbox with ``email`` + ``api_token``."""

    account_id: str
    email: str
    display_name: str
    api_token: str
    active: bool = True
    time_zone: str = "Etc/UTC"
    account_type: str = "atlassian"
    # Profile visibility of the e-mail address: on real Jira Cloud most people keep it to
    # themselves ("Only you and admins"), and the REST API then leaves out emailAddress for
    # everyone else, the integration's account and site admins included.
    email_visible: bool = True


@dataclass
class Project:
    """A Jira project; ``deleted`` simulates a project moved to the trash."""

    id: str
    key: str
    name: str
    lead_account_id: str
    deleted: bool = False
    # project roles and the accounts in each (``GET /project/{key}/role/{id}``)
    roles: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class FieldDef:
    """A system or custom field. ``schema`` is Jira's JsonTypeBean (``type``, ``custom`` ...)."""

    id: str
    name: str
    custom: bool
    schema: dict[str, Any]
    description: str = ""
    removed: bool = False

    @property
    def clause_names(self) -> list[str]:
        if self.custom:
            return [f"cf[{self.id.removeprefix('customfield_')}]", self.name]
        return [self.id]


@dataclass
class FieldOption:
    """One choice of a select or multiselect field, in one context (ids are strings)."""

    id: str
    value: str
    disabled: bool = False


@dataclass
class FieldContext:
    """A custom field context: where the field applies and, for choice fields, its options.

    Empty ``project_ids`` makes it global; empty ``issue_type_ids`` covers every issue type.
    """

    id: str
    field_id: str
    name: str
    description: str = ""
    project_ids: list[str] = field(default_factory=list)
    issue_type_ids: list[str] = field(default_factory=list)
    options: list[FieldOption] = field(default_factory=list)

    @property
    def is_global(self) -> bool:
        return not self.project_ids

    @property
    def any_issue_type(self) -> bool:
        return not self.issue_type_ids


@dataclass
class Comment:
    """A comment; ``body`` is an ADF document."""

    id: str
    issue_id: str
    author_id: str
    body: dict[str, Any]
    created: datetime
    updated: datetime


@dataclass
class Attachment:
    """An uploaded file, kept in memory."""

    id: str
    issue_id: str
    filename: str
    mime_type: str
    content: bytes
    author_id: str
    created: datetime


@dataclass
class IssueLink:
    """A link of ``type_name`` from ``inward_issue_id`` to ``outward_issue_id``."""

    id: str
    type_name: str
    inward_issue_id: str
    outward_issue_id: str


@dataclass
class ChangeItem:
    """One changelog item, as Jira puts in ``changelog.items`` and issue histories."""

    field: str
    field_id: str
    fieldtype: str
    from_: str | None
    from_string: str | None
    to: str | None
    to_string: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "fieldtype": self.fieldtype,
            "fieldId": self.field_id,
            "from": self.from_,
            "fromString": self.from_string,
            "to": self.to,
            "toString": self.to_string,
        }


@dataclass
class History:
    """One changelog entry: who changed what, when."""

    id: str
    author_id: str
    created: datetime
    items: list[ChangeItem]


@dataclass
class Issue:
    """An issue. ``fields`` holds editable values by field id (system and custom)."""

    id: str
    key: str
    project_id: str
    issuetype: str
    status_id: str
    reporter_id: str
    created: datetime
    updated: datetime
    fields: dict[str, Any] = field(default_factory=dict)
    resolution_date: datetime | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    comments: list[Comment] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    histories: list[History] = field(default_factory=list)
