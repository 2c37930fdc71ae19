"""Webhook delivery the way Jira Cloud does it: signed, identified, retried for ~30 minutes.

Events are queued as they happen; ``deliver(now)`` sends whatever is due at ``now``. Tests
call it with an injected time, so a retry 15 minutes out costs nothing; a standalone sandbox
runs ``WebhookDriver``, which calls it with the real clock.

Each delivery carries ``X-Hub-Signature: sha256=<hex HMAC-SHA256(secret, body)>`` (when a
secret is set), ``X-Atlassian-Webhook-Identifier`` (one per delivery, kept across retries)
and, on retries, ``X-Atlassian-Webhook-Retry: <n>``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx

from .._http import client as http_client
from ._clock import Clock, utcnow

__all__ = [
    "WebhookDelivery",
    "WebhookQueue",
    "WebhookDriver",
    "RETRY_DELAYS",
    "RETRYABLE_STATUSES",
    "sign",
]

# Seconds to wait after each failed attempt: retries at about +10 s, +1 min, +5 min, +15 min
# and +30 min after the first attempt, then Jira gives up.
RETRY_DELAYS: tuple[float, ...] = (10, 50, 240, 600, 900)
RETRYABLE_STATUSES = frozenset({408, 409, 425, 429})


def sign(secret: str, body: bytes) -> str:
    """The ``X-Hub-Signature`` value for ``body``."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


@dataclass
class WebhookDelivery:
    """One webhook event and the attempts made to deliver it.

    ``state`` is ``pending`` (waiting for ``next_attempt_at``), ``delivered``, ``failed``
    (gave up, or a non-retryable answer) or ``dropped`` (lost on purpose by a fault).
    """

    identifier: str
    event: str
    payload: dict[str, Any]
    body: bytes
    created_at: datetime
    next_attempt_at: datetime
    attempts: int = 0
    state: str = "pending"
    outcomes: list[str] = field(default_factory=list)
    """One line per attempt: the HTTP status, or the connection error's class name."""


class WebhookQueue:
    """Pending and finished deliveries to one URL, plus the sending logic."""

    def __init__(
        self,
        url: str | None,
        secret: str | None,
        *,
        clock: Clock = utcnow,
        retry_delays: tuple[float, ...] = RETRY_DELAYS,
        timeout: float = 10.0,
    ) -> None:
        self.url = url
        self.secret = secret
        self.clock = clock
        self.retry_delays = retry_delays
        self.timeout = timeout
        self.deliveries: list[WebhookDelivery] = []
        self._lock = threading.Lock()
        # One sender at a time, so the driver thread and a test never send the same attempt.
        self._sending = threading.Lock()

    def enqueue(
        self,
        event: str,
        payload: dict[str, Any],
        at: datetime | None = None,
        *,
        dropped: bool = False,
    ) -> WebhookDelivery:
        """Queue ``payload``; it is due at once (at ``at``, default the clock)."""
        moment = at or self.clock()
        body = json.dumps(payload, separators=(",", ":")).encode()
        delivery = WebhookDelivery(
            str(uuid.uuid4()),
            event,
            payload,
            body,
            moment,
            moment,
            state="dropped" if dropped else "pending",
        )
        with self._lock:
            self.deliveries.append(delivery)
        return delivery

    def reverse_pending(self) -> None:
        """Send the pending deliveries newest first: Jira Cloud does not promise to deliver
        webhooks in the order the changes happened (its retries and parallel senders reorder
        them), so a receiver must not assume it."""
        with self._lock:
            pending = [d for d in self.deliveries if d.state == "pending"]
            rest = [d for d in self.deliveries if d.state != "pending"]
            self.deliveries = rest + pending[::-1]

    def pending(self) -> list[WebhookDelivery]:
        with self._lock:
            return [d for d in self.deliveries if d.state == "pending"]

    def due(self, now: datetime) -> list[WebhookDelivery]:
        with self._lock:
            return [d for d in self.deliveries if d.state == "pending" and d.next_attempt_at <= now]

    def next_due_at(self) -> datetime | None:
        """When the earliest pending delivery is due, or None when nothing is pending."""
        pending = self.pending()
        return min((d.next_attempt_at for d in pending), default=None)

    def deliver(self, now: datetime | None = None) -> list[WebhookDelivery]:
        """Attempt every delivery due at ``now`` (default: the clock); return those attempted."""
        moment = now or self.clock()
        if not self.url:
            return []
        with self._sending:
            attempted = self.due(moment)
            if not attempted:
                return []
            with http_client(timeout=self.timeout) as client:
                for delivery in attempted:
                    self._attempt(client, delivery, moment)
            return attempted

    def _attempt(self, client: httpx.Client, delivery: WebhookDelivery, now: datetime) -> None:
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Atlassian Webhook HTTP Client",
            "X-Atlassian-Webhook-Identifier": delivery.identifier,
        }
        if delivery.attempts > 0:
            headers["X-Atlassian-Webhook-Retry"] = str(delivery.attempts)
        if self.secret:
            headers["X-Hub-Signature"] = sign(self.secret, delivery.body)
        retry = False
        try:
            response = client.post(str(self.url), content=delivery.body, headers=headers)
            outcome = str(response.status_code)
            retry = response.status_code in RETRYABLE_STATUSES or response.status_code >= 500
            ok = 200 <= response.status_code < 300
        except httpx.TransportError as exc:  # refused, reset, timed out: all retried
            outcome, retry, ok = type(exc).__name__, True, False
        with self._lock:
            delivery.outcomes.append(outcome)
            delivery.attempts += 1
            if ok:
                delivery.state = "delivered"
            elif retry and delivery.attempts <= len(self.retry_delays):
                delay = self.retry_delays[delivery.attempts - 1]
                delivery.next_attempt_at = now + timedelta(seconds=delay)
            else:
                delivery.state = "failed"


class WebhookDriver:
    """Calls ``queue.deliver()`` with the real clock every ``interval`` seconds (standalone)."""

    def __init__(self, queue: WebhookQueue, interval: float = 0.5) -> None:
        self.queue = queue
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="jira-webhooks", daemon=True)

    def start(self) -> WebhookDriver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.queue.timeout + 1)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.queue.deliver()
