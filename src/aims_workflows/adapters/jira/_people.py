"""The people side of the Jira tracker: Jira accountIds for e-mail addresses and back.

Both directions are cached for the tracker's lifetime, so a run with many tasks for the same
person asks Jira once.
"""

from __future__ import annotations

from ._client import JiraConnection

__all__ = ["JiraPeople"]


class JiraPeople:
    """E-mail and accountId look-ups; mixed into
    :class:`~aims_workflows.adapters.jira.JiraIssueTracker`, which supplies the connection."""

    jira: JiraConnection
    _accounts: dict[str, str | None]
    _emails: dict[str, str]
    _me: str | None

    def account_of(self, email: str | None) -> str | None:
        """The Jira accountId of the person with this e-mail (user search), or None."""
        if not email:
            return None
        if email not in self._accounts:
            found = (
                self.jira.call(
                    "GET",
                    "user/search",
                    params={"query": email, "maxResults": 10},
                    what=f"look up the Jira account of {email}",
                )
                or []
            )
            exact = [u for u in found if str(u.get("emailAddress", "")).lower() == email.lower()]
            # Jira hides e-mail addresses by privacy setting: a single match on the query is the
            # person.
            pick = exact[0] if exact else (found[0] if len(found) == 1 else None)
            self._accounts[email] = pick["accountId"] if pick else None
            if pick:
                self._emails[pick["accountId"]] = email
        return self._accounts[email]

    def email_of(self, account_id: str | None) -> str | None:
        """The e-mail for an accountId (people we looked up, else a user search by id)."""
        if not account_id:
            return None
        if account_id not in self._emails:
            found = (
                self.jira.call(
                    "GET",
                    "user/search",
                    params={"accountId": account_id},
                    what=f"look up Jira account {account_id}",
                )
                or []
            )
            email = found[0].get("emailAddress") if found else None
            if not email:
                return None
            self._emails[account_id] = email
        return self._emails[account_id]

    def service_account(self) -> str:
        if self._me is None:
            self._me = self.jira.myself(what="read the integration account")["accountId"]
        return self._me
