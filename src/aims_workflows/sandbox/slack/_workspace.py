"""The workspace the sandbox imitates: who is in it and everything the app has shown them.

All reads and writes go through one lock, because the Web API runs on the server thread while
tests read state and play people from theirs. Operations raise ``ApiFailure`` with the error
code Slack uses for the same mistake.
"""

from __future__ import annotations

import copy
import threading
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ._errors import ApiFailure, SandboxUsageError
from ._ids import Clock, IdFactory
from ._model import Bot, Conversation, Ephemeral, Message, SlackUser, Trigger, View
from ._scopes import APP_SCOPES

__all__ = ["Workspace", "ResponseTarget", "TRIGGER_LIFETIME"]

TRIGGER_LIFETIME = 3.0
"""Seconds a ``trigger_id`` stays valid, as in Slack."""


@dataclass(frozen=True)
class ResponseTarget:
    """Where a ``response_url`` posts to: the message (or ephemeral) that was clicked."""

    channel: str
    user: str
    message_ts: str | None
    is_ephemeral: bool


class Workspace:
    """Users, conversations, messages, ephemerals, views and trigger ids of one workspace."""

    def __init__(
        self,
        *,
        ids: IdFactory,
        clock: Clock,
        team_name: str = "AIMS Sandbox",
        domain: str = "aims-sandbox",
        bot_name: str = "aims",
    ) -> None:
        self.ids = ids
        self.clock = clock
        self.team_id = ids.new("T")
        self.team_name = team_name
        self.domain = domain
        self.bot = Bot(
            user_id=ids.new("U"), bot_id=ids.new("B"), app_id=ids.new("A"), name=bot_name
        )
        self.lock = threading.RLock()
        self.scopes: set[str] = set(APP_SCOPES)  # the bot token's OAuth scopes
        self.users: dict[str, SlackUser] = {}
        self.conversations: dict[str, Conversation] = {}
        self.messages: dict[str, list[Message]] = defaultdict(list)
        self.ephemerals: dict[str, list[Ephemeral]] = defaultdict(list)
        self.views: dict[str, View] = {}
        self.homes: dict[str, str] = {}  # user id -> view id of the published Home tab
        self.triggers: dict[str, Trigger] = {}
        self.response_urls: dict[str, ResponseTarget] = {}

    # --- people and conversations -------------------------------------------------------

    def add_user(
        self, email: str, name: str | None = None, real_name: str | None = None
    ) -> SlackUser:
        """Add a person; the handle defaults to the part of ``email`` before ``@``."""
        handle = name or email.split("@", 1)[0]
        with self.lock:
            if self.find_user_by_email(email) is not None:
                raise SandboxUsageError(f"a user with email {email} already exists")
            user = SlackUser(
                id=self.ids.new("U"),
                name=handle,
                email=email,
                real_name=real_name or handle.replace(".", " ").title(),
                team_id=self.team_id,
                updated=int(self.clock()),
            )
            self.users[user.id] = user
            for conversation in self.conversations.values():
                if not conversation.is_im:
                    conversation.members.add(user.id)
            return user

    def add_channel(
        self, name: str, *, bot_is_member: bool = True, private: bool = False
    ) -> Conversation:
        """Add a channel (public, or ``private``) that every current person is a member of."""
        with self.lock:
            members = set(self.users)
            if bot_is_member:
                members.add(self.bot.user_id)
            channel = Conversation(
                id=self.ids.new("C"),
                name=name.lstrip("#"),
                created=int(self.clock()),
                creator=self.bot.user_id,
                members=members,
                is_private=private,
            )
            self.conversations[channel.id] = channel
            return channel

    def members_page(self, start: int, size: int) -> list[SlackUser]:
        """``size`` members from position ``start``, in the order they joined."""
        with self.lock:
            return list(self.users.values())[start : start + size]

    def member_count(self) -> int:
        with self.lock:
            return len(self.users)

    def find_user_by_email(self, email: str) -> SlackUser | None:
        """The person with this email, compared without case as Slack does."""
        with self.lock:
            wanted = email.strip().lower()
            return next((u for u in self.users.values() if u.email.lower() == wanted), None)

    def user(self, user_id: str) -> SlackUser:
        """The person with this id, or ``user_not_found``."""
        with self.lock:
            if user_id not in self.users:
                raise ApiFailure("user_not_found")
            return self.users[user_id]

    def open_dm(self, user_id: str) -> tuple[Conversation, bool]:
        """The DM between the bot and ``user_id``, and whether it was already open."""
        with self.lock:
            self.user(user_id)
            for conversation in self.conversations.values():
                if conversation.is_im and conversation.user == user_id:
                    return conversation, True
            dm = Conversation(
                id=self.ids.new("D"),
                name="",
                created=int(self.clock()),
                creator=self.bot.user_id,
                members={user_id, self.bot.user_id},
                is_im=True,
                user=user_id,
            )
            self.conversations[dm.id] = dm
            return dm, False

    def resolve_channel(self, channel: str) -> Conversation:
        """A channel id, DM id, ``#name``/``name``, or a user id (posting to a user id writes
        to the bot's DM with that person, as Slack does)."""
        with self.lock:
            if channel in self.conversations:
                return self.conversations[channel]
            if channel in self.users:
                return self.open_dm(channel)[0]
            name = channel.lstrip("#")
            for conversation in self.conversations.values():
                if not conversation.is_im and conversation.name == name:
                    return conversation
            raise ApiFailure("channel_not_found")

    def channel_for_person(self, conversation: Conversation) -> dict[str, str]:
        """The ``channel{id,name}`` of interaction payloads."""
        name = "directmessage" if conversation.is_im else conversation.name
        return {"id": conversation.id, "name": name}

    def with_block_ids(self, blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Copies of ``blocks``, each with a ``block_id``: Slack names the unnamed ones, and
        interaction payloads always carry one."""
        named = copy.deepcopy(blocks)
        for block in named:
            block.setdefault("block_id", self.ids.block_id())
        return named

    # --- messages -------------------------------------------------------------------------

    def post(
        self,
        channel: str,
        text: str,
        blocks: list[dict[str, Any]],
        thread_ts: str | None,
        metadata: dict[str, Any] | None = None,
    ) -> Message:
        """``chat.postMessage``: the bot must be in the channel (``not_in_channel``)."""
        with self.lock:
            conversation = self.resolve_channel(channel)
            if self.bot.user_id not in conversation.members:
                raise ApiFailure("not_in_channel")
            message = Message(
                channel=conversation.id,
                ts=self.ids.ts(self.clock()),
                text=text,
                user=self.bot.user_id,
                bot_id=self.bot.bot_id,
                app_id=self.bot.app_id,
                team=self.team_id,
                blocks=self.with_block_ids(blocks),
                thread_ts=thread_ts,
                metadata=metadata,
            )
            self.messages[conversation.id].append(message)
            return message

    def find_message(self, channel_id: str, ts: str) -> Message | None:
        """The message ``ts`` of a conversation (``ts`` is its key, as in Slack)."""
        with self.lock:
            return next((m for m in self.messages.get(channel_id, []) if m.ts == ts), None)

    def update(
        self, channel: str, ts: str, text: str | None, blocks: list[dict[str, Any]] | None
    ) -> Message:
        """``chat.update``: only the bot's own messages; omitted parts stay as they were."""
        with self.lock:
            conversation = self.resolve_channel(channel)
            message = self.find_message(conversation.id, ts)
            if message is None:
                raise ApiFailure("message_not_found")
            if message.bot_id != self.bot.bot_id:
                raise ApiFailure("cant_update_message")
            if text is not None:
                message.text = text
            if blocks is not None:
                message.blocks = self.with_block_ids(blocks)
            message.edited_ts = self.ids.ts(self.clock())
            return message

    def delete(self, channel_id: str, ts: str) -> None:
        """Remove a message (``delete_original`` through a response URL)."""
        with self.lock:
            self.messages[channel_id] = [m for m in self.messages[channel_id] if m.ts != ts]

    def post_ephemeral(
        self, channel: str, user_id: str, text: str, blocks: list[dict[str, Any]]
    ) -> Ephemeral:
        """``chat.postEphemeral``: shown to ``user_id`` only, who must be in the channel."""
        with self.lock:
            conversation = self.resolve_channel(channel)
            # Slack answers the same for a stranger and for a person outside the channel.
            if user_id not in conversation.members:
                raise ApiFailure("user_not_in_channel")
            ephemeral = Ephemeral(
                channel=conversation.id,
                user=user_id,
                ts=self.ids.ts(self.clock()),
                text=text,
                blocks=self.with_block_ids(blocks),
            )
            self.ephemerals[user_id].append(ephemeral)
            return ephemeral

    # --- trigger ids and views ------------------------------------------------------------

    def issue_trigger(self, user_id: str) -> Trigger:
        """A fresh trigger id for something ``user_id`` just did (a click, a command...)."""
        with self.lock:
            now = self.clock()
            trigger = Trigger(id=self.ids.trigger_id(now), user=user_id, issued_at=now)
            self.triggers[trigger.id] = trigger
            return trigger

    def exchange_trigger(self, trigger_id: str) -> Trigger:
        """Use a trigger id once, within its 3 seconds, as ``views.open`` must."""
        with self.lock:
            trigger = self.triggers.get(trigger_id)
            if trigger is None:
                raise ApiFailure("invalid_trigger_id")
            if trigger.exchanged:
                raise ApiFailure("exchanged_trigger_id")
            if self.clock() - trigger.issued_at > TRIGGER_LIFETIME:
                raise ApiFailure("expired_trigger_id")
            trigger.exchanged = True
            return trigger

    def new_view(
        self,
        raw: dict[str, Any],
        *,
        user: str,
        root_view_id: str | None = None,
        previous_view_id: str | None = None,
        view_id: str | None = None,
    ) -> View:
        """Record a view the app sent (already validated) with the fields Slack adds."""
        with self.lock:
            new_id = view_id or self.ids.new("V")
            view = View(
                id=new_id,
                team_id=self.team_id,
                type=raw["type"],
                user=user,
                app_id=self.bot.app_id,
                bot_id=self.bot.bot_id,
                hash=self.ids.view_hash(self.clock()),
                blocks=self.with_block_ids(raw.get("blocks", [])),
                root_view_id=root_view_id or new_id,
                previous_view_id=previous_view_id,
                title=raw.get("title"),
                submit=raw.get("submit"),
                close=raw.get("close"),
                callback_id=raw.get("callback_id", ""),
                private_metadata=raw.get("private_metadata", ""),
                external_id=raw.get("external_id", ""),
                clear_on_close=bool(raw.get("clear_on_close", False)),
                notify_on_close=bool(raw.get("notify_on_close", False)),
            )
            self.views[view.id] = view
            return view

    def find_view(self, view_id: str | None, external_id: str | None) -> View:
        """An open modal or a Home tab by ``view_id`` or the app's ``external_id``."""
        with self.lock:
            if view_id:
                view = self.views.get(view_id)
            elif external_id:
                view = next((v for v in self.views.values() if v.external_id == external_id), None)
            else:
                raise ApiFailure("invalid_arguments", ["either view_id or external_id is required"])
            if view is None or (view.type == "modal" and not view.is_open):
                raise ApiFailure("not_found")
            return view

    def replace_view(self, old: View, raw: dict[str, Any], expected_hash: str | None) -> View:
        """``views.update``: same id, new content and hash; refuses a stale ``hash``."""
        with self.lock:
            if expected_hash is not None and expected_hash != old.hash:
                raise ApiFailure("hash_conflict")
            fresh = self.new_view(
                raw,
                user=old.user,
                root_view_id=old.root_view_id,
                previous_view_id=old.previous_view_id,
                view_id=old.id,
            )
            return fresh

    def publish_home(self, user_id: str, raw: dict[str, Any], expected_hash: str | None) -> View:
        """``views.publish``: replace the person's Home tab, keeping its view id."""
        with self.lock:
            self.user(user_id)
            current_id = self.homes.get(user_id)
            current = self.views.get(current_id) if current_id else None
            if current is not None and expected_hash is not None and expected_hash != current.hash:
                raise ApiFailure("hash_conflict")
            view = self.new_view(raw, user=user_id, view_id=current.id if current else None)
            self.homes[user_id] = view.id
            return view

    def close_stack(self, view: View) -> None:
        """Close a modal and everything stacked on the same root."""
        with self.lock:
            for other in self.views.values():
                if other.root_view_id == view.root_view_id and other.type == "modal":
                    other.is_open = False

    # --- response_url ---------------------------------------------------------------------

    def issue_response_url(self, base_url: str, target: ResponseTarget) -> str:
        """A ``response_url`` on the sandbox (``/actions/T…/…/…``) that writes to ``target``."""
        with self.lock:
            key = f"{self.team_id}/{self.ids.secret(13).upper()}/{self.ids.secret(24)}"
            self.response_urls[key] = target
            return f"{base_url}/actions/{key}"

    def respond(
        self,
        target: ResponseTarget,
        text: str,
        blocks: list[dict[str, Any]],
        *,
        replace: bool,
        delete: bool,
        in_channel: bool,
    ) -> None:
        """What a POST to a ``response_url`` does: replace or delete the clicked message, or
        add a message (ephemeral unless ``in_channel``)."""
        with self.lock:
            if target.message_ts and (replace or delete):
                if target.is_ephemeral:
                    kept = [e for e in self.ephemerals[target.user] if e.ts != target.message_ts]
                    self.ephemerals[target.user] = kept
                    if replace:
                        self.ephemerals[target.user].append(
                            Ephemeral(
                                channel=target.channel,
                                user=target.user,
                                ts=target.message_ts,
                                text=text,
                                blocks=self.with_block_ids(blocks),
                            )
                        )
                elif delete:
                    self.delete(target.channel, target.message_ts)
                else:
                    self.update(target.channel, target.message_ts, text, blocks)
            elif in_channel:
                self.post(target.channel, text, blocks, None)
            else:
                self.post_ephemeral(target.channel, target.user, text, blocks)

    # --- snapshots for tests --------------------------------------------------------------

    def snapshot(self, items: Iterable[Any]) -> list[Any]:
        """Deep copies, so a test holding a record does not see later edits mid-assertion."""
        with self.lock:
            return [copy.deepcopy(item) for item in items]
