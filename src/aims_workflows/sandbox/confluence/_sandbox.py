"""``ConfluenceSandbox``: a loopback Confluence Cloud site (REST API v2) over real HTTP."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Receive, Scope, Send

from .._basic_auth import basic_credentials, token_matches
from .._capture import CaptureMiddleware, Observer
from .._server import BackgroundServer, ServedSandbox
from ._routes import build_routes, error_response
from ._state import ConfluenceState, ConfluenceUser, Page, Space, utcnow

__all__ = ["ConfluenceSandbox", "default_users"]


def default_users() -> list[ConfluenceUser]:
    """The integration account first, then a person who edits pages by hand."""
    return [
        ConfluenceUser("5b10ac8d82e05b22cc7d4ef5", "aims-bot@example.com", "aims", "cf-token-1"),
        ConfluenceUser("5b10a2844c20165700ede21g", "carla@example.com", "Carla", "cf-token-2"),
    ]


class _BasicAuth:
    """401 in Confluence's shape unless the request carries a valid e-mail:token pair."""

    def __init__(self, app: ASGIApp, state: ConfluenceState) -> None:
        self.app = app
        self.state = state

    def _account(self, header: str) -> str | None:
        credentials = basic_credentials(header)
        if credentials is None:
            return None
        user = self.state.user_by_email(credentials[0])
        if user is None or not token_matches(user.api_token, credentials[1]):
            return None
        return user.account_id

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = next(
            (v.decode("latin-1") for k, v in scope["headers"] if k == b"authorization"), ""
        )
        account = self._account(header) if header else None
        if account is None:
            await error_response(401, "UNAUTHORIZED", "Unauthorized")(scope, receive, send)
            return
        scope.setdefault("state", {})["confluence_account_id"] = account
        await self.app(scope, receive, send)


class ConfluenceSandbox(ServedSandbox):
    """One Confluence Cloud site with one space, served on a loopback port.

    >>> with ConfluenceSandbox(space="AIMS") as site:  # doctest: +SKIP
    ...     client = ConfluenceCloud(site.url, username=..., password=...)

    ``users[0]`` is the integration account. ``read_only`` lists e-mails that may read the
    space but not write to it (to try a publisher against missing permissions).
    """

    def __init__(
        self,
        *,
        space: str = "AIMS",
        space_name: str = "AI Management System",
        users: Iterable[ConfluenceUser] | None = None,
        read_only: Iterable[str] = (),
        clock: Callable[[], datetime] = utcnow,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.users = list(users) if users is not None else default_users()
        if not self.users:
            raise ValueError("a Confluence sandbox needs at least one user")
        self.state = ConfluenceState(self.users, clock)
        blocked = {e.lower() for e in read_only}
        writers = {u.account_id for u in self.users if u.email.lower() not in blocked}
        self.space: Space = self.state.add_space(space, space_name, writers=writers)
        self.observers: list[Observer] = []
        """Called with every HTTP exchange (tests hang the OpenAPI validator here)."""
        app = Starlette(
            routes=build_routes(self.state),
            middleware=[
                Middleware(CaptureMiddleware, observers=self.observers),
                Middleware(_BasicAuth, state=self.state),
            ],
        )
        self._server = BackgroundServer(app, host=host, port=port)

    @property
    def url(self) -> str:
        """The site's base URL, as people and clients use it (``/wiki`` is below it)."""
        return self._server.url

    def credentials(self, email: str | None = None) -> tuple[str, str]:
        """(e-mail, API token) of ``email``'s account, or of the integration account."""
        user = self.users[0] if email is None else self.state.user_by_email(email)
        if user is None:
            raise KeyError(f"no Confluence user {email!r}")
        return user.email, user.api_token

    def page_titled(self, title: str) -> Page | None:
        with self.state.lock:
            return next((p for p in self.state.pages.values() if p.current.title == title), None)

    def edit_by_hand(self, page_id: str, body: str, *, email: str = "carla@example.com") -> Page:
        """A person changes the page in Confluence's editor (a new version, their name on it)."""
        user = self.state.user_by_email(email)
        if user is None:
            raise KeyError(f"no Confluence user {email!r}")
        with self.state.lock:
            page = self.state.page(page_id)
            return self.state.update_page(
                user.account_id,
                page_id,
                title=page.current.title,
                body=body,
                number=page.current.number + 1,
                message="",
            )
