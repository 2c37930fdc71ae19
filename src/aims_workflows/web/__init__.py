"""The web service (``aims serve``): the ASGI app and its parts.

::

    from aims_workflows.web import create_app

``app`` assembles the routes (health, metrics, dashboard, Slack) and the middleware
(``middleware``: body limit, Jira signature); ``jira`` is the webhook route and the inbox
worker; ``metrics`` the Prometheus counters; ``dashboard`` the KPI pages behind their token.
"""

from __future__ import annotations

from .app import create_app
from .jira import InboxWorker, jira_routes
from .metrics import Metrics
from .middleware import MAX_BODY, BodyLimit, JiraSignature

__all__ = [
    "create_app",
    "jira_routes",
    "BodyLimit",
    "JiraSignature",
    "Metrics",
    "InboxWorker",
    "MAX_BODY",
]
