"""The Web API methods the app calls, each a function from arguments to Slack's answer.

Handlers only see parsed arguments and the workspace; authentication, faults and the HTTP
details are handled once in ``_api``. Each raises ``ApiFailure`` with the error code Slack
uses, and returns the success body without ``ok`` (added by the caller).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ._blockkit import BlockKitError, check_blocks, check_view, parse_json_arg
from ._errors import ApiFailure
from ._history import conversations_history
from ._workspace import Workspace

__all__ = ["Args", "METHODS", "Handler", "MAX_TEXT_LENGTH"]

MAX_TEXT_LENGTH = 40_000


class Args:
    """Arguments of one call, whether they came as query, form fields or a JSON object."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self.values = dict(values)

    def get(self, name: str) -> Any:
        value = self.values.get(name)
        return None if value == "" else value

    def text(self, name: str) -> str | None:
        value = self.get(name)
        return None if value is None else str(value)

    def require(self, name: str, error: str = "invalid_arguments") -> Any:
        value = self.get(name)
        if value is None:
            raise ApiFailure(error, [f"[ERROR] missing required field: {name}"])
        return value

    def flag(self, name: str) -> bool:
        """Slack reads ``true``/``1`` (form) and ``true`` (JSON) as yes."""
        value = self.get(name)
        return value is True or str(value).lower() in {"1", "true"}


Handler = Callable[[Workspace, Args], dict[str, Any]]


def _blocks(args: Args) -> list[dict[str, Any]] | None:
    raw = args.get("blocks")
    if raw is None:
        return None
    try:
        return check_blocks(raw)
    except BlockKitError as exc:
        raise ApiFailure("invalid_blocks", [f"[ERROR] {p}" for p in exc.problems]) from exc


def _view(args: Args, expected_type: str) -> dict[str, Any]:
    raw = args.require("view")
    try:
        return check_view(parse_json_arg(raw), expected_type=expected_type)
    except BlockKitError as exc:
        raise ApiFailure("invalid_arguments", [f"[ERROR] {p}" for p in exc.problems]) from exc


def _message_text(args: Args, blocks: list[dict[str, Any]] | None) -> str:
    text = args.text("text")
    if text is None and not blocks:
        raise ApiFailure("no_text")
    if text is not None and len(text) > MAX_TEXT_LENGTH:
        raise ApiFailure("msg_too_long")
    return text or ""


def auth_test(ws: Workspace, args: Args) -> dict[str, Any]:
    """auth.test: who the token belongs to."""
    return {
        "url": f"https://{ws.domain}.slack.com/",
        "team": ws.team_name,
        "user": ws.bot.name,
        "team_id": ws.team_id,
        "user_id": ws.bot.user_id,
        "bot_id": ws.bot.bot_id,
        "is_enterprise_install": False,
    }


def chat_post_message(ws: Workspace, args: Args) -> dict[str, Any]:
    """chat.postMessage: post as the bot; text or blocks required."""
    channel = args.require("channel", "channel_not_found")
    blocks = _blocks(args)
    text = _message_text(args, blocks)
    metadata = parse_json_arg(args.get("metadata")) if args.get("metadata") else None
    message = ws.post(str(channel), text, blocks or [], args.text("thread_ts"), metadata)
    return {"channel": message.channel, "ts": message.ts, "message": message.to_api()}


def chat_update(ws: Workspace, args: Args) -> dict[str, Any]:
    """chat.update: edit one of the bot's messages in place."""
    channel = args.require("channel", "channel_not_found")
    ts = args.require("ts", "message_not_found")
    blocks = _blocks(args)
    text = args.text("text")
    if text is not None and len(text) > MAX_TEXT_LENGTH:
        raise ApiFailure("msg_too_long")
    message = ws.update(str(channel), str(ts), text, blocks)
    body = message.to_api()
    body["edited"] = {"user": ws.bot.user_id, "ts": message.edited_ts}
    return {"channel": message.channel, "ts": message.ts, "text": message.text, "message": body}


def chat_post_ephemeral(ws: Workspace, args: Args) -> dict[str, Any]:
    """chat.postEphemeral: a message only one member of the channel sees."""
    channel = args.require("channel", "channel_not_found")
    user = args.require("user", "user_not_in_channel")
    blocks = _blocks(args)
    text = _message_text(args, blocks)
    ephemeral = ws.post_ephemeral(str(channel), str(user), text, blocks or [])
    return {"message_ts": ephemeral.ts}


def views_open(ws: Workspace, args: Args) -> dict[str, Any]:
    """views.open: open a modal for the person whose trigger id this is."""
    trigger_id = args.require("trigger_id")
    raw = _view(args, "modal")
    trigger = ws.exchange_trigger(str(trigger_id))
    view = ws.new_view(raw, user=trigger.user)
    return {"view": view.to_api()}


def views_push(ws: Workspace, args: Args) -> dict[str, Any]:
    """views.push: stack a modal on the one the person has open."""
    trigger_id = args.require("trigger_id")
    raw = _view(args, "modal")
    with ws.lock:
        trigger = ws.exchange_trigger(str(trigger_id))
        top = [
            v
            for v in ws.views.values()
            if v.user == trigger.user and v.type == "modal" and v.is_open
        ]
        if not top:
            raise ApiFailure("not_found", ["[ERROR] no modal is open to push onto"])
        under = top[-1]
        view = ws.new_view(
            raw, user=trigger.user, root_view_id=under.root_view_id, previous_view_id=under.id
        )
    return {"view": view.to_api()}


