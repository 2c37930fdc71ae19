"""``aims serve``: the web service (Jira webhooks,
Slack, the dashboard, health, metrics) under uvicorn."""

from __future__ import annotations

import typer

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    @app.command(short_help="The web service: dashboard, Jira and Slack endpoints, metrics.")
    def serve(
        host: str = typer.Option(
            "127.0.0.1",
            "--host",
            help="interface to listen on; beyond loopback AIMS_DASHBOARD_TOKEN must be set",
        ),
        port: int = typer.Option(8000, "--port", help="port to listen on"),
        background: bool = typer.Option(
            True,
            "--process/--no-process",
            help="apply stored webhook deliveries here (or leave them to `aims worker`)",
        ),
        socket_mode: bool = typer.Option(
            False,
            "--socket-mode",
            help=(
                "receive Slack over Socket Mode (AIMS_SLACK_APP_TOKEN, xapp-...): "
                "no public URL needed"
            ),
        ),
    ) -> None:
        """Serve the compliance dashboard (GET /dashboard, GET /api/kpis), POST /jira/webhook,
        POST /slack/events, GET /healthz and GET /metrics.

        With AIMS_DASHBOARD_TOKEN set, /dashboard and /api/* require it: Bearer, or the password
        of HTTP Basic authentication.
        """
        import uvicorn

        from ..config import Settings
        from ..web import create_app
        from ..web.dashboard import dashboard_token, require_token_beyond_loopback
        from ._context import open_cli_app
        from ._output import ok

        settings = Settings()
        token = dashboard_token(settings)
        require_token_beyond_loopback(
            host, token
        )  # before opening anything: a refusal is quick and clear
        app_ = open_cli_app()
        socket = _open_socket(app_, settings) if socket_mode else None
        web = create_app(app_, process_in_background=background, slack_http=not socket_mode)
        shown = f"[{host}]" if ":" in host else host
        ok(
            f"serving on http://{shown}:{port} (Jira webhooks "
            f"{'on' if app_.jira else 'off: set AIMS_JIRA_URL'}); "
            f"dashboard at http://{shown}:{port}/dashboard "
            f"({'token required' if token else 'no token: loopback only'})"
        )
        try:
            uvicorn.run(web, host=host, port=port, log_level="info", access_log=False)
        finally:
            if socket is not None:
                socket.close()


def _open_socket(app_, settings):
    """Connect the Slack app over Socket Mode, or say exactly what is missing."""
    from ..adapters.slack import check_app_token
    from ..errors import ConfigError
    from ._output import ok

    if app_.slack is None:
        raise ConfigError(
            "--socket-mode needs Slack configured",
            hint="set AIMS_SLACK_BOT_TOKEN and AIMS_SLACK_APP_TOKEN",
        )
    if settings.slack_app_token is None:
        raise ConfigError(
            "--socket-mode needs AIMS_SLACK_APP_TOKEN",
            hint=(
                "create an app-level token (xapp-...) with connections:write under the app's "
                "Basic Information, and enable Socket Mode"
            ),
        )
    token = settings.slack_app_token.get_secret_value()
    check_app_token(token)
    socket = app_.slack.socket_mode(token, api_url=settings.slack_api_url)
    socket.connect()
    ok("Slack: connected over Socket Mode (no request comes in by HTTP)")
    return socket
