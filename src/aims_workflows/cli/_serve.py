"""``aims serve``: the web service (Jira webhooks, health, metrics) under uvicorn."""

from __future__ import annotations

import typer

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        host: str = typer.Option("127.0.0.1", "--host", help="interface to listen on"),
        port: int = typer.Option(8000, "--port", help="port to listen on"),
        background: bool = typer.Option(True, "--process/--no-process",
                                        help="apply stored webhook deliveries here (or leave them to `aims worker`)"),
    ) -> None:
        """Serve POST /jira/webhook, GET /healthz and GET /metrics."""
        import uvicorn

        from ..web import create_app
        from ._context import open_cli_app
        from ._output import ok

        app_ = open_cli_app()
        web = create_app(app_, process_in_background=background)
        ok(f"serving on http://{host}:{port} (Jira webhooks {'on' if app_.jira else 'off: set AIMS_JIRA_URL'})")
        uvicorn.run(web, host=host, port=port, log_level="info", access_log=False)
