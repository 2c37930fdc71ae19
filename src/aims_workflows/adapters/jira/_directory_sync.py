"""``aims people sync`` on the Jira side: the accountId of every person of the directory (user
search by their e-mail), and the accounts in the project's roles that no person matches.

Jira hides the e-mail of people whose profile visibility says so. A user search by the full
address still finds them, so a person named by e-mail in aims.yaml is matched; an account seen
only in a project role, whose e-mail is hidden, cannot be matched by anything and is reported
for ``aims people link``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...runtime import AccountMatch
from ._client import JiraConnection

__all__ = ["JiraPeopleFound", "find_jira_people", "find_jira_people_by_email"]


@dataclass
class JiraPeopleFound:
    """What Jira says about the directory's people and the project's role members."""

    matches: list[AccountMatch] = field(default_factory=list)
    unmatched_accounts: list[str] = field(default_factory=list)


def _search(jira: JiraConnection, email: str) -> str | None:
    found = (
        jira.call(
            "GET",
            "user/search",
            params={"query": email, "maxResults": 10},
            what=f"look up the Jira account of {email}",
        )
        or []
    )
    people = [u for u in found if u.get("accountType", "atlassian") == "atlassian"]
    shown = [u for u in people if str(u.get("emailAddress", "")).lower() == email.lower()]
    hidden = [u for u in people if "emailAddress" not in u]
    # the address shown is the person; else the one account whose e-mail is hidden that the
    # full address found (two would be ambiguous: nobody is guessed)
    pick = shown[0] if len(shown) == 1 else (hidden[0] if not shown and len(hidden) == 1 else None)
    return str(pick["accountId"]) if pick else None


def find_jira_people_by_email(jira: JiraConnection, emails: list[str]) -> list[AccountMatch]:
    """The account of each e-mail (None where Jira has nobody, or more than one)."""
    return [AccountMatch(email, _search(jira, email)) for email in emails]


def find_jira_people(
    jira: JiraConnection, project: str, emails: list[str], known_accounts: set[str]
) -> JiraPeopleFound:
    """Match ``emails`` to accounts; list project role members nobody matches."""
    result = JiraPeopleFound(find_jira_people_by_email(jira, emails))
    matched = {m.account for m in result.matches if m.account}
    actors = jira.project_role_actors(project, what=f"read the roles of project {project}")
    seen: set[str] = set()
    for role, members in sorted(actors.items()):
        for actor in members:
            account = (actor.get("actorUser") or {}).get("accountId")
            if not account or account in seen or account in matched | known_accounts:
                continue
            seen.add(account)
            result.unmatched_accounts.append(_describe(jira, account, role, actor))
    return result


def _describe(jira: JiraConnection, account: str, role: str, actor: dict[str, Any]) -> str:
    name = actor.get("displayName") or account
    return f"{name} (Jira account {account}, project role {role}): no person of the directory"
