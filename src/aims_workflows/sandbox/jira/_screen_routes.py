"""Handlers of the screen configuration, createmeta/editmeta, priorities, a context's
projects, the expanded transitions, and the admin webhooks.

Screens, schemes, field contexts and webhooks are Jira administration: an account without the
*Administer Jira* global permission gets 403, as on a real site.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ._contexts import field_context
from ._errors import JiraApiError
from ._meta import screen_meta
from ._request import RouteContext, actor_of, list_param, page_bean, read_json_object
from ._workflow import transitions_from

__all__ = ["SCREEN_TABLE", "WEBHOOKS_PATH", "admin_webhooks", "register_admin_webhook"]

_NOT_ADMIN = "You do not have permission to perform this operation: Administer Jira is required."

WEBHOOKS_PATH = "/rest/webhooks/1.0/webhook"
"""Jira Cloud's admin webhook API. It is not part of the REST v3 OpenAPI description (which
has only ``/rest/api/3/webhook``, for Connect and OAuth 2.0 apps), so the contract tests leave
it out of the spec check by name."""


def _admin(ctx: RouteContext, request: Request) -> None:
    if actor_of(request) not in ctx.state.admins:
        raise JiraApiError(403, [_NOT_ADMIN])


def _wanted_ids(request: Request, name: str) -> set[str]:
    return set(list_param(request, name) or [])


# --- screens ----------------------------------------------------------------------------
async def list_screens(ctx: RouteContext, request: Request) -> Response:
    _admin(ctx, request)
    wanted = _wanted_ids(request, "id")
    with ctx.state.lock:
        found = [
            {"id": int(s.id), "name": s.name, "description": s.description}
            for s in ctx.state.screens.screens.values()
            if not wanted or s.id in wanted
        ]
    return JSONResponse(page_bean(request, found, 100, 100))


async def screen_tabs(ctx: RouteContext, request: Request) -> Response:
    _admin(ctx, request)
    with ctx.state.lock:
        screen = ctx.state.screens.screen(request.path_params["screenId"])
        return JSONResponse([{"id": int(t.id), "name": t.name} for t in screen.tabs])


async def tab_fields(ctx: RouteContext, request: Request) -> Response:
    _admin(ctx, request)
    p = request.path_params
    with ctx.state.lock:
        _, tab = ctx.state.screens.tab(p["screenId"], p["tabId"])
        found = [ctx.state.field(f) for f in tab.fields]
        return JSONResponse([{"id": f.id, "name": f.name} for f in found if f is not None])


async def add_tab_field(ctx: RouteContext, request: Request) -> Response:
    _admin(ctx, request)
    body = await read_json_object(request)
    field_id = body.get("fieldId")
    p = request.path_params
    with ctx.state.lock:
        screen, tab = ctx.state.screens.tab(p["screenId"], p["tabId"])
        fdef = ctx.state.field(str(field_id)) if isinstance(field_id, str) else None
        if fdef is None:
            raise JiraApiError(400, [f"The field with id '{field_id}' does not exist."])
        if fdef.id in screen.field_ids:
            raise JiraApiError(400, [f"The field '{fdef.id}' is already on the screen."])
        tab.fields.append(fdef.id)
        return JSONResponse({"id": fdef.id, "name": fdef.name})


async def list_screen_schemes(ctx: RouteContext, request: Request) -> Response:
    _admin(ctx, request)
    wanted = _wanted_ids(request, "id")
    with ctx.state.lock:
        found = [
            {
                "id": int(s.id),
                "name": s.name,
                "description": s.description,
                "screens": {op: int(sid) for op, sid in s.screens.items()},
            }
            for s in ctx.state.screens.screen_schemes.values()
            if not wanted or s.id in wanted
        ]
    return JSONResponse(page_bean(request, found, 25, 100))


async def schemes_of_projects(ctx: RouteContext, request: Request) -> Response:
    _admin(ctx, request)
    wanted = _wanted_ids(request, "projectId")
    if not wanted:
        raise JiraApiError(400, ["The 'projectId' query parameter is required."])
    with ctx.state.lock:
        found = [
            {
                "issueTypeScreenScheme": {"id": s.id, "name": s.name, "description": s.description},
                "projectIds": [p for p in s.project_ids if p in wanted],
            }
            for s in ctx.state.screens.issue_type_schemes.values()
            if wanted & set(s.project_ids)
        ]
    return JSONResponse(page_bean(request, found, 25, 100))


async def scheme_mappings(ctx: RouteContext, request: Request) -> Response:
    _admin(ctx, request)
    wanted = _wanted_ids(request, "issueTypeScreenSchemeId")
    with ctx.state.lock:
        found = [
            {"issueTypeScreenSchemeId": s.id, "issueTypeId": type_id, "screenSchemeId": scheme}
            for s in ctx.state.screens.issue_type_schemes.values()
            if not wanted or s.id in wanted
            for type_id, scheme in s.mappings.items()
        ]
    return JSONResponse(page_bean(request, found, 50, 100))


# --- metadata ------------------------------------------------------------------------------
async def create_meta(ctx: RouteContext, request: Request) -> Response:
    p = request.path_params
    with ctx.state.lock:
        project = ctx.state.project(p["projectIdOrKey"])
        type_id = p["issueTypeId"]
        if type_id not in ctx.state.issue_types:
            raise JiraApiError(400, [f"The issue type with id '{type_id}' does not exist."])
        screen = ctx.state.screens.screen_for(project.id, type_id, "create")
        fields = screen_meta(ctx.state, ctx.renderer(), screen, project.id, type_id, with_id=True)
    page = page_bean(request, fields, 50, 200)
    return JSONResponse(
        {k: page[k] for k in ("maxResults", "startAt", "total")} | {"fields": page["values"]}
    )


async def edit_meta(ctx: RouteContext, request: Request) -> Response:
    with ctx.state.lock:
        issue = ctx.state.issue(request.path_params["issueIdOrKey"])
        screen = ctx.state.screens.screen_for(issue.project_id, issue.issuetype, "edit")
        fields = screen_meta(ctx.state, ctx.renderer(), screen, issue.project_id, issue.issuetype)
    return JSONResponse({"fields": {f["key"]: f for f in fields}})


async def get_transitions(ctx: RouteContext, request: Request) -> Response:
    """GET /issue/{key}/transitions; ``expand=transitions.fields`` adds each screen's fields."""
    expand = request.query_params.get("expand", "")
    with ctx.state.lock:
        issue = ctx.state.issue(request.path_params["issueIdOrKey"])
        render = ctx.renderer()
        found: list[dict[str, Any]] = []
        for transition in transitions_from(issue.status_id):
            shown = render.transition(transition)
            screen_id = ctx.state.screens.transition_screens.get(transition.id)
            shown["hasScreen"] = screen_id is not None
            if "transitions.fields" in expand:
                screen = ctx.state.screens.screens.get(screen_id) if screen_id else None
                meta = screen_meta(ctx.state, render, screen, issue.project_id, issue.issuetype)
                shown["fields"] = {f["key"]: f for f in meta}
            found.append(shown)
    return JSONResponse({"transitions": found})


