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
from urllib.parse import quote

from slack_bolt import App
from slack_sdk import WebClient
from starlette.routing import Route

from ...engine import Actor
from ...errors import ConfigError
from ...ports import SystemClock
from ...runtime import SyncReport
from ...store.slack_messages import SlackMessageRecords
from ...store.slack_posts import SlackPostRecords
from ._bolt import build_bolt_app
from ._book import MessageBook
from ._channel import SlackApprovalChannel, SlackNotifier
from ._directory import Directory
from ._inbound import SlackInbox
from ._posts import Poster
from ._socket_mode import SocketModeConnection
from ._work import WorkPool
from .routes import SlackSignatureCheck, slack_asgi_app, slack_routes

__all__ = ["SlackIntegration", "SlackPorts"]


class SlackPorts:
    """The parts that do not need the runtime: the Web API client and the two ports.

    Built before the runtime exists (``open_app`` takes the ports), then completed with
    :meth:`SlackIntegration.attach`.
    """

    def __init__(
        self,
        *,
        bot_token: str,
        api_url: str = "https://slack.com/api/",
        channel: str | None = None,
        db: Any | None = None,
        clock: Any | None = None,
        issue_url: Callable[[str], str | None] | None = None,
        timeout: int = 10,
        run_url: Callable[[str], str | None] | None = None,
    ) -> None:
        if not bot_token:
            raise ConfigError(
                "the Slack bot token is missing", hint="set AIMS_SLACK_BOT_TOKEN (xoxb-...)"
            )
        base = api_url if api_url.endswith("/") else api_url + "/"
        self.client = WebClient(token=bot_token, base_url=base, timeout=timeout)
        self.directory = Directory(self.client)
        store = SlackMessageRecords(db, clock or SystemClock()) if db is not None else None
        self.book = MessageBook(store)
        # one record of posts for approvals and notifications: none is made twice
        self.poster = Poster(
            self.client, SlackPostRecords(db, clock or SystemClock()) if db is not None else None
        )
        self.channel = SlackApprovalChannel(
            self.client,
            self.directory,
            self.book,
            channel=channel,
            issue_url=issue_url,
            run_url=run_url,
            poster=self.poster,
        )
        self.notifier = SlackNotifier(self.client, self.directory, self.poster)

    def bind(self, runtime: Any) -> SlackPorts:
        """Keep what the ports post in ``runtime``'s database (when they were built without
        one), so every process that serves or works for it finds each copy; ask ``runtime``
        who has decided."""
        self.book.bind(SlackMessageRecords(runtime.db, runtime.clock), runtime.deciders)
        self.poster.bind(SlackPostRecords(runtime.db, runtime.clock))
        return self

    def __repr__(self) -> str:  # never the token
        return f"SlackPorts(base_url={self.client.base_url!r})"


