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
from ._contexts import add_default_context
from ._errors import JiraApiError
from ._field_edits import check_fields, field_changes
from ._fields import custom_schema
from ._model import Attachment, ChangeItem, Comment, FieldDef, History, Issue, IssueLink
from ._screen_checks import RESOLUTIONS, check_transition_fields, off_screen, resolution_of
from ._state import LINK_TYPES, IssueEvent, JiraState
from ._workflow import INITIAL_STATUS, RESOLUTION_DONE, STATUSES, transitions_from

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

_MAX_PROPERTY_BYTES = 32768  # Jira's limit on an entity property value


@dataclass(frozen=True)
class Upload:
    """One file from a multipart attachment request."""

    filename: str
    mime_type: str
    content: bytes


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
                for tid, name in state.issue_types.items()
                if type_ref.get("id") == tid or type_ref.get("name") == name
            ),
            None,
        )
    if issuetype is None:
        errors["issuetype"] = "Specify an issue type"
    if "summary" not in fields:
        errors["summary"] = "You must specify a summary of the issue."
    where = (project.id, issuetype) if project is not None and issuetype is not None else None
    if where is not None:
        # the create screen decides first: a field it lacks is refused whatever its value
        off = off_screen(state, state.screens.screen_for(*where, "create"), body)
        errors.update(off)
        fields = {k: v for k, v in fields.items() if k not in off}
    values = check_fields(state, fields, errors, creating=True, where=where)
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
        fields={"priority": _default_priority(state), "labels": [], **values},
    )
    state.issues[issue.id] = issue
    state.emit(IssueEvent("jira:issue_created", "issue_created", actor_id, issue.id, now))
    return issue


def _default_priority(state: JiraState) -> str | None:
    """Medium when the site has it (Jira's default scheme), else its middle priority."""
    names = list(state.priorities.values())
    if "Medium" in names or not names:
        return "Medium" if names else None
    return names[len(names) // 2]


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
    off = off_screen(
        state, state.screens.screen_for(issue.project_id, issue.issuetype, "edit"), body
    )
    if off:
        raise JiraApiError.bad_fields(off)
    items, comments = field_changes(state, issue, body)
    _announce(state, issue, actor_id, items, comments, "issue_updated")


def transition_issue(state: JiraState, actor_id: str, key: str, body: dict[str, Any]) -> None:
    """POST /issue/{key}/transitions: move along the workflow, with optional field edits."""
    issue = state.issue(key)
    wanted = body.get("transition") or {}
    transition_id = str(wanted.get("id", "")) if isinstance(wanted, dict) else ""
    transition = next((t for t in transitions_from(issue.status_id) if t.id == transition_id), None)
    if transition is None:
        raise JiraApiError(400, [f"Transition id '{transition_id}' is not valid for this issue."])
    check_transition_fields(state, transition.id, body)
    # the resolution of a transition screen is not an issue field edit: taken out here
    raw_fields = body.get("fields") if isinstance(body.get("fields"), dict) else None
    chosen = resolution_of((raw_fields or {}).get("resolution"))
    if raw_fields and "resolution" in raw_fields:
        body = {**body, "fields": {k: v for k, v in raw_fields.items() if k != "resolution"}}
    items, comments = field_changes(state, issue, body)
    old, new = STATUSES[issue.status_id], STATUSES[transition.to_id]
    issue.status_id = new.id
    now = state.clock()
    if new.category_key == "done":
        name = chosen or RESOLUTION_DONE[1]
        issue.fields["resolution"] = name
        issue.resolution_date = now
        resolution_id = next((i for i, n in RESOLUTIONS.items() if n == name), RESOLUTION_DONE[0])
        items.append(
            ChangeItem("resolution", "resolution", "jira", None, None, resolution_id, name)
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
    if not _adf.is_adf(body.get("body")) or _adf.schema_problem(body["body"]) is not None:
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
