"""Putting the Slack pieces together from settings: client, directory, message book, the two
ports for the dispatcher, the Bolt app and its route.

>>> slack = SlackIntegration.from_settings(settings, runtime)       # doctest: +SKIP
>>> app = open_app(settings, approvals=slack.channel, notifier=slack.notifier)   # doctest: +SKIP
>>> routes = slack.routes()                                         # for web.py
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from starlette.routing import Route

from ...errors import ConfigError
from ._bolt import build_bolt_app
from ._book import MessageBook
from ._channel import SlackApprovalChannel, SlackNotifier
from ._directory import Directory
from ._work import WorkPool
from .routes import SlackSignatureCheck, slack_asgi_app, slack_routes

__all__ = ["SlackIntegration", "SlackPorts"]


class SlackPorts:
    """The parts that do not need the runtime: the Web API client and the two ports.

    Built before the runtime exists (``open_app`` takes the ports), then completed with
    :meth:`SlackIntegration.attach`.
    """

    def __init__(self, *, bot_token: str, api_url: str = "https://slack.com/api/", channel: str | None = None,
                 db: Any | None = None, issue_url: Callable[[str], str | None] | None = None, timeout: int = 10) -> None:
        if not bot_token:
            raise ConfigError("the Slack bot token is missing", hint="set AIMS_SLACK_BOT_TOKEN (xoxb-...)")
        base = api_url if api_url.endswith("/") else api_url + "/"
        self.client = WebClient(token=bot_token, base_url=base, timeout=timeout)
        self.directory = Directory(self.client)
        self.book = MessageBook(db)
        self.channel = SlackApprovalChannel(self.client, self.directory, self.book, channel=channel, issue_url=issue_url)
        self.notifier = SlackNotifier(self.client, self.directory)

    def __repr__(self) -> str:  # never the token
        return f"SlackPorts(base_url={self.client.base_url!r})"


class SlackIntegration:
    """Everything Slack for one service: ports, Bolt app, route, and the pool its work runs on."""

    def __init__(self, ports: SlackPorts, runtime: Any, *, signing_secret: str,
                 clock: Callable[[], float] = time.time, on_recorded: Callable[[], Any] | None = None,
                 workers: int = 16) -> None:
        if not signing_secret:
            raise ConfigError("the Slack signing secret is missing", hint="set AIMS_SLACK_SIGNING_SECRET (Basic Information page of the app)")
        self.ports = ports
        self.runtime = runtime
        ports.book.bind(runtime.db)
        self.pool = WorkPool(workers)
        self.check = SlackSignatureCheck(signing_secret, clock)
        self.bolt: App = build_bolt_app(runtime=runtime, client=ports.client, directory=ports.directory, book=ports.book,
                                        signing_secret=signing_secret, pool=self.pool, on_recorded=on_recorded)

    @property
    def channel(self) -> SlackApprovalChannel:
        return self.ports.channel

    @property
    def notifier(self) -> SlackNotifier:
        return self.ports.notifier

    def routes(self) -> list[Route]:
        """``POST /slack/events`` for the service's Starlette app."""
        return slack_routes(self.bolt, self.check)

    def asgi_app(self):
        return slack_asgi_app(self.bolt, self.check)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until the work started by earlier requests has finished (tests, the demo)."""
        return self.pool.wait_idle(timeout)

    def close(self) -> None:
        self.pool.shutdown(wait=True)

    @classmethod
    def from_settings(cls, settings: Any, runtime: Any, *, ports: SlackPorts | None = None,
                      on_recorded: Callable[[], Any] | None = None, clock: Callable[[], float] = time.time) -> "SlackIntegration":
        """From ``AIMS_SLACK_*``; ``ports`` when they were built earlier for ``open_app``."""
        ports = ports or ports_from_settings(settings, runtime.db)
        secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else ""
        return cls(ports, runtime, signing_secret=secret, clock=clock, on_recorded=on_recorded)


def ports_from_settings(settings: Any, db: Any | None = None,
                        issue_url: Callable[[str], str | None] | None = None) -> SlackPorts:
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else ""
    return SlackPorts(bot_token=token, api_url=settings.slack_api_url, channel=settings.slack_channel, db=db, issue_url=issue_url)
