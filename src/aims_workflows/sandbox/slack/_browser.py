"""The Slack sandbox in a browser: pick a person, see their channels and their DM with the app,
with Block Kit rendered; buttons work and modals open and submit.

Every click and submission is a :class:`Person` action: the payload Slack would build, signed
with the app's signing secret and delivered to the app's request URL, with the app's answer
applied as Slack's client applies it. The pages only read the workspace and call those actions.

``SlackBrowser.settle`` (optional) runs after each action, before the page is shown again: an
app running in the same process can wait there for the work it does after acknowledging (such
as opening a modal), so the next page shows it. Without it, pages refresh every few seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from .._browser import Form, read_form, render_page
from ._browser_blocks import BlockRenderer, input_name
from ._delivery import Delivery
from ._elements import input_elements
from ._errors import SandboxUsageError
from ._model import Conversation, SlackUser, View

if TYPE_CHECKING:
    from ._sandbox import SlackSandbox

__all__ = ["SlackBrowser"]


class SlackBrowser:
    """The pages of one Slack sandbox; ``app`` is their ASGI app."""

    def __init__(self, sandbox: SlackSandbox) -> None:
        self.sandbox = sandbox
        self.settle: Callable[[], Any] | None = None
        self.links: list[tuple[str, str]] = []
        """(label, URL) pairs shown in the page header, e.g. the Jira sandbox's board."""
        self.app = Starlette(
            routes=[
                Route("/", self.people_page, methods=["GET"]),
                Route("/client/{user}", self.client_page, methods=["GET"]),
                Route("/client/{user}/click", self.click, methods=["POST"]),
                Route("/client/{user}/submit", self.submit, methods=["POST"]),
                Route("/client/{user}/close", self.close, methods=["POST"]),
            ]
        )
        self.app.add_exception_handler(404, self._not_found)

    @property
    def _ws(self):
        return self.sandbox.workspace

    def _people(self) -> list[SlackUser]:
        with self._ws.lock:
            return sorted(
                (u for u in self._ws.users.values() if not u.deleted),
                key=lambda u: u.real_name.lower(),
            )

    def _names(self) -> dict[str, str]:
        with self._ws.lock:
            names = {u.id: u.real_name for u in self._ws.users.values()}
            names[self._ws.bot.user_id] = self._ws.bot.name
            return names

    def _page(self, request: Request, name: str, status_code: int = 200, **context: Any):
        return render_page(
            name,
            status_code,
            links=self.links,
            team=self._ws.team_name,
            bot=self._ws.bot.name,
            **context,
        )

    async def _not_found(self, request: Request, exc: Exception) -> Response:
        return self._page(request, "slack_people.html", 404, people=self._people(), missing=True)

    # -- pages ------------------------------------------------------------------------------
    async def people_page(self, request: Request) -> Response:
        return self._page(request, "slack_people.html", people=self._people(), missing=False)

    def _user(self, request: Request) -> SlackUser | None:
        with self._ws.lock:
            user = self._ws.users.get(request.path_params["user"])
        return user if user is not None and not user.deleted else None

    def _places(self, user: SlackUser) -> tuple[list[Conversation], Conversation | None]:
        """The person's channels, and their DM with the app (None until the app writes)."""
        with self._ws.lock:
            conversations = list(self._ws.conversations.values())
        channels = sorted(
            (c for c in conversations if not c.is_im and user.id in c.members),
            key=lambda c: c.name,
        )
        dm = next((c for c in conversations if c.is_im and c.user == user.id), None)
        return channels, dm

    async def client_page(self, request: Request) -> Response:
        user = self._user(request)
        if user is None:
            return await self._not_found(request, Exception())
        channels, dm = self._places(user)
        wanted = request.query_params.get("c")
        current = next((c for c in [*channels, *([dm] if dm else [])] if c.id == wanted), None)
        current = current or dm or (channels[0] if channels else None)
        names = self._names()
        action = f"/client/{user.id}/click"
        items: list[dict[str, Any]] = []
        if current is not None:
            with self._ws.lock:
                messages = self._ws.snapshot(self._ws.messages.get(current.id, []))
                ephemerals = self._ws.snapshot(
                    e for e in self._ws.ephemerals.get(user.id, []) if e.channel == current.id
                )
            for message in messages:
                hidden = {"channel": current.id, "ts": message.ts, "c": current.id}
                renderer = BlockRenderer(action, hidden, names)
                items.append(
                    _item(
                        message.ts,
                        names.get(message.user, message.user),
                        message.text,
                        renderer.blocks(message.blocks),
                        ephemeral=False,
                        edited=message.edited_ts is not None,
                    )
                )
            for ephemeral in ephemerals:
                hidden = {"ephemeral": ephemeral.ts, "c": current.id}
                renderer = BlockRenderer(action, hidden, names)
                items.append(
                    _item(
                        ephemeral.ts,
                        self._ws.bot.name,
                        ephemeral.text,
                        renderer.blocks(ephemeral.blocks),
                        ephemeral=True,
                        edited=False,
                    )
                )
        items.sort(key=lambda i: float(i["ts"]))
        modal = self.sandbox.modal(user.id)
        modal_html = None
        if modal is not None:
            renderer = BlockRenderer(
                action,
                {"view": modal.id, "c": current.id if current else ""},
                names,
                values=modal.state.get("values", {}),
                errors=modal.errors,
            )
            modal_html = renderer.blocks(modal.blocks)
        return self._page(
            request,
            "slack_client.html",
            me=user,
            channels=channels,
            dm=dm,
            current=current,
            items=items,
            modal=modal,
            modal_html=modal_html,
            note=request.query_params.get("note"),
            problem=request.query_params.get("problem"),
            # reading, not typing: refresh to show what the app posts, never over a modal
            refresh=None if modal is not None else 5,
        )

    # -- actions ----------------------------------------------------------------------------
    def _back(self, user: SlackUser, form: Form, **message: str) -> RedirectResponse:
        query = {"c": form.get("c")} if form.get("c") else {}
        query.update({k: v for k, v in message.items() if v})
        suffix = "?" + urlencode(query) if query else ""
        return RedirectResponse(f"/client/{user.id}{suffix}", status_code=303)

    def _after(self, delivery: Delivery | None) -> str | None:
        """Wait for the app's follow-up work (when told how); what went wrong, if anything."""
        if self.settle is not None:
            self.settle()
        if delivery is None or delivery.ok:
            return None
        status = delivery.status if delivery.status is not None else "no answer"
        return f"The app did not accept the request ({status}): {delivery.response_text[:200]}"

    def _target(self, user: SlackUser, form: Form) -> Any:
        if form.get("view"):
            with self._ws.lock:
                view = self._ws.views.get(form.get("view"))
                return self._ws.snapshot([view])[0] if view is not None else None
        if form.get("ephemeral"):
            with self._ws.lock:
                found = [
                    e for e in self._ws.ephemerals.get(user.id, []) if e.ts == form.get("ephemeral")
                ]
                return self._ws.snapshot(found)[0] if found else None
        return {"channel": form.get("channel"), "ts": form.get("ts")}

    async def click(self, request: Request) -> Response:
        user = self._user(request)
        form = await read_form(request)
        if user is None:
            return await self._not_found(request, Exception())
        target = self._target(user, form)
        if target is None:
            return self._back(user, form, problem="That message or view is gone.")
        value = form.get("value") or None

        def act() -> str | None:
            try:
                delivery = self.sandbox.person(user.id).click(
                    target, form.get("action_id"), value=value
                )
            except SandboxUsageError as exc:
                return str(exc)
            return self._after(delivery)

        problem = await run_in_threadpool(act)
        return self._back(user, form, problem=problem or "")

    async def submit(self, request: Request) -> Response:
        user = self._user(request)
        form = await read_form(request)
        if user is None:
            return await self._not_found(request, Exception())
        view_id = form.get("view")
        with self._ws.lock:
            view = self._ws.views.get(view_id)
            values = _values(view, form) if view is not None else {}

        def act() -> str | None:
            try:
                delivery = self.sandbox.person(user.id).submit(view_id, values)
            except SandboxUsageError as exc:
                # Slack's client would not send it: the person is told what is missing.
                return str(exc)
            return self._after(delivery)

        problem = await run_in_threadpool(act)
        return self._back(user, form, problem=problem or "")

    async def close(self, request: Request) -> Response:
        user = self._user(request)
        form = await read_form(request)
        if user is None:
            return await self._not_found(request, Exception())

        def act() -> str | None:
            try:
                delivery = self.sandbox.person(user.id).close(form.get("view"))
            except SandboxUsageError as exc:
                return str(exc)
            return self._after(delivery)

        problem = await run_in_threadpool(act)
        return self._back(user, form, problem=problem or "")


def _item(
    ts: str, author: str, text: str, blocks: Any, *, ephemeral: bool, edited: bool
) -> dict[str, Any]:
    return {
        "ts": ts,
        "author": author,
        "text": text,
        "blocks": blocks,
        "ephemeral": ephemeral,
        "edited": edited,
    }


def _values(view: View, form: Form) -> dict[str, dict[str, Any]]:
    """``block_id -> {action_id: value}`` for the view's inputs, from the posted form."""
    values: dict[str, dict[str, Any]] = {}
    for block, element in input_elements(view.blocks):
        block_id, action_id = str(block.get("block_id", "")), str(element.get("action_id", ""))
        posted = form.all(input_name(block_id, action_id))
        if element.get("type") in ("multi_static_select", "checkboxes"):
            value: Any = [v for v in posted if v]
        else:
            value = posted[0] if posted and posted[0] != "" else None
        values[block_id] = {action_id: value}
    return values
