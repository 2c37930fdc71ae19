"""The webhook Jira calls aims back with: registered through Jira's admin webhook API when the
account is a site administrator, otherwise spelled out for the administrator to enter.

``POST /rest/webhooks/1.0/webhook`` is the API behind *System > WebHooks*; it is not part of
the REST v3 description (whose ``/rest/api/3/webhook`` serves Connect and OAuth apps only).
"""

from __future__ import annotations

from dataclasses import dataclass

from ...errors import IntegrationError
from ._client import JiraConnection

__all__ = ["EVENTS", "WEBHOOKS_PATH", "WebhookPlan", "ensure_webhook", "manual_steps"]

WEBHOOKS_PATH = "/rest/webhooks/1.0/webhook"
EVENTS = ("jira:issue_created", "jira:issue_updated", "comment_created")
SECRET_ENV = "AIMS_JIRA_WEBHOOK_SECRET"


@dataclass(frozen=True)
class WebhookPlan:
    """Where Jira should post (aims' ``/jira/webhook``), for which project, and the secret."""

    url: str | None
    project: str
    secret: str | None

    @property
    def jql(self) -> str:
        return f"project = {self.project} AND labels = aims"

    @property
    def name(self) -> str:
        return f"aims-workflows ({self.project})"


def manual_steps(plan: WebhookPlan, why: str) -> list[str]:
    """What a Jira administrator enters in *Settings > System > WebHooks*."""
    return [
        f"register the webhook by hand ({why}): Jira Settings > System > WebHooks > Create",
        f"  URL: {plan.url or '<the address of aims serve>/jira/webhook'}",
        f"  Events: {', '.join(EVENTS)}",
        f"  JQL filter: {plan.jql}",
        f"  Secret: the value of {SECRET_ENV}",
    ]


def ensure_webhook(conn: JiraConnection, plan: WebhookPlan, *, dry_run: bool) -> tuple[str, bool]:
    """Register the webhook unless one with its URL exists: (what happened, changed?).

    An account that may not (401/403/404 from the admin API) gets :class:`PermissionError`
    with the manual steps' reason; the caller prints them."""
    if not plan.url:
        raise PermissionError("no --webhook-url given")
    if not plan.secret:
        raise PermissionError(f"{SECRET_ENV} is not set, and Jira would sign with no secret")
    try:
        existing = conn.call("GET", WEBHOOKS_PATH, what="list the site's webhooks") or []
    except IntegrationError as err:
        if err.answered in (401, 403, 404):
            raise PermissionError("the account may not manage webhooks") from None
        raise
    if any(isinstance(h, dict) and h.get("url") == plan.url for h in existing):
        return f"webhook to {plan.url} already registered", False
    if dry_run:
        return f"would register the webhook to {plan.url}", False
    conn.call(
        "POST",
        WEBHOOKS_PATH,
        what="register the webhook",
        json={
            "name": plan.name,
            "url": plan.url,
            "events": list(EVENTS),
            "filters": {"issue-related-events-section": plan.jql},
            "excludeBody": False,
            "secret": plan.secret,
        },
    )
    return f"registered the webhook to {plan.url} ({', '.join(EVENTS)}; {plan.jql})", True
