"""Issue types of the site: ``GET`` and ``POST /rest/api/3/issuetype``.

A new issue type joins the site's default issue type scheme, which every sandbox project uses,
so it can be created in every project at once (what a company-managed project on the default
scheme does in Jira Cloud). Creating one needs the *Administer Jira* global permission.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ._errors import JiraApiError
from ._request import RouteContext, actor_of, read_json_object

__all__ = ["list_issue_types", "create_issue_type"]

_NAME_MAX = 60


async def list_issue_types(ctx: RouteContext, request: Request) -> Response:
    with ctx.state.lock:
        render = ctx.renderer()
        return JSONResponse([render.issuetype(t) for t in ctx.state.issue_types])


async def create_issue_type(ctx: RouteContext, request: Request) -> Response:
    body = await read_json_object(request)
    with ctx.state.lock:
        if actor_of(request) not in ctx.state.admins:
            raise JiraApiError(403, ["You are not authorized to perform this action."])
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            raise JiraApiError.bad_fields({"name": "You must specify a unique name."})
        name = name.strip()
        if len(name) > _NAME_MAX:
            raise JiraApiError.bad_fields(
                {"name": f"The name must not exceed {_NAME_MAX} characters."}
            )
        kind = body.get("type", "standard")
        level = body.get("hierarchyLevel", 0)
        if kind not in ("standard", "subtask") or level not in (0, -1):
            raise JiraApiError(400, ["The issue type type is not valid."])
        if kind == "subtask" or level == -1:
            raise JiraApiError(400, ["The sandbox does not support sub-task issue types."])
        description = body.get("description", "")
        if not isinstance(description, str):
            raise JiraApiError.bad_fields({"description": "The description must be a string."})
        taken = {n.lower() for n in ctx.state.issue_types.values()}
        if name.lower() in taken:
            raise JiraApiError(409, ["An issue type with this name already exists."])
        type_id = ctx.state.add_issue_type(name, description)
        return JSONResponse(ctx.renderer().issuetype(type_id), status_code=201)
