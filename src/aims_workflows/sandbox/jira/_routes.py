"""The REST endpoints: Starlette routes named and shaped after Jira Cloud REST API v3.

Path templates use the spec's own parameter names (``{issueIdOrKey}`` ...), so a test can
compare the routing table with the vendor's OpenAPI paths literally.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import _contexts, _issues
from ._clock import jira_datetime
from ._errors import JiraApiError, error_response
from ._jql import parse_jql
from ._multipart import parse_multipart
from ._render import Renderer
from ._state import LINK_TYPES, JiraState

__all__ = ["RouteContext", "build_routes", "API"]

API = "/rest/api/3"
Handler = Callable[[Request], Awaitable[Response]]


@dataclass
class RouteContext:
    """What the handlers need: the state, a renderer for the live base URL, limits."""

    state: JiraState
    renderer: Callable[[], Renderer]
    max_results_cap: int = 100


def _jira_errors(
    handler: Callable[[RouteContext, Request], Awaitable[Response]], ctx: RouteContext
) -> Handler:
    async def wrapped(request: Request) -> Response:
        try:
            return await handler(ctx, request)
        except JiraApiError as exc:
            return error_response(exc.status, exc.messages, exc.errors)

    wrapped.__name__ = handler.__name__
    return wrapped


async def _json(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        raise JiraApiError(
            400, ["Unexpected character in the request body: not valid JSON."]
        ) from None


async def _json_object(request: Request) -> dict[str, Any]:
    data = await _json(request)
    if not isinstance(data, dict):
        raise JiraApiError(400, ["The request body must be a JSON object."])
    return data


def _actor(request: Request) -> str:
    return request.scope["state"]["jira_account_id"]


def _list_param(request: Request, name: str) -> list[str] | None:
    values = [v for raw in request.query_params.getlist(name) for v in raw.split(",")]
    return values or None


def _int_param(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise JiraApiError(400, [f"The '{name}' parameter must be a number."]) from None


def _bool_param(request: Request, name: str) -> bool | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    if raw.lower() not in ("true", "false"):
        raise JiraApiError(400, [f"The '{name}' parameter must be true or false."])
    return raw.lower() == "true"


def _page(request: Request, items: list[Any], default_size: int, cap: int) -> dict[str, Any]:
    """Jira's PageBean over ``items``: startAt, maxResults, total, isLast, values (+ nextPage)."""
    start = max(0, _int_param(request, "startAt", 0))
    size = max(1, min(_int_param(request, "maxResults", default_size), cap))
    body: dict[str, Any] = {
        "maxResults": size,
        "startAt": start,
        "total": len(items),
        "isLast": start + size >= len(items),
        "values": items[start : start + size],
    }
    if not body["isLast"]:
        query = [
            (k, v)
            for k, v in request.query_params.multi_items()
            if k not in ("startAt", "maxResults")
        ]
        query += [("startAt", str(start + size)), ("maxResults", str(size))]
        body["nextPage"] = str(request.url.replace(query=urlencode(query)))
    return body


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
        return JSONResponse(ctx.renderer().user(ctx.state.users[_actor(request)], full=True))


async def get_project(ctx: RouteContext, request: Request) -> Response:
    with ctx.state.lock:
        project = ctx.state.project(request.path_params["projectIdOrKey"])
        return JSONResponse(ctx.renderer().project(project, full=True))


async def list_fields(ctx: RouteContext, request: Request) -> Response:
    with ctx.state.lock:
        render = ctx.renderer()
        return JSONResponse([render.field(f) for f in ctx.state.live_fields()])


async def create_field(ctx: RouteContext, request: Request) -> Response:
    body = await _json_object(request)
    with ctx.state.lock:
        field_id = _issues.create_field(ctx.state, body)
        return JSONResponse(ctx.renderer().field(ctx.state.fields[field_id]), status_code=201)


# --- field contexts and options ------------------------------------------------------------
async def list_contexts(ctx: RouteContext, request: Request) -> Response:
    field_id = request.path_params["fieldId"]
    any_type = _bool_param(request, "isAnyIssueType")
    is_global = _bool_param(request, "isGlobalContext")
    wanted = set(_list_param(request, "contextId") or [])
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
        return JSONResponse(_page(request, [render.field_context(c) for c in found], 50, 100))


async def context_projects(ctx: RouteContext, request: Request) -> Response:
    """GET /field/{fieldId}/context/projectmapping: each project context's projects, and the
    global contexts (flagged, without a project), paged like Jira."""
    field_id = request.path_params["fieldId"]
    wanted = set(_list_param(request, "contextId") or [])
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
        return JSONResponse(_page(request, mappings, 50, 100))


