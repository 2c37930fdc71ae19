"""The compliance dashboard in ``aims serve``: ``GET /dashboard``, ``GET /dashboard/runs/{id}`` and
``GET /api/kpis``, and the token that guards them.

::

    request ─► DashboardAuth (only /dashboard* and /api/*; 401 without the token) ─► route
                 /dashboard            KPIs, trends and charts, chain status, coverage, open
                                       work, SoA, recent runs
                 /dashboard/runs/{id}  one run's timeline (400 for a malformed id, 404 unknown)
                 /api/kpis             the KPIs as ``aims kpi --format json`` prints them

The two dashboard paths answer HTML, /api/kpis JSON.

The pages show internal compliance data. With ``AIMS_DASHBOARD_TOKEN`` set, those paths need it as
``Authorization: Bearer <token>`` or as the password of HTTP Basic authentication (any user name;
browsers ask for it); ``aims serve`` refuses to listen beyond loopback without one
(:func:`require_token_beyond_loopback`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import logging
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = [
    "dashboard_routes",
    "dashboard_token",
    "DashboardAuth",
    "require_token_beyond_loopback",
    "is_loopback",
]

log = logging.getLogger("aims.web")
security_log = logging.getLogger("aims.security")

# Compliance data: never cached by a proxy or the browser, never framed, nothing loaded from
# elsewhere.
_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
        "form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
    ),
}


def dashboard_token(settings: Any) -> str | None:
    """The configured token, or None when unset or blank (a blank token would guard nothing)."""
    secret = getattr(settings, "dashboard_token", None)
    value = secret.get_secret_value().strip() if secret is not None else ""
    return value or None


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (``127.0.0.1``, ``::1``, ``localhost``)."""
    host = host.strip().strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name other than localhost may resolve to anything
        return False


def require_token_beyond_loopback(host: str, token: str | None) -> None:
    """Refuse to serve the dashboard to the network without a token."""
    from ..errors import ConfigError

    if token or is_loopback(host):
        return
    raise ConfigError(
        f"refusing to listen on {host}: the dashboard and "
        "/api would be open to anyone who can reach it",
        hint=(
            "set AIMS_DASHBOARD_TOKEN to a long random secret (e.g. `python -c 'import secrets; "
            "print(secrets.token_urlsafe(32))'`), or listen on loopback only with --host 127.0.0.1"
        ),
    )


def _digest(value: bytes) -> bytes:
    # comparing fixed-length digests keeps the comparison's time independent of the token's length
    return hashlib.sha256(value).digest()


def _presented(authorization: str) -> bytes | None:
    scheme, _, credentials = authorization.strip().partition(" ")
    credentials = credentials.strip()
    if scheme.lower() == "bearer" and credentials:
        return credentials.encode()
    if scheme.lower() == "basic" and credentials:
        try:
            decoded = base64.b64decode(credentials, validate=True)
        except (binascii.Error, ValueError):
            return None
        _, sep, password = decoded.partition(b":")
        return password if sep else None
    return None


