"""The Jira sandbox in a browser: a project board at ``/`` and issue pages at ``/browse/KEY``.

A person picks who they are (a cookie, as a stand-in for signing in), opens an issue, fills in
its fields and moves it along the workflow. Every change is made through the sandbox's REST API
with that person's API token, so it is attributed to them and reported by the same signed
webhooks as any other edit or transition.

Which custom fields an issue page offers is ``JiraBrowser.screen``: a function of the issue's
entity properties returning field ids (the product that created the issue knows its fields);
without one, the page shows the custom fields that hold a value.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx
from markupsafe import Markup, escape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from .._browser import read_form, render_page
from ._browser_fields import Editor, editors_for, submitted_value
from ._errors import JiraApiError
from ._model import Issue, JiraUser
from ._people import JiraSandboxPerson
from ._render import Renderer
from ._state import JiraState
from ._workflow import STATUSES, TRANSITIONS

__all__ = ["JiraBrowser", "adf_html", "COOKIE"]

COOKIE = "jira_sandbox_account"

Screen = Callable[[dict[str, Any]], list[str] | None]
"""Issue entity properties -> the custom field ids its page offers (None: the default)."""


class JiraBrowser:
    """The pages of one Jira sandbox site; ``app`` is their ASGI app."""

    def __init__(
        self, state: JiraState, renderer: Callable[[], Renderer], service_account_id: str
    ) -> None:
        self.state = state
        self.renderer = renderer
        self.service_account_id = service_account_id
        self.screen: Screen | None = None
        self.links: list[tuple[str, str]] = []
        """(label, URL) pairs shown in the page header, e.g. the Slack sandbox's pages."""
        self.app = Starlette(
            routes=[
                Route("/", self.board, methods=["GET"]),
                Route("/session", self.sign_in, methods=["POST"]),
                Route("/browse/{key}", self.issue_page, methods=["GET"]),
                Route("/browse/{key}", self.save_issue, methods=["POST"]),
            ]
        )
        self.app.add_exception_handler(404, self._not_found)

    # -- people ------------------------------------------------------------------------------
    def people(self) -> list[JiraUser]:
        """Who can sign in: every active user but the integration's own account."""
        with self.state.lock:
            return sorted(
                (
                    u
                    for u in self.state.users.values()
                    if u.active and u.account_id != self.service_account_id
                ),
                key=lambda u: u.display_name.lower(),
            )

    def _me(self, request: Request) -> JiraUser | None:
        account = request.cookies.get(COOKIE, "")
        with self.state.lock:
            user = self.state.users.get(account)
        return user if user is not None and user.active else None

    def _page(self, request: Request, name: str, status_code: int = 200, **context: Any):
        return render_page(
            name,
            status_code,
            me=self._me(request),
            people=self.people(),
            links=self.links,
            here=request.url.path,
            adf_html=adf_html,
            **context,
        )

    async def sign_in(self, request: Request) -> Response:
        form = await read_form(request)
        account = form.get("account")
        target = form.get("next", "/")
        if not target.startswith("/") or target.startswith("//"):
            target = "/"  # only this site's own pages
        response = RedirectResponse(target, status_code=303)
        if any(u.account_id == account for u in self.people()):
            response.set_cookie(COOKIE, account, httponly=True, samesite="lax")
        else:
            response.delete_cookie(COOKIE)
        return response

    # -- board -------------------------------------------------------------------------------
    async def board(self, request: Request) -> Response:
        with self.state.lock:
            names = self.state.user_names()
            projects = [p for p in self.state.projects.values() if not p.deleted]
            columns = [
                (
                    status,
                    [
                        _card(issue, names)
                        for issue in sorted(self.state.issues.values(), key=_number)
                        if issue.status_id == status.id
                        and not self.state.projects[issue.project_id].deleted
                    ],
                )
                for status in STATUSES.values()
            ]
        return self._page(request, "jira_board.html", projects=projects, columns=columns, refresh=8)

    # -- issue -------------------------------------------------------------------------------
    def _issue(self, key: str) -> Issue | None:
        try:
            return self.state.issue(key)
        except JiraApiError:
            return None

    def _view(self, issue: Issue) -> dict[str, Any]:
        """What the issue page shows, read under the lock in one go."""
        rendered = self.renderer().issue(issue)
        fields = rendered["fields"]
        wanted = self.screen(dict(issue.properties)) if self.screen is not None else None
        if wanted is None:
            wanted = [
                f.id for f in self.state.live_fields() if f.custom and fields.get(f.id) is not None
            ]
        return {
            "issue": rendered,
            "fields": fields,
            "editors": editors_for(self.state, issue, fields, wanted),
            "status": STATUSES[issue.status_id],
            "statuses": list(STATUSES.values()),
        }

    async def issue_page(self, request: Request) -> Response:
        key = request.path_params["key"]
        with self.state.lock:
            issue = self._issue(key)
            view = self._view(issue) if issue is not None else None
        if view is None:
            return self._page(request, "jira_missing.html", 404, key=key)
        saved = request.query_params.get("saved") == "1"
        return self._page(request, "jira_issue.html", saved=saved, problems=[], **view)

    async def save_issue(self, request: Request) -> Response:
        key = request.path_params["key"]
        form = await read_form(request)
        me = self._me(request)
        with self.state.lock:
            issue = self._issue(key)
            view = self._view(issue) if issue is not None else None
        if view is None or issue is None:
            return self._page(request, "jira_missing.html", 404, key=key)
        if me is None:
            who = ["Choose who you are (top right) before you change an issue."]
            return self._page(request, "jira_issue.html", 403, saved=False, problems=who, **view)
        editors: list[Editor] = view["editors"]
        changes: dict[str, Any] = {}
        problems: list[str] = []
        posted = form.names()
        for editor in editors:
            if "f." + editor.id not in posted:
                continue  # not on the form that was sent: left as it is
            raw = form.all("f." + editor.id)
            try:
                changed, value = submitted_value(editor, raw)
            except ValueError as exc:
                editor.error = str(exc)
                continue
            if changed:
                changes[editor.id] = value
            editor.value = (
                [v for v in raw if v] if editor.kind == "multiselect" else (raw[0] if raw else "")
            )
        moves = _path(issue.status_id, form.get("status", issue.status_id))
        if not any(e.error for e in editors):
            problems = await run_in_threadpool(self._apply, me, key, changes, moves, editors)
        if problems or any(e.error for e in editors):
            # Jira keeps what was typed and shows each field's error beside it.
            with self.state.lock:
                current = self._view(issue)
            current["editors"] = editors
            return self._page(
                request, "jira_issue.html", 400, saved=False, problems=problems, **current
            )
        return RedirectResponse(f"/browse/{quote(issue.key)}?saved=1", status_code=303)

    def _apply(
        self,
        me: JiraUser,
        key: str,
        changes: dict[str, Any],
        moves: list[str],
        editors: list[Editor],
    ) -> list[str]:
        """Edit, then transition, over REST as ``me``; Jira's complaints, if any."""
        base_url = self.renderer().base_url
        with JiraSandboxPerson(base_url, me) as person:
            try:
                if changes:
                    person.fill_in(key, changes)
                for name in moves:
                    person.transition(key, name)
            except httpx.HTTPStatusError as exc:
                return _complaints(exc.response, editors)
            except (httpx.HTTPError, ValueError) as exc:
                return [f"Jira could not be reached: {exc}"]
        return []

    async def _not_found(self, request: Request, exc: Exception) -> Response:
        return self._page(request, "jira_missing.html", 404, key=None)


