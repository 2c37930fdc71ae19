"""``GET /rest/api/3/mypermissions``: which project permissions the signed-in account has.

Every account has every project permission unless the sandbox was told to deny it one
(``JiraSandbox.deny_permission``), which is how a site with a narrowly scoped integration
account is imitated. The keys, ids and names are Jira Cloud's built-in project permissions.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ._errors import JiraApiError
from ._request import RouteContext, actor_of

__all__ = ["PROJECT_PERMISSIONS", "my_permissions"]

PROJECT_PERMISSIONS: dict[str, tuple[str, str]] = {
    "BROWSE_PROJECTS": ("10", "Browse Projects"),
    "CREATE_ISSUES": ("11", "Create Issues"),
    "EDIT_ISSUES": ("12", "Edit Issues"),
    "ASSIGN_ISSUES": ("13", "Assign Issues"),
    "TRANSITION_ISSUES": ("46", "Transition Issues"),
    "ADD_COMMENTS": ("15", "Add Comments"),
    "CREATE_ATTACHMENTS": ("19", "Create Attachments"),
    "ASSIGNABLE_USER": ("17", "Assignable User"),
    "RESOLVE_ISSUES": ("14", "Resolve Issues"),
}
GLOBAL_PERMISSIONS: dict[str, tuple[str, str]] = {"ADMINISTER": ("0", "Administer Jira")}
"""Global permissions: held by the site's administrators (``state.admins``)."""
_ALL = {**PROJECT_PERMISSIONS, **GLOBAL_PERMISSIONS}


async def my_permissions(ctx: RouteContext, request: Request) -> Response:
    wanted = [k for k in request.query_params.get("permissions", "").split(",") if k]
    if not wanted:
        raise JiraApiError(400, ["The 'permissions' query parameter is required."])
    unknown = [k for k in wanted if k not in _ALL]
    if unknown:
        raise JiraApiError(400, [f"Invalid permission keys: {', '.join(unknown)}"])
    account = actor_of(request)
    with ctx.state.lock:
        key = request.query_params.get("projectKey")
        if key is not None:
            ctx.state.project(key)  # 404 in Jira's words when there is no such project
        denied = set(ctx.state.denied_permissions.get(account, set()))
        if account not in ctx.state.admins:
            denied |= set(GLOBAL_PERMISSIONS)
    return JSONResponse(
        {
            "permissions": {
                k: {
                    "id": _ALL[k][0],
                    "key": k,
                    "name": _ALL[k][1],
                    "type": "GLOBAL" if k in GLOBAL_PERMISSIONS else "PROJECT",
                    "description": f"Ability to {_ALL[k][1].lower()}.",
                    "havePermission": k not in denied,
                }
                for k in wanted
            }
        }
    )
