"""Slack for approvals: approvers sign off with a button and a reason.

* :class:`SlackApprovalChannel` / :class:`SlackNotifier`: the ports the outbox dispatcher calls
  (post, repost, update every copy, ephemeral refusals, direct messages);
* :func:`build_bolt_app` and :func:`slack_routes`: the Bolt app behind ``POST /slack/events``
  (signature check, then acknowledge at once, then the work);
* :class:`SlackIntegration`: all of it wired from ``AIMS_SLACK_*`` settings (the same against
  the Slack sandbox, with approvers a script plays, is ``demo.slack_loopback.SlackLoopback``).

Wiring in a service::

    found = integrations_from_settings(settings)     # SlackIntegration.from_settings, bound
    app = open_app(settings, jira=found.jira, slack=found.slack)
    web = create_app(app)                            # POST /slack/events beside the other routes
"""

from ._blocks import (
    APPROVE,
    DECISION_CALLBACK,
    REASON_ACTION,
    REJECT,
    WITHDRAW,
    Card,
    parse_button_value,
)
from ._bolt import SOURCE, build_bolt_app
from ._book import Copy, MessageBook
from ._channel import SlackApprovalChannel, SlackNotifier
from ._directory import Directory, UnknownPerson
from ._errors import redact
from ._service import SlackIntegration, SlackPorts, ports_from_settings
from ._socket_mode import SocketModeConnection, check_app_token
from ._work import WorkPool
from .routes import EVENTS_PATH, SlackSignatureCheck, slack_asgi_app, slack_routes

__all__ = [
    "SlackApprovalChannel",
    "SlackNotifier",
    "SlackIntegration",
    "SlackPorts",
    "SocketModeConnection",
    "check_app_token",
    "ports_from_settings",
    "build_bolt_app",
    "slack_routes",
    "slack_asgi_app",
    "SlackSignatureCheck",
    "EVENTS_PATH",
    "Directory",
    "UnknownPerson",
    "MessageBook",
    "Copy",
    "Card",
    "WorkPool",
    "redact",
    "SOURCE",
    "APPROVE",
    "REJECT",
    "WITHDRAW",
    "DECISION_CALLBACK",
    "REASON_ACTION",
    "parse_button_value",
]
