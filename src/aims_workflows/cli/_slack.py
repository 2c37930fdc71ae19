"""``aims sandbox slack``: a loopback Slack workspace for trying the Slack app without Slack."""

from __future__ import annotations

from pathlib import Path

import typer

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add ``slack`` to the ``aims sandbox`` group (created by the Jira CLI module)."""
    from ._jira import sandbox_app

    @sandbox_app.command("slack", short_help="A loopback Slack (Web API and people) until Ctrl-C.")
    def sandbox_slack(
        port: int = typer.Option(0, "--port", help="port to listen on (0: any free port)"),
        app_url: str = typer.Option(
            None,
            "--app-url",
            help="where people's clicks go, e.g. http://127.0.0.1:8000/slack/events",
        ),
        signing_secret: str = typer.Option(
            None,
            "--signing-secret",
            envvar="AIMS_SLACK_SIGNING_SECRET",
            help="secret to sign requests with (default: a random one, printed)",
        ),
        people: Path = typer.Option(
            None,
            "--people",
            exists=True,
            dir_okay=False,
            help="aims.yaml whose people become the workspace's users (default: AIMS_CONFIG)",
        ),
    ) -> None:
        """Run a loopback Slack (Web API and people) until Ctrl-C; print its URL, token and users.

        Point the app at it with AIMS_SLACK_API_URL, AIMS_SLACK_BOT_TOKEN and
        AIMS_SLACK_SIGNING_SECRET as printed, then `aims serve`.
        """
        from ..config import Settings, load_config
        from ..sandbox.slack import DEFAULT_USERS, run_slack_sandbox

        config = load_config(people or Settings().config)
        users = sorted({p for role in config.roles.values() for p in role}) or list(DEFAULT_USERS)
        run_slack_sandbox(port=port, app_url=app_url, signing_secret=signing_secret, users=users)
