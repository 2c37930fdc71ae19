"""The REST endpoints: Starlette routes named and shaped after Jira Cloud REST API v3.

Path templates use the spec's own parameter names (``{issueIdOrKey}`` ...), so a test can
compare the routing table with the vendor's OpenAPI paths literally.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ._errors import JiraApiError, error_response
from ._issue_routes import (
    add_attachments,
    add_comment,
    attachment_content,
    create_issue,
    create_link,
    do_transition,
    edit_issue,
    get_issue,
    get_property,
    link_types,
    list_comments,
    put_property,
)
from ._issue_types import create_issue_type, list_issue_types
from ._permissions import my_permissions
from ._request import RouteContext
from ._screen_routes import (
    SCREEN_TABLE,
    WEBHOOKS_PATH,
    admin_webhooks,
    get_transitions,
    register_admin_webhook,
)
from ._site_routes import (
    context_projects,
    create_context,
    create_field,
    create_options,
    get_option,
    get_project,
    list_contexts,
    list_fields,
    list_options,
    myself,
    project_role,
    project_roles,
    search_get,
    search_post,
    search_users,
    server_info,
    update_options,
)
from ._workflow_routes import WORKFLOW_TABLE

__all__ = ["RouteContext", "build_routes", "API", "WEBHOOKS_PATH"]


API = "/rest/api/3"
Handler = Callable[[Request], Awaitable[Response]]


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


_TABLE: list[tuple[str, list[str], Callable[[RouteContext, Request], Awaitable[Response]]]] = [
    ("/serverInfo", ["GET"], server_info),
    ("/myself", ["GET"], myself),
    ("/mypermissions", ["GET"], my_permissions),
    ("/project/{projectIdOrKey}", ["GET"], get_project),
    ("/project/{projectIdOrKey}/role", ["GET"], project_roles),
    ("/project/{projectIdOrKey}/role/{id}", ["GET"], project_role),
    ("/field", ["GET"], list_fields),
    ("/field", ["POST"], create_field),
    ("/field/{fieldId}/context", ["GET"], list_contexts),
    ("/field/{fieldId}/context/projectmapping", ["GET"], context_projects),
    ("/field/{fieldId}/context", ["POST"], create_context),
    ("/field/{fieldId}/context/{contextId}/option", ["GET"], list_options),
    ("/field/{fieldId}/context/{contextId}/option", ["POST"], create_options),
    ("/field/{fieldId}/context/{contextId}/option", ["PUT"], update_options),
    ("/customFieldOption/{id}", ["GET"], get_option),
    ("/issuetype", ["GET"], list_issue_types),
    ("/issuetype", ["POST"], create_issue_type),
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
    *SCREEN_TABLE,
    *WORKFLOW_TABLE,
]


def build_routes(ctx: RouteContext) -> list[Route]:
    """The sandbox's routing table, every handler translating ``JiraApiError`` to JSON."""
    routes = [
        Route(API + path, _jira_errors(handler, ctx), methods=methods)
        for path, methods, handler in _TABLE
    ]
    # the admin webhook API lives outside /rest/api/3 and outside the v3 description
    routes.append(Route(WEBHOOKS_PATH, _jira_errors(admin_webhooks, ctx), methods=["GET"]))
    routes.append(Route(WEBHOOKS_PATH, _jira_errors(register_admin_webhook, ctx), methods=["POST"]))
    return routes
