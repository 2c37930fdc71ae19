"""``run_jira_sandbox``: serve a sandbox until interrupted (the ``aims sandbox jira`` command)."""

from __future__ import annotations

import secrets
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
    strict_options: bool = True,
    on_ready: Callable[[JiraSandbox], None] | None = None,
) -> None:
    """Start a Jira sandbox, print its URL and credentials, block until Ctrl-C (or ``stop``).

    Webhooks are sent by a background thread with the real clock, retried like Jira's, and
    signed with ``webhook_secret`` (a random one when none is given: the receiver must check
    signatures, so the line telling how to point aims at the sandbox always names one).
    ``users[0]`` is the integration's account; choice fields take only their options
    (``strict_options``), as on Jira Cloud, so ``aims jira setup`` must add them.
    ``on_ready`` receives the running sandbox (e.g. to say which fields its issue pages offer).
    """
    webhook_secret = webhook_secret or secrets.token_hex(16)
    sandbox = JiraSandbox(
        host=host,
        port=port,
        webhook_url=webhook_url,
        webhook_secret=webhook_secret,
        project=project,
        users=users,
        strict_options=strict_options,
    )
    stop = stop or threading.Event()
    with sandbox:
        driver = WebhookDriver(sandbox.webhooks).start()
        try:
            if on_ready is not None:
                on_ready(sandbox)
            echo(f"Jira sandbox at {sandbox.url} (project {project})")
            for user in sandbox.users:
                echo(f"  user {user.display_name} <{user.email}> api token {user.api_token}")
            bot = sandbox.service_account
            echo(f"  issues in a browser: {sandbox.url}/ (the board) and {sandbox.url}/browse/KEY")
            echo(
                f"Point aims at it: AIMS_JIRA_URL={sandbox.url} AIMS_JIRA_EMAIL={bot.email} "
                f"AIMS_JIRA_API_TOKEN={bot.api_token} AIMS_JIRA_PROJECT={project} "
                f"AIMS_JIRA_WEBHOOK_SECRET={webhook_secret}"
            )
            if webhook_url:
                echo(f"  webhooks (signed) to {webhook_url}")
            else:
                echo(
                    "  no webhooks are sent: pass --webhook-url, e.g. "
                    "http://127.0.0.1:8000/jira/webhook for `aims serve`"
                )
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            echo("Jira sandbox stopped")
        finally:
            driver.stop()
