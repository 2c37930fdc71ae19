"""Handlers of the site-wide endpoints: server info, the caller, projects, fields and their
contexts and options, user search, and JQL search with Jira's opaque page tokens."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from . import _contexts, _issues
from ._clock import jira_datetime
from ._errors import JiraApiError
from ._jql import parse_jql
from ._model import JiraUser
from ._request import (
    RouteContext,
    actor_of,
    bool_param,
    int_param,
    list_param,
    page_bean,
    read_json_object,
)

__all__ = [
    "server_info",
    "myself",
    "get_project",
    "list_fields",
    "create_field",
    "list_contexts",
    "context_projects",
    "create_context",
    "list_options",
    "create_options",
    "update_options",
    "get_option",
    "search_users",
    "search_get",
    "search_post",
]


# --- site --------------------------------------------------------------------------------
async def server_info(ctx: RouteContext, request: Request) -> Response:
    render = ctx.renderer()
    now = jira_datetime(ctx.state.clock())
    return JSONResponse(
        {
            "baseUrl": render.base_url,
            "displayUrl": render.base_url,
            "version": "1001.0.0-SNAPSHOT",
            "versionNumbers": [1001, 0, 0],
            "deploymentType": "Cloud",
            "buildNumber": 100280,
            "buildDate": "2025-01-01T00:00:00.000+0000",
            "serverTime": now,
            "scmInfo": "5e1b2e1c5a39b0a0d1d3f1bbf2ad1a4a4fbd9f54",
            "serverTitle": "Jira",
        }
    )


async def myself(ctx: RouteContext, request: Request) -> Response:
    with ctx.state.lock:
        me = ctx.state.users[actor_of(request)]
        return JSONResponse(ctx.renderer().user(me, full=True, own=True))


async def get_project(ctx: RouteContext, request: Request) -> Response:
    with ctx.state.lock:
        project = ctx.state.project(request.path_params["projectIdOrKey"])
        return JSONResponse(ctx.renderer().project(project, full=True))


async def list_fields(ctx: RouteContext, request: Request) -> Response:
    with ctx.state.lock:
        render = ctx.renderer()
        return JSONResponse([render.field(f) for f in ctx.state.live_fields()])


async def create_field(ctx: RouteContext, request: Request) -> Response:
    body = await read_json_object(request)
    with ctx.state.lock:
        field_id = _issues.create_field(ctx.state, body)
        return JSONResponse(ctx.renderer().field(ctx.state.fields[field_id]), status_code=201)


# --- field contexts and options ------------------------------------------------------------
async def list_contexts(ctx: RouteContext, request: Request) -> Response:
    field_id = request.path_params["fieldId"]
    any_type = bool_param(request, "isAnyIssueType")
    is_global = bool_param(request, "isGlobalContext")
    wanted = set(list_param(request, "contextId") or [])
    with ctx.state.lock:
        _contexts.custom_field(ctx.state, field_id)
        found = [
            c
            for c in ctx.state.contexts_of(field_id)
            if (not wanted or c.id in wanted)
            and (any_type is None or c.any_issue_type == any_type)
            and (is_global is None or c.is_global == is_global)
        ]
        render = ctx.renderer()
        return JSONResponse(page_bean(request, [render.field_context(c) for c in found], 50, 100))


async def context_projects(ctx: RouteContext, request: Request) -> Response:
    """GET /field/{fieldId}/context/projectmapping: each project context's projects, and the
    global contexts (flagged, without a project), paged like Jira."""
    field_id = request.path_params["fieldId"]
    wanted = set(list_param(request, "contextId") or [])
    with ctx.state.lock:
        _contexts.custom_field(ctx.state, field_id)
        mappings: list[dict[str, Any]] = []
        for context in ctx.state.contexts_of(field_id):
            if wanted and context.id not in wanted:
                continue
            if context.is_global:
                mappings.append({"contextId": context.id, "isGlobalContext": True})
            else:
                mappings += [{"contextId": context.id, "projectId": p} for p in context.project_ids]
        return JSONResponse(page_bean(request, mappings, 50, 100))


async def create_context(ctx: RouteContext, request: Request) -> Response:
    body = await read_json_object(request)
    with ctx.state.lock:
        context = _contexts.create_context(ctx.state, request.path_params["fieldId"], body)
        return JSONResponse(ctx.renderer().created_context(context), status_code=201)


async def list_options(ctx: RouteContext, request: Request) -> Response:
    option_id = request.query_params.get("optionId")
    with ctx.state.lock:
        context = _contexts.choice_field(
            ctx.state, request.path_params["fieldId"], request.path_params["contextId"]
        )
        options = [o for o in context.options if option_id is None or o.id == option_id]
        render = ctx.renderer()
        return JSONResponse(
            page_bean(request, [render.context_option(o) for o in options], 100, 1000)
        )


async def _write_options(ctx: RouteContext, request: Request, write) -> Response:
    """POST and PUT of a context's options: same lookup and answer, a different write."""
    body = await read_json_object(request)
    with ctx.state.lock:
        context = _contexts.choice_field(
            ctx.state, request.path_params["fieldId"], request.path_params["contextId"]
        )
        written = write(ctx.state, context, body)
        render = ctx.renderer()
        return JSONResponse({"options": [render.context_option(o) for o in written]})


async def create_options(ctx: RouteContext, request: Request) -> Response:
    return await _write_options(ctx, request, _contexts.add_options)


async def update_options(ctx: RouteContext, request: Request) -> Response:
    return await _write_options(ctx, request, _contexts.update_options)


