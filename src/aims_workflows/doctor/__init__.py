"""``aims doctor``: check a configured installation end to end, one finding per check.

Each integration is checked only when it is configured; what is not configured is listed as
skipped with the settings that would turn it on. Nothing here writes anything anywhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from ..config import Settings, jira_rest_url
from ._check import Check, Status
from ._database import database_checks

__all__ = ["Check", "Status", "run_doctor"]


def run_doctor(
    settings: Settings, *, forms: Iterable[Iterable[Mapping[str, Any]]], now: datetime
) -> list[Check]:
    checks = database_checks(settings.database_url)
    checks += _check_jira(settings, forms, now)
    checks += _check_slack(settings)
    checks += _check_confluence(settings)
    return checks


def _skip(area: str, settings: str) -> Check:
    return Check(area, "configured", "skip", f"not configured (set {settings})")


def _check_jira(
    settings: Settings, forms: Iterable[Iterable[Mapping[str, Any]]], now: datetime
) -> list[Check]:
    if not (settings.jira_url and settings.jira_email and settings.jira_api_token):
        return [_skip("jira", "AIMS_JIRA_URL, AIMS_JIRA_EMAIL, AIMS_JIRA_API_TOKEN")]
    from ..adapters.jira import JiraConnection
    from ._jira import jira_checks

    conn = JiraConnection(
        jira_rest_url(settings) or settings.jira_url,
        settings.jira_email,
        settings.jira_api_token.get_secret_value(),
    )
    return jira_checks(
        conn,
        project=settings.jira_project,
        issue_type=settings.jira_issue_type,
        reported_types=[settings.jira_nonconformity_type, settings.jira_proposal_type],
        forms=forms,
        token_expires=settings.jira_token_expires,
        webhook_secret_set=settings.jira_webhook_secret is not None,
        now=now,
        poll_seconds=settings.jira_poll_seconds if settings.jira_mode == "poll" else None,
    )


def _check_slack(settings: Settings) -> list[Check]:
    if settings.slack_bot_token is None:
        return [_skip("slack", "AIMS_SLACK_BOT_TOKEN, AIMS_SLACK_SIGNING_SECRET")]
    from ._slack import slack_checks

    return slack_checks(
        settings.slack_bot_token.get_secret_value(),
        api_url=settings.slack_api_url,
        signing_secret_set=settings.slack_signing_secret is not None,
        channel=settings.slack_channel,
    )


def _check_confluence(settings: Settings) -> list[Check]:
    token = settings.confluence_api_token
    if not (settings.confluence_url and settings.confluence_email and token):
        return [_skip("confluence", "AIMS_CONFLUENCE_URL, _EMAIL, _API_TOKEN, _SPACE")]
    if not settings.confluence_space:
        return [
            Check(
                "confluence",
                "space",
                "fail",
                "AIMS_CONFLUENCE_SPACE is not set",
                "set it to the key of the space to publish into",
            )
        ]
    from ._confluence import confluence_checks

    return confluence_checks(
        settings.confluence_url,
        settings.confluence_email,
        token.get_secret_value(),
        settings.confluence_space,
    )
