"""The connection to Jira: the ``jira`` client (REST API v3) and the translation of its errors.

Every call goes through :meth:`JiraConnection.call`, which turns the client's ``JIRAError`` and
``requests`` failures into the package's :class:`~aims_workflows.errors.RetryableError` (429,
503 with their ``Retry-After``; other 5xx; timeouts and refused connections) or
:class:`~aims_workflows.errors.PermanentError` (4xx that no retry can fix), each saying what
failed and what to do. The client's own retry loop is switched off (``max_retries=0``): it would
sleep in the worker's thread; the outbox retries instead, on the injected clock.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from ...errors import IntegrationError, PermanentError, RetryableError
from ._rate_limit import RateLimitSeen, rate_limit_of

__all__ = ["JiraConnection", "translate", "RECONCILE_LIMIT"]

RECONCILE_LIMIT = 50
"""The most issue ids one /search/jql request may ask to reconcile (Atlassian's limit)."""

log = logging.getLogger("aims.jira")

T = TypeVar("T")

_HINTS = {
    401: "check AIMS_JIRA_EMAIL and AIMS_JIRA_API_TOKEN (an API token from id.atlassian.com)",
    403: "the integration account lacks a permission in the project "
    "(browse, create, edit, transition)",
    404: "the project, issue or field no longer exists; "
    "check AIMS_JIRA_PROJECT and run `aims jira setup`",
}


def _retry_after(response: Any) -> float | None:
    raw = getattr(response, "headers", {}).get("Retry-After") if response is not None else None
    try:
        return max(0.0, float(raw)) if raw is not None else None
    except ValueError:
        return None


def _messages(response: Any) -> str:
    """Jira's own error text (errorMessages and per-field errors), kept short."""
    try:
        body = response.json()
    except Exception:  # noqa: BLE001 - an HTML or empty error page
        return ""
    if not isinstance(body, dict):
        return ""
    parts = [str(m) for m in body.get("errorMessages") or []]
    parts += [f"{k}: {v}" for k, v in (body.get("errors") or {}).items()]
    return "; ".join(parts)[:500]


def translate(err: Exception, what: str) -> Exception:
    """The package error for a failure of ``what`` (e.g. "create the issue for R1/identify")."""
    import requests
    from jira import JIRAError

    if isinstance(err, JIRAError):
        status = err.status_code or 0
        response = err.response
        detail = _messages(response) if response is not None else ""
        text = f"Jira answered {status} when trying to {what}" + (f": {detail}" if detail else "")
        translated: IntegrationError
        if status in (429, 503):
            translated = RetryableError(
                text, retry_after=_retry_after(response), hint="Jira is limiting or shedding load"
            )
        elif status >= 500 or status in (408, 409, 425) or status == 0:
            translated = RetryableError(text)
        else:
            translated = PermanentError(
                text, hint=_HINTS.get(status, "the request cannot succeed as sent")
            )
        translated.answered = status or None
        return translated
    if isinstance(err, (requests.ConnectionError, requests.Timeout)):
        return RetryableError(f"Jira is not reachable, could not {what}: {type(err).__name__}")
    return err


class JiraConnection:
    """A lazily opened ``jira.JIRA`` client for one site and account.

    >>> conn = JiraConnection("https://example.atlassian.net", "bot@example.com", "token")
    >>> conn.project("AIMS", what="read the project")["name"]  # doctest: +SKIP
    'AI management system'
    """

    def __init__(self, url: str, email: str, api_token: str, *, timeout: float = 20.0) -> None:
        self.url = url.rstrip("/")
        self._email = email
        self._token = api_token  # never logged: the client is the only reader
        self.timeout = timeout
        self._client = None
        self._lock = threading.Lock()
        self.rate_limit: RateLimitSeen | None = None
        """The rate-limit facts of the latest answer that carried any (pacing the poll)."""

    def __repr__(self) -> str:
        return f"JiraConnection({self.url!r}, {self._email!r})"

    @property
    def client(self):
        """The ``jira.JIRA`` client (connects on first use: ``GET /serverInfo``)."""
        with self._lock:
            if self._client is None:
                from jira import JIRA

                try:
                    self._client = JIRA(
                        server=self.url,
                        basic_auth=(self._email, self._token),
                        options={"rest_api_version": "3"},
                        max_retries=0,
                        timeout=self.timeout,
                        get_server_info=True,
                    )
                except Exception as err:  # noqa: BLE001 - translated below
                    raise translate(err, f"connect to {self.url}") from None
                self._client._session.hooks["response"].append(self._observe)
            return self._client

    def _observe(self, response: Any, *args: Any, **kwargs: Any) -> None:
        """A requests response hook: keep what each answer says about the rate limit."""
        seen = rate_limit_of(response.status_code, response.headers)
        if seen is not None:
            self.rate_limit = seen

    def _public(self, what: str, method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """One call of the client's public API, its failure translated."""
        try:
            return method(*args, **kwargs)
        except Exception as err:  # noqa: BLE001 - translated
            raise translate(err, what) from None

    # -- the client's public API ----------------------------------------------------------------
    def server_info(self, *, what: str) -> dict[str, Any]:
        return self._public(what, self.client.server_info) or {}

    def myself(self, *, what: str) -> dict[str, Any]:
        return self._public(what, self.client.myself) or {}

    def fields(self, *, what: str) -> list[dict[str, Any]]:
        return list(self._public(what, self.client.fields) or [])

    def project(self, key: str, *, what: str) -> dict[str, Any]:
        return self._public(what, self.client.project, key).raw

    def project_role_actors(self, key: str, *, what: str) -> dict[str, list[dict[str, Any]]]:
        """Each project role's name -> its actors (``actorUser.accountId`` for a person)."""
        roles = self._public(what, self.client.project_roles, key) or {}
        return {
            name: list(
                self._public(what, self.client.project_role, key, ref["id"]).raw.get("actors") or []
            )
            for name, ref in roles.items()
        }

    def issue(
        self, key: str, *, fields: str, expand: str | None = None, what: str
    ) -> dict[str, Any]:
        """The issue's JSON with only ``fields`` (comma-separated), and ``expand`` if given."""
        return self._public(what, self.client.issue, key, fields=fields, expand=expand).raw

    def create_issue(self, fields: dict[str, Any], *, what: str) -> dict[str, Any]:
        """Create an issue; its ``id`` and ``key``. ``project`` and ``issuetype`` are given as
        objects (``{"key": ...}``, ``{"name": ...}``), which the client sends as they are."""
        return self._public(what, self.client.create_issue, fields=fields, prefetch=False).raw

    def issue_property(self, key: str, name: str, *, what: str) -> dict[str, Any]:
        """An issue property (``key`` and ``value``); a missing one is a 404 PermanentError."""
        return self._public(what, self.client.issue_property, key, name).raw

    def set_issue_property(self, key: str, name: str, value: Any, *, what: str) -> None:
        self._public(what, self.client.add_issue_property, key, name, value)

    def comments(
        self, key: str, *, order_by: str, max_results: int, what: str
    ) -> list[dict[str, Any]]:
        found = self._public(
            what, self.client.comments, key, order_by=order_by, max_results=max_results
        )
        return [comment.raw for comment in found]

    def add_comment(self, key: str, body: dict[str, Any], *, what: str) -> None:
        """Comment with an Atlassian Document Format ``body``."""
        self._public(what, self.client.add_comment, key, body)

    def transitions(
        self, key: str, *, expand: str | None = None, what: str
    ) -> list[dict[str, Any]]:
        return list(self._public(what, self.client.transitions, key, expand=expand) or [])

    def transition(
        self, key: str, transition_id: str, *, fields: dict[str, Any] | None = None, what: str
    ) -> None:
        self._public(what, self.client.transition_issue, key, transition_id, fields=fields)

    # -- what the client has no public method for --------------------------------------------
    def call(
        self,
        method: str,
        path: str,
        *,
        what: str,
        json: Any = None,
        params: dict[str, Any] | None = None,
        raw: bool = False,
    ) -> Any:
        """One REST v3 call (``path`` relative to ``/rest/api/3/``); the decoded JSON answer,
        None for an empty one, or the response itself with ``raw``.

        For the requests the client has no public method for, or only one that costs extra
        round trips: field contexts and options, custom field creation, user search by
        accountId, issue edits, issue links. They go through the client's authenticated
        session, which it does not expose publicly.
        """
        client = self.client
        base = client.server_url.rstrip("/")
        # a path from the site's root (the admin webhook API is outside /rest/api/3)
        url = f"{base}{path}" if path.startswith("/") else f"{base}/rest/api/3/{path}"
        try:
            response = client._session.request(method, url, json=json, params=params)
        except Exception as err:  # noqa: BLE001 - translated
            raise translate(err, what) from None
        if raw:
            return response
        return response.json() if response.content else None

    def download(self, url: str, *, what: str) -> bytes:
        """An attachment's bytes (``content`` link of an attachment). The client's public way
        (``attachment(id).get()``) first reads the attachment's metadata again: one more request
        for each file, for what the issue's attachment list already gave."""
        client = self.client
        try:
            return client._session.get(url).content
        except Exception as err:  # noqa: BLE001 - translated
            raise translate(err, what) from None

    def attach(self, issue_key: str, filename: str, content: bytes, *, what: str) -> Any:
        import io

        client = self.client
        try:
            return client.add_attachment(
                issue=issue_key, attachment=io.BytesIO(content), filename=filename
            )
        except Exception as err:  # noqa: BLE001 - translated
            raise translate(err, what) from None

    def search(
        self,
        jql: str,
        *,
        fields: list[str],
        properties: str | None = None,
        page_size: int = 50,
        reconcile: list[int] | None = None,
        what: str = "search for issues",
    ):
        """Every issue matching ``jql``, page by page over ``/search/jql`` (``nextPageToken``).

        ``reconcile``: ids of issues (at most 50, Jira's limit) whose latest writes the search
        must reflect although its index may not have caught up yet (``reconcileIssues``)."""
        client = self.client
        token: str | None = None
        while True:
            try:
                page = client.enhanced_search_issues(
                    jql,
                    nextPageToken=token,
                    maxResults=page_size,
                    fields=list(fields),
                    properties=properties,
                    reconcileIssues=list(reconcile or [])[:RECONCILE_LIMIT] or None,
                    json_result=True,
                )
            except Exception as err:  # noqa: BLE001 - translated
                raise translate(err, what) from None
            yield from page.get("issues") or []
            token = page.get("nextPageToken")
            if page.get("isLast", True) or not token:
                return
