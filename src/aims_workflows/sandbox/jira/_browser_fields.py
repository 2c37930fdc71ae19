"""The issue page's field editors: what each custom field looks like in a browser form, and how
what a person typed becomes the value a REST edit carries.

Values are read from the issue as ``GET /issue/{key}`` renders it and written back in the
shapes the REST API takes (ADF for multi-line text, ``{"id"}`` for options, ``{"accountId"}``
for people), so the page edits an issue exactly as a script with the person's token would.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import _adf
from ._contexts import context_for
from ._fields import CUSTOM_TYPE_PREFIX
from ._model import FieldDef, Issue
from ._state import JiraState

__all__ = ["Editor", "editors_for", "submitted_value"]


@dataclass
class Editor:
    """One field of the issue page's form.

    ``kind`` is the input to show (text, textarea, number, date, select, multiselect, user,
    labels); ``value`` the current value as the input holds it (a list for multiselect);
    ``options`` ``(id, label)`` pairs for choices and people.
    """

    id: str
    name: str
    kind: str
    value: Any
    options: list[tuple[str, str]] = field(default_factory=list)
    error: str | None = None


_KINDS = {
    "textfield": "text",
    "url": "text",
    "textarea": "textarea",
    "float": "number",
    "datepicker": "date",
    "select": "select",
    "multiselect": "multiselect",
    "userpicker": "user",
    "labels": "labels",
}


def _kind(fdef: FieldDef) -> str | None:
    custom = str(fdef.schema.get("custom", ""))
    if not custom.startswith(CUSTOM_TYPE_PREFIX):
        return None
    return _KINDS.get(custom.removeprefix(CUSTOM_TYPE_PREFIX))


def _number_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def _shown(kind: str, rendered: Any) -> Any:
    """The input's value from the REST rendering of the field."""
    if rendered is None:
        return [] if kind == "multiselect" else ""
    if kind == "textarea":
        return _adf.to_text(rendered)
    if kind == "number":
        return _number_text(rendered)
    if kind == "select":
        return str(rendered.get("id", ""))
    if kind == "multiselect":
        return [str(o.get("id", "")) for o in rendered]
    if kind == "user":
        return str(rendered.get("accountId", ""))
    if kind == "labels":
        return " ".join(rendered)
    return str(rendered)


def editors_for(
    state: JiraState, issue: Issue, rendered: dict[str, Any], field_ids: list[str]
) -> list[Editor]:
    """Editors for ``field_ids`` (custom fields the page can edit; others are left out)."""
    people = sorted((u.display_name, u.account_id) for u in state.users.values() if u.active)
    editors: list[Editor] = []
    for field_id in field_ids:
        fdef = state.field(field_id)
        kind = _kind(fdef) if fdef is not None else None
        if fdef is None or kind is None:
            continue
        options: list[tuple[str, str]] = []
        if kind in ("select", "multiselect"):
            context = context_for(state, field_id, issue.project_id, issue.issuetype)
            if context is not None:
                options = [(o.id, o.value) for o in context.options if not o.disabled]
        elif kind == "user":
            options = [(account, name) for name, account in people]
        editors.append(
            Editor(field_id, fdef.name, kind, _shown(kind, rendered.get(field_id)), options)
        )
    return editors


def submitted_value(editor: Editor, raw: list[str]) -> tuple[bool, Any]:
    """``(changed, rest_value)`` for what the form sent for ``editor``.

    Unchanged fields are left out of the edit, so saving a page records only what the person
    changed (Jira's changelog does the same). Raises ValueError for a number that is not one.
    """
    text = raw[0].strip() if raw else ""
    kind = editor.kind
    if kind == "multiselect":
        chosen = [v for v in raw if v]
        if sorted(chosen) == sorted(editor.value):
            return False, None
        return True, [{"id": v} for v in chosen]
    if kind == "textarea":
        typed = raw[0].replace("\r\n", "\n").strip() if raw else ""
        if typed == str(editor.value).strip():
            return False, None
        return True, (_adf.doc(typed) if typed else None)
    if text == str(editor.value):
        return False, None
    if not text:
        return True, None
    if kind == "number":
        try:
            number = float(text)
        except ValueError:
            raise ValueError(f"'{text}' is not a number") from None
        return True, int(number) if number.is_integer() else number
    if kind == "select":
        return True, {"id": text}
    if kind == "user":
        return True, {"accountId": text}
    if kind == "labels":
        return True, text.split()
    return True, text
