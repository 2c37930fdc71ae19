"""``/aims delegate @person until YYYY-MM-DD [role ROLE] REASON``: delegation from Slack, with
the same rules as ``aims delegate`` (the directory of people applies them and records every
refusal): a role one holds oneself (no re-delegation), not to oneself, an end in the future,
a reason. Who delegates is the Slack user who typed the command (verified by Slack)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ...errors import AimsError

__all__ = ["USAGE", "delegate_from_slack"]

USAGE = (
    "Usage: `/aims delegate @person until YYYY-MM-DD [role ROLE] reason…`: the person acts "
    "for you in the role until the end of that day (UTC); the reason is kept as evidence."
)

# with should_escape: true Slack sends a mention as <@U123|name> and an e-mail as
# <mailto:a@b.c|a@b.c>
_MENTION = re.compile(r"^<@([A-Z0-9]+)(?:\|[^>]*)?>$")
_MAILTO = re.compile(r"^<mailto:([^|>]+)(?:\|[^>]*)?>$")
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


@dataclass(frozen=True)
class _Asked:
    to: str
    until: str
    role: str | None
    reason: str


def _parse(words: list[str]) -> _Asked | str:
    """The request in ``words`` (after 'delegate'), or what is wrong with it."""
    if len(words) < 3 or words[1].lower() != "until":
        return "say who and until when"
    who, until, rest = words[0], words[2], words[3:]
    role = None
    if len(rest) >= 2 and rest[0].lower() == "role":
        role, rest = rest[1], rest[2:]
    return _Asked(who, until, role, " ".join(rest).strip())


def _end_of_day(text: str) -> datetime | None:
    try:
        day = datetime.strptime(text.strip(), "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        return None
    return day + timedelta(days=1)


def delegate_from_slack(
    runtime: Any, person: str, text_words: list[str], person_of: Callable[[str], str]
) -> str:
    """Carry out ``/aims delegate`` for ``person``; the answer to show them."""
    from ...runtime import DirectoryRefusal

    actor = runtime.actor(person, "slack")
    people = runtime.people
    parsed = _parse(text_words)
    asked: dict[str, str] = {"from": person, "text": " ".join(text_words)[:500]}

    def refused(reason: str) -> str:
        try:
            people.refuse("delegate", reason, asked, by=actor)
        except DirectoryRefusal:
            pass
        return f":no_entry: Not delegated: {reason}.\n{USAGE}"

    if isinstance(parsed, str):
        return refused(parsed)
    target = _who(parsed.to, person_of)
    if target is None:
        return refused(f"'{parsed.to}' is not a person: mention them (@name) or give their e-mail")
    end = _end_of_day(parsed.until)
    if end is None:
        return refused(f"'{parsed.until}' is not a date: write it as YYYY-MM-DD")
    role = parsed.role
    if role is None:
        held = sorted(set(actor.roles))
        if len(held) != 1:
            have = ", ".join(held) or "none"
            return refused(f"say which role with 'role ROLE' (your roles: {have})")
        role = held[0]
    if not parsed.reason:
        return refused("give a reason after the date (it is kept as evidence)")
    try:
        made = people.delegate(person, target, role, end, parsed.reason, by=actor)
    except DirectoryRefusal as err:
        return f":no_entry: Not delegated: {err}."
    except AimsError as err:
        return f":no_entry: Not delegated: {err}"
    return (
        f":handshake: {made.to_person} may act for you ({made.from_person}) as {made.role} "
        f"until {made.until:%Y-%m-%d %H:%M} UTC. Their decisions read "
        f"“{made.to_person} for {made.from_person}”."
    )


def _who(token: str, person_of: Callable[[str], str]) -> str | None:
    mention = _MENTION.match(token)
    if mention:
        return person_of(mention.group(1))
    mailto = _MAILTO.match(token)
    if mailto:
        return mailto.group(1)
    if _EMAIL.match(token):
        return token
    return None
