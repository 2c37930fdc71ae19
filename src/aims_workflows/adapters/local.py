"""Ports for running without Jira or Slack: tasks and approvals live in the database only and
people complete them with ``aims tasks complete`` and ``aims approvals decide``."""

from __future__ import annotations

import logging
from typing import Any

from ..engine.commands import Command

__all__ = ["LocalIssueTracker", "LocalApprovalChannel", "LogNotifier"]

log = logging.getLogger("aims.local")


class LocalIssueTracker:
    """Gives each task a stable local reference derived from its idempotency key."""

    def perform(self, command: Command) -> dict[str, Any]:
        if command.kind == "task.create":
            p = command.payload
            return {
                "ref": f"LOCAL:{command.run_id}/{p['step_id']}/{p['attempt']}",
                "assignee": p.get("assignee"),
            }
        log.info("%s %s", command.kind, command.payload.get("ref"))
        return {}


class LocalApprovalChannel:
    def perform(self, command: Command) -> dict[str, Any]:
        if command.kind == "approval.request":
            return {"ref": f"LOCAL:{command.payload['approval_id']}"}
        return {}


class LogNotifier:
    def perform(self, command: Command) -> dict[str, Any]:
        log.info(
            "notify %s: %s",
            ", ".join(command.payload.get("people", [])),
            command.payload.get("message", command.kind),
        )
        return {}
