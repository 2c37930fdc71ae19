"""Opening the application for a command (settings from the environment)."""

from __future__ import annotations

__all__ = ["cli_actor", "open_cli_app", "parse_assignments", "settle", "warn_broken_workflows"]


def cli_actor(person: str | None):
    """Who runs a command: the person they say they are (``--as``), else the operating-system
    user, recorded with the OS user and the assurance ``claimed``: the CLI verifies nobody."""
    from ..engine import Actor
    from ..runtime.actions import os_user

    user = os_user()
    who = person.strip() if person and person.strip() else user
    return Actor(who, "cli", handle=user, assurance=f"claimed (os user {user})")


def open_cli_app(*, require_db: bool = True):
    """The application over the environment's settings, with the integrations they ask for."""
    from ..app import integrations_from_settings, open_app
    from ..config import Settings

    settings = Settings()
    found = integrations_from_settings(settings)
    app = open_app(settings, jira=found.jira, slack=found.slack, require_db=require_db)
    warn_broken_workflows(app.workflows)
    return app


def warn_broken_workflows(workflows) -> None:
    """Name each workflow file left out for its problems, on stderr (the output stays clean)."""
    import sys

    for broken in workflows.broken:
        sys.stderr.write(f"warning: {broken.summary()}\n")
    if workflows.broken:
        sys.stderr.write("warning: the other workflows work; `aims validate` lists every problem\n")


def parse_assignments(items: list[str] | None, what: str = "value") -> dict[str, str]:
    """``["a=1", "b=x"]`` -> ``{"a": "1", "b": "x"}``; a malformed item is a clear error."""
    from ..errors import ConfigError

    result: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(
                f"'{item}' is not NAME=VALUE", hint=f"write each {what} as name=value"
            )
        result[key.strip()] = value.strip()
    return result


def settle(app_):
    """After a one-off command: carry its work out here when nothing leaves the process (no
    Jira, no Slack), else leave it to `aims worker` and say so. Returns the dispatch report, or
    None when the work was left queued."""
    report = app_.after_command()
    if report is None:
        waiting = app_.queued()
        if waiting:
            from ._output import console

            console().print(
                f"{waiting} command(s) for Jira/Slack queued: `aims worker` carries them out "
                "(`aims worker --once` for a single pass)",
                markup=False,
                highlight=False,
            )
    return report
