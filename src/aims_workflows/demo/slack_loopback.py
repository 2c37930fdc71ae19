"""The Slack app against the Slack sandbox on loopback, with approvers a script can play.

For the demo and for tests: the sandbox plays Slack (Web API and people), the real Bolt app
serves ``/slack/events`` on another loopback port, and :meth:`SlackLoopback.decide` makes a
person click Approve or Reject on their message and type the reason in the modal, exactly as
in Slack: signed requests, ``views.open``, ``view_submission``.

    with SlackLoopback(people=["rita@example.com", "tom@example.com"]) as slack:
        app = open_app(settings, approvals=slack.channel, notifier=slack.notifier)
        slack.attach(app.runtime)
        app.pump()                                   # requests are posted to Slack
        for request in slack.pending("rita@example.com"):
            slack.approve("rita@example.com", request.approval_id, "Controls are adequate")
        app.pump()                                   # every copy shows the outcome
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from starlette.applications import Starlette

from ..adapters.slack import (
    APPROVE,
    DECISION_CALLBACK,
    REASON_ACTION,
    REJECT,
    SlackIntegration,
    SlackPorts,
    SocketModeConnection,
    parse_button_value,
)
from ..sandbox import BackgroundServer
from ..sandbox.slack import Delivery, Message, SlackSandbox

__all__ = ["SlackLoopback", "PendingRequest", "OpenApproval", "Decided"]


@dataclass(frozen=True)
class PendingRequest:
    """An approval message with live buttons that a person sees."""

    approval_id: str
    title: str
    content_hash: str
    channel: str
    ts: str


@dataclass(frozen=True)
class OpenApproval:
    """An approval request that is still open, with the people it was sent to (like
    ``testing.InMemoryApprovalChannel.pending()``, for scripts that play the approvers)."""

    approval_id: str
    run_id: str
    step_id: str
    title: str
    people: tuple[str, ...]
    content_hash: str


@dataclass
class Decided:
    """What happened when a person decided: the click, the modal submission (None when the
    click was refused before a modal opened) and any ephemeral messages they were shown."""

    click: Delivery
    submit: Delivery | None
    notices: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.click.ok and self.submit is not None and self.submit.ok


class SlackLoopback:
    """A sandboxed Slack workspace and the aims Slack app, both on 127.0.0.1."""

    def __init__(
        self,
        *,
        people: Iterable[str | tuple[str, str]],
        channel: str | None = "aims-approvals",
        signing_secret: str | None = None,
        clock: Callable[[], float] = time.time,
        **sandbox: Any,
    ) -> None:
        channels = [channel] if channel else []
        self.sandbox = SlackSandbox(
            users=people, channels=channels, signing_secret=signing_secret, clock=clock, **sandbox
        )
        self._channel_name = f"#{channel}" if channel else None
        self._clock = clock
        self.ports: SlackPorts | None = None
        self.integration: SlackIntegration | None = None
        self._server: BackgroundServer | None = None
        self._socket: SocketModeConnection | None = None

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> SlackLoopback:
        self.sandbox.start()
        self.ports = SlackPorts(
            bot_token=self.sandbox.bot_token,
            api_url=self.sandbox.api_url,
            channel=self._channel_name,
        )
        return self

    def attach(
        self, runtime: Any, *, on_recorded: Callable[[], Any] | None = None
    ) -> SlackIntegration:
        """Serve the Slack app for ``runtime`` and point the sandbox's people at it."""
        assert self.ports is not None, "start() first"
        self.integration = SlackIntegration(
            self.ports,
            runtime,
            signing_secret=self.sandbox.signing_secret,
            clock=self._clock,
            on_recorded=on_recorded,
        )
        if self.sandbox.app_token is not None:
            # Socket Mode: the app dials out; nothing listens for Slack on this side
            self._socket = self.integration.socket_mode(
                self.sandbox.app_token, api_url=self.sandbox.api_url
            )
            self._socket.connect()
            return self.integration
        self._server = BackgroundServer(Starlette(routes=self.integration.routes())).start()
        self.sandbox.app_url = self._server.url + "/slack/events"
        return self.integration

    def stop(self) -> None:
        if self.integration is not None:
            self.integration.wait_idle(10)
        if self._socket is not None:
            self._socket.close()
        if self._server is not None:
            self._server.stop()
        if self.integration is not None:
            self.integration.close()
        self.sandbox.stop()

    def __enter__(self) -> SlackLoopback:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- the ports for open_app -------------------------------------------------------------
    @property
    def channel(self):
        assert self.ports is not None, "start() first"
        return self.ports.channel

    @property
    def notifier(self):
        assert self.ports is not None, "start() first"
        return self.ports.notifier

    @property
    def app_url(self) -> str | None:
        return self.sandbox.app_url

    # -- people -----------------------------------------------------------------------------
    def wait(self, timeout: float = 10.0) -> None:
        """Wait for the work the app started after its acknowledgements (no sleeping)."""
        if self.integration is not None and not self.integration.wait_idle(timeout):
            raise TimeoutError("the Slack app is still busy")

    def _places(self, person: str) -> list[str]:
        places = [person]
        if self._channel_name:
            places.append(self._channel_name)
        return places

    def pending(self, person: str) -> list[PendingRequest]:
        """Messages with live Approve buttons that ``person`` can see (DM first, then channel)."""
        found: dict[str, PendingRequest] = {}
        for place in self._places(person):
            for message in self.sandbox.messages(place):
                value = _button_value(message)
                parsed = parse_button_value(value)
                if parsed and parsed[0] not in found:
                    title = next(
                        (b["text"]["text"] for b in message.blocks if b.get("type") == "header"),
                        message.text,
                    )
                    found[parsed[0]] = PendingRequest(
                        parsed[0], title, parsed[1], message.channel, message.ts
                    )
        return list(found.values())

    def open_approvals(self, person: str | None = None) -> list[OpenApproval]:
        """Requests posted through this loopback that are still open (for ``person``, if given)."""
        assert self.integration is not None and self.ports is not None, "attach() first"
        runtime, book = self.integration.runtime, self.ports.book
        found: list[OpenApproval] = []
        for approval_id, card, people in book.known():
            row = runtime.approval(approval_id)
            if row["status"] != "open" or (person is not None and person not in people):
                continue
            if person is not None and person in book.decided(row["run_id"], approval_id):
                continue
            found.append(
                OpenApproval(
                    approval_id,
                    row["run_id"],
                    row["step_id"],
                    card["title"],
                    tuple(people),
                    card["content_hash"],
                )
            )
        return found

    def message_for(self, person: str, approval_id: str) -> Message | None:
        """The message carrying the live buttons of ``approval_id`` that ``person`` sees."""
        for place in self._places(person):
            for message in reversed(self.sandbox.messages(place)):
                parsed = parse_button_value(_button_value(message))
                if parsed and parsed[0] == approval_id:
                    return message
        return None

    def decide(self, person: str, approval_id: str, decision: str, reason: str) -> Decided:
        """``person`` clicks Approve or Reject on their message and submits ``reason``."""
        message = self.message_for(person, approval_id)
        if message is None:
            raise LookupError(f"{person} has no message with buttons for {approval_id}")
        who = self.sandbox.person(person)
        seen = len(self.sandbox.ephemerals(person))
        click = who.click(message, APPROVE if decision == "approve" else REJECT)
        self.wait()
        modal = self.sandbox.modal(person)
        submit = None
        if click.ok and modal is not None and modal.callback_id == DECISION_CALLBACK:
            submit = who.submit(modal, {REASON_ACTION: reason})
            self.wait()
        return Decided(click, submit, [e.text for e in self.sandbox.ephemerals(person)[seen:]])

    def approve(self, person: str, approval_id: str, reason: str) -> Decided:
        return self.decide(person, approval_id, "approve", reason)

    def reject(self, person: str, approval_id: str, reason: str) -> Decided:
        return self.decide(person, approval_id, "reject", reason)


def _button_value(message: Message) -> str | None:
    for block in message.blocks:
        if block.get("type") == "actions":
            for element in block.get("elements", []):
                if element.get("action_id") == APPROVE:
                    return element.get("value")
    return None