async def create_context(ctx: RouteContext, request: Request) -> Response:
    body = await _json_object(request)
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
        return JSONResponse(_page(request, [render.context_option(o) for o in options], 100, 1000))


async def _write_options(ctx: RouteContext, request: Request, write) -> Response:
    """POST and PUT of a context's options: same lookup and answer, a different write."""
    body = await _json_object(request)
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


# --- issues ------------------------------------------------------------------------------
async def create_issue(ctx: RouteContext, request: Request) -> Response:
    body = await _json_object(request)
    with ctx.state.lock:
        issue = _issues.create_issue(ctx.state, _actor(request), body)
        return JSONResponse(ctx.renderer().issue_ref(issue), status_code=201)


async def get_issue(ctx: RouteContext, request: Request) -> Response:
    with ctx.state.lock:
        issue = ctx.state.issue(request.path_params["issueIdOrKey"])
        return JSONResponse(
            ctx.renderer().issue(
                issue,
                fields=_list_param(request, "fields"),
                expand=request.query_params.get("expand", ""),
                properties=_list_param(request, "properties"),
            )
        )


async def edit_issue(ctx: RouteContext, request: Request) -> Response:
    body = await _json_object(request)
    key = request.path_params["issueIdOrKey"]
    with ctx.state.lock:
        _issues.edit_issue(ctx.state, _actor(request), key, body)
        if request.query_params.get("returnIssue") == "true":
            return JSONResponse(ctx.renderer().issue(ctx.state.issue(key)))
    return Response(status_code=204)


async def get_transitions(ctx: RouteContext, request: Request) -> Response:
    with ctx.state.lock:
        issue = ctx.state.issue(request.path_params["issueIdOrKey"])
        return JSONResponse(ctx.renderer().transitions(issue))


async def do_transition(ctx: RouteContext, request: Request) -> Response:
    body = await _json_object(request)
    with ctx.state.lock:
        _issues.transition_issue(
            ctx.state, _actor(request), request.path_params["issueIdOrKey"], body
        )
    return Response(status_code=204)


async def list_comments(ctx: RouteContext, request: Request) -> Response:
    start = _int_param(request, "startAt", 0)
    size = min(_int_param(request, "maxResults", 100), 100)
    with ctx.state.lock:
        issue = ctx.state.issue(request.path_params["issueIdOrKey"])
        comments = sorted(
            issue.comments,
            key=lambda c: (c.created, int(c.id)),
            reverse=request.query_params.get("orderBy") == "-created",
        )
        render = ctx.renderer()
        return JSONResponse(
            {
                "startAt": start,
                "maxResults": size,
                "total": len(comments),
                "comments": [render.comment(c) for c in comments[start : start + size]],
            }
        )


async def add_comment(ctx: RouteContext, request: Request) -> Response:
    body = await _json_object(request)
    with ctx.state.lock:
        comment = _issues.add_comment(
            ctx.state, _actor(request), request.path_params["issueIdOrKey"], body
        )
        return JSONResponse(ctx.renderer().comment(comment), status_code=201)


async def add_attachments(ctx: RouteContext, request: Request) -> Response:
    # Jira refuses uploads without this header, as a guard against cross-site requests.
    if request.headers.get("x-atlassian-token", "").lower() not in ("no-check", "nocheck"):
        raise JiraApiError(403, ["XSRF check failed"])
    try:
        parts = parse_multipart(request.headers.get("content-type", ""), await request.body())
    except ValueError as exc:
        raise JiraApiError(400, [str(exc)]) from exc
    uploads = [
        _issues.Upload(p.filename, p.content_type, p.content)
        for p in parts
        if p.name == "file" and p.filename
    ]
    with ctx.state.lock:
        added = _issues.add_attachments(
            ctx.state, _actor(request), request.path_params["issueIdOrKey"], uploads
        )
        render = ctx.renderer()
        return JSONResponse([render.attachment(a) for a in added])


async def attachment_content(ctx: RouteContext, request: Request) -> Response:
    wanted = request.path_params["id"]
    with ctx.state.lock:
        for issue in ctx.state.issues.values():
            for attachment in issue.attachments:
                if attachment.id == wanted and not ctx.state.projects[issue.project_id].deleted:
                    return Response(
                        attachment.content,
                        media_type=attachment.mime_type,
                        headers={
                            "Content-Disposition": f'attachment; filename="{attachment.filename}"'
                        },
                    )
    raise JiraApiError(404, ["The attachment does not exist."])


async def create_link(ctx: RouteContext, request: Request) -> Response:
    body = await _json_object(request)
    with ctx.state.lock:
        _issues.link_issues(ctx.state, body)
    return Response(status_code=201)


