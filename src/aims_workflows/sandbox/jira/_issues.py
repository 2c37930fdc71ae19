"""What the REST handlers do to the state: create, edit, transition, comment, attach, link,
entity properties and custom fields. Each operation validates like Jira (raising
``JiraApiError`` with Jira's wording), records a changelog entry and emits the event a
webhook reports. Callers hold ``state.lock``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from . import _adf
from ._contexts import add_default_context, resolve_choices
from ._errors import JiraApiError
from ._fields import EDITABLE_SYSTEM_FIELDS, check_value, custom_schema, display_string
from ._model import Attachment, ChangeItem, Comment, FieldDef, History, Issue, IssueLink
from ._state import LINK_TYPES, IssueEvent, JiraState
from ._workflow import INITIAL_STATUS, ISSUE_TYPES, RESOLUTION_DONE, STATUSES, transitions_from

__all__ = [
    "Upload",
    "create_issue",
    "edit_issue",
    "transition_issue",
    "add_comment",
    "add_attachments",
    "link_issues",
    "set_property",
    "create_field",
]

_UNKNOWN_FIELD = "Field '{}' cannot be set. It is not on the appropriate screen, or unknown."
_MAX_PROPERTY_BYTES = 32768  # Jira's limit on an entity property value


@dataclass(frozen=True)
class Upload:
    """One file from a multipart attachment request."""

    filename: str
    mime_type: str
    content: bytes


Where = tuple[str, str] | None
"""(project id, issue type id) of the issue a value is for; None when not known (a create
request naming no valid project): choice values are then not matched with options."""


def _check(state: JiraState, fdef: FieldDef, value: Any, where: Where) -> tuple[Any, str | None]:
    """``check_value``, then choice values against the options of the applicable context."""
    stored, problem = check_value(fdef, value, set(state.users))
    if problem or where is None:
        return stored, problem
    return resolve_choices(state, fdef, stored, *where)


def _check_fields(
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
        if problem:
            errors[field_id] = problem
        else:
            values[field_id] = stored
    return values


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
                if not _adf.is_adf(body):
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


def _record(state: JiraState, issue: Issue, actor_id: str, items: list[ChangeItem]) -> History:
    history = History(state.next_id(), actor_id, state.clock(), items)
    issue.histories.append(history)
    issue.updated = history.created
    return history


def _new_comment(state: JiraState, issue: Issue, actor_id: str, body: dict[str, Any]) -> Comment:
    now = state.clock()
    comment = Comment(state.next_id(), issue.id, actor_id, body, now, now)
    issue.comments.append(comment)
    issue.updated = now
    return comment


def _emit_comment(state: JiraState, issue: Issue, comment: Comment) -> None:
    state.emit(
        IssueEvent(
            "comment_created", None, comment.author_id, issue.id, comment.created, comment=comment
        )
    )


def create_issue(state: JiraState, actor_id: str, body: dict[str, Any]) -> Issue:
    """POST /issue: validate every field, report all problems at once, then create."""
    fields = body.get("fields")
    if not isinstance(fields, dict):
        raise JiraApiError.bad_fields({"project": "Specify a valid project ID or key"})
    errors: dict[str, str] = {}
    project = None
    ref = fields.get("project")
    if isinstance(ref, dict) and (ref.get("id") or ref.get("key")):
        try:
            project = state.project(str(ref.get("id") or ref.get("key")))
        except JiraApiError:
            errors["project"] = "Specify a valid project ID or key"
    else:
        errors["project"] = "Specify a valid project ID or key"
    type_ref = fields.get("issuetype")
    issuetype = None
    if isinstance(type_ref, dict):
        issuetype = next(
            (
                tid
                for tid, name in ISSUE_TYPES.items()
                if type_ref.get("id") == tid or type_ref.get("name") == name
            ),
            None,
        )
    if issuetype is None:
        errors["issuetype"] = "Specify an issue type"
    if "summary" not in fields:
        errors["summary"] = "You must specify a summary of the issue."
    where = (project.id, issuetype) if project is not None and issuetype is not None else None
    values = _check_fields(state, fields, errors, creating=True, where=where)
    if errors or project is None or issuetype is None:
        raise JiraApiError.bad_fields(errors)
    now = state.clock()
    issue = Issue(
        id=state.next_issue_id(),
        key=state.next_issue_key(project),
        project_id=project.id,
        issuetype=issuetype,
        status_id=INITIAL_STATUS,
        reporter_id=values.pop("reporter", None) or actor_id,
        created=now,
        updated=now,
        fields={"priority": "Medium", "labels": [], **values},
    )
    state.issues[issue.id] = issue
    state.emit(IssueEvent("jira:issue_created", "issue_created", actor_id, issue.id, now))
    return issue


def _field_changes(
    state: JiraState, issue: Issue, body: dict[str, Any]
) -> tuple[list[ChangeItem], list[dict[str, Any]]]:
    """Check and apply an edit's ``fields`` and ``update`` verbs (PUT /issue and POST
    transitions take the same): the changelog items, and the comments to add."""
    errors: dict[str, str] = {}
    fields = body.get("fields") or {}
    if not isinstance(fields, dict):
        raise JiraApiError.bad_fields({"fields": "Operation value must be an object"})
    values = _check_fields(
        state, fields, errors, creating=False, where=(issue.project_id, issue.issuetype)
    )
    comments = _apply_updates(state, issue, body.get("update") or {}, values, errors)
    if errors:
        raise JiraApiError.bad_fields(errors)
    return _change_items(state, issue, values), comments


def _announce(
    state: JiraState,
    issue: Issue,
    actor_id: str,
    items: list[ChangeItem],
    comments: list[dict[str, Any]],
    event_type: str,
) -> None:
    """One changelog entry and its webhook, then one webhook per added comment."""
    if items:
        history = _record(state, issue, actor_id, items)
        state.emit(
            IssueEvent(
                "jira:issue_updated",
                event_type,
                actor_id,
                issue.id,
                history.created,
                history=history,
            )
        )
    for comment_body in comments:
        _emit_comment(state, issue, _new_comment(state, issue, actor_id, comment_body))


def edit_issue(state: JiraState, actor_id: str, key: str, body: dict[str, Any]) -> None:
    """PUT /issue/{key}: apply ``fields`` and ``update`` verbs as one changelog entry."""
    issue = state.issue(key)
    items, comments = _field_changes(state, issue, body)
    _announce(state, issue, actor_id, items, comments, "issue_updated")


def transition_issue(state: JiraState, actor_id: str, key: str, body: dict[str, Any]) -> None:
    """POST /issue/{key}/transitions: move along the workflow, with optional field edits."""
    issue = state.issue(key)
    wanted = body.get("transition") or {}
    transition_id = str(wanted.get("id", "")) if isinstance(wanted, dict) else ""
    transition = next((t for t in transitions_from(issue.status_id) if t.id == transition_id), None)
    if transition is None:
        raise JiraApiError(400, [f"Transition id '{transition_id}' is not valid for this issue."])
    items, comments = _field_changes(state, issue, body)
    old, new = STATUSES[issue.status_id], STATUSES[transition.to_id]
    issue.status_id = new.id
    now = state.clock()
    if new.category_key == "done":
        issue.fields["resolution"] = RESOLUTION_DONE[1]
        issue.resolution_date = now
        items.append(
            ChangeItem(
                "resolution",
                "resolution",
                "jira",
                None,
                None,
                RESOLUTION_DONE[0],
                RESOLUTION_DONE[1],
            )
        )
    elif old.category_key == "done":
        issue.fields["resolution"] = None
        issue.resolution_date = None
        items.append(
            ChangeItem(
                "resolution",
                "resolution",
                "jira",
                RESOLUTION_DONE[0],
                RESOLUTION_DONE[1],
                None,
                None,
            )
        )
    items.append(ChangeItem("status", "status", "jira", old.id, old.name, new.id, new.name))
    _announce(state, issue, actor_id, items, comments, "issue_generic")


def add_comment(state: JiraState, actor_id: str, key: str, body: dict[str, Any]) -> Comment:
    """POST /issue/{key}/comment: v3 comment bodies must be ADF documents."""
    issue = state.issue(key)
    if not _adf.is_adf(body.get("body")):
        raise JiraApiError.bad_fields({"comment": "Comment body is not valid!"})
    comment = _new_comment(state, issue, actor_id, body["body"])
    _emit_comment(state, issue, comment)
    return comment


def add_attachments(
    state: JiraState, actor_id: str, key: str, uploads: list[Upload]
) -> list[Attachment]:
    """POST /issue/{key}/attachments: store the files; one changelog item per file."""
    issue = state.issue(key)
    if not uploads:
        raise JiraApiError(400, ["No file was attached."])
    now = state.clock()
    added: list[Attachment] = []
    items: list[ChangeItem] = []
    for upload in uploads:
        attachment = Attachment(
            state.next_id(),
            issue.id,
            upload.filename,
            upload.mime_type,
            upload.content,
            actor_id,
            now,
        )
        issue.attachments.append(attachment)
        added.append(attachment)
        items.append(
            ChangeItem(
                "Attachment", "attachment", "jira", None, None, attachment.id, attachment.filename
            )
        )
    history = _record(state, issue, actor_id, items)
    state.emit(
        IssueEvent(
            "jira:issue_updated",
            "issue_updated",
            actor_id,
            issue.id,
            history.created,
            history=history,
        )
    )
    return added


def link_issues(state: JiraState, body: dict[str, Any]) -> IssueLink:
    """POST /issueLink: link two issues with one of the site's link types."""
    type_ref = body.get("type") or {}
    type_name = next(
        (
            name
            for name, (tid, _, _) in LINK_TYPES.items()
            if type_ref.get("name") == name or type_ref.get("id") == tid
        ),
        None,
    )
    if type_name is None:
        raise JiraApiError(404, [f"No issue link type with name '{type_ref.get('name')}' found."])

    def issue_of(ref: Any) -> Issue:
        ident = ref.get("key") or ref.get("id") if isinstance(ref, dict) else None
        if not ident:
            raise JiraApiError(400, ["Issue to link to is not specified."])
        return state.issue(str(ident))

    inward, outward = issue_of(body.get("inwardIssue")), issue_of(body.get("outwardIssue"))
    link = IssueLink(state.next_id(), type_name, inward.id, outward.id)
    state.links[link.id] = link
    return link


