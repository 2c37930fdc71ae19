"""The reconciliation poll: a lost webhook delays a transition, it never loses it.

Every ``interval`` (of the injected clock) the poll asks Jira, over ``/rest/api/3/search/jql``
paged by ``nextPageToken``, for the engine's issues (label ``aims``) updated since the cursor,
and feeds each one that is done while its task is still open to the runtime, exactly as its
webhook would have been. A poll result and a late webhook for the same change are applied once:
whichever comes second finds the task no longer open.

The same pass looks for issues of type Nonconformity created or edited since its own cursor
(all of them the first time) that raised no finding yet, and raises theirs, as their webhook
would have (with ``AIMS_JIRA_MODE=poll`` there is no webhook at all).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from ...errors import AimsError, RetryableError
from ...runtime import Delivery
from ._client import RECONCILE_LIMIT
from ._inbound import POLL_SOURCE, Change, InboxProcessor
from ._rate_limit import poll_not_before
from ._time import jira_time
from ._tracker import OWNED_LABEL

__all__ = ["Reconciler"]

log = logging.getLogger("aims.jira")
CURSOR = "jira.reconcile"
NONCONFORMITY_CURSOR = "jira.nonconformities"
# JQL compares to the minute, and Jira's search index lags writes by a moment.
_OVERLAP = timedelta(minutes=2)


class Reconciler:
    """Polls for changes of owned issues that no webhook reported."""

    def __init__(
        self,
        processor: InboxProcessor,
        project: str,
        *,
        interval: timedelta = timedelta(minutes=1),
        page_size: int = 50,
    ) -> None:
        self.processor = processor
        self.project = project
        self.interval = interval
        self.page_size = page_size
        self._last: datetime | None = None
        self._not_before: datetime | None = None
        self._zone: Any = None
        self._warned = False

    @property
    def rt(self):
        return self.processor.rt

    def _timezone(self):
        """JQL dates are read in the searching account's time zone."""
        if self._zone is None:
            from zoneinfo import ZoneInfo

            me = self.processor.tracker.jira.myself(what="read the integration account's time zone")
            try:
                self._zone = ZoneInfo(str(me.get("timeZone") or "UTC"))
            except Exception:  # noqa: BLE001 - an unknown zone name: UTC is the safe guess
                self._zone = UTC
        return self._zone

    def due(self) -> bool:
        """The interval has passed since the last poll, and Jira's rate limit allows one: after
        a 429/503 not before its ``Retry-After``, and with the quota nearly used up not before
        ``X-RateLimit-Reset`` (both on the injected clock)."""
        now = self.rt.clock.now()
        if self._not_before is not None and now < self._not_before:
            return False
        return self._last is None or now - self._last >= self.interval

    @property
    def not_before(self) -> datetime | None:
        """When Jira's rate limit next lets the poll ask (None: the interval alone)."""
        return self._not_before

    def poll(self, *, force: bool = False) -> int:
        """One pass when due (or ``force``); returns how many changes were applied."""
        if not force and not self.due():
            return 0
        now = self.rt.clock.now()
        self._last = now
        connection = self.processor.tracker.jira
        connection.rate_limit = None
        try:
            return self._poll()
        finally:
            self._not_before = poll_not_before(now, connection.rate_limit)
            if self._not_before is not None:
                log.info(
                    "Jira's rate limit holds the next poll until %s", self._not_before.isoformat()
                )

    def _poll(self) -> int:
        try:
            reported = self._poll_nonconformities()
        except RetryableError:
            raise  # a rate limit or an outage holds the whole poll, not just this half
        except AimsError as err:
            # a site without the issue type (`aims jira setup` not run again since it came)
            # refuses the JQL: the engine's own issues are still polled
            reported = 0
            if not self._warned:
                log.warning("nonconformity issues not polled: %s (run `aims jira setup`)", err)
                self._warned = True
        return reported + self._poll_tasks()

    def _jql_moment(self, since: datetime) -> str:
        local = (since - _OVERLAP).astimezone(self._timezone())
        return local.strftime("%Y/%m/%d %H:%M")

    def _poll_nonconformities(self) -> int:
        """Raise the findings of Nonconformity issues no webhook reported."""
        store = self.processor.store
        since = store.cursor(NONCONFORMITY_CURSOR)
        jql = (
            f'project = "{self.project}" AND issuetype = "{self.processor.nonconformity_type}"'
            + (f' AND updated >= "{self._jql_moment(since)}"' if since else "")
            + " ORDER BY updated ASC"
        )
        raised, newest = 0, since
        for issue in self.processor.tracker.jira.search(
            jql, fields=["*all"], page_size=self.page_size, what="poll Jira for nonconformities"
        ):
            fields = issue.get("fields") or {}
            updated = jira_time(fields.get("updated"))
            if updated and (newest is None or updated > newest):
                newest = updated
            change = Change("poll", str(issue["id"]), str(issue["key"]), fields, polled=True)
            if not self.processor.reports_nonconformity(change):
                continue
            if self.processor.findings.raised_for_issue(change.issue_id) is not None:
                continue
            reporter = fields.get("reporter") if isinstance(fields.get("reporter"), dict) else None
            change = Change(
                "poll", change.issue_id, change.issue_key, fields, polled=True, user=reporter
            )
            delivery = Delivery(
                POLL_SOURCE,
                f"{issue['id']}:{fields.get('updated')}",
                json.dumps({"issue": change.issue_key}),
            )
            raised += self.processor.raise_nonconformity(change, delivery)
        if newest is not None:
            store.set_cursor(NONCONFORMITY_CURSOR, newest)
        return raised

    def _poll_tasks(self) -> int:
        """Apply the changes of the engine's own issues that no webhook reported."""
        store = self.processor.store
        since = store.cursor(CURSOR) or store.open_since()
        if since is None:
            return 0  # nothing was ever handed to Jira
        jql = (
            f'project = "{self.project}" AND labels = "{OWNED_LABEL}" '
            f'AND updated >= "{self._jql_moment(since)}" ORDER BY updated ASC'
        )
        applied, newest = 0, since
        # Jira's search may not show a change made moments ago; the open tasks' issues are the
        # ones whose changes matter, so the search is asked to reflect their latest writes
        reconcile = store.open_issue_ids(RECONCILE_LIMIT)
        for issue in self.processor.tracker.jira.search(
            jql,
            fields=["*all"],
            page_size=self.page_size,
            reconcile=reconcile,
            what="poll Jira for changed issues",
        ):
            fields = issue.get("fields") or {}
            updated = jira_time(fields.get("updated"))
            if updated and updated > newest:
                newest = updated
            change = Change("poll", str(issue["id"]), str(issue["key"]), fields, polled=True)
            if change.status_category != "done":
                continue
            known = store.find_issue(issue_id=change.issue_id)
            status = (
                self.rt.task_status(known["run_id"], known["step_id"], int(known["attempt"]))
                if known is not None
                else None
            )
            if status == "completed" and known is not None:
                # answers edited or files attached after completion, perhaps with no webhook
                who = self._editor(issue, {v[0] for v in (known["fields"] or {}).values()})
            elif status in ("open", None):
                who = self._mover(issue)
            else:
                continue  # cancelled or closed: nothing to take from it
            change = Change(
                "poll", change.issue_id, change.issue_key, fields, polled=True, user=who
            )
            if self.processor.apply_change(change, f"{issue['id']}:{fields.get('updated')}"):
                applied += 1
        store.set_cursor(CURSOR, newest)
        if applied:
            log.info("reconciliation applied %d change(s) that no webhook reported", applied)
        return applied

    def _editor(self, issue: dict[str, Any], field_ids: set[str]) -> dict[str, Any] | None:
        """Who last changed one of the task's answers or attached a file; None when nobody
        did since completion could be told (then there is nothing to attribute)."""
        key = issue["key"]
        data = self.processor.tracker.jira.issue(
            key, fields="status", expand="changelog", what=f"read who edited {key}"
        )
        watched = field_ids | {"attachment"}
        for history in reversed((data.get("changelog") or {}).get("histories") or []):
            items = history.get("items") or []
            if any(item.get("field") == "status" for item in items):
                return None  # the last thing that happened was the move to Done
            if any(item.get("fieldId") in watched for item in items):
                return history.get("author")
        return None

    def _mover(self, issue: dict[str, Any]) -> dict[str, Any] | None:
        """Who moved the issue to its status (the last status change), else its assignee."""
        key = issue["key"]
        data = self.processor.tracker.jira.issue(
            key, fields="status", expand="changelog", what=f"read who moved {key}"
        )
        for history in reversed((data.get("changelog") or {}).get("histories") or []):
            if any(item.get("field") == "status" for item in history.get("items") or []):
                return history.get("author")
        return (issue.get("fields") or {}).get("assignee")
