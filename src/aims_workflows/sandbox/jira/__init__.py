"""A loopback Jira Cloud (REST API v3) for the demo and the tests.

Real clients (the ``jira`` library, httpx) talk to it over HTTP; it keeps its state in memory,
sends signed webhooks with Jira's retry rules on an injectable clock, and misbehaves on
request (``sandbox.faults``).

In-process::

    with JiraSandbox(webhook_url=url, webhook_secret="s3cret") as jira:
        client = JIRA(server=jira.url, basic_auth=jira.credentials(),
                      options={"rest_api_version": "3"})
        ...
        jira.deliver_webhooks(now=...)

Standalone: ``run_jira_sandbox(port=8080)`` blocks and prints the URL and credentials.
"""

from .._capture import Exchange
from ._faults import JiraFaults
from ._model import JiraUser
from ._people import JiraSandboxPerson, default_users, display_name_of, sandbox_user, users_for
from ._routes import API
from ._run import run_jira_sandbox
from ._sandbox import JiraSandbox
from ._webhooks import RETRY_DELAYS, WebhookDelivery, sign

__all__ = [
    "API",
    "Exchange",
    "JiraFaults",
    "JiraSandbox",
    "JiraSandboxPerson",
    "JiraUser",
    "RETRY_DELAYS",
    "WebhookDelivery",
    "default_users",
    "display_name_of",
    "run_jira_sandbox",
    "sandbox_user",
    "sign",
    "users_for",
]
