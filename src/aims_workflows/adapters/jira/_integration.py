"""``JiraIntegration``: the tracker, the inbox processor and the reconciliation poll for one
site, built from settings (``AIMS_JIRA_*``) or around a sandbox (``demo.jira_loopback``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ...config import jira_rest_url
from ...engine import Actor
from ...errors import ConfigError
from ...runtime import SyncReport
from ...store.jira_issues import JiraIssueRecords
from ._client import JiraConnection
from ._directory_sync import find_jira_people
from ._inbound import InboxProcessor
from ._nonconformity import NONCONFORMITY_TYPE
from ._proposal import PROPOSAL_TYPE
from ._reconcile import Reconciler
from ._tracker import JiraIssueTracker

__all__ = ["JiraIntegration"]


class JiraIntegration:
    """Everything Jira-side of a running application.

    ``pump()`` (called by ``App.pump``, i.e. by ``aims worker``) processes stored webhook
    deliveries and runs the reconciliation poll when it is due.
    """

    def __init__(
        self,
        connection: JiraConnection,
        project: str,
        runtime,
        *,
        issue_type: str = "Task",
        nonconformity_type: str = NONCONFORMITY_TYPE,
        proposal_type: str = PROPOSAL_TYPE,
        webhook_secret: str | None = None,
        poll_interval: timedelta = timedelta(minutes=1),
    ) -> None:
        self.connection = connection
        self.project = project
        self.webhook_secret = webhook_secret
        self.runtime = runtime
        self.store = JiraIssueRecords(runtime.db, runtime.clock)
        self.tracker = JiraIssueTracker(
            connection,
            project,
            issue_type=issue_type,
            store=self.store,
            clock=runtime.clock,
            aims_owners=lambda: runtime.people_in("aims_owner", None),
        )
        self.processor = InboxProcessor(
            runtime,
            self.tracker,
            self.store,
            nonconformity_type=nonconformity_type,
            proposal_type=proposal_type,
        )
        self.reconciler = Reconciler(self.processor, project, interval=poll_interval)

    @classmethod
    def from_settings(cls, settings, runtime) -> JiraIntegration:
        missing = [
            name
            for name, value in (
                ("AIMS_JIRA_EMAIL", settings.jira_email),
                ("AIMS_JIRA_API_TOKEN", settings.jira_api_token),
            )
            if not value
        ]
        if missing:
            raise ConfigError(
                f"AIMS_JIRA_URL is set but {' and '.join(missing)} "
                f"{'is' if len(missing) == 1 else 'are'} not",
                hint="set them to the integration account's e-mail and an API token",
            )
        connection = JiraConnection(
            jira_rest_url(settings) or settings.jira_url,
            settings.jira_email,
            settings.jira_api_token.get_secret_value(),
        )
        secret = (
            settings.jira_webhook_secret.get_secret_value()
            if settings.jira_webhook_secret
            else None
        )
        return cls(
            connection,
            settings.jira_project,
            runtime,
            issue_type=settings.jira_issue_type,
            nonconformity_type=settings.jira_nonconformity_type,
            proposal_type=settings.jira_proposal_type,
            webhook_secret=secret,
            poll_interval=timedelta(seconds=settings.jira_poll_seconds),
        )

    def sync_people(self, by: Actor) -> SyncReport:
        """Tie every person of the directory to their Jira account (user search by e-mail),
        and report who Jira has not got, and the project's role members nobody matches."""
        directory = self.runtime.people
        everyone = directory.everyone()
        found = find_jira_people(
            self.connection,
            self.project,
            [p.email for p in everyone if p.email],
            {p.jira_account_id for p in everyone if p.jira_account_id},
        )
        report: SyncReport = directory.record_matches(
            "jira", found.matches, by=by, method="jira user search by e-mail"
        )
        report.unmatched.setdefault("jira", []).extend(found.unmatched_accounts)
        if not report.unmatched["jira"]:
            del report.unmatched["jira"]
        return report

    def pump(self) -> dict[str, Any]:
        processed = self.processor.process_pending()
        polled = 0
        try:
            polled = self.reconciler.poll()
        except Exception as err:  # noqa: BLE001 - Jira down must not stop timers and the outbox
            from ...errors import AimsError

            if not isinstance(err, AimsError):
                raise
            import logging

            logging.getLogger("aims.jira").warning(
                "reconciliation poll failed, will try again: %s", err
            )
        return {"processed": processed, "reconciled": polled}
