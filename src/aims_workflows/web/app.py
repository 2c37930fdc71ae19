"""The web service (``aims serve``): Jira webhooks in, health and Prometheus metrics out.

::

    request ─► BodyLimit (413 over max_body) ─► route
                 /jira/webhook ─► JiraSignature (401 + security log) ─► store in inbox ─► 202
                 /healthz, /metrics
                 /dashboard, /dashboard/runs/{id}, /api/kpis ─► DashboardAuth when a token is set
                                                                (see dashboard)
                 extra_routes (e.g. Slack: /slack/events, /slack/interactions)

Cross-cutting checks are middleware, not code in handlers. The webhook handler only verifies,
de-duplicates by ``X-Atlassian-Webhook-Identifier`` and stores the delivery in the inbox, then
answers; a background thread (and ``aims worker``) applies stored deliveries in the runtime, so
the answer never waits for the engine or for Jira.

Another integration mounts its routes with ``create_app(app, extra_routes=[...])``; its own
signature check wraps its own endpoints (see :class:`JiraSignature` for the pattern).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "create_app",
    "jira_routes",
    "BodyLimit",
    "JiraSignature",
    "Metrics",
    "InboxWorker",
    "MAX_BODY",
]

log = logging.getLogger("aims.web")
security_log = logging.getLogger("aims.security")

MAX_BODY = 1024 * 1024
"""Largest request body accepted (1 MiB); Jira's issue webhooks are far smaller."""


def _json_error(status: int, message: str) -> Response:
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
            response = _json_error(413, f"request body larger than {self.max_body} bytes")
            await response(scope, receive, send)
            return
        await self.app(scope, _replay(body), send)


def _source(scope: Scope) -> str:
    path = scope.get("path", "")
    return path.strip("/").split("/")[0] or "other"


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
            await _json_error(401, "invalid or missing X-Hub-Signature")(scope, receive, send)
            return
        await self.app(scope, _replay(body), send)


class Metrics:
    """Prometheus metrics of one app (its own registry, so several apps can live in a process)."""

    def __init__(self, registry: Any = None) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = registry or CollectorRegistry()
        self.deliveries = Counter(
            "aims_webhook_deliveries_total",
            "Webhook deliveries by outcome",
            ["source", "outcome"],
            registry=self.registry,
        )
        self.answer_seconds = Histogram(
            "aims_webhook_answer_seconds",
            "Time to answer a webhook delivery",
            ["source"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=self.registry,
        )
        self.processed = Counter(
            "aims_inbox_processed_total",
            "Stored deliveries applied in the runtime",
            ["source"],
            registry=self.registry,
        )
        self.backlog = Gauge(
            "aims_inbox_backlog",
            "Stored deliveries waiting to be applied",
            ["source"],
            registry=self.registry,
        )

    def render(self) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class InboxWorker:
    """A thread that applies stored deliveries soon after they arrive (woken by each one)."""

    def __init__(
        self, processor: Any, metrics: Metrics | None = None, *, idle: float = 1.0
    ) -> None:
        self.processor, self.metrics, self.idle = processor, metrics, idle
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def notify(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="aims-inbox", daemon=True)
                self._thread.start()
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.idle)
            self._wake.clear()
            try:
                while not self._stop.is_set():
                    done = self.processor.process_pending(limit=200)
                    if self.metrics and done:
                        self.metrics.processed.labels("jira").inc(done)
                    if not done:
                        break
            except Exception:  # noqa: BLE001 - keep the thread alive; rows stay stored
                log.exception("processing stored deliveries failed; will retry")

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)


