"""Who may act at all: an actor the directory of people could not identify, or one acting
through a channel that aims.yaml closes for decisions, is refused for every task and approval,
with the reason recorded (never waved through)."""

from __future__ import annotations

from .events import Actor

__all__ = ["CLI_FORBIDDEN", "UNRESOLVED", "why_untrusted"]

UNRESOLVED = "unresolved"
CLI_FORBIDDEN = "cli forbidden"


def why_untrusted(actor: Actor, what: str) -> str | None:
    """Why ``actor`` may not ``what`` (complete a task, decide) whoever they are, or None."""
    if actor.assurance == UNRESOLVED:
        return (
            f"aims cannot tell who {actor.id} is: they are not in the directory of people, so "
            f"they may not {what} (run `aims people sync`, or `aims people link`)"
        )
    if actor.assurance == CLI_FORBIDDEN:
        return (
            f"tasks and approvals are not decided from the CLI here (cli_decisions: forbid in "
            f"aims.yaml, the default once Jira or Slack is configured): {what} in Jira or Slack"
        )
    return None
