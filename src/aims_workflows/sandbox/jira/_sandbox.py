"""``JiraSandbox``: the in-memory Jira Cloud site, its HTTP server, webhooks and faults."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal

from starlette.applications import Starlette
from starlette.middleware import Middleware

from .._browser import SiteFront
from .._capture import CaptureMiddleware, Observer
from .._server import BackgroundServer, ServedSandbox
from ._auth import BasicAuthMiddleware
from ._browser import JiraBrowser
from ._clock import Clock, utcnow
from ._contexts import CHOICE_TYPES, add_default_context, add_options
from ._faults import FaultMiddleware, JiraFaults
from ._fields import CUSTOM_TYPE_PREFIX, custom_schema
from ._model import FieldDef, JiraUser
from ._payloads import webhook_payload
from ._people import JiraSandboxPerson, default_users
from ._render import Renderer
from ._routes import RouteContext, build_routes
from ._screens import RESOLVE_SCREEN_ID
from ._state import IssueEvent, JiraState
from ._webhooks import RETRY_DELAYS, WebhookDelivery, WebhookQueue
from ._workflow import STATUSES, TRANSITIONS

__all__ = ["JiraSandbox"]


class JiraSandbox(ServedSandbox):
    """A loopback Jira Cloud site for one project, served over real HTTP.

    >>> with JiraSandbox(webhook_url=receiver, webhook_secret="s3cret") as jira:  # doctest: +SKIP
    ...     client = JIRA(server=jira.url, basic_auth=jira.credentials(),
    ...                   options={"rest_api_version": "3"})
    ...     jira.deliver_webhooks()

    ``users[0]`` is the integration's account and the project lead. Time comes from
    ``clock`` (issues' created/updated, JQL relative dates, webhook scheduling).

    The project starts with Jira's create and edit/view screens holding the system fields; a
    custom field made over REST is on no screen until it is added (``aims jira setup`` does),
    while ``add_custom_field`` puts it there as an administrator would. ``priorities`` are the
    site's priority names (Jira's five by default); with ``done_screen`` the Done transition
    shows the Resolve Issue screen and wants a resolution. ``users[0]`` administers the site.

    Select and multiselect values must be options of the field's context once it has any;
    with ``strict_options`` they must be options even before (as on Jira Cloud, where a
    choice field without options takes no value).
    """

    def __init__(
        self,
        *,
        project: str = "AIMS",
        project_name: str = "AI Management System",
        users: Iterable[JiraUser] | None = None,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        clock: Clock = utcnow,
        host: str = "127.0.0.1",
        port: int = 0,
        base_url: str | None = None,
        max_results_cap: int = 100,
        webhook_retry_delays: tuple[float, ...] = RETRY_DELAYS,
        webhook_timeout: float = 10.0,
        strict_options: bool = False,
        priorities: Iterable[str] | None = None,
        done_screen: bool | Literal["own"] = False,
    ) -> None:
        """``done_screen``: the Done transition shows a screen that wants a resolution: Jira's
        own "Resolve Issue Screen" (True), which every project on the default workflows
        shares, or (``"own"``) a copy of it made for this project, as an admin makes one."""
        self.users = list(users) if users is not None else default_users()
        if not self.users:
            raise ValueError("a Jira sandbox needs at least one user")
        self.state = JiraState(self.users, clock, strict_options=strict_options)
        self.project_key = project
        created = self.state.add_project(project, project_name, self.users[0].account_id)
        # as on a new site: the lead administers, everyone else is a member
        created.roles = {
            "Administrators": [self.users[0].account_id],
            "Member": [u.account_id for u in self.users[1:]],
        }
        self.state.admins.add(self.users[0].account_id)
        if priorities is not None:
            self.state.priorities = {str(n): p for n, p in enumerate(priorities, start=1)}
        if done_screen:
            screen_id = RESOLVE_SCREEN_ID
            if done_screen == "own":
                screen_id = self.state.screens.copy_screen(
                    RESOLVE_SCREEN_ID, f"{project}: Resolve Issue Screen"
                ).id
            for transition in TRANSITIONS:
                if STATUSES[transition.to_id].category_key == "done":
                    self.state.screens.transition_screens[transition.id] = screen_id
        self.faults = JiraFaults(self.state, clock)
        self.webhooks = WebhookQueue(
            webhook_url,
            webhook_secret,
            clock=clock,
            retry_delays=webhook_retry_delays,
            timeout=webhook_timeout,
        )
        self.observers: list[Observer] = []
        """Called with every HTTP ``Exchange`` (tests hang the OpenAPI validator here)."""
        self._base_url = base_url
        self._renderer: Renderer | None = None
        self.state.listeners.append(self._on_event)
        self.app = self._build_app(max_results_cap)
        """The REST API (``/rest/api/3``), as the vendor's API description has it."""
        self.browser = JiraBrowser(self.state, lambda: self.renderer, self.users[0].account_id)
        """The pages a person uses in a browser: the board at ``/``, issues at ``/browse/KEY``."""
        site = SiteFront(self.app, self.browser.app, api_prefixes=("/rest/",))
        self._server = BackgroundServer(site, host=host, port=port)

    # lifecycle -----------------------------------------------------------------------------
    def _started(self) -> None:
        self._renderer = Renderer(self.state, self._base_url or self._server.url)

    @property
    def url(self) -> str:
        """The site's base URL, e.g. ``http://127.0.0.1:54321``."""
        return self.renderer.base_url

    @property
    def renderer(self) -> Renderer:
        if self._renderer is None:
            raise RuntimeError("the Jira sandbox is not started: call start() first")
        return self._renderer

    # people ----------------------------------------------------------------------------------
    @property
    def service_account(self) -> JiraUser:
        """The integration's own account (``users[0]``)."""
        return self.users[0]

    def credentials(self, email: str | None = None) -> tuple[str, str]:
        """``(email, api_token)`` for basic auth; the service account's by default."""
        user = self.user(email) if email else self.service_account
        return user.email, user.api_token

    def user(self, email: str) -> JiraUser:
        with self.state.lock:
            found = self.state.user_by_email(email)
        if found is None:
            raise KeyError(f"no sandbox user with email {email!r}")
        return found

    def add_user(self, user: JiraUser) -> JiraUser:
        with self.state.lock:
            self.state.users[user.account_id] = user
        self.users.append(user)
        return user

    def deny_permission(self, email: str, *keys: str) -> None:
        """Take project permissions (``CREATE_ISSUES``, ...) from ``email``'s account."""
        account = self.user(email).account_id
        with self.state.lock:
            self.state.denied_permissions.setdefault(account, set()).update(keys)

    def person(self, email: str) -> JiraSandboxPerson:
        """Someone who works on issues over REST with their own credentials."""
        return JiraSandboxPerson(self.url, self.user(email))

    # set-up and inspection (in-process) ------------------------------------------------------
    def add_custom_field(
        self,
        name: str,
        type_suffix: str = "textfield",
        options: Iterable[str] = (),
        *,
        on_screens: bool = True,
    ) -> str:
        """Create a custom field directly (as an admin would beforehand), with its default
        global context, for select/multiselect ``options``, and (``on_screens``) on the
        project's create, edit and view screens; returns its id."""
        options = list(options)
        if options and type_suffix not in CHOICE_TYPES:
            raise ValueError(f"a {type_suffix} field has no options")
        with self.state.lock:
            number = self.state.next_field_number()
            schema = custom_schema(CUSTOM_TYPE_PREFIX + type_suffix, number)
            if schema is None:
                raise ValueError(f"unsupported custom field type {type_suffix!r}")
            field_id = f"customfield_{number}"
            fdef = FieldDef(field_id, name, True, schema)
            self.state.fields[field_id] = fdef
            context = add_default_context(self.state, fdef)
            if options:
                add_options(self.state, context, {"options": [{"value": v} for v in options]})
            if on_screens:
                project = self.state.project(self.project_key)
                self.state.screens.place(project.id, self.state.issue_types, field_id)
        return field_id

    def screen_fields(self, operation: str, issue_type: str = "Task") -> set[str]:
        """Field ids on the project's ``create``/``edit``/``view`` screen (no HTTP)."""
        with self.state.lock:
            type_id = next(t for t, n in self.state.issue_types.items() if n == issue_type)
            project = self.state.project(self.project_key)
            screen = self.state.screens.screen_for(project.id, type_id, operation)
            return set() if screen is None else screen.field_ids

    def revoke_admin(self, email: str) -> None:
        """Take the *Administer Jira* global permission from ``email``'s account."""
        account = self.user(email).account_id
        with self.state.lock:
            self.state.admins.discard(account)

    def field_options(self, field_id: str) -> dict[str, list[str]]:
        """Context id -> option values of a custom field (no HTTP)."""
        with self.state.lock:
            return {c.id: [o.value for o in c.options] for c in self.state.contexts_of(field_id)}

    def issue_json(self, key: str, **options: Any) -> dict[str, Any]:
        """The issue as ``GET /issue/{key}`` would answer it (no HTTP)."""
        with self.state.lock:
            return self.renderer.issue(self.state.issue(key), **options)

    # webhooks --------------------------------------------------------------------------------
    def deliver_webhooks(self, now: datetime | None = None) -> list[WebhookDelivery]:
        """Send every webhook due at ``now`` (default: the clock); return those attempted."""
        return self.webhooks.deliver(now)

    def _on_event(self, event: IssueEvent) -> None:
        # Runs under the state lock, right after the change: the payload is a snapshot.
        if not self.webhooks.url:
            return
        payload = webhook_payload(event, self.renderer)
        self.webhooks.enqueue(
            event.webhook_event, payload, event.at, dropped=self.faults.take_webhook_drop()
        )

    # app -------------------------------------------------------------------------------------
    def _build_app(self, max_results_cap: int) -> Starlette:
        ctx = RouteContext(self.state, lambda: self.renderer, max_results_cap)
        return Starlette(
            routes=build_routes(ctx),
            middleware=[
                # Outermost first: observers see injected faults and 401s too.
                Middleware(CaptureMiddleware, observers=self.observers),
                Middleware(FaultMiddleware, faults=self.faults),
                Middleware(BasicAuthMiddleware, state=self.state),
            ],
        )
