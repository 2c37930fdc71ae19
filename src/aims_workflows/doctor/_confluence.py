"""Confluence: the site reachable with the account, the space visible and writable."""

from __future__ import annotations

from ..adapters.confluence import open_client
from ..errors import AimsError
from ._check import Check

__all__ = ["confluence_checks"]


def confluence_checks(url: str, email: str, token: str, space_key: str) -> list[Check]:
    api = open_client(url, email, token)
    try:
        space = api.space(space_key)
    except AimsError as err:
        return [Check("confluence", "space", "fail", err.message, err.hint or "")]
    checks = [Check("confluence", "space", "ok", f"{space_key} ({space.get('name')}) at {api.url}")]
    try:
        writable = api.may_write_pages(str(space["id"]))
    except AimsError as err:
        checks.append(Check("confluence", "writable", "fail", err.message, err.hint or ""))
        return checks
    checks.append(
        Check("confluence", "writable", "ok", "the account may add and edit pages")
        if writable
        else Check(
            "confluence",
            "writable",
            "fail",
            f"the account may read space {space_key} but not add pages",
            "give it the space permission to add pages (Space settings, Permissions)",
        )
    )
    return checks
