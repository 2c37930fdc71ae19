"""``SlackSandbox``: the loopback Slack that tests and the demo start, and its read helpers."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from slack_sdk import WebClient
from starlette.middleware import Middleware

from .._browser import SiteFront
from .._server import BackgroundServer, ServedSandbox
from ._api import ApiCall, build_app
from ._browser import SlackBrowser
from ._delivery import Deliverer, Delivery
from ._errors import SandboxUsageError
from ._faults import Faults
from ._ids import Clock, IdFactory, wall_clock
from ._model import Conversation, Ephemeral, Message, SlackUser, View
from ._payloads import AppIdentity
from ._people import Person
from ._scopes import APP_SCOPES
from ._socket_mode import SocketDeliverer, SocketModeHub
from ._workspace import Workspace

__all__ = ["SlackSandbox", "DEFAULT_USERS", "DEFAULT_CHANNELS"]

DEFAULT_USERS: tuple[str, ...] = ("alice@example.com", "bob@example.com", "carol@example.com")
DEFAULT_CHANNELS: tuple[str, ...] = ("aims-approvals",)

UserSpec = str | tuple[str, str]
"""An email, or ``(email, real name)``."""


class SlackSandbox(ServedSandbox):
    """A Slack workspace on 127.0.0.1 that ``slack_sdk.WebClient`` and ``slack_bolt`` talk to.

    >>> with SlackSandbox(app_url="http://127.0.0.1:8000/slack/events") as slack:  # doctest: +SKIP
    ...     client = WebClient(token=slack.bot_token, base_url=slack.api_url)
    ...     client.chat_postMessage(channel="#aims-approvals", text="Approve?")
    ...     message = slack.messages("#aims-approvals")[-1]
    ...     slack.person("alice@example.com").click(message, "approve")

    ``clock`` (Unix seconds) dates messages, trigger ids and request signatures; replace it,
    even while running, to send requests "from the past". ``ack_timeout``, ``max_retries``,
    ``retry_delays`` and ``sleep`` shape deliveries to the app (see ``_delivery``).
    ``middleware`` wraps the HTTP app, e.g. to check every answer against Slack's spec.
    ``scopes`` are the bot token's (by default the app manifest's; ``workspace.scopes`` may be
    changed while running): a Web API call that needs another is answered ``missing_scope``,
    as Slack does.
    """

    def __init__(
        self,
        *,
        app_url: str | None = None,
        events_url: str | None = None,
        commands_url: str | None = None,
        signing_secret: str | None = None,
        bot_token: str | None = None,
        users: Iterable[UserSpec] = DEFAULT_USERS,
        channels: Iterable[str] = DEFAULT_CHANNELS,
        clock: Clock = wall_clock,
        seed: int = 42001,
        host: str = "127.0.0.1",
        port: int = 0,
        ack_timeout: float = 3.0,
        max_retries: int = 3,
        retry_delays: Sequence[float] = (0.0, 0.0, 0.0),
        sleep: Callable[[float], None] = time.sleep,
        middleware: Sequence[Middleware] = (),
        socket_mode: bool = False,
        scopes: Iterable[str] = APP_SCOPES,
    ) -> None:
        self.clock = clock
        ids = IdFactory(seed)
        self.workspace = Workspace(ids=ids, clock=lambda: self.clock())
        self.workspace.scopes = set(scopes)
        self.app_url = app_url
        self.events_url = events_url
        self.commands_url = commands_url
        self.signing_secret = signing_secret or ids.secret(32)
        self.bot_token = bot_token or ids.bot_token()
        self.verification_token = ids.secret(24)
        self.faults = Faults()
        self.deliverer: Deliverer | SocketDeliverer = Deliverer(
            signing_secret=self.signing_secret,
            clock=lambda: self.clock(),
            timeout=ack_timeout,
            max_retries=max_retries,
            retry_delays=retry_delays,
            sleep=sleep,
        )
        self.socket_mode: SocketModeHub | None = None
        """With ``socket_mode``: the app connects with ``app_token`` and every request goes
        over its socket instead of HTTP (nothing is signed, no app URL is needed)."""
        self.app_token: str | None = None
        if socket_mode:
            self.app_token = ids.app_token(self.workspace.bot.app_id)
            self.socket_mode = SocketModeHub(ids, self.app_token, self.workspace.bot.app_id)
            self.deliverer = SocketDeliverer(
                self.socket_mode, timeout=ack_timeout, max_retries=max_retries, sleep=sleep
            )
        self.app, self.calls = build_app(
            self.workspace,
            tokens={self.bot_token},
            faults=self.faults,
            middleware=middleware,
            socket_mode=self.socket_mode,
        )
        self.deliveries: list[Delivery] = []
        self._deliveries_lock = threading.Lock()
        self._ssl_checked: dict[str, Delivery] = {}
        for channel in channels:
            self.workspace.add_channel(channel)
        for spec in users:
            email, real_name = (spec, None) if isinstance(spec, str) else spec
            self.workspace.add_user(email, real_name=real_name)
        self.browser = SlackBrowser(self)
        """The pages a person uses in a browser: pick a person at ``/``, then their Slack."""
        site = SiteFront(self.app, self.browser.app, api_prefixes=("/api/", "/actions/"))
        self._server = BackgroundServer(site, host=host, port=port)

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321``."""
        return self._server.url

    @property
    def api_url(self) -> str:
        """What to pass as ``base_url`` to ``WebClient`` / ``slack_bolt.App(client=...)``."""
        return self.url + "/api/"

    @property
    def app_identity(self) -> AppIdentity:
        ws = self.workspace
        return AppIdentity(
            team_id=ws.team_id,
            domain=ws.domain,
            app_id=ws.bot.app_id,
            bot_user_id=ws.bot.user_id,
            verification_token=self.verification_token,
        )

    def client(self, **kwargs: Any) -> WebClient:
        """A ``slack_sdk.WebClient`` with the bot token, pointed at this sandbox."""
        kwargs.setdefault("token", self.bot_token)
        return WebClient(base_url=self.api_url, **kwargs)

    # --- people and places --------------------------------------------------------------------

    def add_user(
        self, email: str, *, name: str | None = None, real_name: str | None = None
    ) -> SlackUser:
        """Add a person to the workspace (and to every public channel)."""
        return self.workspace.add_user(email, name=name, real_name=real_name)

    def add_channel(self, name: str, *, bot_is_member: bool = True) -> str:
        """Add a public channel; returns its id."""
        return self.workspace.add_channel(name, bot_is_member=bot_is_member).id

    def user(self, who: str) -> SlackUser:
        """A person by email or user id."""
        ws = self.workspace
        user = ws.find_user_by_email(who) if "@" in who else ws.users.get(who)
        if user is None:
            raise SandboxUsageError(
                f"no user {who!r} in the sandbox workspace",
                hint="pass users=[...] or call add_user()",
            )
        return user

    def person(self, who: str) -> Person:
        """Play the person with this email (or user id)."""
        return Person(self, self.user(who))

    def channel_id(self, channel: str) -> str:
        """The id of ``#name``, a channel id, or the bot's DM with a person (email/user id)."""
        ws = self.workspace
        if "@" in channel:
            return ws.open_dm(self.user(channel).id)[0].id
        return ws.resolve_channel(channel).id

    # --- what the app has done --------------------------------------------------------------

    def messages(self, channel: str) -> list[Message]:
        """Messages in ``channel`` (id, ``#name``, or a person's email for their DM), oldest
        first, as they are now (after any ``chat.update``)."""
        ws = self.workspace
        with ws.lock:
            return ws.snapshot(ws.messages.get(self.channel_id(channel), []))

    def ephemerals(self, who: str) -> list[Ephemeral]:
        """Ephemeral messages shown to a person (email or user id), oldest first."""
        ws = self.workspace
        with ws.lock:
            return ws.snapshot(ws.ephemerals.get(self.user(who).id, []))

    def home(self, who: str) -> View | None:
        """The App Home view published for a person, if any."""
        ws = self.workspace
        with ws.lock:
            view_id = ws.homes.get(self.user(who).id)
            return ws.snapshot([ws.views[view_id]])[0] if view_id else None

    def modals(self, who: str) -> list[View]:
        """The person's open modals, bottom of the stack first."""
        ws = self.workspace
        with ws.lock:
            user_id = self.user(who).id
            return ws.snapshot(
                v
                for v in ws.views.values()
                if v.user == user_id and v.type == "modal" and v.is_open
            )

    def modal(self, who: str) -> View | None:
        """The modal a person sees now (top of their stack), if any."""
        open_modals = self.modals(who)
        return open_modals[-1] if open_modals else None

    def calls_to(self, method: str) -> list[ApiCall]:
        """Web API calls received for ``method``, in order."""
        return [c for c in list(self.calls) if c.method == method]

    def conversation(self, channel: str) -> Conversation:
        """A snapshot of a conversation record."""
        ws = self.workspace
        with ws.lock:
            return ws.snapshot([ws.conversations[self.channel_id(channel)]])[0]

    def check_ssl(self, url: str) -> Delivery:
        """Send Slack's ``ssl_check`` to ``url`` once (as Slack does when a slash command's URL
        is set); later calls return the first answer. The command is only sent after a 200."""
        with self._deliveries_lock:
            known = self._ssl_checked.get(url)
        if known is not None and known.ok:
            return known
        if not isinstance(self.deliverer, Deliverer):
            raise SandboxUsageError("an app on Socket Mode has no URL for Slack to check")
        delivery = self.deliverer.ssl_check(url, self.verification_token)
        self._record(delivery)
        with self._deliveries_lock:
            self._ssl_checked[url] = delivery
        return delivery

    def _record(self, delivery: Delivery) -> None:
        with self._deliveries_lock:
            self.deliveries.append(delivery)
