"""The project's create, edit and view screens, as ``aims jira setup`` finds and fills them.

A company-managed project uses an issue type screen scheme; it names a screen scheme for the
issue type (or its ``default``), which names a screen per operation (``default`` standing in for
the ones not named). Jira accepts a field in a create or edit request only when the screen of
that operation has it, so every form field goes on the first tab of each of these screens, and
on the screens of the workflow's transitions (a transition may set only its own screen's fields,
and the Done transition's screen is where an engineer finishing a task looks).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ...errors import ConfigError, PermanentError
from ._client import JiraConnection
from ._shared_screens import SharedScreen, TransitionScreen, shared_screen

__all__ = ["ProjectScreens", "project_screens", "createmeta_fields", "transition_screens"]

OPERATIONS = ("create", "edit", "view")


@dataclass
class ProjectScreens:
    """Screen id -> (first tab id, field ids on any tab), and which operations use it."""

    project: str = ""
    tabs: dict[str, str] = field(default_factory=dict)
    fields: dict[str, set[str]] = field(default_factory=dict)
    operations: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    """What could not be followed (a workflow the account may not read), said in the report."""
    shared: list[SharedScreen] = field(default_factory=list)
    """Transition screens other projects show too: left alone, the admin told what to do."""

    def missing(self, field_ids: list[str]) -> dict[str, list[str]]:
        """Screen id -> the given fields it lacks (screens that lack none left out)."""
        found = {sid: [f for f in field_ids if f not in have] for sid, have in self.fields.items()}
        return {sid: wanting for sid, wanting in found.items() if wanting}


def _values(conn: JiraConnection, path: str, params: Mapping[str, Any], what: str) -> list[Any]:
    page = conn.call("GET", path, params={**params, "maxResults": 100}, what=what) or {}
    return list(page.get("values") or [])


def project_screens(
    conn: JiraConnection, project_id: str, project_key: str, issue_type_id: str
) -> ProjectScreens:
    """Follow the project's schemes down to its create, edit and view screens."""
    schemes = _values(
        conn,
        "issuetypescreenscheme/project",
        {"projectId": project_id},
        f"read the issue type screen scheme of {project_key}",
    )
    if not schemes:
        raise ConfigError(
            f"project {project_key} has no issue type screen scheme (a team-managed project?)",
            hint="use a company-managed project, or add the fields to its issue type by hand",
        )
    scheme_id = str(schemes[0]["issueTypeScreenScheme"]["id"])
    mappings = _values(
        conn,
        "issuetypescreenscheme/mapping",
        {"issueTypeScreenSchemeId": scheme_id},
        f"read the screen schemes of {project_key}",
    )
    by_type = {str(m.get("issueTypeId")): str(m.get("screenSchemeId")) for m in mappings}
    screen_scheme = by_type.get(issue_type_id) or by_type.get("default")
    if not screen_scheme:
        raise ConfigError(
            f"the screen scheme of {project_key} names no screens for its issue type",
            hint="map the issue type (or 'default') to a screen scheme in Jira's project settings",
        )
    found = _values(
        conn, "screenscheme", {"id": screen_scheme}, f"read the screens of {project_key}"
    )
    screens = (found[0].get("screens") or {}) if found else {}
    result = ProjectScreens(project=project_key)
    for operation in OPERATIONS:
        screen_id = screens.get(operation) or screens.get("default")
        if screen_id is not None:
            _read_screen(conn, result, str(screen_id), operation, project_key)
    for shown in transition_screens(conn, project_id, project_key, issue_type_id, result):
        shared = shared_screen(conn, shown, project_id)
        if shared is not None:
            result.shared.append(shared)
        else:
            _read_screen(
                conn, result, shown.screen_id, f"'{shown.transition}' transition", project_key
            )
    return result


def _read_screen(
    conn: JiraConnection, result: ProjectScreens, sid: str, operation: str, project_key: str
) -> None:
    result.operations.setdefault(sid, []).append(operation)
    if sid in result.tabs:
        return
    tabs = conn.call("GET", f"screens/{sid}/tabs", what=f"read the tabs of screen {sid}")
    if not tabs:
        raise ConfigError(
            f"screen {sid} of {project_key} has no tab to put fields on",
            hint="add a tab to the screen in Jira's screen settings",
        )
    result.tabs[sid] = str(tabs[0]["id"])
    have: set[str] = set()
    for tab in tabs:
        listed = conn.call(
            "GET",
            f"screens/{sid}/tabs/{tab['id']}/fields",
            what=f"read the fields of screen {sid}",
        )
        have |= {str(f["id"]) for f in listed or []}
    result.fields[sid] = have


def transition_screens(
    conn: JiraConnection,
    project_id: str,
    project_key: str,
    issue_type_id: str,
    result: ProjectScreens,
) -> list[TransitionScreen]:
    """Each transition of the issue type's workflow that shows
    a screen: engineers move aims' issues through them (Done above all), and a transition
    screen without the form fields offers no place to answer while moving the issue.

    The project's workflow scheme names the workflow (``issueTypeMappings``, else
    ``defaultWorkflow``); ``/workflow/search?expand=transitions`` lists its transitions with
    their screens. A site that does not let the account read them is noted, not fatal: the
    create/edit/view screens are what Jira checks on create and edit."""
    try:
        found = conn.call(
            "GET",
            "workflowscheme/project",
            params={"projectId": project_id},
            what=f"read the workflow scheme of {project_key}",
        )
        values = list((found or {}).get("values") or [])
        scheme = (values[0].get("workflowScheme") or {}) if values else {}
        workflow = (scheme.get("issueTypeMappings") or {}).get(issue_type_id) or scheme.get(
            "defaultWorkflow"
        )
        if not workflow:
            result.notes.append(f"{project_key} has no workflow scheme aims could read")
            return []
        page = conn.call(
            "GET",
            "workflow/search",
            params={"workflowName": workflow, "expand": "transitions"},
            what=f"read the transitions of workflow '{workflow}'",
        )
    except PermanentError as err:
        result.notes.append(
            f"the transition screens of {project_key} were not checked: {err.message}"
        )
        return []
    out: list[TransitionScreen] = []
    for flow in (page or {}).get("values") or []:
        ident = flow.get("id") or {}
        for transition in flow.get("transitions") or []:
            screen = transition.get("screen") or {}
            if screen.get("id"):
                out.append(
                    TransitionScreen(
                        str(transition.get("name") or transition.get("id")),
                        str(screen["id"]),
                        str(screen.get("name") or screen["id"]),
                        str(ident.get("name") or workflow),
                        str(ident["entityId"]) if ident.get("entityId") else None,
                    )
                )
    return out


def createmeta_fields(conn: JiraConnection, project_key: str, issue_type_id: str) -> set[str]:
    """The ids of the fields a create request may set (``createmeta``), every page."""
    found: set[str] = set()
    for _ in range(50):
        page = (
            conn.call(
                "GET",
                f"issue/createmeta/{project_key}/issuetypes/{issue_type_id}",
                params={"startAt": len(found), "maxResults": 200},
                what=f"read which fields {project_key} takes on create",
            )
            or {}
        )
        chunk = page.get("fields") or page.get("results") or []
        found |= {str(f.get("fieldId") or f.get("key")) for f in chunk}
        if not chunk or len(found) >= int(page.get("total") or 0):
            break
    return found
