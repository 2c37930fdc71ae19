"""``aims jira setup`` and ``aims sandbox jira``."""

from __future__ import annotations

from pathlib import Path

import typer

from ._group import command_group

__all__ = ["register", "sandbox_app"]

sandbox_app = command_group(
    "Loopback imitations of Jira and Slack, for trying things without a site.",
    short_help="Loopback Jira and Slack, to try things without a site.",
)
"""The ``aims sandbox`` group; other integrations add
their sandbox with ``@sandbox_app.command(...)``."""


def register(app: typer.Typer) -> None:
    jira_app = command_group("Jira Cloud integration.")
    app.add_typer(jira_app, name="jira")
    app.add_typer(sandbox_app, name="sandbox")

    @jira_app.command("setup", short_help="Check the project; create or map the custom fields.")
    def setup(
        dry_run: bool = typer.Option(
            False, "--dry-run", help="report what would be created, change nothing"
        ),
        options: bool = typer.Option(
            True, "--options/--no-options", help="add the choices of choice fields as options"
        ),
        webhook_url: str = typer.Option(
            None,
            "--webhook-url",
            help="where Jira should send events, e.g. https://aims.example.com/jira/webhook "
            "(registered when the account administers Jira; otherwise the steps are printed)",
        ),
    ) -> None:
        """Check the project and issue type; create or map the custom fields the workflows need,
        scoped to the project and on its create, edit and view screens; register the webhook.

        Run it again at any time: a run that finds everything in place changes nothing."""
        from ..adapters.jira import JiraConnection, setup_project, workflow_forms
        from ..adapters.jira._webhook_setup import WebhookPlan
        from ..app import workflow_paths
        from ..config import Settings, jira_rest_url, load_config
        from ..errors import ConfigError
        from ..spec.checks import DEFAULT_ROLES
        from ..spec.loader import load_workflows
        from ._output import console, ok

        settings = Settings()
        url, email, token = jira_rest_url(settings), settings.jira_email, settings.jira_api_token
        missing = [
            name
            for name, value in (
                ("AIMS_JIRA_URL", url),
                ("AIMS_JIRA_EMAIL", email),
                ("AIMS_JIRA_API_TOKEN", token),
            )
            if not value
        ]
        if not url or not email or not token:
            raise ConfigError(
                f"{', '.join(missing)} not set",
                hint="set them in the environment (an API token from id.atlassian.com)",
            )
        config = load_config(settings.config)
        workflows = load_workflows(
            workflow_paths(settings, config), roles=set(DEFAULT_ROLES) | config.role_names()
        )
        conn = JiraConnection(url, email, token.get_secret_value())
        report = setup_project(
            conn,
            settings.jira_project,
            settings.jira_issue_type,
            workflow_forms(workflows),
            manage_options=options,
            dry_run=dry_run,
            nonconformity_type=settings.jira_nonconformity_type,
            proposal_type=settings.jira_proposal_type,
            webhook=None
            if settings.jira_mode == "poll"
            else WebhookPlan(
                webhook_url,
                settings.jira_project,
                settings.jira_webhook_secret.get_secret_value()
                if settings.jira_webhook_secret
                else None,
            ),
        )
        for line in report.done:
            ok(line)
        if settings.jira_mode == "poll":
            ok("AIMS_JIRA_MODE=poll: no webhook needed")
        for line in report.manual:
            console().print(f"[bold yellow]![/] {line}")
        for line in report.problems:
            console().print(f"[bold red]✗[/] {line}")
        if not report.ok:
            raise typer.Exit(1)
        if not report.changed and not dry_run:
            ok("nothing to change: Jira is set up already")

    @sandbox_app.command(
        "jira", short_help="A loopback Jira Cloud until Ctrl-C; prints its URL and tokens."
    )
    def sandbox_jira(
        port: int = typer.Option(0, "--port", help="port to listen on (0: any free port)"),
        webhook_url: str = typer.Option(
            None,
            "--webhook-url",
            help="where to send webhooks, e.g. http://127.0.0.1:8000/jira/webhook",
        ),
        webhook_secret: str = typer.Option(
            None,
            "--webhook-secret",
            help="secret to sign webhooks with (X-Hub-Signature; default: a random one, printed)",
        ),
        project: str = typer.Option("AIMS", "--project", help="project key"),
        people: Path = typer.Option(
            None,
            "--people",
            exists=True,
            dir_okay=False,
            help="aims.yaml whose people become the site's users (default: AIMS_CONFIG)",
        ),
    ) -> None:
        """Run a loopback Jira Cloud sandbox until Ctrl-C and print its URL and users.

        Its users are the integration's account and the people of aims.yaml, each with an API
        token. Point aims at it with AIMS_JIRA_URL, AIMS_JIRA_EMAIL, AIMS_JIRA_API_TOKEN and
        AIMS_JIRA_WEBHOOK_SECRET as printed, then `aims jira setup`. Its board is at its URL,
        issues at /browse/KEY. To try everything at once, use `aims try`.
        """
        from ..config import Settings, load_config
        from ..demo.try_it import task_screen
        from ..sandbox.jira import run_jira_sandbox, users_for

        config = load_config(people or Settings().config)
        emails = {p for role in config.roles.values() for p in role}

        def pages(sandbox) -> None:
            # issue pages offer the fields of the task aims made the issue for
            sandbox.browser.screen = task_screen

        run_jira_sandbox(
            port=port,
            webhook_url=webhook_url,
            webhook_secret=webhook_secret,
            project=project,
            users=users_for(emails) if emails else None,
            echo=lambda line: typer.echo(line),
            on_ready=pages,
        )
