"""``run_slack_sandbox``: the sandbox as a foreground process, for the demo and ``aims sandbox
slack``. It prints what an app needs to connect, then serves until interrupted."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterable
from typing import TextIO

from ._sandbox import DEFAULT_USERS, SlackSandbox, UserSpec

__all__ = ["run_slack_sandbox"]


def run_slack_sandbox(
    host: str = "127.0.0.1",
    port: int = 0,
    app_url: str | None = None,
    signing_secret: str | None = None,
    users: Iterable[UserSpec] = DEFAULT_USERS,
    *,
    out: TextIO | None = None,
    stop: threading.Event | None = None,
    on_ready: Callable[[SlackSandbox], None] | None = None,
) -> None:
    """Serve a Slack sandbox on ``host:port`` (0: any free port) until Ctrl+C or ``stop``.

    Prints the Web API base URL, the bot token and the signing secret to give the app
    (``SLACK_BOT_TOKEN``, ``SLACK_SIGNING_SECRET``), and the people in the workspace.
    ``on_ready`` receives the running sandbox, e.g. to drive it from a demo script.
    """
    out = out or sys.stdout
    stop = stop or threading.Event()
    with SlackSandbox(
        host=host, port=port, app_url=app_url, signing_secret=signing_secret, users=users
    ) as sandbox:
        ws = sandbox.workspace
        lines = [
            f"Slack sandbox listening on {sandbox.url}",
            f"  Web API base URL  {sandbox.api_url}",
            f"  bot token         {sandbox.bot_token}",
            f"  signing secret    {sandbox.signing_secret}",
            f"  app request URL   {app_url or '(none: people cannot click until it is set)'}",
            f"  in a browser      {sandbox.url}/ (pick a person: their messages, buttons, modals)",
            f"  workspace         {ws.team_name} ({ws.team_id}), bot @{ws.bot.name} "
            f"({ws.bot.user_id})",
        ]
        lines += [f"  user              {u.email} ({u.id})" for u in ws.users.values()]
        lines.append("Press Ctrl+C to stop.")
        print("\n".join(lines), file=out, flush=True)
        if on_ready is not None:
            on_ready(sandbox)
        try:
            # Wake up now and then so Ctrl+C is handled promptly on every platform.
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            print("Slack sandbox stopped.", file=out, flush=True)
