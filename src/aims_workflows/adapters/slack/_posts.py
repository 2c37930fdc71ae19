"""Posting a Slack message at most once per (command, slot), across crashes and processes.

A post and the record of it cannot be one transaction, so each post goes in three steps:

1. write down the intent (:class:`~aims_workflows.ports.SlackPostStore`): a marker derived
   from the command key and the slot (the person, or the channel), the target, the time, and
   the ID of the conversation the post goes to. A channel configured by ``#name`` is resolved
   to its ID (``conversations.list``) and that ID written down before anything is posted: the
   history API takes IDs only, so without it a post cut short could not be looked up;
2. post to that ID, with the marker as the ``block_id`` of the message's first unnamed block
   (Slack keeps a block id as given, and ``conversations.history`` returns the blocks);
3. record the message's ``ts`` against the intent.

A later attempt of the same command (a retry after a 429 or a timeout, or another process after
this one was killed) that finds an intent with a conversation and without a ``ts`` reads the
conversation's history since the intent, newest first, for a message of the bot carrying the
marker, and records that one instead of posting again. Only when the history says no is the
message posted. An intent without a conversation was cut short before any post.

Resolving a name needs ``channels:read`` (``groups:read`` for a private channel); reading
history needs ``im:history`` for direct messages and ``channels:history`` (``groups:history``
for a private channel) for the approvals channel. When Slack refuses either (a scope not
granted, the bot removed), the post cannot be made exactly once: it is made, logged as a
warning, rather than never made (``aims doctor`` names the missing scope).
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import logging
import re
import threading
from datetime import timedelta
from typing import Any

from slack_sdk import WebClient

from ...errors import PermanentError
from ...ports import Clock, PostIntent, SlackPostStore, SystemClock
from ._errors import slack_call

__all__ = ["Poster", "marker_for", "MemoryPosts"]

log = logging.getLogger("aims.slack")

_CONVERSATION_ID = re.compile(r"^[CDG][A-Z0-9]{2,}$")
# Slack dates a message by its own clock; ours may be a little behind or ahead of it.
CLOCK_SKEW = timedelta(minutes=10)
_PAGE = 200
_MAX_PAGES = 25  # 5,000 messages since the intent: past that, the lookup gives up and posts


def marker_for(command_key: str, slot: str) -> str:
    """The marker of one post: the same for every attempt of the command, unique per slot."""
    digest = hashlib.sha256(f"{command_key}\n{slot}".encode()).hexdigest()[:40]
    return f"aims-post-{digest}"


def _marked(blocks: list[dict[str, Any]], marker: str) -> list[dict[str, Any]]:
    """``blocks`` with ``marker`` as the id of the first block that has none (ids the app
    routes on, such as the buttons' block, are kept)."""
    marked = copy.deepcopy(blocks)
    for block in marked:
        if not block.get("block_id"):
            block["block_id"] = marker
            return marked
    return [
        *marked,
        {"type": "context", "block_id": marker, "elements": [{"type": "mrkdwn", "text": "\u200b"}]},
    ]


def _carries(message: dict[str, Any], marker: str) -> bool:
    return any(
        isinstance(block, dict) and block.get("block_id") == marker
        for block in message.get("blocks") or []
    )


class MemoryPosts:
    """Intents in process memory: for a book made without a database (tests, one-off use)."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock or SystemClock()
        self._lock = threading.Lock()
        self._intents: dict[str, PostIntent] = {}

    def intend(
        self, marker: str, command_key: str, slot: str, target: str
    ) -> tuple[PostIntent, bool]:
        with self._lock:
            if marker in self._intents:
                return self._intents[marker], False
            intent = PostIntent(marker, command_key, slot, target, self.clock.now())
            self._intents[marker] = intent
            return intent, True

    def posted(self, marker: str, channel: str, ts: str) -> None:
        with self._lock:
            self._intents[marker] = dataclasses.replace(
                self._intents[marker], channel=channel, ts=ts
            )

    def addressed(self, marker: str, channel: str) -> None:
        with self._lock:
            self._intents[marker] = dataclasses.replace(self._intents[marker], channel=channel)

    def made_by(self, command_key: str) -> list[PostIntent]:
        with self._lock:
            return [i for i in self._intents.values() if i.command_key == command_key and i.ts]

    def channel_of(self, target: str) -> str | None:
        with self._lock:
            for intent in self._intents.values():
                if intent.target == target and intent.channel:
                    return intent.channel
        return None


class Poster:
    """``chat.postMessage`` at most once per (command key, slot)."""

    def __init__(self, client: WebClient, store: SlackPostStore | None = None) -> None:
        self.client = client
        self._store: SlackPostStore = store or MemoryPosts()
        self._bound = store is not None

    def bind(self, store: SlackPostStore) -> None:
        """Keep intents in ``store`` (the database) when the poster was made without one."""
        if not self._bound:
            self._store = store
            self._bound = True

    def made(self, command_key: str) -> dict[str, tuple[str, str]]:
        """(channel, ts) of every post ``command_key`` is known to have made, by slot."""
        return {
            i.slot: (i.channel, i.ts)
            for i in self._store.made_by(command_key)
            if i.channel and i.ts
        }

    def post(
        self,
        command_key: str,
        slot: str,
        target: str,
        text: str,
        blocks: list[dict[str, Any]],
    ) -> tuple[str, str]:
        """Post ``text``/``blocks`` to ``target`` unless this (command, slot) already did, in
        this process or in one that died before recording it. Returns (channel ID, ts)."""
        marker = marker_for(command_key, slot)
        # the intent is on disk before the post: a crash after posting leaves it to look up
        intent, fresh = self._store.intend(marker, command_key, slot, target)
        if intent.channel and intent.ts:
            return intent.channel, intent.ts
        channel = intent.channel or (target if _CONVERSATION_ID.match(target) else None)
        if not fresh and channel is not None:
            # an earlier attempt may have posted it and died before recording it
            found = self._look_up(intent, channel)
            if found is not None:
                log.info("found the message of %s posted before an interruption", slot)
                self._store.posted(marker, *found)
                return found
        if channel is None:  # a #name, resolved and written down before anything is posted
            channel = self._resolve(target)
            if channel is not None:
                self._store.addressed(marker, channel)
        answer = slack_call(
            "chat.postMessage",
            lambda: self.client.chat_postMessage(
                channel=channel or target, text=text, blocks=_marked(blocks, marker)
            ),
        )
        channel, ts = str(answer["channel"]), str(answer["ts"])
        self._store.posted(marker, channel, ts)
        return channel, ts

    def _resolve(self, target: str) -> str | None:
        """The ID of the channel named ``target`` (``#name``): from an earlier post to it, else
        from Slack's list of the channels the app can see. None when Slack will not say (a
        scope missing): the post then goes to the name, and a copy after a crash is possible."""
        known = self._store.channel_of(target)
        if known is not None:
            return known
        name = target.lstrip("#")
        cursor: str | None = None
        try:
            for _ in range(_MAX_PAGES):
                answer = self._list_channels(cursor)
                for channel in answer.get("channels") or []:
                    if channel.get("name") == name:
                        return str(channel["id"])
                cursor = (answer.get("response_metadata") or {}).get("next_cursor") or None
                if not cursor:
                    break
        except PermanentError as error:
            log.warning(
                "cannot resolve %s to its ID (%s): posting by name, so a post cut short by a "
                "crash may be posted twice; grant channels:read and groups:read, or set the "
                "channel by ID",
                target,
                error,
            )
            return None
        raise PermanentError(
            f"Slack lists no channel {target} the app can post to",
            hint=f"check the name, and invite the app to it (/invite @aims in {target})",
        )

    def _list_channels(self, cursor: str | None) -> Any:
        return slack_call(
            "conversations.list",
            lambda: self.client.conversations_list(
                types="public_channel,private_channel",
                exclude_archived=True,
                limit=_PAGE,
                cursor=cursor,
            ),
        )

    def _look_up(self, intent: PostIntent, channel: str) -> tuple[str, str] | None:
        """The message carrying ``intent``'s marker, from the history of ``channel`` (an ID)
        since the intent was written down; None when there is none (or Slack cannot tell)."""
        oldest = f"{(intent.intended_at - CLOCK_SKEW).timestamp():.6f}"
        cursor: str | None = None
        for _ in range(_MAX_PAGES):
            try:
                answer = self._history(channel, oldest, cursor)
            except PermanentError as error:
                log.warning(
                    "cannot read the history of %s to find a post cut short (%s): posting it "
                    "again; grant im:history / channels:history / groups:history to avoid a "
                    "possible copy",
                    channel,
                    error,
                )
                return None
            for message in answer.get("messages") or []:
                if _carries(message, intent.marker):
                    return channel, str(message["ts"])
            cursor = (answer.get("response_metadata") or {}).get("next_cursor") or None
            if not answer.get("has_more") or not cursor:
                return None
        log.warning("gave up looking for a post cut short in %s: too many messages", channel)
        return None

    def _history(self, channel: str, oldest: str, cursor: str | None) -> Any:
        return slack_call(
            "conversations.history",
            lambda: self.client.conversations_history(
                channel=channel, oldest=oldest, limit=_PAGE, cursor=cursor
            ),
        )
