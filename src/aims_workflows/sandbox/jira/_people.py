"""Sandbox users, and a person who works on issues through the REST API like a browser would.

A ``JiraSandboxPerson`` makes real HTTP calls with its own credentials, so what it does is
attributed to it in changelogs and in webhooks' ``user``, exactly as for a human in Jira.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from types import TracebackType
from typing import Any

import httpx

from .._http import client
from . import _adf
from ._model import JiraUser

__all__ = [
    "sandbox_user",
    "default_users",
    "display_name_of",
    "private_by_default",
    "users_for",
    "JiraSandboxPerson",
]


def sandbox_user(
    email: str, display_name: str, api_token: str | None = None, *, email_visible: bool = True
) -> JiraUser:
    """A user with a stable, realistic account id (``712020:<uuid>``) derived from ``email``;
    ``email_visible=False`` hides the address from everyone else, as a private profile does."""
    account_id = "712020:" + str(uuid.uuid5(uuid.NAMESPACE_URL, f"mailto:{email.lower()}"))
    token = api_token or "ATATT-sandbox-" + email.split("@")[0].replace(".", "-")
    return JiraUser(
        account_id=account_id,
        email=email,
        display_name=display_name,
        api_token=token,
        email_visible=email_visible,
    )


def default_users() -> list[JiraUser]:
    """The integration's service account first (it owns the project), then two people; the
    engineer keeps their e-mail private, as most people on real sites do."""
    return [
        sandbox_user("aims-bot@example.com", "AIMS Automation"),
        sandbox_user("erin.engineer@example.com", "Erin Engineer", email_visible=False),
        sandbox_user("sam.owner@example.com", "Sam Owner"),
    ]


def private_by_default(email: str) -> bool:
    """Whether a sandbox person keeps their e-mail private unless told otherwise: every
    engineer, and every other person by a stable hash of the address, so a site has both."""
    local = email.split("@")[0].lower()
    return "engineer" in local or uuid.uuid5(uuid.NAMESPACE_URL, email.lower()).int % 2 == 0


def display_name_of(email: str) -> str:
    """A readable name from an address: ``risk.owner@example.com`` -> ``Risk Owner``."""
    return email.split("@")[0].replace(".", " ").replace("_", " ").title()


def users_for(emails: Iterable[str]) -> list[JiraUser]:
    """The service account first, then one user per distinct address (sorted), e.g. the
    people of ``aims.yaml``; the service account's own address is not repeated."""
    bot = default_users()[0]
    people = sorted({e.strip() for e in emails if e.strip()} - {bot.email}, key=str.lower)
    return [bot] + [
        sandbox_user(e, display_name_of(e), email_visible=not private_by_default(e)) for e in people
    ]


class JiraSandboxPerson:
    """Acts as ``user`` against the sandbox at ``base_url``; every method is one or two
    real REST calls. Raises ``httpx.HTTPStatusError`` when Jira would refuse.

    >>> with sandbox.person("erin.engineer@example.com") as erin:   # doctest: +SKIP
    ...     erin.comment("AIMS-1", "Risk assessment attached")
    ...     erin.complete("AIMS-1")
    """

    def __init__(self, base_url: str, user: JiraUser, *, timeout: float = 10.0) -> None:
        self.user = user
        self._http = client(
            base_url=base_url.rstrip("/") + "/rest/api/3",
            auth=(user.email, user.api_token),
            headers={"Accept": "application/json"},
            timeout=timeout,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> JiraSandboxPerson:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = self._http.request(method, path, **kwargs)
        response.raise_for_status()
        return response

    def issue(self, key: str) -> dict[str, Any]:
        """The issue as the person sees it."""
        return self._call("GET", f"/issue/{key}").json()

    def fill_in(self, key: str, fields: dict[str, Any]) -> None:
        """Set field values, e.g. ``{"customfield_10040": "low", "duedate": "2025-03-01"}``.
        Plain strings for the description are turned into ADF, as the editor would."""
        body = {
            k: (_adf.doc(v) if k == "description" and isinstance(v, str) else v)
            for k, v in fields.items()
        }
        self._call("PUT", f"/issue/{key}", json={"fields": body})

    def comment(self, key: str, text: str | dict[str, Any]) -> dict[str, Any]:
        """Add a comment (plain text becomes an ADF paragraph); returns the comment."""
        body = _adf.doc(text) if isinstance(text, str) else text
        return self._call("POST", f"/issue/{key}/comment", json={"body": body}).json()

    def attach(
        self, key: str, filename: str, content: bytes, mime_type: str = "application/octet-stream"
    ) -> dict[str, Any]:
        """Upload one file; returns the attachment."""
        response = self._call(
            "POST",
            f"/issue/{key}/attachments",
            files={"file": (filename, content, mime_type)},
            headers={"X-Atlassian-Token": "no-check"},
        )
        return response.json()[0]

    def transitions(self, key: str) -> list[dict[str, Any]]:
        return self._call("GET", f"/issue/{key}/transitions").json()["transitions"]

    def transition(self, key: str, name: str) -> None:
        """Take the transition called ``name``, or the one leading to status ``name``."""
        for transition in self.transitions(key):
            if name.lower() in (transition["name"].lower(), transition["to"]["name"].lower()):
                self._call(
                    "POST",
                    f"/issue/{key}/transitions",
                    json={"transition": {"id": transition["id"]}},
                )
                return
        raise ValueError(f"{key} has no transition {name!r} from its current status")

    def complete(self, key: str) -> None:
        """Walk the issue to Done through whatever transitions lie on the way."""
        for _ in range(5):
            category = self.issue(key)["fields"]["status"]["statusCategory"]["key"]
            if category == "done":
                return
            self.transition(key, "Done" if category == "indeterminate" else "In Progress")
        raise RuntimeError(f"{key} did not reach Done")

    def reopen(self, key: str) -> None:
        """Reopen a Done issue (back to To Do)."""
        self.transition(key, "Reopen")