def set_property(state: JiraState, key: str, property_key: str, value: Any) -> bool:
    """PUT /issue/{key}/properties/{propertyKey}; True when the property is new."""
    issue = state.issue(key)
    if not property_key or len(property_key) > 255:
        raise JiraApiError(400, ["The property key must be between 1 and 255 characters."])
    if len(json.dumps(value).encode()) > _MAX_PROPERTY_BYTES:
        raise JiraApiError(400, ["The property value is too long (limit: 32768 bytes)."])
    created = property_key not in issue.properties
    issue.properties[property_key] = value
    return created


def create_field(state: JiraState, body: dict[str, Any]) -> str:
    """POST /field: a custom field with a realistic ``customfield_10xxx`` id."""
    name, type_key = body.get("name"), body.get("type")
    if not isinstance(name, str) or not name.strip():
        raise JiraApiError.bad_fields({"name": "The custom field name must not be empty."})
    number = state.next_field_number()
    schema = custom_schema(str(type_key), number)
    if schema is None:
        raise JiraApiError(400, [f"Custom field type '{type_key}' is not supported."])
    field_id = f"customfield_{number}"
    fdef = FieldDef(field_id, name, True, schema, body.get("description") or "")
    state.fields[field_id] = fdef
    add_default_context(state, fdef)
    return field_id
