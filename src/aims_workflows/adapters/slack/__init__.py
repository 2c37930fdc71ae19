"""Slack for approvals: approvers sign off with a button and a reason.

* :class:`SlackApprovalChannel` / :class:`SlackNotifier`: the ports the outbox dispatcher calls
  (post, repost, update every copy, ephemeral refusals, direct messages);
* :func:`build_bolt_app` and :func:`slack_routes`: the Bolt app behind ``POST /slack/events``
  (signature check, then acknowledge at once, then the work);
* :class:`SlackIntegration`: all of it wired from ``AIMS_SLACK_*`` settings;
* :class:`SlackLoopback`: the same against the Slack sandbox, for the demo and tests, with
  approvers who click Approve / Reject and type their reason.

Wiring in a service::

    ports = SlackPorts(bot_token=..., api_url=settings.slack_api_url, channel=settings.slack_channel)
    app = open_app(settings, approvals=ports.channel, notifier=ports.notifier)
    slack = SlackIntegration(ports, app.runtime, signing_secret=...)
    web = Starlette(routes=[*other_routes, *slack.routes()])
"""

from ._blocks import APPROVE, DECISION_CALLBACK, REJECT, Card
from ._bolt import SOURCE, build_bolt_app
from ._book import Copy, MessageBook
from ._channel import SlackApprovalChannel, SlackNotifier
from ._directory import Directory, UnknownPerson
from ._errors import redact
from ._loopback import SlackLoopback
from ._service import SlackIntegration, SlackPorts, ports_from_settings
from ._work import WorkPool
from .routes import EVENTS_PATH, SlackSignatureCheck, slack_asgi_app, slack_routes

__all__ = [
    "SlackApprovalChannel",
    "SlackNotifier",
    "SlackIntegration",
    "SlackPorts",
    "SlackLoopback",
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
    "DECISION_CALLBACK",
]
