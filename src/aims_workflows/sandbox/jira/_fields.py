"""The field catalogue (system and custom fields) and the checks Jira applies to field values.

``check_value`` turns a value from a create/edit request into the stored form, or says why
Jira would refuse it, with Jira's own wording where it is known.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from . import _adf
from ._model import FieldDef

__all__ = [
    "SYSTEM_FIELDS",
    "CUSTOM_TYPE_PREFIX",
    "CUSTOM_TYPES",
    "PRIORITIES",
    "EDITABLE_SYSTEM_FIELDS",
    "custom_schema",
    "check_value",
    "display_string",
]

CUSTOM_TYPE_PREFIX = "com.atlassian.jira.plugin.system.customfieldtypes:"

# custom field type suffix -> (JsonTypeBean.type, items)
CUSTOM_TYPES: dict[str, tuple[str, str | None]] = {
    "textfield": ("string", None),
    "textarea": ("string", None),
    "url": ("string", None),
    "float": ("number", None),
    "datepicker": ("date", None),
    "datetime": ("datetime", None),
    "select": ("option", None),
    "multiselect": ("array", "option"),
    "labels": ("array", "string"),
    "userpicker": ("user", None),
}

_NOT_ADF = "Operation value must be an Atlassian Document (see the Atlassian Document Format)"

PRIORITIES: dict[str, str] = {"1": "Highest", "2": "High", "3": "Medium", "4": "Low", "5": "Lowest"}


def _system(field_id: str, name: str, type_: str, items: str | None = None) -> FieldDef:
    schema: dict[str, Any] = {"type": type_, "system": field_id}
    if items:
        schema["items"] = items
    return FieldDef(id=field_id, name=name, custom=False, schema=schema)


SYSTEM_FIELDS: tuple[FieldDef, ...] = (
    _system("summary", "Summary", "string"),
    _system("description", "Description", "string"),
    _system("issuetype", "Issue Type", "issuetype"),
    _system("project", "Project", "project"),
    _system("status", "Status", "status"),
    _system("assignee", "Assignee", "user"),
    _system("reporter", "Reporter", "user"),
    _system("priority", "Priority", "priority"),
    _system("labels", "Labels", "array", "string"),
    _system("duedate", "Due date", "date"),
    _system("created", "Created", "datetime"),
    _system("updated", "Updated", "datetime"),
    _system("resolution", "Resolution", "resolution"),
    _system("resolutiondate", "Resolved", "datetime"),
    _system("attachment", "Attachment", "array", "attachment"),
    _system("issuelinks", "Linked Issues", "array", "issuelinks"),
    _system("comment", "Comment", "comments-page"),
)

# What a create or edit request may set besides custom fields; project and issuetype are
# accepted on create only.
EDITABLE_SYSTEM_FIELDS = frozenset(
    {"summary", "description", "assignee", "reporter", "priority", "labels", "duedate"}
)


def custom_schema(type_key: str, numeric_id: int) -> dict[str, Any] | None:
    """JsonTypeBean for a custom field type key, or None when the sandbox does not know it."""
    suffix = type_key.removeprefix(CUSTOM_TYPE_PREFIX)
    if not type_key.startswith(CUSTOM_TYPE_PREFIX) or suffix not in CUSTOM_TYPES:
        return None
    type_, items = CUSTOM_TYPES[suffix]
    schema: dict[str, Any] = {"type": type_, "custom": type_key, "customId": numeric_id}
    if items:
        schema["items"] = items
    return schema


def _is_rich_text(fdef: FieldDef) -> bool:
    # v3 takes ADF for the description and for multi-line custom text fields.
    return fdef.id == "description" or fdef.schema.get("custom", "").endswith(":textarea")


def _option_ref(value: Any) -> dict[str, str] | None:
    """``{"id": ...}`` or ``{"value": ...}`` from an option in a request; Jira prefers the id.
    Which options exist is checked later, against the field's context (``_contexts``)."""
    if not isinstance(value, dict):
        return None
    option_id = value.get("id")
    if isinstance(option_id, str | int) and not isinstance(option_id, bool):
        return {"id": str(option_id)}
    if isinstance(value.get("value"), str):
        return {"value": value["value"]}
    return None


