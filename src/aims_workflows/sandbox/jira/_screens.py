"""Screens: which fields an issue operation shows, and so which fields a REST request may set.

Jira Cloud (company-managed projects) decides this in three layers: a project uses an *issue
type screen scheme*, which names a *screen scheme* per issue type (or ``default``), which
names a *screen* per operation (create, edit, view; ``default`` for those not named). A screen
has tabs, each holding fields. A create or edit request that sets a field missing from the
screen of its operation is refused with 400 "Field 'x' cannot be set. It is not on the
appropriate screen, or unknown."; a transition may set only the fields of its own screen.

A new project gets Jira's usual pair of screens with the system fields; a custom field made
through ``POST /field`` is on no screen until an administrator (or ``aims jira setup``) adds
it. Callers hold ``state.lock``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field

from ._errors import JiraApiError

__all__ = [
    "OPERATIONS",
    "RESOLVE_SCREEN_ID",
    "CREATE_FIELDS",
    "EDIT_FIELDS",
    "IssueTypeScreenScheme",
    "Screen",
    "ScreenConfig",
    "ScreenScheme",
    "ScreenTab",
    "not_on_screen",
]

OPERATIONS = ("create", "edit", "view")

# The system fields of the screens Jira gives a new company-managed project.
CREATE_FIELDS = (
    "summary",
    "issuetype",
    "description",
    "assignee",
    "reporter",
    "priority",
    "labels",
    "duedate",
    "attachment",
    "issuelinks",
)
EDIT_FIELDS = CREATE_FIELDS
RESOLVE_FIELDS = ("resolution", "assignee")
RESOLVE_SCREEN_ID = "2"


def not_on_screen(field_id: str) -> str:
    """Jira's words for a field the operation's screen does not have."""
    return f"Field '{field_id}' cannot be set. It is not on the appropriate screen, or unknown."


@dataclass
class ScreenTab:
    id: str
    name: str
    fields: list[str] = field(default_factory=list)


@dataclass
class Screen:
    id: str
    name: str
    description: str = ""
    tabs: list[ScreenTab] = field(default_factory=list)

    @property
    def field_ids(self) -> set[str]:
        return {f for tab in self.tabs for f in tab.fields}


@dataclass
class ScreenScheme:
    """Screen ids by operation; ``default`` stands in for an operation not named."""

    id: str
    name: str
    screens: dict[str, str]
    description: str = ""

    def screen_id(self, operation: str) -> str:
        return self.screens.get(operation) or self.screens["default"]


@dataclass
class IssueTypeScreenScheme:
    """Screen scheme ids by issue type id (``default`` for the others), and its projects."""

    id: str
    name: str
    mappings: dict[str, str]
    project_ids: list[str] = field(default_factory=list)
    description: str = ""

    def screen_scheme_id(self, issue_type_id: str) -> str:
        return self.mappings.get(issue_type_id) or self.mappings["default"]


class ScreenConfig:
    """The site's screens, screen schemes and issue type screen schemes, plus which
    transitions show a screen (transition id -> screen id)."""

    def __init__(self) -> None:
        self.screens: dict[str, Screen] = {}
        self.screen_schemes: dict[str, ScreenScheme] = {}
        self.issue_type_schemes: dict[str, IssueTypeScreenScheme] = {}
        self.transition_screens: dict[str, str] = {}
        self._screen_ids = itertools.count(10000)
        self._tab_ids = itertools.count(10100)
        self._scheme_ids = itertools.count(10000)
        # Jira's own "Resolve Issue Screen" (id 2 on every site) for a done transition
        self.screens[RESOLVE_SCREEN_ID] = Screen(
            RESOLVE_SCREEN_ID,
            "Resolve Issue Screen",
            "Allows to set resolution, change assignee and to log work.",
            [ScreenTab(str(next(self._tab_ids)), "Field Tab", list(RESOLVE_FIELDS))],
        )

    def add_screen(self, name: str, fields: Iterable[str], description: str = "") -> Screen:
        screen = Screen(str(next(self._screen_ids)), name, description)
        screen.tabs.append(ScreenTab(str(next(self._tab_ids)), "Field Tab", list(fields)))
        self.screens[screen.id] = screen
        return screen

    def copy_screen(self, screen_id: str, name: str) -> Screen:
        """A new screen with the tabs and fields of ``screen_id`` (Jira's *Copy* screen)."""
        source = self.screen(screen_id)
        copy = Screen(str(next(self._screen_ids)), name, source.description)
        copy.tabs = [
            ScreenTab(str(next(self._tab_ids)), tab.name, list(tab.fields)) for tab in source.tabs
        ]
        self.screens[copy.id] = copy
        return copy

    def add_project(self, project_id: str, key: str) -> IssueTypeScreenScheme:
        """The screens, screen scheme and issue type screen scheme of a new project."""
        create = self.add_screen(f"{key}: Task Management Create Issue Screen", CREATE_FIELDS)
        edit = self.add_screen(f"{key}: Task Management Edit/View Issue Screen", EDIT_FIELDS)
        scheme = ScreenScheme(
            str(next(self._scheme_ids)),
            f"{key}: Task Management Screen Scheme",
            {"default": edit.id, "create": create.id},
        )
        self.screen_schemes[scheme.id] = scheme
        its = IssueTypeScreenScheme(
            str(next(self._scheme_ids)),
            f"{key}: Task Management Issue Type Screen Scheme",
            {"default": scheme.id},
            [project_id],
        )
        self.issue_type_schemes[its.id] = its
        return its

    # lookups -----------------------------------------------------------------------------
    def scheme_of_project(self, project_id: str) -> IssueTypeScreenScheme | None:
        return next(
            (s for s in self.issue_type_schemes.values() if project_id in s.project_ids), None
        )

    def screen_for(self, project_id: str, issue_type_id: str, operation: str) -> Screen | None:
        its = self.scheme_of_project(project_id)
        if its is None:
            return None
        scheme = self.screen_schemes[its.screen_scheme_id(issue_type_id)]
        return self.screens[scheme.screen_id(operation)]

    def project_screens(self, project_id: str, issue_type_id: str) -> list[Screen]:
        """The distinct create, edit and view screens of the project's issue type."""
        found: dict[str, Screen] = {}
        for operation in OPERATIONS:
            screen = self.screen_for(project_id, issue_type_id, operation)
            if screen is not None:
                found.setdefault(screen.id, screen)
        return list(found.values())

    def screen(self, screen_id: str) -> Screen:
        found = self.screens.get(screen_id)
        if found is None:
            raise JiraApiError.not_found(f"The screen with id '{screen_id}' does not exist.")
        return found

    def tab(self, screen_id: str, tab_id: str) -> tuple[Screen, ScreenTab]:
        screen = self.screen(screen_id)
        tab = next((t for t in screen.tabs if t.id == tab_id), None)
        if tab is None:
            raise JiraApiError.not_found(f"The screen tab with id '{tab_id}' does not exist.")
        return screen, tab

    def place(self, project_id: str, issue_type_ids: Iterable[str], field_id: str) -> None:
        """Put ``field_id`` on the first tab of the project's screens (what an admin does)."""
        for type_id in issue_type_ids:
            for screen in self.project_screens(project_id, type_id):
                if field_id not in screen.field_ids:
                    screen.tabs[0].fields.append(field_id)
