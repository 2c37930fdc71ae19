"""The web service (``aims serve``): Jira webhooks in, health and Prometheus metrics out.

::

    request ─► BodyLimit (413 over max_body) ─► route
                 /jira/webhook ─► JiraSignature (401 + security log) ─► store in inbox ─► 202
                 /healthz, /metrics, /openapi.json (this service described, see openapi)
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
import logging
from collections.abc import Iterable, Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from .jira import InboxWorker, jira_routes
from .metrics import Metrics
from .middleware import MAX_BODY, BodyLimit

__all__ = ["create_app"]

log = logging.getLogger("aims.web")


def create_app(
    app_ctx: Any,
    *,
    jira_webhook_secret: str | None = None,
    extra_routes: Sequence[BaseRoute] = (),
    extra_middleware: Iterable[Middleware] = (),
    max_body: int = MAX_BODY,
    process_in_background: bool = True,
    metrics: Metrics | None = None,
    slack_http: bool = True,
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
    shown_parked: set[str] = set()

    def _backlog() -> None:
        counts = app_ctx.runtime.inbox_backlog()
        for source in shown | set(counts):  # a drained backlog reads 0, not its last count
            metrics.backlog.labels(source).set(counts.get(source, 0))
        shown.update(counts)
        parked = app_ctx.runtime.inbox_parked()
        for source in shown_parked | set(parked):
            metrics.parked.labels(source).set(parked.get(source, 0))
        shown_parked.update(parked)

    async def healthz(request: Request) -> Response:
        try:
            await run_in_threadpool(app_ctx.runtime.check_database)
        except Exception as err:  # noqa: BLE001 - any failure means unhealthy
            return JSONResponse(
                {"status": "unavailable", "database": type(err).__name__}, status_code=503
            )
        return JSONResponse(
            {"status": "ok", "database": "ok", "integrations": _integrations(app_ctx)}
        )

    async def prometheus(request: Request) -> Response:
        try:
            await run_in_threadpool(_backlog)
        except Exception:  # noqa: BLE001 - metrics must answer even when the database does not
            log.warning("could not read the inbox backlog for /metrics")
        body, content_type = metrics.render()
        return Response(body, media_type=content_type)

    from .openapi import openapi_document

    described = openapi_document(
        jira=any(getattr(r, "path", "") == "/jira/webhook" for r in routes),
        slack=getattr(app_ctx, "slack", None) is not None,
        version=_version(),
    )

    async def openapi(request: Request) -> Response:
        return JSONResponse(described)

    routes += [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", prometheus, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
    ]
    from .dashboard import DashboardAuth, dashboard_routes, dashboard_token

    routes += dashboard_routes(app_ctx)
    from .readiness import readiness_routes

    routes += readiness_routes(app_ctx)
    token = dashboard_token(getattr(app_ctx, "settings", None))
    guard = [Middleware(DashboardAuth, token=token)] if token else []
    slack = getattr(app_ctx, "slack", None)
    # POST /slack/events, behind Slack's signature check (adapters.slack.routes); not served
    # when Slack comes over Socket Mode (``slack_http=False``), where nothing arrives by HTTP
    if slack is not None and slack_http:
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


def _integrations(app_ctx: Any) -> dict[str, Any]:
    """Which integrations this process runs and how: no secret, no call to the vendors (a
    health check is polled often; `aims doctor` is the end-to-end check)."""
    settings = getattr(app_ctx, "settings", None)
    jira = getattr(app_ctx, "jira", None) is not None
    slack = getattr(app_ctx, "slack", None) is not None
    return {
        "jira": {"configured": jira, "mode": getattr(settings, "jira_mode", "webhook")}
        if jira
        else {"configured": False},
        "slack": {"configured": slack},
        "confluence": {"configured": bool(getattr(settings, "confluence_url", None))},
    }


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("aims-workflows")
    except PackageNotFoundError:  # running from a source tree without an install
        return "0"
