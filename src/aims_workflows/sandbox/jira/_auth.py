"""Basic authentication with email + API token, as Jira Cloud takes it from scripts.

The account that signed in is put in ``scope["state"]["jira_account_id"]`` for the handlers,
so that every change is attributed to the person who made it.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from .._basic_auth import basic_credentials, token_matches
from ._errors import error_response
from ._state import JiraState

__all__ = ["BasicAuthMiddleware", "ANONYMOUS_PATHS"]

# Jira Cloud answers serverInfo without credentials (the spec allows anonymous access).
ANONYMOUS_PATHS = frozenset({"/rest/api/3/serverInfo"})


def _account_for(state: JiraState, header: str) -> str | None:
    credentials = basic_credentials(header)
    if credentials is None:
        return None
    email, token = credentials
    with state.lock:
        user = state.user_by_email(email)
    if user is None or not user.active or not token_matches(user.api_token, token):
        return None
    return user.account_id


class BasicAuthMiddleware:
    """401 in Jira's shape unless the request carries a valid email:token pair."""

    def __init__(self, app: ASGIApp, state: JiraState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = next(
            (v.decode("latin-1") for k, v in scope["headers"] if k == b"authorization"), ""
        )
        account_id = _account_for(self.state, header) if header else None
        if account_id is None and (header or scope["path"] not in ANONYMOUS_PATHS):
            response = error_response(
                401, ["Client must be authenticated to access this resource."]
            )
            await response(scope, receive, send)
            return
        scope.setdefault("state", {})["jira_account_id"] = account_id
        await self.app(scope, receive, send)
