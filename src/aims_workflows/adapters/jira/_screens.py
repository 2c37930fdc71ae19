"""The project's create, edit and view screens, as ``aims jira setup`` finds and fills them.

A company-managed project uses an issue type screen scheme; it names a screen scheme for the
issue type (or its ``default``), which names a screen per operation (``default`` standing in for
the ones not named). Jira accepts a field in a create or edit request only when the screen of
that operation has it, so every form field goes on the first tab of each of these screens.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ...errors import ConfigError
from ._client import JiraConnection

__all__ = ["ProjectScreens", "project_screens", "createmeta_fields"]

OPERATIONS = ("create", "edit", "view")


@dataclass
class ProjectScreens:
    """Screen id -> (first tab id, field ids on any tab), and which operations use it."""

    tabs: dict[str, str] = field(default_factory=dict)
    fields: dict[str, set[str]] = field(default_factory=dict)
    operations: dict[str, list[str]] = field(default_factory=dict)

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
    result = ProjectScreens()
    for operation in OPERATIONS:
        screen_id = screens.get(operation) or screens.get("default")
        if screen_id is None:
            continue
        sid = str(screen_id)
        result.operations.setdefault(sid, []).append(operation)
        if sid in result.tabs:
            continue
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
    return result


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
