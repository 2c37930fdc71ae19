"""``run_jira_sandbox``: serve a sandbox until interrupted (the ``aims sandbox jira`` command)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

from ._model import JiraUser
from ._sandbox import JiraSandbox
from ._webhooks import WebhookDriver

__all__ = ["run_jira_sandbox"]


def run_jira_sandbox(
    host: str = "127.0.0.1",
    port: int = 0,
    webhook_url: str | None = None,
    webhook_secret: str | None = None,
    project: str = "AIMS",
    users: Iterable[JiraUser] | None = None,
    *,
    echo: Callable[[str], None] = print,
    stop: threading.Event | None = None,
) -> None:
    """Start a Jira sandbox, print its URL and credentials, block until Ctrl-C (or ``stop``).

    Webhooks are sent by a background thread with the real clock, retried like Jira's.
    """
    sandbox = JiraSandbox(host=host, port=port, webhook_url=webhook_url,
                          webhook_secret=webhook_secret, project=project, users=users)
    stop = stop or threading.Event()
    with sandbox:
        driver = WebhookDriver(sandbox.webhooks).start()
        try:
            echo(f"Jira sandbox at {sandbox.url} (project {project})")
            for user in sandbox.users:
                echo(f"  user {user.display_name} <{user.email}> api token {user.api_token}")
            if webhook_url:
                signed = "signed" if webhook_secret else "unsigned"
                echo(f"  webhooks ({signed}) to {webhook_url}")
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            echo("Jira sandbox stopped")
        finally:
            driver.stop()