def jira_routes(
    app_ctx: Any, secret: str, *, metrics: Metrics, worker: InboxWorker | None
) -> list[BaseRoute]:
    """``POST /jira/webhook`` behind the signature check."""
    from ..runtime import Delivery

    def store(delivery_id: str, text: str) -> bool:
        return bool(app_ctx.runtime.store_delivery(Delivery("jira", delivery_id, text)))

    async def webhook(request: Request) -> Response:
        started = time.perf_counter()
        body = await request.body()
        try:
            payload = json.loads(body)
            text = body.decode("utf-8")
        except ValueError:
            metrics.deliveries.labels("jira", "malformed").inc()
            return _json_error(400, "the body is not JSON")
        if not isinstance(payload, dict) or not payload.get("webhookEvent"):
            metrics.deliveries.labels("jira", "malformed").inc()
            return _json_error(400, "not a Jira webhook (no webhookEvent)")
        # Jira sends one identifier per delivery and keeps it on retries; without one, the body
        # itself (it carries a millisecond timestamp) identifies the delivery.
        delivery = (
            request.headers.get("x-atlassian-webhook-identifier")
            or "sha256:" + hashlib.sha256(body).hexdigest()
        )
        new = await run_in_threadpool(store, delivery[:300], text)
        metrics.deliveries.labels("jira", "accepted" if new else "duplicate").inc()
        if new and worker is not None:
            worker.notify()
        metrics.answer_seconds.labels("jira").observe(time.perf_counter() - started)
        return JSONResponse(
            {"status": "accepted" if new else "duplicate", "delivery": delivery[:300]},
            status_code=202 if new else 200,
        )

    endpoint = JiraSignature(_Endpoint(webhook), secret, metrics)
    return [Route("/jira/webhook", endpoint, methods=["POST"])]


class _Endpoint:
    """A request handler as a plain ASGI app, so middleware can wrap one route."""

    def __init__(self, handler: Any) -> None:
        self.handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.handler(Request(scope, receive))
        await response(scope, receive, send)


def create_app(
    app_ctx: Any,
    *,
    jira_webhook_secret: str | None = None,
    extra_routes: Sequence[BaseRoute] = (),
    extra_middleware: Iterable[Middleware] = (),
    max_body: int = MAX_BODY,
    process_in_background: bool = True,
    metrics: Metrics | None = None,
) -> Starlette:
    """The ASGI app over an opened application (:func:`aims_workflows.app.open_app`).

    Jira's webhook route is served when the application has a Jira integration (or a secret is
    passed); it refuses to start without a webhook secret. ``app.state.inbox_worker`` is the
    background processor (None when ``process_in_background`` is off: then ``aims worker``
    applies the stored deliveries).
    """
    from ..errors import ConfigError

    metrics = metrics or Metrics()
    jira = getattr(app_ctx, "jira", None)
    secret = jira_webhook_secret or (jira.webhook_secret if jira is not None else None)
    routes: list[BaseRoute] = []
    worker = None
    if jira is not None or jira_webhook_secret:
        if not secret:
            raise ConfigError(
                "Jira webhooks cannot be checked: no webhook secret",
                hint="set AIMS_JIRA_WEBHOOK_SECRET to the secret of the Jira webhook",
            )
        if jira is not None and process_in_background:
            worker = InboxWorker(jira.processor, metrics)
        routes += jira_routes(app_ctx, secret, metrics=metrics, worker=worker)

    shown: set[str] = set()

    def _backlog() -> None:
        counts = app_ctx.runtime.inbox_backlog()
        for source in shown | set(counts):  # a drained backlog reads 0, not its last count
            metrics.backlog.labels(source).set(counts.get(source, 0))
        shown.update(counts)

    async def healthz(request: Request) -> Response:
        try:
            await run_in_threadpool(app_ctx.runtime.check_database)
        except Exception as err:  # noqa: BLE001 - any failure means unhealthy
            return JSONResponse(
                {"status": "unavailable", "database": type(err).__name__}, status_code=503
            )
        return JSONResponse({"status": "ok", "database": "ok"})

    async def prometheus(request: Request) -> Response:
        try:
            await run_in_threadpool(_backlog)
        except Exception:  # noqa: BLE001 - metrics must answer even when the database does not
            log.warning("could not read the inbox backlog for /metrics")
        body, content_type = metrics.render()
        return Response(body, media_type=content_type)

    routes += [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", prometheus, methods=["GET"]),
    ]
    from .dashboard import DashboardAuth, dashboard_routes, dashboard_token

    routes += dashboard_routes(app_ctx)
    token = dashboard_token(getattr(app_ctx, "settings", None))
    guard = [Middleware(DashboardAuth, token=token)] if token else []
    slack = getattr(app_ctx, "slack", None)
    if (
        slack is not None
    ):  # POST /slack/events, behind Slack's signature check (adapters.slack.routes)
        routes += slack.routes()
    routes += list(extra_routes)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette):
        yield
        if worker is not None:
            worker.stop()

    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(BodyLimit, max_body=max_body, metrics=metrics),
            *guard,
            *extra_middleware,
        ],
        lifespan=lifespan,
    )
    app.state.metrics = metrics
    app.state.inbox_worker = worker
    app.state.app = app_ctx
    return app
