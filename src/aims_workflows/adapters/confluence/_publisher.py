"""Create or update one Confluence page per document, never overwriting a person's edits.

Each page is found by what the ledger says aims last published (page id and version). A page
whose current version is not that one was edited in Confluence since: the publish stops and
says so, unless the caller chose to overwrite. A version that carries aims' own marker in its
comment is one that aims published and could not record (a crash in between), not an edit.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Literal

from ...errors import IntegrationError
from ._client import ConfluenceApi, ConfluenceRequestError

__all__ = [
    "MARKER",
    "EditedInConfluence",
    "LastPublication",
    "Published",
    "publish_page",
]

MARKER = "[aims]"
"""Starts every version comment aims writes."""


class EditedInConfluence(IntegrationError):
    """The page changed in Confluence since aims last published it."""


@dataclass(frozen=True)
class LastPublication:
    page_id: str
    version: int


@dataclass(frozen=True)
class Published:
    action: Literal["created", "updated", "unchanged"]
    page_id: str
    version: int
    title: str
    url: str
    space: str


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _body(page: dict[str, Any]) -> str:
    return str(((page.get("body") or {}).get("storage") or {}).get("value", ""))


def _version(page: dict[str, Any]) -> dict[str, Any]:
    return dict(page.get("version") or {})


def _ensure_parent(api: ConfluenceApi, space: dict[str, Any], title: str) -> str:
    found = api.page_titled(space["id"], title)
    if found is not None:
        return str(found["id"])
    intro = (
        "<p>Documents of the AI management system, published from its evidence ledger. "
        "Each page's version comments name the ledger head it was built from.</p>"
    )
    return str(api.create(space["id"], space.get("homepageId") or None, title, intro)["id"])


def _edited(title: str, page: dict[str, Any], since: int | None, space: str) -> EditedInConfluence:
    version = _version(page)
    when = str(version.get("createdAt", ""))[:19]
    since_text = f"since aims published version {since}" if since else "and aims did not create it"
    return EditedInConfluence(
        f"the Confluence page {title!r} in space {space} was changed by hand {since_text}: "
        f"now version {version.get('number')} by account {version.get('authorId')} at {when}",
        hint=(
            "carry the edits into aims (aims.yaml, the workflows or the records) and publish "
            "again with --overwrite, or rename the page in Confluence to keep it"
        ),
    )


def publish_page(
    api: ConfluenceApi,
    *,
    space_key: str,
    parent_title: str,
    title: str,
    body: str,
    message: str,
    last: LastPublication | None,
    overwrite: bool = False,
) -> Published:
    """Create the page, or update it to ``body`` with ``message`` as the version comment."""
    space = api.space(space_key)
    comment = f"{MARKER} {message}"
    page = api.page(last.page_id) if last is not None else None
    if page is None:
        page = api.page_titled(space["id"], title)
        # a page with exactly this body loses nothing when adopted (it is what aims created
        # just before it stopped, or an identical copy); any other page is someone's work
        if page is not None and not overwrite and _sha(_body(page)) != _sha(body):
            raise _edited(title, page, None, space_key)
        if page is not None and _sha(_body(page)) == _sha(body):
            number = int(_version(page).get("number", 1))
            return Published(
                "unchanged", str(page["id"]), number, title, api.web_url(page), space_key
            )
    if page is None:
        parent = _ensure_parent(api, space, parent_title)
        created = api.create(space["id"], parent, title, body)
        # a page is created with an empty version comment: the first update would show none
        # of where it came from, so the ledger row carries it (and later versions carry theirs)
        number = int(_version(created).get("number", 1))
        return Published(
            "created", str(created["id"]), number, title, api.web_url(created), space_key
        )

    version = _version(page)
    number = int(version.get("number", 0))
    ours = last is not None and number == last.version
    if not ours and str(version.get("message", "")).startswith(MARKER):
        ours = True  # published by aims and not recorded (the process stopped in between)
    if not ours and not overwrite:
        raise _edited(title, page, last.version if last else None, space_key)
    if _sha(_body(page)) == _sha(body) and str(page.get("title")) == title:
        return Published("unchanged", str(page["id"]), number, title, api.web_url(page), space_key)
    try:
        updated = api.update(str(page["id"]), title, body, number + 1, comment)
    except ConfluenceRequestError as exc:
        if exc.status == 409:
            fresh = api.page(str(page["id"])) or page
            raise _edited(title, fresh, number, space_key) from None
        raise
    return Published(
        "updated",
        str(updated["id"]),
        int(_version(updated).get("number", number + 1)),
        title,
        api.web_url(updated),
        space_key,
    )
