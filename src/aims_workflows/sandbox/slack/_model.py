"""The sandbox's records: people, conversations, messages, ephemerals, views and trigger ids.

Plain dataclasses plus ``to_api()`` projections into the JSON shapes Slack answers with; the
operations on them live in ``_workspace``. Blocks are kept exactly as the app sent them (after
validation), so that tests read back what a person would see.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Bot",
    "SlackUser",
    "Conversation",
    "Message",
    "Ephemeral",
    "View",
    "Trigger",
]


@dataclass(frozen=True)
class Bot:
    """The app's bot user: what ``auth.test`` answers for the sandbox's bot token."""

    user_id: str
    bot_id: str
    app_id: str
    name: str


@dataclass
class SlackUser:
    """A person in the workspace; ``email`` is what ``users.lookupByEmail`` matches."""

    id: str
    name: str
    email: str
    real_name: str
    team_id: str
    updated: int
    tz: str = "Europe/London"
    tz_label: str = "Greenwich Mean Time"
    tz_offset: int = 0
    deleted: bool = False

    def to_api(self) -> dict[str, Any]:
        """The ``user`` object of ``users.info`` / ``users.lookupByEmail``."""
        avatar = f"https://avatars.slack-edge.com/sandbox/{self.id.lower()}"
        first, _, last = self.real_name.partition(" ")
        return {
            "id": self.id,
            "team_id": self.team_id,
            "name": self.name,
            "deleted": self.deleted,
            "color": "9f69e7",
            "real_name": self.real_name,
            "tz": self.tz,
            "tz_label": self.tz_label,
            "tz_offset": self.tz_offset,
            "profile": {
                "title": "",
                "phone": "",
                "skype": "",
                "real_name": self.real_name,
                "real_name_normalized": self.real_name,
                "display_name": self.name,
                "display_name_normalized": self.name,
                "fields": None,
                "status_text": "",
                "status_emoji": "",
                "status_expiration": 0,
                "avatar_hash": "g" + self.id[-11:].lower(),
                "email": self.email,
                "first_name": first,
                "last_name": last,
                "image_24": f"{avatar}_24.png",
                "image_32": f"{avatar}_32.png",
                "image_48": f"{avatar}_48.png",
                "image_72": f"{avatar}_72.png",
                "image_192": f"{avatar}_192.png",
                "image_512": f"{avatar}_512.png",
                "status_text_canonical": "",
                "team": self.team_id,
            },
            "is_admin": False,
            "is_owner": False,
            "is_primary_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": False,
            "is_app_user": False,
            "updated": self.updated,
            "has_2fa": False,
        }


@dataclass
class Conversation:
    """A channel (``C…``, public or private) or the DM between the bot and one person
    (``D…``)."""

    id: str
    name: str
    created: int
    creator: str
    members: set[str] = field(default_factory=set)
    is_im: bool = False
    user: str | None = None  # the person, for a DM
    is_private: bool = False  # a private channel: reading it takes the groups:* scopes

    def channel_to_api(self, viewer: str) -> dict[str, Any]:
        """The channel object ``conversations.list`` returns to ``viewer`` (a user id)."""
        empty = {"value": "", "creator": "", "last_set": 0}
        return {
            "id": self.id,
            "name": self.name,
            "name_normalized": self.name,
            "created": self.created,
            "creator": self.creator,
            "is_channel": not self.is_private,
            "is_group": self.is_private,
            "is_im": False,
            "is_mpim": False,
            "is_private": self.is_private,
            "is_archived": False,
            "is_general": False,
            "is_shared": False,
            "is_org_shared": False,
            "is_ext_shared": False,
            "is_pending_ext_shared": False,
            "is_member": viewer in self.members,
            "num_members": len(self.members),
            "topic": dict(empty),
            "purpose": dict(empty),
            "previous_names": [],
            "unlinked": 0,
        }

    def im_to_api(self) -> dict[str, Any]:
        """The IM object ``conversations.open`` returns with ``return_im``."""
        return {
            "id": self.id,
            "created": self.created,
            "is_im": True,
            "is_org_shared": False,
            "user": self.user,
            "is_open": True,
            "last_read": "0000000000.000000",
            "unread_count": 0,
            "unread_count_display": 0,
            "priority": 0,
        }


@dataclass
class Message:
    """A message in a conversation, as the bot posted it and later updated it."""

    channel: str
    ts: str
    text: str
    user: str
    bot_id: str
    app_id: str
    team: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    thread_ts: str | None = None
    edited_ts: str | None = None
    metadata: dict[str, Any] | None = None

    def to_api(self) -> dict[str, Any]:
        """The ``message`` object Slack returns and puts in interaction payloads."""
        body: dict[str, Any] = {
            "type": "message",
            "user": self.user,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "text": self.text,
            "ts": self.ts,
            "team": self.team,
        }
        if self.blocks:
            body["blocks"] = copy.deepcopy(self.blocks)
        if self.thread_ts:
            body["thread_ts"] = self.thread_ts
        return body


@dataclass
class Ephemeral:
    """A message only ``user`` sees (``chat.postEphemeral`` or a slash command's answer)."""

    channel: str
    user: str
    ts: str
    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class View:
    """A modal or an App Home tab, with the fields Slack adds to what the app sent."""

    id: str
    team_id: str
    type: str
    user: str
    app_id: str
    bot_id: str
    hash: str
    blocks: list[dict[str, Any]]
    root_view_id: str
    title: dict[str, Any] | None = None
    submit: dict[str, Any] | None = None
    close: dict[str, Any] | None = None
    callback_id: str = ""
    private_metadata: str = ""
    external_id: str = ""
    previous_view_id: str | None = None
    clear_on_close: bool = False
    notify_on_close: bool = False
    state: dict[str, Any] = field(default_factory=lambda: {"values": {}})
    is_open: bool = True
    errors: dict[str, str] = field(default_factory=dict)

    def to_api(self) -> dict[str, Any]:
        """The ``view`` object of ``views.*`` answers and interaction payloads."""
        return {
            "id": self.id,
            "team_id": self.team_id,
            "type": self.type,
            "blocks": copy.deepcopy(self.blocks),
            "private_metadata": self.private_metadata,
            "callback_id": self.callback_id,
            "state": copy.deepcopy(self.state),
            "hash": self.hash,
            "title": copy.deepcopy(self.title),
            "clear_on_close": self.clear_on_close,
            "notify_on_close": self.notify_on_close,
            "close": copy.deepcopy(self.close),
            "submit": copy.deepcopy(self.submit),
            "previous_view_id": self.previous_view_id,
            "root_view_id": self.root_view_id,
            "app_id": self.app_id,
            "external_id": self.external_id,
            "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
        }


@dataclass
class Trigger:
    """A ``trigger_id`` handed out with an interaction; ``views.open`` may exchange it once."""

    id: str
    user: str
    issued_at: float
    exchanged: bool = False