async def list_priorities(ctx: RouteContext, request: Request) -> Response:
    with ctx.state.lock:
        render = ctx.renderer()
        default = next(iter(ctx.state.priorities.values()), None)
        if "Medium" in ctx.state.priorities.values():
            default = "Medium"
        found = [
            {
                **(render.priority(name) or {}),
                "description": f"{name} priority",
                "statusColor": "#2684ff",
                "isDefault": name == default,
            }
            for name in ctx.state.priorities.values()
        ]
    return JSONResponse(found)


async def assign_context_projects(ctx: RouteContext, request: Request) -> Response:
    """PUT /field/{fieldId}/context/{contextId}/project: the context now applies to these
    projects (a global context becomes a project context)."""
    _admin(ctx, request)
    body = await read_json_object(request)
    ids = body.get("projectIds")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
        raise JiraApiError(400, ["'projectIds' must be a non-empty list of project IDs."])
    p = request.path_params
    with ctx.state.lock:
        context = field_context(ctx.state, p["fieldId"], p["contextId"])
        if context.is_global:
            # Jira Cloud stopped taking projects into a global context (CHANGE-3019, 2026)
            raise JiraApiError(400, ["Projects cannot be assigned to a global context."])
        for project_id in ids:
            project = ctx.state.projects.get(project_id)
            if project is None or project.deleted:
                raise JiraApiError.not_found(f"The project with ID '{project_id}' was not found.")
            taken = any(
                project_id in c.project_ids
                for c in ctx.state.contexts_of(context.field_id)
                if c.id != context.id
            )
            if taken:
                raise JiraApiError(
                    400,
                    [
                        f"The project with ID '{project_id}' is already associated "
                        "with another context of this custom field."
                    ],
                )
        context.project_ids = list(dict.fromkeys(context.project_ids + ids))
    return Response(status_code=204)