async def link_types(ctx: RouteContext, request: Request) -> Response:
    render = ctx.renderer()
    return JSONResponse({"issueLinkTypes": [render.link_type(name) for name in LINK_TYPES]})


async def get_property(ctx: RouteContext, request: Request) -> Response:
    key = request.path_params["propertyKey"]
    with ctx.state.lock:
        issue = ctx.state.issue(request.path_params["issueIdOrKey"])
        if key not in issue.properties:
            raise JiraApiError(404, [f"The property with key '{key}' does not exist."])
        return JSONResponse({"key": key, "value": issue.properties[key]})


async def put_property(ctx: RouteContext, request: Request) -> Response:
    value = await _json(request)
    with ctx.state.lock:
        created = _issues.set_property(
            ctx.state,
            request.path_params["issueIdOrKey"],
            request.path_params["propertyKey"],
            value,
        )
    return Response(status_code=201 if created else 200)


# --- people ------------------------------------------------------------------------------
async def search_users(ctx: RouteContext, request: Request) -> Response:
    query = (request.query_params.get("query") or "").lower()
    account_id = request.query_params.get("accountId")
    if not query and not account_id:
        raise JiraApiError(400, ["One of 'query' or 'accountId' must be given."])
    start = _int_param(request, "startAt", 0)
    size = _int_param(request, "maxResults", 50)
    with ctx.state.lock:
        matches = [
            u
            for u in ctx.state.users.values()
            if u.active
            and (
                u.account_id == account_id
                if account_id
                else query in u.email.lower() or query in u.display_name.lower()
            )
        ]
        render = ctx.renderer()
        return JSONResponse([render.user(u, full=True) for u in matches[start : start + size]])


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
) -> Response:
    size = max(1, min(max_results, ctx.max_results_cap))
    with ctx.state.lock:
        offset = _offset(token, jql)
        found = parse_jql(jql, ctx.state, ctx.state.clock()).run(ctx.state)
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
        _int_param(request, "maxResults", 50),
        _list_param(request, "fields"),
        params.get("expand", ""),
        _list_param(request, "properties"),
    )


async def search_post(ctx: RouteContext, request: Request) -> Response:
    body = await _json_object(request)
    return _search(
        ctx,
        str(body.get("jql") or ""),
        body.get("nextPageToken"),
        int(body.get("maxResults") or 50),
        body.get("fields"),
        str(body.get("expand") or ""),
        body.get("properties"),
    )


_TABLE: list[tuple[str, list[str], Callable[[RouteContext, Request], Awaitable[Response]]]] = [
    ("/serverInfo", ["GET"], server_info),
    ("/myself", ["GET"], myself),
    ("/project/{projectIdOrKey}", ["GET"], get_project),
    ("/field", ["GET"], list_fields),
    ("/field", ["POST"], create_field),
    ("/field/{fieldId}/context", ["GET"], list_contexts),
    ("/field/{fieldId}/context/projectmapping", ["GET"], context_projects),
    ("/field/{fieldId}/context", ["POST"], create_context),
    ("/field/{fieldId}/context/{contextId}/option", ["GET"], list_options),
    ("/field/{fieldId}/context/{contextId}/option", ["POST"], create_options),
    ("/field/{fieldId}/context/{contextId}/option", ["PUT"], update_options),
    ("/customFieldOption/{id}", ["GET"], get_option),
    ("/issue", ["POST"], create_issue),
    ("/issue/{issueIdOrKey}", ["GET"], get_issue),
    ("/issue/{issueIdOrKey}", ["PUT"], edit_issue),
    ("/issue/{issueIdOrKey}/transitions", ["GET"], get_transitions),
    ("/issue/{issueIdOrKey}/transitions", ["POST"], do_transition),
    ("/issue/{issueIdOrKey}/comment", ["GET"], list_comments),
    ("/issue/{issueIdOrKey}/comment", ["POST"], add_comment),
    ("/issue/{issueIdOrKey}/attachments", ["POST"], add_attachments),
    ("/issue/{issueIdOrKey}/properties/{propertyKey}", ["GET"], get_property),
    ("/issue/{issueIdOrKey}/properties/{propertyKey}", ["PUT"], put_property),
    ("/attachment/content/{id}", ["GET"], attachment_content),
    ("/issueLink", ["POST"], create_link),
    ("/issueLinkType", ["GET"], link_types),
    ("/user/search", ["GET"], search_users),
    ("/search/jql", ["GET"], search_get),
    ("/search/jql", ["POST"], search_post),
]


def build_routes(ctx: RouteContext) -> list[Route]:
    """The sandbox's routing table, every handler translating ``JiraApiError`` to JSON."""
    return [
        Route(API + path, _jira_errors(handler, ctx), methods=methods)
        for path, methods, handler in _TABLE
    ]
