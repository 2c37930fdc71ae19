"""What the sandboxes' browser pages share: the front that splits a site between its API and its
pages, the page templates, and reading an HTML form.

The pages are for a person trying the product with a browser: server-rendered HTML, no
JavaScript and no asset from the network. They act only through the sandbox's own API (the Jira
pages call the REST API as the signed-in person; the Slack pages send the signed requests Slack
sends), so what the product sees is what it would see from the real service.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["SiteFront", "Form", "read_form", "render_page", "templates"]

_TEMPLATES = Path(__file__).parent / "templates"
_env: Environment | None = None


def templates() -> Environment:
    """The pages' Jinja2 environment (autoescaped), made once."""
    global _env
    if _env is None:
        _env = Environment(
            loader=FileSystemLoader(_TEMPLATES),
            autoescape=select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )
    return _env


def render_page(name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """``templates/<name>`` rendered as an HTML answer."""
    html = templates().get_template(name).render(**context)
    return HTMLResponse(html, status_code=status_code)


class SiteFront:
    """One site on one port: requests under ``api_prefixes`` go to the API app, the rest to the
    pages. The API app stays exactly as the vendor's API is (its routing table is compared with
    the vendor's description), and the pages need none of its authentication."""

    def __init__(self, api: ASGIApp, pages: ASGIApp, api_prefixes: Iterable[str]) -> None:
        self.api = api
        self.pages = pages
        self.api_prefixes = tuple(api_prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope["path"].startswith(self.api_prefixes):
            await self.pages(scope, receive, send)
        else:
            await self.api(scope, receive, send)


class Form:
    """The fields of a submitted HTML form; a name may repeat (checkboxes)."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self.pairs = pairs

    def get(self, name: str, default: str = "") -> str:
        return next((v for k, v in self.pairs if k == name), default)

    def all(self, name: str) -> list[str]:
        return [v for k, v in self.pairs if k == name]

    def names(self) -> set[str]:
        return {k for k, _ in self.pairs}


_MAX_FORM = 256 * 1024


async def read_form(request: Request) -> Form:
    """An ``application/x-www-form-urlencoded`` body (what a plain HTML form posts).

    Parsed here rather than with ``request.form()``, which needs python-multipart; a body too
    large for a form a person fills in is cut (the pages then report missing fields)."""
    body = (await request.body())[:_MAX_FORM]
    return Form(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
