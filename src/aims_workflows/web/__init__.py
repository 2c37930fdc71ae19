"""The web service (``aims serve``): the ASGI app and its parts.

::

    from aims_workflows.web import create_app

``app`` assembles the routes (Jira webhook, health, metrics, dashboard, Slack); ``dashboard``
serves the KPI pages behind their token.
"""

from __future__ import annotations

from .app import MAX_BODY, BodyLimit, InboxWorker, JiraSignature, Metrics, create_app, jira_routes

__all__ = [
    "create_app",
    "jira_routes",
    "BodyLimit",
    "JiraSignature",
    "Metrics",
    "InboxWorker",
    "MAX_BODY",
]
