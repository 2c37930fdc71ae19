"""Field metadata as createmeta, editmeta and expanded transitions give it: one entry per
field of the operation's screen, with its schema, whether it is required, the operations
an edit may use and, for choice fields, the values allowed for the issue's project."""

from __future__ import annotations

from typing import Any

from ._contexts import context_for
from ._model import FieldDef
from ._render import Renderer
from ._screen_checks import RESOLUTIONS
from ._screens import Screen
from ._state import JiraState

__all__ = ["field_meta", "screen_meta"]

_REQUIRED = frozenset({"summary", "issuetype", "project", "resolution"})


def _operations(fdef: FieldDef) -> list[str]:
    if fdef.schema.get("type") == "array" or fdef.id == "labels":
        return ["add", "set", "remove"]
    if fdef.id in ("attachment", "issuelinks"):
        return ["add"]
    return ["set"]


def _allowed(
    state: JiraState, render: Renderer, fdef: FieldDef, project_id: str, issue_type_id: str
) -> list[dict[str, Any]] | None:
    kind, items = fdef.schema.get("type"), fdef.schema.get("items")
    if kind == "option" or items == "option":
        context = context_for(state, fdef.id, project_id, issue_type_id)
        return [
            {"self": f"{render.api}/customFieldOption/{o.id}", "value": o.value, "id": o.id}
            for o in (context.options if context else [])
            if not o.disabled
        ]
    if kind == "priority":
        shown = (render.priority(name) for name in state.priorities.values())
        return [p for p in shown if p is not None]
    if kind == "resolution":
        return [
            {"self": f"{render.api}/resolution/{rid}", "id": rid, "name": name}
            for rid, name in RESOLUTIONS.items()
        ]
    return None


def field_meta(
    state: JiraState,
    render: Renderer,
    fdef: FieldDef,
    project_id: str,
    issue_type_id: str,
    *,
    with_id: bool = False,
) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "required": fdef.id in _REQUIRED,
        "schema": dict(fdef.schema),
        "name": fdef.name,
        "key": fdef.id,
        "operations": _operations(fdef),
        "hasDefaultValue": fdef.id == "priority",
    }
    if with_id:
        meta["fieldId"] = fdef.id
    allowed = _allowed(state, render, fdef, project_id, issue_type_id)
    if allowed is not None:
        meta["allowedValues"] = allowed
    return meta


def screen_meta(
    state: JiraState,
    render: Renderer,
    screen: Screen | None,
    project_id: str,
    issue_type_id: str,
    *,
    with_id: bool = False,
) -> list[dict[str, Any]]:
    """Metadata of the live fields on ``screen``, in tab order (none without a screen)."""
    found: list[dict[str, Any]] = []
    for tab in screen.tabs if screen else []:
        for field_id in tab.fields:
            fdef = state.field(field_id)
            if fdef is not None:
                found.append(
                    field_meta(state, render, fdef, project_id, issue_type_id, with_id=with_id)
                )
    return found
