"""The Confluence site's data: accounts, spaces and pages with every version kept.

Operations raise :class:`ConfluenceApiError` with the status and message the real service
gives, and the routes turn it into Confluence's error answer. What the sandbox enforces is
what a publisher has to cope with on a real site: a title is unique within a space, a parent
must be a page of the same space, a storage body must be well-formed XHTML, an update must
carry the current version number plus one (409 otherwise), and only the space's writers may
create or change pages.
"""

from __future__ import annotations

import html.entities
import itertools
import re
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

__all__ = [
    "ConfluenceApiError",
    "ConfluenceState",
    "ConfluenceUser",
    "Page",
    "PageVersion",
    "Space",
    "utcnow",
]


def utcnow() -> datetime:
    return datetime.now(UTC)


class ConfluenceApiError(Exception):
    """An answer other than success, as the routes will send it."""

    def __init__(self, status: int, code: str, title: str) -> None:
        super().__init__(f"{status} {code}: {title}")
        self.status = status
        self.code = code
        self.title = title


@dataclass(frozen=True)
class ConfluenceUser:
    """An Atlassian account that signs in with e-mail and API token (basic auth)."""

    account_id: str
    email: str
    display_name: str
    api_token: str


@dataclass
class Space:
    id: str
    key: str
    name: str
    author_id: str
    created_at: datetime
    writers: set[str] | None = None
    """Account ids that may create and edit pages; None: every account may."""
    homepage_id: str | None = None

    def may_write(self, account_id: str) -> bool:
        return self.writers is None or account_id in self.writers


@dataclass(frozen=True)
class PageVersion:
    number: int
    message: str
    author_id: str
    created_at: datetime
    title: str
    body: str


@dataclass
class Page:
    id: str
    space_id: str
    parent_id: str | None
    status: str
    author_id: str
    created_at: datetime
    versions: list[PageVersion] = field(default_factory=list)

    @property
    def current(self) -> PageVersion:
        return self.versions[-1]


_NAMED_ENTITY = re.compile(r"&([A-Za-z][A-Za-z0-9]*);")
_XML_ENTITIES = {"amp", "lt", "gt", "quot", "apos"}


def _numeric_entities(text: str) -> str:
    """HTML's named entities (``&nbsp;``) as numeric ones, which an XML parser knows."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in _XML_ENTITIES:
            return match.group(0)
        codepoint = html.entities.name2codepoint.get(name)
        return f"&#{codepoint};" if codepoint is not None else match.group(0)

    return _NAMED_ENTITY.sub(replace, text)


def check_storage(value: str) -> None:
    """Confluence refuses a storage body that is not well-formed XHTML."""
    # ac: and ri: prefixes (macros, resource identifiers) are declared so that they parse.
    wrapped = (
        '<root xmlns:ac="http://atlassian.com/content" xmlns:ri="http://atlassian.com/resource">'
        f"{_numeric_entities(value)}</root>"
    )
    try:
        ET.fromstring(wrapped)
    except ET.ParseError as exc:
        raise ConfluenceApiError(
            400, "INVALID_REQUEST_PARAMETER", f"Error parsing xhtml: {exc}"
        ) from None


class ConfluenceState:
    """Thread-safe store of one site; ``lock`` guards every read and write."""

    def __init__(self, users: list[ConfluenceUser], clock: Callable[[], datetime]) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.users = {u.email.lower(): u for u in users}
        self.spaces: dict[str, Space] = {}
        self.pages: dict[str, Page] = {}
        self._ids = itertools.count(65537)

    def _next_id(self) -> str:
        return str(next(self._ids))

    def user_by_email(self, email: str) -> ConfluenceUser | None:
        return self.users.get(email.lower())

    def add_space(self, key: str, name: str, *, writers: set[str] | None = None) -> Space:
        author = next(iter(self.users.values())).account_id
        space = Space(self._next_id(), key, name, author, self.clock())
        self.spaces[space.id] = space
        home = self.create_page(author, space.id, f"{name} Home", "<p>Welcome.</p>", None)
        space.homepage_id = home.id
        space.writers = writers  # the space's creator made its home page before any restriction
        return space

    def space_by_key(self, key: str) -> Space | None:
        return next((s for s in self.spaces.values() if s.key == key), None)

    def page(self, page_id: str) -> Page:
        page = self.pages.get(page_id)
        if page is None or page.status != "current":
            raise ConfluenceApiError(404, "NOT_FOUND", "Page not found")
        return page

    def _space_for_write(self, account_id: str, space_id: str) -> Space:
        space = self.spaces.get(space_id)
        if space is None:
            raise ConfluenceApiError(404, "NOT_FOUND", f"Space {space_id} was not found")
        if not space.may_write(account_id):
            # Confluence answers 404 rather than revealing a space the caller may not change.
            raise ConfluenceApiError(
                404, "NOT_FOUND", "The user does not have permission to create pages here"
            )
        return space

    def _check_title(self, space_id: str, title: str, exclude: str | None = None) -> None:
        if not title.strip():
            raise ConfluenceApiError(400, "INVALID_REQUEST_PARAMETER", "Title is required")
        if len(title) > 255:
            raise ConfluenceApiError(
                400, "INVALID_REQUEST_PARAMETER", "Title cannot be longer than 255 characters"
            )
        for other in self.pages.values():
            if (
                other.space_id == space_id
                and other.id != exclude
                and other.status == "current"
                and other.current.title == title
            ):
                raise ConfluenceApiError(
                    400,
                    "INVALID_REQUEST_PARAMETER",
                    "A page with this title already exists: A page already exists with the "
                    "same TITLE in this space",
                )

    def create_page(
        self,
        account_id: str,
        space_id: str,
        title: str,
        body: str,
        parent_id: str | None,
        message: str = "",
    ) -> Page:
        space = self._space_for_write(account_id, space_id)
        self._check_title(space.id, title)
        check_storage(body)
        if parent_id is not None:
            parent = self.pages.get(parent_id)
            if parent is None or parent.space_id != space.id or parent.status != "current":
                raise ConfluenceApiError(
                    404, "NOT_FOUND", f"Parent page {parent_id} was not found in this space"
                )
        else:
            parent_id = space.homepage_id
        now = self.clock()
        page = Page(self._next_id(), space.id, parent_id, "current", account_id, now)
        page.versions.append(PageVersion(1, message, account_id, now, title, body))
        self.pages[page.id] = page
        return page

    def update_page(
        self,
        account_id: str,
        page_id: str,
        *,
        title: str,
        body: str,
        number: int,
        message: str,
        parent_id: str | None = None,
    ) -> Page:
        page = self.page(page_id)
        self._space_for_write(account_id, page.space_id)
        expected = page.current.number + 1
        if number != expected:
            raise ConfluenceApiError(
                409,
                "CONFLICT",
                "Version must be incremented when updating a page. "
                f"Current Version: [{page.current.number}]. Provided version: [{number}]",
            )
        self._check_title(page.space_id, title, exclude=page.id)
        check_storage(body)
        if parent_id is not None:
            page.parent_id = parent_id
        page.versions.append(PageVersion(number, message, account_id, self.clock(), title, body))
        return page

    def children(self, page_id: str) -> list[Page]:
        self.page(page_id)
        return [p for p in self.pages.values() if p.parent_id == page_id and p.status == "current"]
