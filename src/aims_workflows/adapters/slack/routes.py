"""``POST /slack/events``: the one URL Slack sends interactions, slash commands and events to.

The chain, in order:

1. :class:`SlackSignatureCheck` checks ``X-Slack-Signature`` (v0 HMAC-SHA256 over
   ``v0:timestamp:body``, compared in constant time) and refuses a timestamp more than
   5 minutes from the clock. A refused request gets 401 and never reaches Bolt or the
   database; the log line names neither the body nor the secret.
2. Bolt's Starlette adapter turns the request into a ``BoltRequest`` for ``App.dispatch``.
   Clicks and events are dispatched on the event loop: their listeners only acknowledge and
   hand the work to a pool, which is faster than a hop to a worker thread and back. Modal
   submissions (stored in the inbox before they are acknowledged), slash commands (answered
   from the database) and the first request (Bolt's ``auth.test``) are dispatched on a worker
   thread.
3. The listeners acknowledge at once and do their work afterwards (see ``_bolt``).

``web.py`` includes these with ``routes=[..., *slack.routes()]`` or mounts :func:`slack_asgi_app`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from slack_sdk.signature import Clock as SlackClock
from slack_sdk.signature import SignatureVerifier
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ._shape import is_ssl_check, shape_problem

__all__ = [
    "SlackSignatureCheck",
    "slack_routes",
    "slack_asgi_app",
    "EVENTS_PATH",
    "MAX_AGE_SECONDS",
]

log = logging.getLogger("aims.slack")

EVENTS_PATH = "/slack/events"
MAX_AGE_SECONDS = 300


class _Clock(SlackClock):
    """slack_sdk's clock with an injected time source (tests move it without sleeping)."""

    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now

    def now(self) -> float:
        return self._now()


class SlackSignatureCheck:
    """Slack's v0 request signature with an injectable clock (Unix seconds)."""

    def __init__(self, signing_secret: str, clock: Callable[[], float] = time.time) -> None:
        if not signing_secret:
            raise ValueError("a signing secret is required (AIMS_SLACK_SIGNING_SECRET)")
        self._verifier = SignatureVerifier(signing_secret, clock=_Clock(clock))
        self._clock = clock

    def problem(self, headers: Any, body: bytes) -> str | None:
        """None when the request is Slack's, else why not (for the log, never for the caller)."""
        timestamp = headers.get("x-slack-request-timestamp")
        signature = headers.get("x-slack-signature")
        if not timestamp or not signature:
            return "missing signature headers"
        # Unix seconds have 10 digits until 2286: anything longer is not a timestamp (and a
        # 400-digit one would overflow the float arithmetic below)
        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
            return "malformed timestamp"
        age = abs(self._clock() - int(timestamp))
        if age > MAX_AGE_SECONDS:
            return f"timestamp {int(age)} s away from now (replay?)"
        try:  # slack_sdk's verifier decodes the body first: Slack only ever sends UTF-8
            body.decode("utf-8")
        except UnicodeDecodeError:
            return "the body is not UTF-8 text"
        if not self._verifier.is_valid(body, timestamp, signature):
            return "signature does not match"
        return None


def slack_routes(bolt_app: App, check: SlackSignatureCheck, path: str = EVENTS_PATH) -> list[Route]:
    """The Starlette route(s) to include in the service's app."""
    warm = threading.Event()

    async def events(request: Request) -> Response:
        body = await request.body()
        if is_ssl_check(body, request.headers.get("content-type", "")):
            # Slack checks the certificate of a slash command's URL with an unsigned request
            # and expects 200; nothing is read beyond the form and nothing is written.
            return Response(status_code=200)
        problem = check.problem(request.headers, body)
        if problem is not None:
            log.warning("refused a request to %s: %s", path, problem)
            return JSONResponse({"error": "invalid request signature"}, status_code=401)
        malformed = shape_problem(body, request.headers.get("content-type", ""))
        if malformed is not None:
            log.warning("refused a signed request to %s: %s", path, malformed)
            return JSONResponse({"error": malformed}, status_code=400)
        bolt_request = to_bolt_request(request, body)
        if warm.is_set() and _acks_in_memory(body):
            # Clicks, modal submissions and events are acknowledged from the payload alone (the
            # work is handed to the pool), so they are dispatched here: a hop to a worker thread
            # and back would cost more than the acknowledgement itself under load.
            bolt_response = bolt_app.dispatch(bolt_request)
        else:
            # Modal submissions and slash commands use the database before answering, and the
            # first request makes Bolt call auth.test: those run on a worker thread, off the
            # event loop.
            bolt_response = await run_in_threadpool(bolt_app.dispatch, bolt_request)
            warm.set()
        return to_starlette_response(bolt_response)

    return [Route(path, events, methods=["POST"], name="slack_events")]


def _acks_in_memory(body: bytes) -> bool:
    """True for clicks and Events API envelopes; False for slash commands and modal
    submissions (a submission's type is in its URL-encoded payload; a reason that happens to
    contain the words only sends it the slower way)."""
    if b"view_submission" in body:
        return False
    return body.startswith(b"payload=") or body.lstrip().startswith(b"{")


def slack_asgi_app(bolt_app: App, check: SlackSignatureCheck) -> Starlette:
    """A stand-alone ASGI app serving only ``/slack/events`` (tests, the sandbox demo)."""
    return Starlette(routes=slack_routes(bolt_app, check))
