"""Cross-cutting checks of the web app, as ASGI middleware rather than code in handlers: a body
size limit in front of every route, and Jira's webhook signature in front of its route.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import TYPE_CHECKING

from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from .metrics import Metrics

__all__ = ["BodyLimit", "JiraSignature", "MAX_BODY", "json_error"]

security_log = logging.getLogger("aims.security")

MAX_BODY = 1024 * 1024
"""Largest request body accepted (1 MiB); Jira's issue webhooks are far smaller."""


def json_error(status: int, message: str) -> Response:
    return JSONResponse({"error": message}, status_code=status)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive


async def _read_body(receive: Receive, limit: int | None) -> bytes | None:
    """The whole body, or None as soon as it grows past ``limit``."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if limit is not None and size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


class BodyLimit:
    """Refuses bodies over ``max_body`` bytes with 413, before any handler sees them."""

    def __init__(
        self, app: ASGIApp, max_body: int = MAX_BODY, metrics: Metrics | None = None
    ) -> None:
        self.app, self.max_body, self.metrics = app, max_body, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        too_big = declared is not None and declared.isdigit() and int(declared) > self.max_body
        body = None if too_big else await _read_body(receive, self.max_body)
        if body is None:
            if self.metrics:
                self.metrics.deliveries.labels(_source(scope), "too_large").inc()
            response = json_error(413, f"request body larger than {self.max_body} bytes")
            await response(scope, receive, send)
            return
        await self.app(scope, _replay(body), send)


_SOURCES = {"jira": "jira", "slack": "slack"}


def _source(scope: Scope) -> str:
    """The metrics label of a request: the integration its route serves, or ``other``. Never
    the raw path: every made-up path would add a series to ``/metrics`` for ever."""
    path = scope.get("path", "")
    return _SOURCES.get(path.strip("/").split("/")[0], "other")


class JiraSignature:
    """Checks ``X-Hub-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>`` in constant time
    before anything parses the body. A missing or wrong signature gets 401 and a security log
    line, and nothing is written."""

    def __init__(self, app: ASGIApp, secret: str, metrics: Metrics | None = None) -> None:
        if not secret:
            raise ValueError("a webhook secret is required")
        self.app, self._key, self.metrics = app, secret.encode(), metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive, None) or b""
        headers = {
            k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers") or []
        }
        given = headers.get("x-hub-signature", "")
        expected = "sha256=" + hmac.new(self._key, body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(given.encode(), expected.encode()):
            client = (scope.get("client") or ("?", 0))[0]
            reason = "missing signature" if not given else "signature does not match"
            security_log.warning(
                "rejected Jira webhook from %s: %s (delivery %s, %d bytes)",
                client,
                reason,
                headers.get("x-atlassian-webhook-identifier", "-")[:80],
                len(body),
            )
            if self.metrics:
                self.metrics.deliveries.labels("jira", "bad_signature").inc()
            await json_error(401, "invalid or missing X-Hub-Signature")(scope, receive, send)
            return
        await self.app(scope, _replay(body), send)
