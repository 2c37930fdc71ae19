"""JSON shapes of the sandbox's records, as Jira Cloud REST API v3 answers them.

Every ``self`` link is absolute and points back at the sandbox, because the ``jira`` client
follows them (``Issue.update`` PUTs to ``issue.self``). Shapes keep to the properties that
the vendor's OpenAPI schemas allow, since several of those schemas forbid extra properties.
"""

from __future__ import annotations

from typing import Any

from ._clock import jira_datetime
from ._fields import PRIORITIES
from ._model import (
    Attachment,
    Comment,
    FieldContext,
    FieldDef,
    FieldOption,
    History,
    Issue,
    JiraUser,
    Project,
)
from ._state import LINK_TYPES, JiraState
from ._workflow import RESOLUTION_DONE, STATUSES, Transition, transitions_from

__all__ = ["Renderer"]

_NAVIGABLE_EXCLUDED = {"comment"}


class Renderer:
    """Builds response bodies for one sandbox at ``base_url``."""

    def __init__(self, state: JiraState, base_url: str) -> None:
        self.state = state
        self.base_url = base_url.rstrip("/")
        self.api = self.base_url + "/rest/api/3"

    # people and projects -----------------------------------------------------------------
    def avatar_urls(self, seed: str) -> dict[str, str]:
        return {
            size: f"{self.base_url}/secure/useravatar?size={size}&ownerId={seed}"
            for size in ("16x16", "24x24", "32x32", "48x48")
        }

    def user(
        self, user: JiraUser | None, *, full: bool = False, own: bool = False
    ) -> dict[str, Any] | None:
        """User (``full``) or UserDetails, the shorter form embedded in issues. The e-mail is
        left out when the person's profile visibility hides it (``own``: the person asking
        about themselves, who always sees it)."""
        if user is None:
            return None
        body: dict[str, Any] = {
            "self": f"{self.api}/user?accountId={user.account_id}",
            "accountId": user.account_id,
            "accountType": user.account_type,
            "emailAddress": user.email,
            "avatarUrls": self.avatar_urls(user.account_id),
            "displayName": user.display_name,
            "active": user.active,
            "timeZone": user.time_zone,
        }
        if not (user.email_visible or own):
            del body["emailAddress"]
        if full:
            body["locale"] = "en_US"
        return body

    def user_by_id(self, account_id: str | None) -> dict[str, Any] | None:
        return self.user(self.state.users.get(account_id or ""))

    def issuetype(self, type_id: str) -> dict[str, Any]:
        return {
            "self": f"{self.api}/issuetype/{type_id}",
            "id": type_id,
            "description": self.state.issue_type_descriptions.get(type_id)
            or f"A {self.state.issue_types[type_id].lower()}.",
            "iconUrl": f"{self.base_url}/images/icons/issuetypes/{type_id}.svg",
            "name": self.state.issue_types[type_id],
            "subtask": False,
            "hierarchyLevel": 0,
        }

    def project(self, project: Project, *, full: bool = False) -> dict[str, Any]:
        body: dict[str, Any] = {
            "self": f"{self.api}/project/{project.id}",
            "id": project.id,
            "key": project.key,
            "name": project.name,
            "projectTypeKey": "software",
            "simplified": False,
            "avatarUrls": self.avatar_urls(project.id),
        }
        if full:
            body.update(
                description="",
                lead=self.user(self.state.users.get(project.lead_account_id)),
                issueTypes=[self.issuetype(t) for t in self.state.issue_types],
                assigneeType="UNASSIGNED",
                style="classic",
                isPrivate=False,
                components=[],
                versions=[],
                roles={},
                properties={},
            )
        return body

    def field(self, fdef: FieldDef) -> dict[str, Any]:
        return {
            "id": fdef.id,
            "key": fdef.id,
            "name": fdef.name,
            "custom": fdef.custom,
            "orderable": fdef.id not in ("status", "created", "updated", "resolutiondate"),
            "navigable": fdef.id not in _NAVIGABLE_EXCLUDED,
            "searchable": True,
            "clauseNames": fdef.clause_names,
            "schema": dict(fdef.schema),
        }

    def field_context(self, context: FieldContext) -> dict[str, Any]:
        """CustomFieldContext, as listed by GET /field/{fieldId}/context."""
        return {
            "id": context.id,
            "name": context.name,
            "description": context.description,
            "isGlobalContext": context.is_global,
            "isAnyIssueType": context.any_issue_type,
        }

    def created_context(self, context: FieldContext) -> dict[str, Any]:
        """CreateCustomFieldContext, the answer to POST /field/{fieldId}/context."""
        return {
            "id": context.id,
            "name": context.name,
            "description": context.description,
            "projectIds": list(context.project_ids),
            "issueTypeIds": list(context.issue_type_ids),
        }

    def context_option(self, option: FieldOption) -> dict[str, Any]:
        """CustomFieldContextOption."""
        return {"id": option.id, "value": option.value, "disabled": option.disabled}

    def custom_field_option(self, option: FieldOption) -> dict[str, Any]:
        """CustomFieldOption, as GET /customFieldOption/{id} answers it."""
        return {"self": f"{self.api}/customFieldOption/{option.id}", "value": option.value}

    def _option_value(self, stored: dict[str, Any]) -> dict[str, Any]:
        # An option chosen from the context shows as Jira shows it; a value taken while the
        # field had no options (lenient sandbox) shows as it was set.
        if "id" not in stored:
            return dict(stored)
        return {
            "self": f"{self.api}/customFieldOption/{stored['id']}",
            "value": stored["value"],
            "id": stored["id"],
        }

    # issue parts ------------------------------------------------------------------------
    def status(self, status_id: str) -> dict[str, Any]:
        status = STATUSES[status_id]
        return {
            "self": f"{self.api}/status/{status.id}",
            "description": "",
            "iconUrl": f"{self.base_url}/images/icons/statuses/generic.png",
            "name": status.name,
            "id": status.id,
            "statusCategory": {
                "self": f"{self.api}/statuscategory/{status.category_id}",
                "id": status.category_id,
                "key": status.category_key,
                "colorName": status.color,
                "name": status.category_name,
            },
        }

    def priority(self, name: str | None) -> dict[str, Any] | None:
        if name is None:
            return None
        # the site's own priorities; one removed since keeps its name (as on Jira, on old issues)
        pid = next((k for k, v in self.state.priorities.items() if v == name), None) or next(
            (k for k, v in PRIORITIES.items() if v == name), "3"
        )
        return {
            "self": f"{self.api}/priority/{pid}",
            "iconUrl": f"{self.base_url}/images/icons/priorities/{name.lower()}.svg",
            "name": name,
            "id": pid,
        }

    def comment(self, comment: Comment) -> dict[str, Any]:
        author = self.user_by_id(comment.author_id)
        return {
            "self": f"{self.api}/issue/{comment.issue_id}/comment/{comment.id}",
            "id": comment.id,
            "author": author,
            "body": comment.body,
            "updateAuthor": author,
            "created": jira_datetime(comment.created),
            "updated": jira_datetime(comment.updated),
            "jsdPublic": True,
        }

    def attachment(self, attachment: Attachment) -> dict[str, Any]:
        return {
            "self": f"{self.api}/attachment/{attachment.id}",
            "id": attachment.id,
            "filename": attachment.filename,
            "author": self.user_by_id(attachment.author_id),
            "created": jira_datetime(attachment.created),
            "size": len(attachment.content),
            "mimeType": attachment.mime_type,
            "content": f"{self.api}/attachment/content/{attachment.id}",
        }

    def link_type(self, name: str) -> dict[str, Any]:
        tid, inward, outward = LINK_TYPES[name]
        return {
            "id": tid,
            "name": name,
            "inward": inward,
            "outward": outward,
            "self": f"{self.api}/issueLinkType/{tid}",
        }

    def linked_issue(self, issue: Issue) -> dict[str, Any]:
        return {
            "id": issue.id,
            "key": issue.key,
            "self": f"{self.api}/issue/{issue.id}",
            "fields": {
                "summary": issue.fields.get("summary"),
                "status": self.status(issue.status_id),
                "priority": self.priority(issue.fields.get("priority")),
                "issuetype": self.issuetype(issue.issuetype),
            },
        }

    def issue_links(self, issue: Issue) -> list[dict[str, Any]]:
        """Links seen from ``issue``: the other end is ``inwardIssue`` or ``outwardIssue``."""
        out: list[dict[str, Any]] = []
        for link in self.state.links.values():
            if issue.id not in (link.inward_issue_id, link.outward_issue_id):
                continue
            body = {
                "id": link.id,
                "self": f"{self.api}/issueLink/{link.id}",
                "type": self.link_type(link.type_name),
            }
            if link.inward_issue_id == issue.id:
                body["outwardIssue"] = self.linked_issue(self.state.issues[link.outward_issue_id])
            else:
                body["inwardIssue"] = self.linked_issue(self.state.issues[link.inward_issue_id])
            out.append(body)
        return out

    def history(self, history: History) -> dict[str, Any]:
        return {
            "id": history.id,
            "author": self.user_by_id(history.author_id),
            "created": jira_datetime(history.created),
            "items": [item.as_json() for item in history.items],
        }

    def transition(self, transition: Transition) -> dict[str, Any]:
        return {
            "id": transition.id,
            "name": transition.name,
            "to": self.status(transition.to_id),
            "hasScreen": False,
            "isGlobal": False,
            "isInitial": False,
            "isAvailable": True,
            "isConditional": False,
            "isLooped": False,
        }

    def transitions(self, issue: Issue) -> dict[str, Any]:
        return {"transitions": [self.transition(t) for t in transitions_from(issue.status_id)]}

    # the issue itself -------------------------------------------------------------------
    def issue_fields(self, issue: Issue) -> dict[str, Any]:
        values = issue.fields
        project = self.state.projects[issue.project_id]
        resolution = values.get("resolution")
        fields: dict[str, Any] = {
            "summary": values.get("summary"),
            "description": values.get("description"),
            "issuetype": self.issuetype(issue.issuetype),
            "project": self.project(project),
            "status": self.status(issue.status_id),
            "statuscategorychangedate": jira_datetime(issue.updated),
            "assignee": self.user_by_id(values.get("assignee")),
            "reporter": self.user_by_id(issue.reporter_id),
            "creator": self.user_by_id(issue.reporter_id),
            "priority": self.priority(values.get("priority")),
            "labels": list(values.get("labels") or []),
            "duedate": values.get("duedate"),
            "created": jira_datetime(issue.created),
            "updated": jira_datetime(issue.updated),
            "resolution": None
            if resolution is None
            else {
                "self": f"{self.api}/resolution/{RESOLUTION_DONE[0]}",
                "id": RESOLUTION_DONE[0],
                "name": resolution,
                "description": "Work is done.",
            },
            "resolutiondate": None
            if issue.resolution_date is None
            else jira_datetime(issue.resolution_date),
            "attachment": [self.attachment(a) for a in issue.attachments],
            "issuelinks": self.issue_links(issue),
            "comment": {
                "comments": [self.comment(c) for c in issue.comments],
                "self": f"{self.api}/issue/{issue.id}/comment",
                "maxResults": len(issue.comments),
                "total": len(issue.comments),
                "startAt": 0,
            },
        }
        for fdef in self.state.live_fields():
            if fdef.custom:
                fields[fdef.id] = self._custom_value(fdef, values.get(fdef.id))
        return fields

    def _custom_value(self, fdef: FieldDef, stored: Any) -> Any:
        if stored is None:
            return None
        if fdef.schema.get("type") == "user":
            return self.user_by_id(stored)
        if fdef.schema.get("type") == "option":
            return self._option_value(stored)
        if fdef.schema.get("items") == "option":
            return [self._option_value(v) for v in stored]
        return stored

    def issue(
        self,
        issue: Issue,
        *,
        fields: list[str] | None = None,
        expand: str = "",
        properties: list[str] | None = None,
    ) -> dict[str, Any]:
        """IssueBean. ``fields`` follows Jira's syntax: ``*all``, ``*navigable``, ids, ``-id``."""
        all_fields = self.issue_fields(issue)
        body: dict[str, Any] = {
            "expand": "renderedFields,names,schema,operations,editmeta,changelog,"
            "versionedRepresentations",
            "id": issue.id,
            "self": f"{self.api}/issue/{issue.id}",
            "key": issue.key,
            "fields": select_fields(all_fields, fields),
        }
        if "changelog" in expand:
            histories = [self.history(h) for h in issue.histories]
            body["changelog"] = {
                "startAt": 0,
                "maxResults": len(histories),
                "total": len(histories),
                "histories": histories,
            }
        if "names" in expand:
            body["names"] = {
                f.id: f.name for f in self.state.live_fields() if f.id in body["fields"]
            }
        if properties:
            wanted = set(properties)
            body["properties"] = {
                k: v for k, v in issue.properties.items() if "*all" in wanted or k in wanted
            }
        return body

    def issue_ref(self, issue: Issue) -> dict[str, Any]:
        return {"id": issue.id, "key": issue.key, "self": f"{self.api}/issue/{issue.id}"}


def select_fields(all_fields: dict[str, Any], wanted: list[str] | None) -> dict[str, Any]:
    """Apply Jira's ``fields`` parameter: ``*all`` / ``*navigable`` / names / ``-name``."""
    requested = [w.strip() for item in (wanted or ["*all"]) for w in item.split(",") if w.strip()]
    if not requested:
        requested = ["*all"]
    chosen: set[str] = set()
    for name in requested:
        if name == "*all":
            chosen |= set(all_fields)
        elif name == "*navigable":
            chosen |= set(all_fields) - _NAVIGABLE_EXCLUDED
        elif not name.startswith("-") and name in all_fields:
            chosen.add(name)
    chosen -= {name[1:] for name in requested if name.startswith("-")}
    return {k: v for k, v in all_fields.items() if k in chosen}