def views_update(ws: Workspace, args: Args) -> dict[str, Any]:
    """views.update: replace an open view's content (``hash`` guards races)."""
    with ws.lock:
        old = ws.find_view(args.text("view_id"), args.text("external_id"))
        raw = _view(args, old.type)
        view = ws.replace_view(old, raw, args.text("hash"))
    return {"view": view.to_api()}


def views_publish(ws: Workspace, args: Args) -> dict[str, Any]:
    """views.publish: set a person's App Home tab."""
    user_id = str(args.require("user_id"))
    raw = _view(args, "home")
    view = ws.publish_home(user_id, raw, args.text("hash"))
    return {"view": view.to_api()}


def users_lookup_by_email(ws: Workspace, args: Args) -> dict[str, Any]:
    """users.lookupByEmail: how the app finds an approver from aims.yaml."""
    email = args.require("email", "users_not_found")
    user = ws.find_user_by_email(str(email))
    if user is None or user.deleted:
        raise ApiFailure("users_not_found")
    return {"user": user.to_api()}


def users_list(ws: Workspace, args: Args) -> dict[str, Any]:
    """users.list: the workspace's members a page at a time (``limit``, ``cursor``); an empty
    ``next_cursor`` on the last page, as Slack sends it."""
    try:
        limit = int(args.text("limit") or 0) or 200
        start = int(args.text("cursor") or 0)
    except ValueError:
        raise ApiFailure("invalid_cursor") from None
    if limit < 1 or start < 0:
        raise ApiFailure("invalid_limit" if limit < 1 else "invalid_cursor")
    members = ws.members_page(start, min(limit, 1000))
    following = start + len(members)
    more = following < ws.member_count()
    return {
        "members": [u.to_api() for u in members],
        "cache_ts": 0,
        "response_metadata": {"next_cursor": str(following) if more else ""},
    }


def users_info(ws: Workspace, args: Args) -> dict[str, Any]:
    """users.info: a person by id."""
    user_id = args.require("user", "user_not_found")
    return {"user": ws.user(str(user_id)).to_api()}


def conversations_open(ws: Workspace, args: Args) -> dict[str, Any]:
    """conversations.open: the DM between the bot and one person."""
    channel = args.text("channel")
    users = args.get("users")
    if channel:
        conversation = ws.resolve_channel(channel)
        if not conversation.is_im:
            raise ApiFailure("method_not_supported_for_channel_type")
        already = True
    else:
        if users is None:
            raise ApiFailure("users_list_not_supplied")
        wanted = [u.strip() for u in (users if isinstance(users, list) else str(users).split(","))]
        wanted = [u for u in wanted if u]
        if not wanted:
            raise ApiFailure("users_list_not_supplied")
        if len(wanted) > 1:
            # Group DMs (MPIMs) are not modelled: the app only ever writes to one approver.
            raise ApiFailure("too_many_users", ["[ERROR] the sandbox opens DMs with one user only"])
        conversation, already = ws.open_dm(wanted[0])
    if args.flag("return_im"):
        body: dict[str, Any] = {"channel": conversation.im_to_api()}
    else:
        body = {"channel": {"id": conversation.id}}
    if already:
        body["no_op"] = True
        body["already_open"] = True
    return body


_LISTABLE = {"public_channel", "private_channel", "im", "mpim"}


def conversations_list(ws: Workspace, args: Args) -> dict[str, Any]:
    """conversations.list: the workspace's channels of the ``types`` asked for (default
    ``public_channel``); a private channel only when the bot is a member, as Slack shows a bot
    only the private channels it is in. A page at a time (``limit``, ``cursor``)."""
    types = {t.strip() for t in str(args.get("types") or "public_channel").split(",")}
    if not types <= _LISTABLE:
        raise ApiFailure("invalid_types")
    try:
        limit = int(args.text("limit") or 0) or 100
        start = int(args.text("cursor") or 0)
    except ValueError:
        raise ApiFailure("invalid_cursor") from None
    if limit < 1 or limit > 1000 or start < 0:
        raise ApiFailure("invalid_limit" if start >= 0 else "invalid_cursor")
    with ws.lock:
        channels = [
            c
            for c in ws.conversations.values()
            if not c.is_im
            and (
                ("private_channel" in types and c.is_private and ws.bot.user_id in c.members)
                or ("public_channel" in types and not c.is_private)
            )
        ]
        page = [c.channel_to_api(ws.bot.user_id) for c in channels[start : start + limit]]
    following = start + len(page)
    return {
        "channels": page,
        "response_metadata": {"next_cursor": str(following) if following < len(channels) else ""},
    }


METHODS: dict[str, Handler] = {
    "auth.test": auth_test,
    "chat.postMessage": chat_post_message,
    "chat.update": chat_update,
    "chat.postEphemeral": chat_post_ephemeral,
    "views.open": views_open,
    "views.push": views_push,
    "views.update": views_update,
    "views.publish": views_publish,
    "users.lookupByEmail": users_lookup_by_email,
    "users.info": users_info,
    "users.list": users_list,
    "conversations.open": conversations_open,
    "conversations.history": conversations_history,
    "conversations.list": conversations_list,
}
"""Every Web API method the sandbox serves, by its Slack name."""
