"""Ports for running without Jira or Slack: tasks and approvals live in the database only and
people complete them with ``aims tasks complete`` and ``aims approvals decide``."""

from __future__ import annotations

import logging
from typing import Any

from ..engine.commands import Command, CreateTask, Notify, RequestApproval

__all__ = ["LocalIssueTracker", "LocalApprovalChannel", "LogNotifier"]

log = logging.getLogger("aims.local")


class LocalIssueTracker:
    """Gives each task a stable local reference derived from its idempotency key."""

    def perform(self, command: Command) -> dict[str, Any]:
        if isinstance(command, CreateTask):
            return {
                "ref": f"LOCAL:{command.run_id}/{command.step_id}/{command.attempt}",
                "assignee": command.assignee,
            }
        log.info("%s %s", command.kind, command.key)
        return {}


class LocalApprovalChannel:
    def perform(self, command: Command) -> dict[str, Any]:
        if isinstance(command, RequestApproval):
            return {"ref": f"LOCAL:{command.approval_id}"}
        return {}


class LogNotifier:
    def perform(self, command: Command) -> dict[str, Any]:
        if isinstance(command, Notify):
            log.info("notify %s: %s", ", ".join(command.people), command.message)
        return {}
