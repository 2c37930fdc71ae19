"""Handlers of the issue endpoints: create, read, edit, transitions, comments, attachments,
links and entity properties."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from . import _issues
from ._errors import JiraApiError
from ._multipart import parse_multipart
from ._request import RouteContext, actor_of, int_param, list_param, read_json, read_json_object
from ._state import LINK_TYPES

__all__ = [
    "create_issue",
    "get_issue",
    "edit_issue",
    "get_transitions",
    "do_transition",
    "list_comments",
    "add_comment",
    "add_attachments",
    "attachment_content",
    "create_link",
    "link_types",
    "get_property",
    "put_property",
]


# --- issues ------------------------------------------------------------------------------
async def create_issue(ctx: RouteContext, request: Request) -> Response:
    body = await read_json_object(request)
    with ctx.state.lock:
        issue = _issues.create_issue(ctx.state, actor_of(request), body)
        return JSONResponse(ctx.renderer().issue_ref(issue), status_code=201)


async def get_issue(ctx: RouteContext, request: Request) -> Response:
    with ctx.state.lock:
        issue = ctx.state.issue(request.path_params["issueIdOrKey"])
        return JSONResponse(
            ctx.renderer().issue(
                issue,
                fields=list_param(request, "fields"),
                expand=request.query_params.get("expand", ""),
                properties=list_param(request, "properties"),
            )
        )


async def edit_issue(ctx: RouteContext, request: Request) -> Response:
    body = await read_json_object(request)
    key = request.path_params["issueIdOrKey"]
    with ctx.state.lock:
        _issues.edit_issue(ctx.state, actor_of(request), key, body)
        if request.query_params.get("returnIssue") == "true":
            return JSONResponse(ctx.renderer().issue(ctx.state.issue(key)))
    return Response(status_code=204)


async def get_transitions(ctx: RouteContext, request: Request) -> Response:
    with ctx.state.lock:
        issue = ctx.state.issue(request.path_params["issueIdOrKey"])
        return JSONResponse(ctx.renderer().transitions(issue))


async def do_transition(ctx: RouteContext, request: Request) -> Response:
    body = await read_json_object(request)
    with ctx.state.lock:
        _issues.transition_issue(
            ctx.state, actor_of(request), request.path_params["issueIdOrKey"], body
        )
    return Response(status_code=204)


async def list_comments(ctx: RouteContext, request: Request) -> Response:
    start = int_param(request, "startAt", 0)
    size = min(int_param(request, "maxResults", 100), 100)
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
    body = await read_json_object(request)
    with ctx.state.lock:
        comment = _issues.add_comment(
            ctx.state, actor_of(request), request.path_params["issueIdOrKey"], body
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
            ctx.state, actor_of(request), request.path_params["issueIdOrKey"], uploads
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
    body = await read_json_object(request)
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
    value = await read_json(request)
    with ctx.state.lock:
        created = _issues.set_property(
            ctx.state,
            request.path_params["issueIdOrKey"],
            request.path_params["propertyKey"],
            value,
        )
    return Response(status_code=201 if created else 200)