async def delete_context(ctx: RouteContext, request: Request) -> Response:
    """DELETE /field/{fieldId}/context/{contextId}: the context and its options go."""
    _admin(ctx, request)
    p = request.path_params
    with ctx.state.lock:
        context = field_context(ctx.state, p["fieldId"], p["contextId"])
        del ctx.state.contexts[context.id]
    return Response(status_code=204)


# --- admin webhooks (outside the v3 description) -------------------------------------------
def _webhook_json(hook: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in hook.items() if k != "secret"}  # never echoed back


async def admin_webhooks(ctx: RouteContext, request: Request) -> Response:
    _admin(ctx, request)
    with ctx.state.lock:
        return JSONResponse([_webhook_json(h) for h in ctx.state.admin_webhooks])


async def register_admin_webhook(ctx: RouteContext, request: Request) -> Response:
    _admin(ctx, request)
    body = await read_json_object(request)
    name, url = body.get("name"), body.get("url")
    events = body.get("events")
    problems: dict[str, str] = {}
    if not isinstance(name, str) or not name.strip():
        problems["name"] = "The webhook name must not be empty."
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        problems["url"] = "The webhook URL must be an absolute http(s) URL."
    if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
        problems["events"] = "The events must be a list of event names."
    filters = body.get("filters") or {}
    secret = body.get("secret")
    if not isinstance(filters, dict):
        problems["filters"] = "The filters must be an object."
    if secret is not None and not isinstance(secret, str):
        problems["secret"] = "The secret must be a string."
    if problems:
        raise JiraApiError.bad_fields(problems)
    with ctx.state.lock:
        hook_id = len(ctx.state.admin_webhooks) + 1
        hook: dict[str, Any] = {
            "self": f"{ctx.renderer().base_url}{WEBHOOKS_PATH}/{hook_id}",
            "name": name,
            "url": url,
            "events": list(events or []),
            "filters": dict(filters),
            "excludeBody": bool(body.get("excludeBody", False)),
            "enabled": True,
            "secret": secret,
        }
        ctx.state.admin_webhooks.append(hook)
    return JSONResponse(_webhook_json(hook), status_code=201)


SCREEN_TABLE: list[tuple[str, list[str], Any]] = [
    ("/screens", ["GET"], list_screens),
    ("/screens/{screenId}/tabs", ["GET"], screen_tabs),
    ("/screens/{screenId}/tabs/{tabId}/fields", ["GET"], tab_fields),
    ("/screens/{screenId}/tabs/{tabId}/fields", ["POST"], add_tab_field),
    ("/screenscheme", ["GET"], list_screen_schemes),
    ("/issuetypescreenscheme/project", ["GET"], schemes_of_projects),
    ("/issuetypescreenscheme/mapping", ["GET"], scheme_mappings),
    ("/issue/createmeta/{projectIdOrKey}/issuetypes/{issueTypeId}", ["GET"], create_meta),
    ("/issue/{issueIdOrKey}/editmeta", ["GET"], edit_meta),
    ("/priority", ["GET"], list_priorities),
    ("/field/{fieldId}/context/{contextId}/project", ["PUT"], assign_context_projects),
    ("/field/{fieldId}/context/{contextId}", ["DELETE"], delete_context),
]
"""Paths relative to ``/rest/api/3``, all in the v3 description."""