def check_value(
    fdef: FieldDef, value: Any, user_ids: set[str], priorities: dict[str, str] = PRIORITIES
) -> tuple[Any, str | None]:
    """Return ``(stored_value, None)`` or ``(None, jira_error_message)``; ``priorities`` are
    the site's (id -> name)."""
    if value is None:
        if fdef.id == "summary":
            return None, "You must specify a summary of the issue."
        return None, None
    kind = fdef.schema.get("type")
    if _is_rich_text(fdef):
        if not _adf.is_adf(value):
            return None, _NOT_ADF
        if _adf.schema_problem(value) is not None:
            return None, _adf.NOT_VALID_ADF
        return value, None
    if kind == "string":
        if not isinstance(value, str):
            return None, "Operation value must be a string"
        if fdef.id == "summary" and not value.strip():
            return None, "You must specify a summary of the issue."
        if len(value) > 255 and fdef.id == "summary":
            return None, "Summary must be less than 255 characters."
        if fdef.id == "summary" and ("\n" in value or "\r" in value):
            return None, "The summary is invalid because it contains newline characters."
        if str(fdef.schema.get("custom", "")).endswith(":textfield") and len(value) > 255:
            return None, (
                "The entered text is too long. It exceeds the allowed limit of 255 characters."
            )
        return value, None
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None, "Operation value must be a number"
        return value, None
    if kind == "date":
        # Jira wants exactly yyyy-MM-dd; fromisoformat alone would also take "20250105".
        if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            return None, f"Error parsing date string: {value}"
        try:
            date.fromisoformat(value)
        except ValueError:
            return None, f"Error parsing date string: {value}"
        return value, None
    if kind == "datetime":
        try:
            datetime.fromisoformat(str(value))
        except ValueError:
            return None, f"Error parsing date string: {value}"
        return value, None
    if kind == "user":
        account_id = value.get("accountId") if isinstance(value, dict) else None
        if account_id is None and isinstance(value, dict) and "accountId" in value:
            return None, None
        if account_id not in user_ids:
            return None, "Specified user does not exist or you do not have required permissions"
        return account_id, None
    if kind == "priority":
        if isinstance(value, dict):
            if value.get("id") in priorities:
                return priorities[value["id"]], None
            name = next((n for n in priorities.values() if n == value.get("name")), None)
            if name:
                return name, None
        return None, "Specify a valid priority"
    if kind == "option":
        ref = _option_ref(value)
        if ref is not None:
            return ref, None
        return None, "Specify a valid 'id' or 'value' for the option"
    if kind == "array":
        if not isinstance(value, list):
            return None, "Operation value must be an array"
        if fdef.schema.get("items") == "string":
            for item in value:
                if not isinstance(item, str):
                    return None, "Operation value must be a string"
                if re.search(r"\s", item):
                    return None, f"The label '{item}' contains spaces which is invalid."
                if len(item) > 255:
                    return None, "The label must not exceed 255 characters."
            return list(value), None
        if fdef.schema.get("items") == "option":
            refs = [_option_ref(v) for v in value]
            if all(ref is not None for ref in refs):
                return refs, None
            return None, "Specify a valid 'id' or 'value' for the option"
    return None, (
        f"Field '{fdef.id}' cannot be set. It is not on the appropriate screen, or unknown."
    )


def display_string(fdef: FieldDef, stored: Any, user_names: dict[str, str]) -> str | None:
    """The human form of a stored value, as changelog ``fromString`` / ``toString`` show it."""
    if stored is None:
        return None
    if _is_rich_text(fdef):
        return _adf.to_text(stored)
    kind = fdef.schema.get("type")
    if kind == "user":
        return user_names.get(stored, stored)
    if kind == "option":
        return stored["value"]
    if kind == "array":
        if fdef.schema.get("items") == "option":
            return ",".join(v["value"] for v in stored)
        return " ".join(stored)
    return str(stored)
