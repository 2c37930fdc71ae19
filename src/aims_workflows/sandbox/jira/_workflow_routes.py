"""The project's workflow as Jira's admin REST API shows it: which workflow scheme a project
uses (``GET /workflowscheme/project``), the workflow's transitions with the screen each one
shows (``GET /workflow/search?expand=transitions``) and the projects that use the workflow
(``GET /workflow/{workflowId}/projectUsages``). ``aims jira setup`` follows them to the
transition screens the form fields must be on (a transition may set only its screen's fields),
and leaves alone a screen other projects' workflows show too.

As on a site whose projects all use Jira's default workflow scheme, the sandbox has one
workflow, used by every project.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ._errors import JiraApiError
from ._request import RouteContext, actor_of, list_param, page_bean
from ._workflow import STATUSES, TRANSITIONS

__all__ = ["WORKFLOW_TABLE", "WORKFLOW_NAME", "WORKFLOW_ENTITY_ID"]

WORKFLOW_NAME = "Software Simplified Workflow"
WORKFLOW_ENTITY_ID = "5ed312c5-f7a6-4a78-a1f6-8ff7f307d063"
_SCHEME_ID = 10000
_NOT_ADMIN = "You do not have permission to access workflow schemes."


def _admin(ctx: RouteContext, request: Request) -> None:
    if actor_of(request) not in ctx.state.admins:
        raise JiraApiError(403, [_NOT_ADMIN])


async def workflow_schemes_of_projects(ctx: RouteContext, request: Request) -> Response:
    """Every project of the site uses one scheme whose default workflow is the sandbox's."""
    _admin(ctx, request)
    wanted = set(list_param(request, "projectId") or [])
    if not wanted:
        raise JiraApiError(400, ["The 'projectId' query parameter is required."])
    with ctx.state.lock:
        known = [p for p in (str(pr.id) for pr in ctx.state.projects.values()) if p in wanted]
    values = []
    if known:
        values.append(
            {
                "projectIds": known,
                "workflowScheme": {
                    "id": _SCHEME_ID,
                    "name": "Default Workflow Scheme",
                    "description": "",
                    "defaultWorkflow": WORKFLOW_NAME,
                    "issueTypeMappings": {},
                },
            }
        )
    return JSONResponse({"values": values})


def _transition(ctx: RouteContext, transition: Any) -> dict[str, Any]:
    found: dict[str, Any] = {
        "id": transition.id,
        "name": transition.name,
        "description": "",
        "from": [transition.from_id],
        "to": transition.to_id,
        "type": "directed",
    }
    screen_id = ctx.state.screens.transition_screens.get(transition.id)
    screen = ctx.state.screens.screens.get(screen_id) if screen_id else None
    if screen is not None:
        found["screen"] = {"id": screen.id, "name": screen.name}
    return found


async def search_workflows(ctx: RouteContext, request: Request) -> Response:
    """``GET /workflow/search``: the one workflow (by ``workflowName`` when given); with
    ``expand`` naming transitions, each with the screen it shows."""
    _admin(ctx, request)
    names = set(list_param(request, "workflowName") or [])
    expand = request.query_params.get("expand", "")
    items: list[dict[str, Any]] = []
    if not names or WORKFLOW_NAME in names:
        workflow: dict[str, Any] = {
            "id": {"name": WORKFLOW_NAME, "entityId": WORKFLOW_ENTITY_ID},
            "description": "To Do, In Progress and Done, with Reopen.",
        }
        if "transitions" in expand:
            with ctx.state.lock:
                workflow["transitions"] = [_transition(ctx, t) for t in TRANSITIONS]
        if "statuses" in expand:
            workflow["statuses"] = [{"id": s.id, "name": s.name} for s in STATUSES.values()]
        items.append(workflow)
    return JSONResponse(page_bean(request, items, 50, 50))


async def workflow_project_usages(ctx: RouteContext, request: Request) -> Response:
    """``GET /workflow/{workflowId}/projectUsages``: the live projects using the workflow (all
    of them, for the sandbox's one), a page at a time (``nextPageToken``: the offset). Its
    description lists no 403: to an account without *Administer Jira* the workflow is not
    there (404)."""
    workflow_id = request.path_params["workflowId"]
    if workflow_id != WORKFLOW_ENTITY_ID or actor_of(request) not in ctx.state.admins:
        raise JiraApiError.not_found(f"The workflow with id '{workflow_id}' does not exist.")
    size = max(1, min(int(request.query_params.get("maxResults") or 50), 200))
    token = request.query_params.get("nextPageToken") or "0"
    offset = int(token) if token.isdigit() else 0
    with ctx.state.lock:
        ids = [p.id for p in ctx.state.projects.values() if not p.deleted]
    page: dict[str, Any] = {"values": [{"id": i} for i in ids[offset : offset + size]]}
    if offset + size < len(ids):
        page["nextPageToken"] = str(offset + size)
    return JSONResponse({"workflowId": workflow_id, "projects": page})


WORKFLOW_TABLE: list[tuple[str, list[str], Any]] = [
    ("/workflowscheme/project", ["GET"], workflow_schemes_of_projects),
    ("/workflow/search", ["GET"], search_workflows),
    ("/workflow/{workflowId}/projectUsages", ["GET"], workflow_project_usages),
]
"""Paths relative to ``/rest/api/3``, both in the v3 description."""