class DashboardAuth:
    """Requires the dashboard token on ``/dashboard*`` and ``/api*`` (routes added there later are
    guarded too); other paths (webhooks with their own signatures, health, metrics) pass through."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        if not token:
            raise ValueError("a dashboard token is required")
        self.app, self._expected = app, _digest(token.encode())

    @staticmethod
    def guards(path: str) -> bool:
        return (
            path == "/dashboard"
            or path.startswith("/dashboard/")
            or path == "/api"
            or path.startswith("/api/")
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.guards(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        headers = {
            k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers") or []
        }
        given = _presented(headers.get("authorization", ""))
        if given is not None and hmac.compare_digest(_digest(given), self._expected):
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("?", 0))[0]
        security_log.warning(
            "refused %s %r from %s: %s",
            scope.get("method"),
            scope.get("path", "")[:200],
            client,
            "no token" if given is None else "wrong token",
        )
        await _unauthorised(scope["path"])(scope, receive, send)


def _unauthorised(path: str) -> Response:
    message = (
        "this page needs the dashboard token (AIMS_DASHBOARD_TOKEN): send it as 'Authorization: "
        "Bearer <token>', or as the password of HTTP Basic authentication with any user name"
    )
    if path.startswith("/api"):
        return JSONResponse(
            {"error": message},
            status_code=401,
            headers={**_HEADERS, "WWW-Authenticate": 'Bearer realm="aims"'},
        )
    from ..kpi.html import render_error

    # Basic as well as Bearer, so that a browser asks for the token
    return HTMLResponse(
        render_error(401, "Token required", message),
        status_code=401,
        headers={**_HEADERS, "WWW-Authenticate": 'Basic realm="aims dashboard", charset="UTF-8"'},
    )


def dashboard_routes(app_ctx: Any, *, chain_cache: Any = None) -> list[BaseRoute]:
    """The dashboard's routes over an opened application (:func:`aims_workflows.app.open_app`)."""
    from ..engine.evidence import iso
    from ..kpi import compute_kpis, kpis_json
    from ..kpi.chain_status import ChainStatusCache
    from ..kpi.dashboard import gather
    from ..kpi.html import is_run_id, render_dashboard, render_error, render_run
    from ..kpi.timeline import form_labels, run_timeline
    from ..report import ChartCache, dashboard_charts

    clock = app_ctx.runtime.clock
    cache = chain_cache or ChainStatusCache(clock)
    kept = ChartCache()  # the trends' past points and the SoA, recomputed every few minutes
    organisation = app_ctx.config.organisation
    jira_url = getattr(app_ctx.settings, "jira_url", None)

    def page(html: str, status: int = 200) -> HTMLResponse:
        return HTMLResponse(html, status_code=status, headers=_HEADERS)

    def error(status: int, title: str, message: str) -> HTMLResponse:
        return page(render_error(status, title, message, organisation=organisation), status)

    def build_dashboard(systems_page: int) -> str:
        try:
            chain = cache.status(app_ctx.db)
        except Exception:  # noqa: BLE001 - the rest of the page is still worth showing; it says the chain is unknown
            log.exception("could not check the evidence chain for the dashboard")
            chain = None
        now = clock.now()
        with app_ctx.db.connect() as conn:
            data = gather(
                conn,
                now,
                organisation=organisation,
                targets=app_ctx.config.kpi_targets,
                roles=app_ctx.config.roles,
                systems_page=systems_page,
                chain=chain,
                context=app_ctx.kpi_context(),
            )
            chart_data, charts = dashboard_charts(app_ctx, conn, now, kept)
        page = render_dashboard(
            data,
            jira_url=jira_url,
            charts=charts,
            soa=chart_data.soa,
            since=chart_data.history[0].at if chart_data.history else None,
        )
        return _with_broken_files(page, app_ctx.workflows)

    async def dashboard(request: Request) -> Response:
        raw = request.query_params.get("page", "1")
        # ASCII digits only, and few of them: int() refuses "²" and numbers of over 4,300 digits
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 9) or int(raw) == 0:
            return error(400, "Bad page number", "page must be a whole number from 1.")
        return page(await run_in_threadpool(build_dashboard, int(raw)))

    def build_run(run_id: str) -> str | None:
        from ..errors import NotFound

        try:
            with app_ctx.db.connect() as conn:
                timeline = run_timeline(conn, run_id, limit=1000)
                labels = run_form_labels(conn, timeline.run.spec_hash)
        except NotFound:
            return None
        return render_run(
            timeline,
            organisation=organisation,
            generated_at=clock.now(),
            jira_url=jira_url,
            labels=labels,
        )

    def run_form_labels(conn: Any, spec_hash: str) -> dict[str, dict[str, str]]:
        from ..errors import AimsError

        try:  # the version the run is pinned to, as its tasks' forms were then
            return form_labels(app_ctx.runtime.specs.by_hash(conn, spec_hash))
        except AimsError:  # not stored or no longer parses: answers named by field id
            log.warning("no workflow version %s for a run page's form labels", spec_hash[:12])
            return {}

    async def run_page(request: Request) -> Response:
        run_id = request.path_params["run_id"]
        if not is_run_id(run_id):
            return error(
                400,
                "Not a run id",
                "A run id is letters, digits and . _ : - (at "
                "most 200 of them), such as R3F9A0C21B7.",
            )
        html = await run_in_threadpool(build_run, run_id)
        if html is None:
            return error(
                404,
                "No such run",
                f"There is no run '{run_id}'. The dashboard lists the recent ones.",
            )
        return page(html)

    def build_kpis() -> str:
        now = clock.now()
        with app_ctx.db.connect() as conn:
            kpis = compute_kpis(
                conn,
                now,
                app_ctx.config.kpi_targets,
                context=app_ctx.kpi_context(),
            )
            return kpis_json(kpis, iso(now))

    async def api_kpis(request: Request) -> Response:
        body = await run_in_threadpool(build_kpis)
        return Response(body, media_type="application/json", headers=_HEADERS)

    return [
        Route("/dashboard", dashboard, methods=["GET"]),
        Route("/dashboard/runs/{run_id}", run_page, methods=["GET"]),
        Route("/api/kpis", api_kpis, methods=["GET"]),
    ]


def _with_broken_files(html: str, workflows: Any) -> str:
    """The page with a notice naming each workflow file left out for its problems (the rest of
    the dashboard works without them), at the top of the main content."""
    from html import escape

    broken = getattr(workflows, "broken", ())
    if not broken:
        return html
    items = "".join(
        f"<li><code>{escape(b.source)}</code>: {escape(str(b.problems[0]) if b.problems else '')}"
        + (f" (and {len(b.problems) - 1} more)" if len(b.problems) > 1 else "")
        + "</li>"
        for b in broken
    )
    notice = (
        '<section class="broken-workflows" role="alert"><h2>Workflow files not loaded</h2>'
        f"<p>{len(broken)} workflow file(s) have problems and are left out; the other workflows, "
        "the KPIs and this page work without them. Run <code>aims validate</code> to see every "
        f"problem.</p><ul>{items}</ul></section>"
    )
    return html.replace("<main>", "<main>" + notice, 1)
