"""People in the sandbox workspace, doing what a person does in Slack: clicking buttons,
submitting and closing modals, typing slash commands and opening the app's Home tab.

Each action builds the payload Slack would send, signs it and delivers it to the app (see
``_delivery``), then applies the app's answer the way Slack's client would: a
``response_action`` for a modal, an immediate reply to a slash command.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from . import _payloads
from ._blockkit import BlockKitError, check_blocks, check_view
from ._delivery import Delivery
from ._elements import action_entry, find_element, input_elements, state_entry
from ._errors import SandboxUsageError
from ._model import Conversation, Ephemeral, Message, SlackUser, View
from ._workspace import ResponseTarget

if TYPE_CHECKING:
    from ._sandbox import SlackSandbox

__all__ = ["Person"]

FORM = "application/x-www-form-urlencoded"


class Person:
    """One member of the workspace, driven from a test.

    >>> alice = sandbox.person("alice@example.com")          # doctest: +SKIP
    >>> delivery = alice.click(sandbox.messages("#aims-approvals")[-1], "approve")
    >>> delivery.ok                                          # doctest: +SKIP
    True
    """

    def __init__(self, sandbox: SlackSandbox, user: SlackUser) -> None:
        self._sandbox = sandbox
        self.user = user

    @property
    def id(self) -> str:
        """The person's Slack user id (``U0…``)."""
        return self.user.id

    def __repr__(self) -> str:
        return f"Person({self.user.email!r}, id={self.user.id!r})"

    # --- messages and views -------------------------------------------------------------

    def click(self, target: Any, action_id: str, *, value: Any = None) -> Delivery:
        """Press the button (or choose ``value`` in the menu) ``action_id`` on ``target``.

        ``target`` is a message (``sandbox.messages(...)`` item, or the answer of
        ``chat.postMessage``), an ephemeral message, or an open view (modal or Home tab).
        """
        ws = self._sandbox.workspace
        with ws.lock:
            record = self._resolve(target)
            now = self._sandbox.clock()
            action_ts = ws.ids.ts(now)
            trigger = ws.issue_trigger(self.id)
            if isinstance(record, View):
                block, element = find_element(record.blocks, action_id)
                payload = _payloads.block_actions(
                    self._sandbox.app_identity,
                    self.user,
                    [action_entry(block, element, value, action_ts)],
                    trigger.id,
                    view=record,
                    state=record.state,
                )
            else:
                block, element = find_element(record.blocks, action_id)
                conversation = ws.conversations[record.channel]
                is_ephemeral = isinstance(record, Ephemeral)
                message = record if isinstance(record, Message) else None
                response_url = ws.issue_response_url(
                    self._sandbox.url,
                    ResponseTarget(conversation.id, self.id, record.ts, is_ephemeral),
                )
                payload = _payloads.block_actions(
                    self._sandbox.app_identity,
                    self.user,
                    [action_entry(block, element, value, action_ts)],
                    trigger.id,
                    conversation=conversation,
                    message=message,
                    ephemeral_ts=record.ts,
                    response_url=response_url,
                )
        return self._send_interaction(payload)

    def submit(self, view: Any, values: Mapping[str, Any] | None = None) -> Delivery:
        """Fill the modal's inputs with ``values`` and press submit.

        ``values`` maps ``action_id`` to what the person entered (text, an option's value, a
        list of values for multi-selects, a user id, ``"2025-01-31"``...), or
        ``block_id -> {action_id: value}`` when action ids repeat. Required inputs left empty
        raise ``SandboxUsageError``, since Slack's client would not let the person submit.
        """
        ws = self._sandbox.workspace
        with ws.lock:
            live = self._own_modal(view)
            live.state = {"values": self._state_values(live, dict(values or {}))}
            live.errors = {}
            trigger = ws.issue_trigger(self.id)
            payload = _payloads.view_submission(
                self._sandbox.app_identity, self.user, live, trigger.id
            )
        delivery = self._send_interaction(payload)
        if delivery.ok:
            self._apply_response_action(live, delivery.response_json())
        return delivery

    def close(self, view: Any) -> Delivery | None:
        """Close the modal; the app hears of it only if the view asked ``notify_on_close``."""
        ws = self._sandbox.workspace
        with ws.lock:
            live = self._own_modal(view)
            ws.close_stack(live)
            if not live.notify_on_close:
                return None
            payload = _payloads.view_closed(self._sandbox.app_identity, self.user, live)
        return self._send_interaction(payload)

    # --- slash commands and the Home tab ------------------------------------------------

    def command(
        self, text: str = "", *, command: str = "/aims", channel: str | None = None
    ) -> Delivery:
        """Type ``/aims <text>`` in ``channel`` (default: the DM with the app).

        An immediate answer from the app is shown the way Slack shows it: ephemeral, unless
        it says ``"response_type": "in_channel"``.
        """
        ws = self._sandbox.workspace
        with ws.lock:
            conversation = self._conversation(channel)
            trigger = ws.issue_trigger(self.id)
            response_url = ws.issue_response_url(
                self._sandbox.url, ResponseTarget(conversation.id, self.id, None, False)
            )
            fields = _payloads.slash_command(
                self._sandbox.app_identity,
                self.user,
                conversation,
                command,
                text,
                trigger.id,
                response_url,
            )
        body = urlencode(fields).encode()
        url = self._sandbox.commands_url or self._app_url()
        if self._sandbox.socket_mode is None:  # over a socket there is no URL to check
            checked = self._sandbox.check_ssl(url)
            if not checked.ok:  # Slack does not send a command to a URL that failed its check
                return checked
        delivery = self._sandbox.deliverer.send(
            url,
            kind="slash_command",
            payload=dict(fields),
            body=body,
            content_type=FORM,
        )
        self._sandbox._record(delivery)
        if delivery.ok and delivery.response_text.strip():
            self._show_command_reply(conversation, delivery)
        return delivery

    def open_home(self) -> Delivery:
        """Open the app's Home tab: Slack sends ``app_home_opened`` through the Events API."""
        ws = self._sandbox.workspace
        with ws.lock:
            dm, _ = ws.open_dm(self.id)
            now = self._sandbox.clock()
            event: dict[str, Any] = {
                "type": "app_home_opened",
                "user": self.id,
                "channel": dm.id,
                "tab": "home",
                "event_ts": ws.ids.ts(now),
            }
            home_id = ws.homes.get(self.id)
            if home_id:
                event["view"] = ws.views[home_id].to_api()
            payload = _payloads.event_callback(
                self._sandbox.app_identity, event, ws.ids.new("Ev"), int(now)
            )
        delivery = self._sandbox.deliverer.send(
            self._sandbox.events_url or self._app_url(),
            kind="event_callback",
            payload=payload,
            body=json.dumps(payload).encode(),
            content_type="application/json",
        )
        self._sandbox._record(delivery)
        return delivery

    # --- helpers ---------------------------------------------------------------------------

    def _app_url(self) -> str:
        if self._sandbox.socket_mode is not None:
            return "socket-mode"  # the deliverer sends over the app's socket, not to a URL
        if not self._sandbox.app_url:
            raise SandboxUsageError(
                "the sandbox does not know where the app listens",
                hint="pass app_url=... to SlackSandbox or set sandbox.app_url",
            )
        return self._sandbox.app_url

    def _send_interaction(self, payload: dict[str, Any]) -> Delivery:
        body = urlencode({"payload": json.dumps(payload)}).encode()
        delivery = self._sandbox.deliverer.send(
            self._app_url(), kind=payload["type"], payload=payload, body=body, content_type=FORM
        )
        self._sandbox._record(delivery)
        return delivery

    def _conversation(self, channel: str | None) -> Conversation:
        ws = self._sandbox.workspace
        if channel is None:
            return ws.open_dm(self.id)[0]
        conversation = ws.resolve_channel(channel)
        if self.id not in conversation.members:
            raise SandboxUsageError(f"{self.user.email} is not in {channel}")
        return conversation

    def _resolve(self, target: Any) -> Message | Ephemeral | View:
        """The live record behind whatever the test holds (a snapshot or an API answer)."""
        ws = self._sandbox.workspace
        if isinstance(target, View):
            live = ws.views.get(target.id)
            if live is None or live.user != self.id or (live.type == "modal" and not live.is_open):
                raise SandboxUsageError(f"view {target.id} is not open for {self.user.email}")
            return live
        if isinstance(target, Ephemeral):
            for ephemeral in ws.ephemerals.get(self.id, []):
                if ephemeral.ts == target.ts:
                    return ephemeral
            raise SandboxUsageError(f"{self.user.email} cannot see ephemeral message {target.ts}")
        if isinstance(target, Message):
            channel, ts = target.channel, target.ts
        elif hasattr(target, "get") and target.get("channel") and target.get("ts"):
            channel, ts = str(target.get("channel")), str(target.get("ts"))
        else:
            raise SandboxUsageError(f"cannot click on {target!r}: pass a message or a view")
        message = ws.find_message(channel, ts)
        if message is None:
            raise SandboxUsageError(f"no message {ts} in {channel}")
        if self.id not in ws.conversations[channel].members:
            raise SandboxUsageError(f"{self.user.email} cannot see messages in {channel}")
        return message

    def _own_modal(self, view: Any) -> View:
        if isinstance(view, View):
            view_id = view.id
        else:
            view_id = str(view.get("id") if hasattr(view, "get") else view)
        live = self._sandbox.workspace.views.get(view_id)
        if live is None or live.type != "modal" or not live.is_open or live.user != self.id:
            raise SandboxUsageError(f"no open modal {view_id} for {self.user.email}")
        return live

    def _state_values(self, view: View, values: dict[str, Any]) -> dict[str, Any]:
        state: dict[str, Any] = {}
        used: set[str] = set()
        for block, element in input_elements(view.blocks):
            block_id, action_id = block["block_id"], element.get("action_id", "")
            if isinstance(values.get(block_id), Mapping) and action_id in values[block_id]:
                value, key = values[block_id][action_id], block_id
            else:
                value, key = values.get(action_id), action_id
            if key in values:
                used.add(key)
            if value in (None, "", []) and not block.get("optional", False):
                label = (block.get("label") or {}).get("text", block_id)
                raise SandboxUsageError(f"the required field {label!r} ({action_id}) is empty")
            state.setdefault(block_id, {})[action_id] = state_entry(element, value)
        unknown = set(values) - used
        if unknown:
            raise SandboxUsageError(f"the modal has no inputs named {sorted(unknown)}")
        return state

    def _apply_response_action(self, view: View, answer: Any) -> None:
        """What Slack does with the app's answer to a ``view_submission``."""
        ws = self._sandbox.workspace
        action = answer.get("response_action") if isinstance(answer, dict) else None
        with ws.lock:
            if action == "errors":
                view.errors = dict(answer.get("errors", {}))
            elif action in {"update", "push"}:
                try:
                    raw = check_view(answer.get("view"), expected_type="modal")
                except BlockKitError as exc:
                    # Slack shows the person an error and keeps the modal as it was.
                    raise SandboxUsageError(
                        f"the app answered response_action={action} with an invalid view: {exc}"
                    ) from exc
                if action == "update":
                    ws.replace_view(view, raw, None)
                else:
                    ws.new_view(
                        raw, user=self.id, root_view_id=view.root_view_id, previous_view_id=view.id
                    )
            elif action == "clear":
                ws.close_stack(view)
            else:
                view.is_open = False

    def _show_command_reply(self, conversation: Conversation, delivery: Delivery) -> None:
        ws = self._sandbox.workspace
        answer = delivery.response_json()
        if not isinstance(answer, dict):
            answer = {"text": delivery.response_text}
        try:
            blocks = check_blocks(answer["blocks"]) if answer.get("blocks") else []
        except BlockKitError as exc:
            raise SandboxUsageError(
                f"the app answered the command with invalid blocks: {exc}"
            ) from exc
        text = str(answer.get("text", ""))
        if answer.get("response_type") == "in_channel":
            with ws.lock:
                # The reply appears as the bot's message even where the bot is not a member.
                conversation.members.add(ws.bot.user_id)
                ws.post(conversation.id, text, blocks, None)
        else:
            ws.post_ephemeral(conversation.id, self.id, text, blocks)