def _number(issue: Issue) -> tuple[str, int]:
    prefix, _, number = issue.key.rpartition("-")
    return prefix, int(number) if number.isdigit() else 0


def _card(issue: Issue, names: dict[str, str]) -> dict[str, Any]:
    assignee = issue.fields.get("assignee")
    return {
        "key": issue.key,
        "summary": issue.fields.get("summary") or "",
        "assignee": names.get(assignee, "Unassigned") if assignee else "Unassigned",
        "assignee_id": assignee,
        "due": issue.fields.get("duedate"),
    }


def _path(from_id: str, to_id: str) -> list[str]:
    """Names of the transitions that lead from one status to another (shortest way)."""
    if to_id not in STATUSES or to_id == from_id:
        return []
    seen = {from_id}
    queue: deque[tuple[str, list[str]]] = deque([(from_id, [])])
    while queue:
        status, names = queue.popleft()
        for transition in TRANSITIONS:
            if transition.from_id != status or transition.to_id in seen:
                continue
            if transition.to_id == to_id:
                return [*names, transition.name]
            seen.add(transition.to_id)
            queue.append((transition.to_id, [*names, transition.name]))
    return []


def _complaints(response: httpx.Response, editors: list[Editor]) -> list[str]:
    """Jira's error answer, each field's message put beside the field."""
    try:
        body = response.json()
    except json.JSONDecodeError:
        return [f"Jira answered {response.status_code}"]
    by_id = {e.id: e for e in editors}
    problems = [str(m) for m in body.get("errorMessages", [])]
    for field_id, message in (body.get("errors") or {}).items():
        if field_id in by_id:
            by_id[field_id].error = str(message)
        else:
            problems.append(f"{field_id}: {message}")
    return problems or [f"Jira answered {response.status_code}"]


# -- Atlassian Document Format to HTML --------------------------------------------------------
_BLOCK_TAGS = {
    "paragraph": "p",
    "bulletList": "ul",
    "orderedList": "ol",
    "listItem": "li",
    "blockquote": "blockquote",
    "codeBlock": "pre",
}


def _text(node: dict[str, Any]) -> Markup:
    html = escape(str(node.get("text", "")))
    for mark in node.get("marks") or []:
        kind = mark.get("type") if isinstance(mark, dict) else None
        if kind == "strong":
            html = Markup("<strong>%s</strong>") % html
        elif kind == "em":
            html = Markup("<em>%s</em>") % html
        elif kind == "code":
            html = Markup("<code>%s</code>") % html
        elif kind == "link":
            href = str((mark.get("attrs") or {}).get("href", ""))
            if href.startswith(("http://", "https://", "/")):
                html = Markup('<a href="%s">%s</a>') % (href, html)
    return html


def adf_html(node: Any) -> Markup:
    """An ADF document as HTML (the nodes the product and people write; others as text)."""
    if not isinstance(node, dict):
        return Markup("")
    kind = node.get("type")
    if kind == "text":
        return _text(node)
    if kind == "hardBreak":
        return Markup("<br>")
    if kind == "rule":
        return Markup("<hr>")
    inner = Markup("").join(adf_html(child) for child in node.get("content") or [])
    if kind == "heading":
        level = node.get("attrs", {}).get("level", 3)
        level = level if isinstance(level, int) and 1 <= level <= 6 else 3
        return Markup(f"<h{max(level, 3)}>") + inner + Markup(f"</h{max(level, 3)}>")
    tag = _BLOCK_TAGS.get(str(kind))
    if tag:
        return Markup(f"<{tag}>") + inner + Markup(f"</{tag}>")
    return inner
