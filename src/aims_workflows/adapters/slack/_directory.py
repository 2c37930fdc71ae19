"""Who is who in Slack: approvers are named by e-mail in aims.yaml, Slack speaks in user ids.

``users.lookupByEmail`` turns an e-mail into a user id when a request is sent; ``users.info``
turns the id of whoever clicked back into an e-mail, which is how the runtime knows people.
Both answers are cached: they change rarely, and a click must be acknowledged in
milliseconds. Misses are not cached, so a person invited after a failure is found next time.
"""

from __future__ import annotations

import threading

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from ...errors import PermanentError
from ._errors import slack_call, translate

__all__ = ["Directory", "UnknownPerson"]


class UnknownPerson(PermanentError):
    """Slack does not know someone aims.yaml names; ``emails`` lists who."""

    def __init__(self, emails: list[str]) -> None:
        self.emails = sorted(emails)
        who = ", ".join(self.emails)
        super().__init__(
            f"no Slack user with the e-mail {who}",
            hint="invite them to the Slack workspace with that e-mail, or correct aims.yaml",
        )


class Directory:
    """E-mail <-> Slack user id, cached, safe to share between threads."""

    def __init__(self, client: WebClient) -> None:
        self._client = client
        self._ids: dict[str, str] = {}
        self._emails: dict[str, str] = {}
        self._lock = threading.Lock()

    def remember(self, email: str, user_id: str) -> None:
        with self._lock:
            self._ids[email.lower()] = user_id
            # kept as aims.yaml spells it: the runtime compares e-mails as configured
            self._emails[user_id] = email

    def forget(self) -> None:
        """Drop every cached answer: the next lookups ask Slack again, as after a restart."""
        with self._lock:
            self._ids.clear()
            self._emails.clear()

    def cached_id(self, email: str) -> str | None:
        """The id if it was looked up before; never calls Slack."""
        with self._lock:
            return self._ids.get(email.lower())

    def user_id(self, email: str) -> str:
        """The Slack id of ``email``; ``UnknownPerson`` when Slack has nobody with it."""
        key = email.lower()
        with self._lock:
            if key in self._ids:
                return self._ids[key]
        try:
            answer = self._client.users_lookupByEmail(email=email)
        except SlackApiError as error:
            if error.response is not None and error.response.get("error") == "users_not_found":
                raise UnknownPerson([email]) from None
            raise translate("users.lookupByEmail", error) from None
        except (SlackClientError, OSError) as error:
            raise translate("users.lookupByEmail", error) from None
        user_id = answer["user"]["id"]
        self.remember(email, user_id)
        return user_id

    def user_ids(self, emails: list[str]) -> dict[str, str]:
        """Every e-mail's id; one ``UnknownPerson`` naming all who are missing."""
        found: dict[str, str] = {}
        missing: list[str] = []
        for email in emails:
            try:
                found[email] = self.user_id(email)
            except UnknownPerson:
                missing.append(email)
        if missing:
            raise UnknownPerson(missing)
        return found

    def email(self, user_id: str) -> str | None:
        """The e-mail of a Slack user (None for a bot or a person without a visible e-mail)."""
        with self._lock:
            if user_id in self._emails:
                return self._emails[user_id]
        answer = slack_call("users.info", lambda: self._client.users_info(user=user_id))
        email = ((answer.get("user") or {}).get("profile") or {}).get("email")
        if not email:
            return None
        self.remember(email, user_id)
        return email
