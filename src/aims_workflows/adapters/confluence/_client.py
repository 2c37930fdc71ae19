"""The Confluence Cloud REST API v2 through atlassian-python-api, with errors that say what to do.

The library builds Cloud URLs under ``/wiki``; a site URL is given with or without it, and a
scoped token's gateway URL (``https://api.atlassian.com/ex/confluence/{cloudId}``) as it is.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from typing import Any

import requests

from ...errors import IntegrationError

__all__ = ["ConfluenceApi", "ConfluenceRequestError", "open_client"]

# The client logs each failure itself before raising; the raised error is reported here, with a
# hint, so its own lines would only repeat it on stderr.
logging.getLogger("atlassian").addHandler(logging.NullHandler())
logging.getLogger("atlassian").propagate = False


class ConfluenceRequestError(IntegrationError):
    """A request Confluence refused; ``status`` is its HTTP status (0: never answered)."""

    def __init__(self, message: str, *, status: int, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status


def _site_url(url: str) -> str:
    url = url.rstrip("/")
    if "api.atlassian.com/ex/confluence/" in url or url.endswith("/wiki"):
        return url
    return url + "/wiki"


def _detail(response: requests.Response) -> str:
    try:
        errors = response.json().get("errors") or []
        return "; ".join(str(e.get("title")) for e in errors if isinstance(e, dict)) or ""
    except ValueError:
        return response.text[:200]


_HINTS = {
    401: (
        "the e-mail or API token is wrong, or the token expired: create a token at "
        "id.atlassian.com (Security, API tokens) and set AIMS_CONFLUENCE_EMAIL and "
        "AIMS_CONFLUENCE_API_TOKEN"
    ),
    403: "the account may not do this: give it permission to add and edit pages in the space",
    404: (
        "not found, or the account may not see it: check AIMS_CONFLUENCE_SPACE and that the "
        "account has permission to add pages in that space"
    ),
}


class ConfluenceApi:
    """The few calls a publisher makes, each translating failures into one clear error."""

    def __init__(self, url: str, email: str, token: str, *, timeout: float = 30.0) -> None:
        from atlassian import ConfluenceV2

        self.url = _site_url(url)
        with warnings.catch_warnings():
            # the client warns on construction that its v1 method names are deprecated
            warnings.simplefilter("ignore", DeprecationWarning)
            self._client = ConfluenceV2(
                self.url, username=email, password=token, cloud=True, timeout=timeout
            )

    def _call(self, what: str, call: Callable[[], Any]) -> Any:
        # the client's own annotations do not match what it returns (get_pages gives a list)
        try:
            return call()
        except requests.HTTPError as exc:
            response = exc.response
            status = response.status_code if response is not None else 0
            detail = _detail(response) if response is not None else ""
            raise ConfluenceRequestError(
                f"Confluence refused to {what}: HTTP {status} {detail}".rstrip(),
                status=status,
                hint=_HINTS.get(status),
            ) from None
        except requests.RequestException as exc:
            raise ConfluenceRequestError(
                f"cannot reach Confluence at {self.url} to {what}: {type(exc).__name__}",
                status=0,
                hint="check AIMS_CONFLUENCE_URL (e.g. https://example.atlassian.net/wiki)",
            ) from None

    def space(self, key: str) -> dict[str, Any]:
        def find() -> dict[str, Any]:
            spaces = self._client.get_spaces(keys=[key], limit=1)
            if not spaces:
                raise ConfluenceRequestError(
                    f"Confluence has no space {key!r} that this account can see",
                    status=404,
                    hint="set AIMS_CONFLUENCE_SPACE to the space's key (shown in its URL)",
                )
            return dict(spaces[0])

        return self._call(f"find space {key}", find)

    def may_write_pages(self, space_id: str) -> bool:
        """Whether the account may create pages in the space (its permitted operations)."""
        answer = self._call(
            "read what the account may do in the space",
            lambda: self._client.get(f"api/v2/spaces/{space_id}/operations"),
        )
        operations = (answer or {}).get("operations") or []
        return any(
            o.get("operation") == "create" and o.get("targetType") == "page" for o in operations
        )

    def page_titled(self, space_id: str, title: str) -> dict[str, Any] | None:
        pages = self._call(
            f"look up page {title!r}",
            lambda: self._client.get_pages(
                space_id=space_id, title=title, status="current", body_format="storage"
            ),
        )
        return dict(pages[0]) if pages else None

    def page(self, page_id: str) -> dict[str, Any] | None:
        """The page with its storage body, or None when it no longer exists."""
        try:
            return dict(
                self._call(
                    f"read page {page_id}",
                    lambda: self._client.get_page_by_id(page_id, body_format="storage"),
                )
            )
        except ConfluenceRequestError as exc:
            if exc.status == 404:
                return None
            raise

    def create(self, space_id: str, parent_id: str | None, title: str, body: str) -> dict[str, Any]:
        return dict(
            self._call(
                f"create page {title!r}",
                lambda: self._client.create_page(
                    space_id=space_id, title=title, body=body, parent_id=parent_id
                ),
            )
        )

    def update(
        self, page_id: str, title: str, body: str, number: int, message: str
    ) -> dict[str, Any]:
        # The library's update_page writes a fixed version message and leaves out the status
        # and title that the API requires, so the documented request is sent as it is.
        data = {
            "id": page_id,
            "status": "current",
            "title": title,
            "body": {"representation": "storage", "value": body},
            "version": {"number": number, "message": message},
        }
        endpoint = self._client.get_endpoint("page_by_id", id=page_id)
        return dict(
            self._call(f"update page {title!r}", lambda: self._client.put(endpoint, data=data))
        )

    def web_url(self, page: dict[str, Any]) -> str:
        return self.url + str((page.get("_links") or {}).get("webui", f"/pages/{page['id']}"))


def open_client(url: str, email: str, token: str) -> ConfluenceApi:
    return ConfluenceApi(url, email, token)
