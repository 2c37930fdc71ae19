"""Field values of a create, edit or transition body: each checked like Jira checks it, the
``update`` verbs (set, add, remove, and comments added through ``update``) folded in, and every
real change described as a changelog item."""

from __future__ import annotations

from typing import Any

from . import _adf
from ._contexts import resolve_choices
from ._errors import JiraApiError
from ._fields import EDITABLE_SYSTEM_FIELDS, check_value, display_string
from ._model import ChangeItem, FieldDef, Issue
from ._state import JiraState

__all__ = ["Where", "check_fields", "field_changes"]

_UNKNOWN_FIELD = "Field '{}' cannot be set. It is not on the appropriate screen, or unknown."

Where = tuple[str, str] | None
"""(project id, issue type id) of the issue a value is for; None when not known (a create
request naming no valid project): choice values are then not matched with options."""


def _check(state: JiraState, fdef: FieldDef, value: Any, where: Where) -> tuple[Any, str | None]:
    """``check_value``, then choice values against the options of the applicable context."""
    stored, problem = check_value(fdef, value, set(state.users), state.priorities)
    if problem or where is None:
        return stored, problem
    return resolve_choices(state, fdef, stored, *where)


def check_fields(
    state: JiraState,
    fields: dict[str, Any],
    errors: dict[str, str],
    *,
    creating: bool,
    where: Where,
) -> dict[str, Any]:
    """Validate ``fields`` of a create/edit body; return stored values, fill ``errors``."""
    values: dict[str, Any] = {}
    for field_id, value in fields.items():
        if field_id in ("project", "issuetype") and creating:
            continue
        fdef = state.field(field_id)
        if fdef is None or (not fdef.custom and field_id not in EDITABLE_SYSTEM_FIELDS):
            errors[field_id] = _UNKNOWN_FIELD.format(field_id)
            continue
        stored, problem = _check(state, fdef, value, where)
        if not problem and field_id == "assignee" and stored is not None:
            problem = _not_assignable(state, str(stored))
        if problem:
            errors[field_id] = problem
        else:
            values[field_id] = stored
    return values


def _not_assignable(state: JiraState, account_id: str) -> str | None:
    """Jira's refusal of an assignee without the project's *Assignable User* permission."""
    if "ASSIGNABLE_USER" not in state.denied_permissions.get(account_id, set()):
        return None
    user = state.users.get(account_id)
    return f"User '{user.display_name if user else account_id}' cannot be assigned issues."


def _apply_updates(
    state: JiraState,
    issue: Issue,
    update: dict[str, Any],
    values: dict[str, Any],
    errors: dict[str, str],
) -> list[dict[str, Any]]:
    """Fold the ``update`` verbs (set/add/remove) into ``values``; return comment bodies."""
    comments: list[dict[str, Any]] = []
    if not isinstance(update, dict):
        errors["update"] = "Operation value must be an object"
        return comments
    for field_id, operations in update.items():
        if not isinstance(operations, list):
            errors[field_id] = "Operation value must be an array"
            continue
        for operation in operations:
            if not isinstance(operation, dict):
                errors[field_id] = "Operation value must be an object"
                break
            verb, argument = next(iter(operation.items())) if operation else ("", None)
            if field_id == "comment" and verb == "add":
                body = argument.get("body") if isinstance(argument, dict) else None
                if not _adf.is_adf(body) or _adf.schema_problem(body) is not None:
                    errors["comment"] = "Comment body is not valid!"
                else:
                    comments.append(body)
                continue
            fdef = state.field(field_id)
            if fdef is None or (not fdef.custom and field_id not in EDITABLE_SYSTEM_FIELDS):
                errors[field_id] = _UNKNOWN_FIELD.format(field_id)
                continue
            if verb == "set":
                stored, problem = _check(state, fdef, argument, (issue.project_id, issue.issuetype))
                if problem:
                    errors[field_id] = problem
                else:
                    values[field_id] = stored
            elif verb in ("add", "remove") and fdef.schema.get("items") == "string":
                current = list(values.get(field_id, issue.fields.get(field_id)) or [])
                if verb == "add" and argument not in current:
                    stored, problem = check_value(fdef, [argument], set(state.users))
                    if problem:
                        errors[field_id] = problem
                        continue
                    current.append(argument)
                elif verb == "remove" and argument in current:
                    current.remove(argument)
                values[field_id] = current
            else:
                errors[field_id] = f"Field '{field_id}' does not support operation '{verb}'"
    return comments


def _change_items(state: JiraState, issue: Issue, values: dict[str, Any]) -> list[ChangeItem]:
    """Store ``values`` on ``issue`` and describe each real change as a changelog item."""
    names = state.user_names()
    items: list[ChangeItem] = []
    for field_id, new in values.items():
        old = issue.fields.get(field_id)
        if old == new:
            continue
        issue.fields[field_id] = new
        fdef = state.fields[field_id]
        raw_from, raw_to = old, new
        if fdef.schema.get("type") in ("array", "option") or fdef.id == "description":
            # Jira leaves from/to empty for these and puts the text in the *String pair.
            raw_from = raw_to = None
        items.append(
            ChangeItem(
                field=fdef.name if fdef.custom else fdef.id,
                field_id=fdef.id,
                fieldtype="custom" if fdef.custom else "jira",
                from_=None if raw_from is None else str(raw_from),
                from_string=display_string(fdef, old, names),
                to=None if raw_to is None else str(raw_to),
                to_string=display_string(fdef, new, names),
            )
        )
    return items


def field_changes(
    state: JiraState, issue: Issue, body: dict[str, Any]
) -> tuple[list[ChangeItem], list[dict[str, Any]]]:
    """Check and apply an edit's ``fields`` and ``update`` verbs (PUT /issue and POST
    transitions take the same): the changelog items, and the comments to add."""
    errors: dict[str, str] = {}
    fields = body.get("fields") or {}
    if not isinstance(fields, dict):
        raise JiraApiError.bad_fields({"fields": "Operation value must be an object"})
    values = check_fields(
        state, fields, errors, creating=False, where=(issue.project_id, issue.issuetype)
    )
    comments = _apply_updates(state, issue, body.get("update") or {}, values, errors)
    if errors:
        raise JiraApiError.bad_fields(errors)
    return _change_items(state, issue, values), comments