async def get_option(ctx: RouteContext, request: Request) -> Response:
    with ctx.state.lock:
        found = ctx.state.option(request.path_params["id"])
        if found is None:
            raise JiraApiError.not_found(
                f"A custom field option with ID '{request.path_params['id']}' does not exist."
            )
        return JSONResponse(ctx.renderer().custom_field_option(found[1]))


# --- people ------------------------------------------------------------------------------
def _matches(user: JiraUser, query: str) -> bool:
    """Whether a user search's ``query`` finds ``user``: the display name or e-mail contains
    it; a private e-mail is matched only when given in full (the address is not revealed by
    guessing its parts, but whoever knows it finds the account)."""
    if query in user.display_name.lower():
        return True
    email = user.email.lower()
    return query == email if not user.email_visible else query in email


async def search_users(ctx: RouteContext, request: Request) -> Response:
    query = (request.query_params.get("query") or "").lower()
    account_id = request.query_params.get("accountId")
    if not query and not account_id:
        raise JiraApiError(400, ["One of 'query' or 'accountId' must be given."])
    start = int_param(request, "startAt", 0)
    size = int_param(request, "maxResults", 50)
    with ctx.state.lock:
        matches = [
            u
            for u in ctx.state.users.values()
            if u.active and (u.account_id == account_id if account_id else _matches(u, query))
        ]
        render = ctx.renderer()
        return JSONResponse([render.user(u, full=True) for u in matches[start : start + size]])


def _role_id(name: str) -> int:
    # stable ids per role name, in the range real sites use
    return 10000 + sum(ord(c) for c in name) % 1000


async def project_roles(ctx: RouteContext, request: Request) -> Response:
    """GET /project/{key}/role: each role's name and the URL of its actors."""
    with ctx.state.lock:
        project = ctx.state.project(request.path_params["projectIdOrKey"])
        base = ctx.renderer().api
        return JSONResponse(
            {
                name: f"{base}/project/{project.id}/role/{_role_id(name)}"
                for name in sorted(project.roles)
            }
        )


async def project_role(ctx: RouteContext, request: Request) -> Response:
    """GET /project/{key}/role/{id}: the role with its user actors."""
    with ctx.state.lock:
        project = ctx.state.project(request.path_params["projectIdOrKey"])
        wanted = request.path_params["id"]
        name = next((n for n in project.roles if str(_role_id(n)) == wanted), None)
        if name is None:
            raise JiraApiError.not_found(f"No project role with id '{wanted}'.")
        render = ctx.renderer()
        actors = []
        for n, account_id in enumerate(project.roles[name]):
            user = ctx.state.users.get(account_id)
            if user is None:
                continue
            actors.append(
                {
                    "id": 20000 + n,
                    "displayName": user.display_name,
                    "type": "atlassian-user-role-actor",
                    "actorUser": {"accountId": user.account_id},
                }
            )
        return JSONResponse(
            {
                "self": f"{render.api}/project/{project.id}/role/{wanted}",
                "name": name,
                "id": int(wanted),
                "description": f"Members of the {name} role",
                "actors": actors,
                "scope": {"type": "PROJECT", "project": {"id": project.id}},
            }
        )


# --- search ------------------------------------------------------------------------------
def _token(offset: int, jql: str) -> str:
    raw = json.dumps({"o": offset, "q": hashlib.sha1(jql.encode()).hexdigest()[:12]})
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _offset(token: str | None, jql: str) -> int:
    if not token:
        return 0
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if data["q"] == hashlib.sha1(jql.encode()).hexdigest()[:12]:
            return int(data["o"])
    except (ValueError, KeyError, TypeError):
        pass
    raise JiraApiError(400, ["The provided next page token is invalid or expired."])


def _search(
    ctx: RouteContext,
    jql: str,
    token: str | None,
    max_results: int,
    fields: list[str] | None,
    expand: str,
    properties: list[str] | None,
    reconcile: list[str] | None = None,
) -> Response:
    size = max(1, min(max_results, ctx.max_results_cap))
    with ctx.state.lock:
        offset = _offset(token, jql)
        now = ctx.state.clock()
        found = parse_jql(jql, ctx.state, now).run(ctx.state)
        if ctx.state.search_lag > 0:
            # Jira Cloud's search index trails writes: an issue created or changed within the
            # lag is not found in its new state (Atlassian: "search results may not reflect
            # recent writes"; reconcileIssues, at most 50 ids, asks for read-after-write
            # consistency for those issues). The sandbox leaves such an issue out; real Jira
            # may show its old state: either way the search does not see the write.
            settled = {str(i) for i in reconcile or []}
            found = [
                i
                for i in found
                if str(i.id) in settled or (now - i.updated).total_seconds() >= ctx.state.search_lag
            ]
        page = found[offset : offset + size]
        render = ctx.renderer()
        body: dict[str, Any] = {
            "issues": [
                render.issue(i, fields=fields or ["id"], expand=expand, properties=properties)
                for i in page
            ],
            "isLast": offset + size >= len(found),
        }
    if not body["isLast"]:
        body["nextPageToken"] = _token(offset + size, jql)
    return JSONResponse(body)


async def search_get(ctx: RouteContext, request: Request) -> Response:
    params = request.query_params
    return _search(
        ctx,
        params.get("jql", ""),
        params.get("nextPageToken"),
        int_param(request, "maxResults", 50),
        list_param(request, "fields"),
        params.get("expand", ""),
        list_param(request, "properties"),
        list_param(request, "reconcileIssues"),
    )


async def search_post(ctx: RouteContext, request: Request) -> Response:
    body = await read_json_object(request)
    return _search(
        ctx,
        str(body.get("jql") or ""),
        body.get("nextPageToken"),
        int(body.get("maxResults") or 50),
        body.get("fields"),
        str(body.get("expand") or ""),
        body.get("properties"),
        body.get("reconcileIssues"),
    )
