"""The sandbox's whole state in one object, guarded by one lock.

Request handlers run on uvicorn's thread while tests (and the webhook driver) read and change
the state from theirs, so every access goes through ``lock``. Ids come from counters that start
where a young Jira Cloud site's would (issue ids 10001..., custom fields customfield_10040...).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from ._clock import Clock, utcnow
from ._errors import JiraApiError
from ._fields import PRIORITIES, SYSTEM_FIELDS
from ._model import (
    Comment,
    FieldContext,
    FieldDef,
    FieldOption,
    History,
    Issue,
    IssueLink,
    JiraUser,
    Project,
)
from ._screens import ScreenConfig
from ._workflow import ISSUE_TYPES

__all__ = ["IssueEvent", "JiraState", "LINK_TYPES"]

# name -> (id, inward description, outward description): Jira Cloud's default link types.
LINK_TYPES: dict[str, tuple[str, str, str]] = {
    "Blocks": ("10000", "is blocked by", "blocks"),
    "Cloners": ("10001", "is cloned by", "clones"),
    "Duplicate": ("10002", "is duplicated by", "duplicates"),
    "Relates": ("10003", "relates to", "relates to"),
}


@dataclass(frozen=True)
class IssueEvent:
    """Something a webhook reports: created, updated (with a changelog entry) or commented."""

    webhook_event: str
    issue_event_type_name: str | None
    actor_id: str
    issue_id: str
    at: datetime
    history: History | None = None
    comment: Comment | None = None


class JiraState:
    """Users, projects, fields, issues and links, plus the listeners told of each change."""

    def __init__(
        self, users: Iterable[JiraUser], clock: Clock = utcnow, *, strict_options: bool = False
    ) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.strict_options = strict_options
        """When False, a choice field whose context has no options yet takes any value (what
        the sandbox did before it had options); when True, Jira's rule: only listed options."""
        self.users: dict[str, JiraUser] = {u.account_id: u for u in users}
        self.projects: dict[str, Project] = {}
        self.fields: dict[str, FieldDef] = {f.id: f for f in SYSTEM_FIELDS}
        self.issues: dict[str, Issue] = {}
        self.links: dict[str, IssueLink] = {}
        self.contexts: dict[str, FieldContext] = {}
        self.listeners: list[Callable[[IssueEvent], None]] = []
        self.search_lag: float = 0.0
        """Seconds before a new issue shows in ``/search/jql``: Jira Cloud's search index is
        eventually consistent, and a search right after a create can miss the issue unless its
        id is passed in ``reconcileIssues``."""
        self.denied_permissions: dict[str, set[str]] = {}
        """account id -> project permission keys it lacks (``GET /mypermissions``)"""
        self.screens = ScreenConfig()
        """Screens and their schemes: which fields each operation may set (``_screens``)."""
        self.admins: set[str] = set()
        """Accounts with the *Administer Jira* global permission (screens, fields, webhooks)."""
        self.priorities: dict[str, str] = dict(PRIORITIES)
        """The site's priorities, id -> name (an admin may rename, add or remove them)."""
        self.issue_types: dict[str, str] = dict(ISSUE_TYPES)
        """The site's issue types, id -> name, all in the default scheme every project uses."""
        self.issue_type_descriptions: dict[str, str] = {}
        self.admin_webhooks: list[dict[str, object]] = []
        """Webhooks registered through ``/rest/webhooks/1.0/webhook`` (admin webhooks)."""
        self._issue_ids = itertools.count(10001)
        self._project_ids = itertools.count(10000)
        self._field_ids = itertools.count(10040)
        self._other_ids = itertools.count(10100)
        self._context_ids = itertools.count(10140)
        self._option_ids = itertools.count(10020)
        self._issue_numbers: dict[str, itertools.count[int]] = {}

    # ids -------------------------------------------------------------------------------
    def next_issue_id(self) -> str:
        return str(next(self._issue_ids))

    def next_issue_key(self, project: Project) -> str:
        counter = self._issue_numbers.setdefault(project.id, itertools.count(1))
        return f"{project.key}-{next(counter)}"

    def next_field_number(self) -> int:
        return next(self._field_ids)

    def next_id(self) -> str:
        """An id for comments, attachments, links and changelog entries."""
        return str(next(self._other_ids))

    def add_issue_type(self, name: str, description: str) -> str:
        """A new issue type of the site (in every project's scheme); its id."""
        type_id = str(max(int(t) for t in self.issue_types) + 1)
        self.issue_types[type_id] = name
        self.issue_type_descriptions[type_id] = description
        return type_id

    def next_context_id(self) -> str:
        return str(next(self._context_ids))

    def next_option_id(self) -> str:
        return str(next(self._option_ids))

    # lookups ---------------------------------------------------------------------------
    def add_project(self, key: str, name: str, lead_account_id: str) -> Project:
        project = Project(str(next(self._project_ids)), key, name, lead_account_id)
        self.projects[project.id] = project
        self.screens.add_project(project.id, project.key)
        return project

    def project(self, id_or_key: str) -> Project:
        """The live project with this id or key, or a 404 JiraApiError."""
        for project in self.projects.values():
            if id_or_key in (project.id, project.key) and not project.deleted:
                return project
        raise JiraApiError.not_found(f"No project could be found with key '{id_or_key}'.")

    def issue(self, id_or_key: str) -> Issue:
        """The issue with this id or key (in a live project), or a 404 JiraApiError."""
        found = self.issues.get(id_or_key) or next(
            (i for i in self.issues.values() if i.key == id_or_key.upper()), None
        )
        if found is None or self.projects[found.project_id].deleted:
            raise JiraApiError.not_found()
        return found

    def live_fields(self) -> list[FieldDef]:
        return [f for f in self.fields.values() if not f.removed]

    def field(self, field_id: str) -> FieldDef | None:
        found = self.fields.get(field_id)
        return None if found is None or found.removed else found

    def contexts_of(self, field_id: str) -> list[FieldContext]:
        """The field's contexts, oldest first."""
        return [c for c in self.contexts.values() if c.field_id == field_id]

    def option(self, option_id: str) -> tuple[FieldContext, FieldOption] | None:
        """The option with this id and its context, when the field is still there."""
        for context in self.contexts.values():
            if self.field(context.field_id) is None:
                continue
            for option in context.options:
                if option.id == option_id:
                    return context, option
        return None

    def user_by_email(self, email: str) -> JiraUser | None:
        return next((u for u in self.users.values() if u.email.lower() == email.lower()), None)

    def user_names(self) -> dict[str, str]:
        return {u.account_id: u.display_name for u in self.users.values()}

    def emit(self, event: IssueEvent) -> None:
        for listener in list(self.listeners):
            listener(event)