class SlackIntegration:
    """Everything Slack for one service: ports, Bolt app, route, and the pool its work runs on."""

    def __init__(
        self,
        ports: SlackPorts,
        runtime: Any,
        *,
        signing_secret: str,
        clock: Callable[[], float] = time.time,
        on_recorded: Callable[[], Any] | None = None,
        workers: int = 8,
        decision_workers: int = 4,
    ) -> None:
        self.ports = ports
        self.runtime = runtime
        ports.bind(runtime)
        self.inbox = SlackInbox(runtime, ports.directory)
        self.pool = WorkPool(workers)
        # SQLite takes one writer at a time: more threads would only wait, and slow the acks down
        self.decisions = WorkPool(decision_workers, name="aims-slack-decide")
        # The worker posts with the token alone; only serving /slack/events needs the secret.
        self.check = SlackSignatureCheck(signing_secret, clock) if signing_secret else None
        self.on_recorded = on_recorded
        self.bolt: App = build_bolt_app(
            runtime=runtime,
            client=ports.client,
            directory=ports.directory,
            book=ports.book,
            signing_secret=signing_secret or "unset",
            pool=self.pool,
            decisions=self.decisions,
            on_recorded=self._recorded,
            inbox=self.inbox,
        )

    def sync_people(self, by: Actor) -> SyncReport:
        """Tie every person of the directory to their Slack user id; report who Slack has not
        got."""
        from ._directory_sync import find_slack_people

        directory = self.runtime.people
        emails = [p.email for p in directory.everyone() if p.email]
        matches = find_slack_people(self.ports.client, emails)
        report: SyncReport = directory.record_matches(
            "slack", matches, by=by, method="slack users.list / users.lookupByEmail"
        )
        return report

    def pump(self) -> dict[str, Any]:
        """Apply Slack decisions stored but not applied yet (``App.pump``, i.e. ``aims
        worker``): after a stop between the acknowledgement and the decision's work."""
        return {"applied": self.inbox.process_pending()}

    def _recorded(self) -> None:
        if self.on_recorded is not None:
            self.on_recorded()

    @property
    def channel(self) -> SlackApprovalChannel:
        return self.ports.channel

    @property
    def notifier(self) -> SlackNotifier:
        return self.ports.notifier

    def _require_check(self) -> SlackSignatureCheck:
        if self.check is None:
            raise ConfigError(
                "Slack requests cannot be verified: the signing secret is missing",
                hint="set AIMS_SLACK_SIGNING_SECRET (Basic Information page of the Slack app)",
            )
        return self.check

    def routes(self) -> list[Route]:
        """``POST /slack/events`` for the service's Starlette app."""
        return slack_routes(self.bolt, self._require_check())

    def asgi_app(self):
        return slack_asgi_app(self.bolt, self._require_check())

    def socket_mode(self, app_token: str, *, api_url: str) -> SocketModeConnection:
        """The Bolt app over Socket Mode (call ``connect()``): no public URL, no signing secret."""
        return SocketModeConnection(self.bolt, app_token, api_url=api_url)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until the work started by earlier requests has finished (tests, the demo); the
        commands it queued are the worker's to carry out."""
        for _ in range(5):  # click -> decision settle in a few rounds
            for pool in (self.pool, self.decisions):
                if not pool.wait_idle(timeout):
                    return False
            if self.pool.in_flight == 0 and self.decisions.in_flight == 0:
                return True
        return False

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        self.decisions.shutdown(wait=True)

    @classmethod
    def from_settings(
        cls,
        settings: Any,
        runtime: Any,
        *,
        ports: SlackPorts | None = None,
        on_recorded: Callable[[], Any] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> SlackIntegration:
        """From ``AIMS_SLACK_*``; ``ports`` when they were built earlier for ``open_app``.
        Jira keys link to ``AIMS_JIRA_URL/browse/KEY`` when that is set."""
        jira_url = getattr(settings, "jira_url", None)
        issue_url = (lambda key: f"{str(jira_url).rstrip('/')}/browse/{key}") if jira_url else None
        ports = ports or ports_from_settings(settings, runtime.db, issue_url, runtime.clock)
        secret = (
            settings.slack_signing_secret.get_secret_value()
            if settings.slack_signing_secret
            else ""
        )
        return cls(ports, runtime, signing_secret=secret, clock=clock, on_recorded=on_recorded)


def ports_from_settings(
    settings: Any,
    db: Any | None = None,
    issue_url: Callable[[str], str | None] | None = None,
    clock: Any | None = None,
) -> SlackPorts:
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else ""
    return SlackPorts(
        bot_token=token,
        api_url=settings.slack_api_url,
        channel=settings.slack_channel,
        db=db,
        clock=clock,
        issue_url=issue_url,
        run_url=run_page_url(getattr(settings, "public_url", None)),
    )


def run_page_url(public_url: str | None) -> Callable[[str], str | None] | None:
    """Links to a run's dashboard page under ``AIMS_PUBLIC_URL`` (None when it is not set)."""
    if not public_url:
        return None
    base = str(public_url).rstrip("/")
    return lambda run_id: f"{base}/dashboard/runs/{quote(run_id, safe='')}"
