"""Sending a signed request to the app the way Slack does: 3 s to answer, then retries.

Slack gives an app 3 seconds to acknowledge. When the app times out, cannot be reached or
answers 5xx, Slack sends the same body again with ``X-Slack-Retry-Num`` (1, 2, 3) and
``X-Slack-Retry-Reason``, freshly signed; an app can stop this by answering with
``X-Slack-No-Retry: 1``. Real Slack waits about 1 and 5 minutes between retries; the delays
and the sleep are injectable so tests never wait for them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx

from .._http import client as http_client
from ._ids import Clock
from ._signing import signed_headers

__all__ = ["Attempt", "Delivery", "Deliverer", "SLACK_RETRY_DELAYS"]

SLACK_RETRY_DELAYS: tuple[float, ...] = (0.0, 60.0, 300.0)
"""What Slack waits before retries 1, 2 and 3 (nearly at once, 1 minute, 5 minutes)."""

USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"


@dataclass
class Attempt:
    """One try: what was sent, and what came back (``status`` is None on timeout or no
    connection, and ``failure`` says why the next retry happens, in Slack's words)."""

    retry_num: int
    headers: dict[str, str]
    status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: bytes = b""
    failure: str | None = None


@dataclass
class Delivery:
    """A request Slack sent to the app, with every attempt and the final answer."""

    url: str
    kind: str
    payload: dict[str, Any]
    body: bytes
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def status(self) -> int | None:
        """HTTP status of the last attempt (None if it never got an answer)."""
        return self.attempts[-1].status if self.attempts else None

    @property
    def ok(self) -> bool:
        """True when the app acknowledged with HTTP 200."""
        return self.status == 200

    @property
    def response_text(self) -> str:
        return self.attempts[-1].response_body.decode("utf-8", "replace") if self.attempts else ""

    def response_json(self) -> Any:
        """The app's answer parsed as JSON, or None for an empty or non-JSON answer."""
        try:
            return json.loads(self.response_text) if self.response_text.strip() else None
        except ValueError:
            return None

    @property
    def trigger_id(self) -> str | None:
        """The trigger id this request handed to the app, if any."""
        return self.payload.get("trigger_id")


class Deliverer:
    """Signs and sends request bodies to an app URL, retrying like Slack.

    ``timeout`` is Slack's acknowledgement window; tests may shorten it to provoke
    ``http_timeout`` retries without waiting 3 seconds.
    """

    def __init__(
        self,
        *,
        signing_secret: str,
        clock: Clock,
        timeout: float = 3.0,
        max_retries: int = 3,
        retry_delays: Sequence[float] = (0.0, 0.0, 0.0),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.signing_secret = signing_secret
        self.clock = clock
        self.timeout = timeout
        self.max_retries = max_retries
        self.retry_delays = tuple(retry_delays)
        self.sleep = sleep

    def ssl_check(self, url: str, token: str) -> Delivery:
        """Slack's certificate check of a slash command's URL: an unsigned form with
        ``ssl_check=1`` and the app's verification token, which the app must answer with 200
        (api.slack.com/interactivity/slash-commands, "ssl_check")."""
        fields = {"ssl_check": "1", "token": token}
        body = urlencode(fields).encode()
        delivery = Delivery(url=url, kind="ssl_check", payload=fields, body=body)
        headers = {"Content-Type": "application/x-www-form-urlencoded", "User-Agent": USER_AGENT}
        attempt = Attempt(retry_num=0, headers=headers)
        delivery.attempts.append(attempt)
        try:
            with http_client(timeout=self.timeout) as client:
                response = client.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            attempt.failure = type(exc).__name__
            return delivery
        attempt.status = response.status_code
        attempt.response_headers = dict(response.headers)
        attempt.response_body = response.content
        return delivery

    def send(
        self, url: str, *, kind: str, payload: dict[str, Any], body: bytes, content_type: str
    ) -> Delivery:
        """Send ``body`` to ``url`` until it is acknowledged or retries run out."""
        delivery = Delivery(url=url, kind=kind, payload=payload, body=body)
        reason: str | None = None
        with http_client(timeout=self.timeout) as client:
            for retry_num in range(self.max_retries + 1):
                if retry_num:
                    delay = self.retry_delays[min(retry_num, len(self.retry_delays)) - 1]
                    if delay:
                        self.sleep(delay)
                headers = {"Content-Type": content_type, "User-Agent": USER_AGENT}
                headers.update(signed_headers(self.signing_secret, int(self.clock()), body))
                if retry_num:
                    headers["X-Slack-Retry-Num"] = str(retry_num)
                    headers["X-Slack-Retry-Reason"] = reason or "unknown_error"
                attempt = Attempt(retry_num=retry_num, headers=headers)
                delivery.attempts.append(attempt)
                try:
                    response = client.post(url, content=body, headers=headers)
                except httpx.TimeoutException:
                    attempt.failure = reason = "http_timeout"
                    continue
                except httpx.TransportError:
                    attempt.failure = reason = "connection_failed"
                    continue
                attempt.status = response.status_code
                attempt.response_headers = dict(response.headers)
                attempt.response_body = response.content
                if response.status_code < 500 or response.headers.get("x-slack-no-retry") == "1":
                    break
                attempt.failure = reason = "http_error"
        return delivery
