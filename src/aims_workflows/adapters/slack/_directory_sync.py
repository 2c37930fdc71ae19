"""``aims people sync`` on the Slack side: the user id of every person of the directory, from
``users.list`` (every member, a page at a time) and, for whoever the list did not show (guests
of other workspaces, people invited since), ``users.lookupByEmail``."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from ...runtime import AccountMatch
from ._errors import slack_call, translate

__all__ = ["find_slack_people"]

_PAGE = 200


def _members(client: WebClient) -> dict[str, tuple[str, str]]:
    """E-mail (lower case) -> (user id, real name) of every person in the workspace."""
    found: dict[str, tuple[str, str]] = {}
    cursor = ""
    while True:
        answer = slack_call(
            "users.list",
            lambda c=cursor: client.users_list(limit=_PAGE, cursor=c or None),  # type: ignore[misc]
        )
        for member in answer.get("members") or []:
            profile = member.get("profile") or {}
            email = profile.get("email")
            if email and not member.get("deleted") and not member.get("is_bot"):
                found[str(email).lower()] = (str(member["id"]), str(member.get("real_name", "")))
        cursor = ((answer.get("response_metadata") or {}).get("next_cursor")) or ""
        if not cursor:
            return found


def _lookup(client: WebClient, email: str) -> str | None:
    try:
        answer = client.users_lookupByEmail(email=email)
    except SlackApiError as error:
        if error.response is not None and error.response.get("error") == "users_not_found":
            return None
        raise translate("users.lookupByEmail", error) from None
    return str(answer["user"]["id"])


def find_slack_people(client: WebClient, emails: list[str]) -> list[AccountMatch]:
    """The Slack user id of each e-mail (None where Slack has nobody with it)."""
    members = _members(client)
    matches = []
    for email in emails:
        known = members.get(email.lower())
        user_id = known[0] if known else _lookup(client, email)
        matches.append(AccountMatch(email, user_id, known[1] if known else ""))
    return matches
