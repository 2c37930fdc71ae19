"""The ApprovalChannel and Notifier ports on Slack.

``SlackApprovalChannel.perform`` carries out the engine's ``approval.*`` commands:

* ``approval.request``: look every approver up by e-mail (one clear error naming whoever Slack
  does not know, before anything is posted), then post the card with its buttons to each of
  them by direct message, or once to the channel when the step says ``channel``;
* ``approval.remind``: repost the card to those who have not decided yet, and strip the
  buttons from the copy it replaces, so each person has one live card;
* ``approval.escalate``: show the card (without buttons) to the people escalated to, and mark
  the approvers' copies overdue;
* ``approval.close`` / ``approval.invalidate``: update every copy to the outcome, no buttons;
* ``approval.refuse``: tell the person, in an ephemeral message where they clicked (through the
  interaction's ``response_url`` while it is valid), why their decision was not recorded.

Every call is idempotent per command key: each post is written down before it is made and
recorded once made (:mod:`._posts`), in the database, so a retry after a 429, or after the
process was killed between a post and its record, posts only what is still missing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.webhook import WebhookClient

from ...engine.commands import (
    CloseApproval,
    Command,
    EscalateApproval,
    InvalidateApproval,
    Notify,
    RefuseDecision,
    RemindApproval,
    ReopenApproval,
    RequestApproval,
)
from ...errors import PermanentError
from . import _blocks as bk
from ._book import Copy, MessageBook
from ._directory import Directory, UnknownPerson
from ._errors import slack_call, translate
from ._posts import Poster

__all__ = ["SlackApprovalChannel", "SlackNotifier"]

log = logging.getLogger("aims.slack")

_GONE = {"message_not_found", "channel_not_found", "cant_update_message", "is_archived"}


class _Base:
    def __init__(
        self, client: WebClient, directory: Directory, poster: Poster | None = None
    ) -> None:
        self.client = client
        self.directory = directory
        self.poster = poster or Poster(client)
        self._progress: dict[str, dict[str, Any]] = {}
        self._progress_lock = threading.Lock()

    def _memo(self, key: str) -> dict[str, Any]:
        with self._progress_lock:
            return self._progress.setdefault(key, {})

    def _forget(self, key: str) -> None:
        with self._progress_lock:
            self._progress.pop(key, None)

    def who(self, email: str) -> str:
        """A mention when Slack knows the person (it renders as their name), else the e-mail."""
        user_id = self.directory.cached_id(email)
        return f"<@{user_id}>" if user_id else email

    def dm(self, user_id: str) -> str:
        answer = slack_call(
            "conversations.open", lambda: self.client.conversations_open(users=user_id)
        )
        return answer["channel"]["id"]

    def post(
        self, key: str, slot: str, channel: str, text: str, blocks: list[dict[str, Any]]
    ) -> tuple[str, str]:
        """Post once per (command ``key``, ``slot``), across retries and crashes."""
        return self.poster.post(key, slot, channel, text, blocks)

    def update(self, channel: str, ts: str, text: str, blocks: list[dict[str, Any]]) -> bool:
        """Edit a message; False when it is gone (deleted, channel archived): nothing to update."""
        try:
            self.client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
        except SlackApiError as error:
            if error.response is not None and error.response.get("error") in _GONE:
                log.info("message %s in %s is gone; not updated", ts, channel)
                return False
            raise translate("chat.update", error) from None
        except (SlackClientError, OSError) as error:
            raise translate("chat.update", error) from None
        return True


class SlackApprovalChannel(_Base):
    """Approvals as Slack messages with Approve / Reject buttons.

    >>> book = MessageBook(SlackMessageRecords(db, clock))  # doctest: +SKIP
    >>> channel = SlackApprovalChannel(  # doctest: +SKIP
    ...     client, Directory(client), book, channel="#aims-approvals"
    ... )
    >>> channel.perform(command)  # doctest: +SKIP
    {'ref': 'slack:D0123ABCD:1767600000.000100', ...}
    """

    def __init__(
        self,
        client: WebClient,
        directory: Directory,
        book: MessageBook,
        *,
        channel: str | None = None,
        issue_url: Callable[[str], str | None] | None = None,
        run_url: Callable[[str], str | None] | None = None,
        poster: Poster | None = None,
    ) -> None:
        super().__init__(client, directory, poster)
        self.book = book
        self.channel = channel
        self.issue_url = issue_url
        self.run_url = run_url

    def perform(self, command: Command) -> dict[str, Any]:
        match command:
            case RequestApproval():
                result = self._request(command)
            case RemindApproval():
                result = self._remind(command)
            case EscalateApproval():
                result = self._escalate(command)
            case CloseApproval():
                result = self._close(command)
            case InvalidateApproval():
                result = self._invalidate(command)
            case RefuseDecision():
                result = self._refuse(command)
            case ReopenApproval():
                result = self._reopen(command)
            case _:
                log.info("ignoring %s: not a Slack approval command", command.kind)
                return {}
        self._forget(command.key)
        return result

    # -- request ----------------------------------------------------------------------------
    def _request(self, command: RequestApproval) -> dict[str, Any]:
        card = bk.Card.from_request(command, self.issue_url, self.run_url)
        people = list(command.people)
        ids = self.directory.user_ids(
            people
        )  # UnknownPerson names everyone missing, before any post
        for asker in card.asked_by:  # shown as mentions; someone not in Slack is shown by e-mail
            try:
                self.directory.user_id(asker)
            except UnknownPerson:
                pass
        self.book.set_card(command.run_id, card.approval_id, card.to_metadata(), people)
        text = bk.fallback_text(card)
        blocks = bk.request_blocks(card, who=self.who)
        # what this request posted before (a retry after a 429, or after the process was
        # killed): each copy is recorded as soon as it is posted, before the next is posted
        done = self._posted(command.key, lambda c: c.person or "#channel")
        if command.channel == "channel" and self.channel:
            if "#channel" not in done:
                channel, ts = self.post(command.key, "#channel", self.channel, text, blocks)
                copy = Copy(card.approval_id, channel, ts, "channel", command_key=command.key)
                self.book.add(copy)  # at once: a later failure or crash keeps it
                done["#channel"] = copy.to_dict()
        else:
            if command.channel == "channel":
                log.warning(
                    "step %s asks for a channel but AIMS_SLACK_CHANNEL is not set: "
                    "sending direct messages",
                    command.step_id,
                )
            for person in people:
                if person in done:
                    continue
                channel, ts = self.post(command.key, person, self.dm(ids[person]), text, blocks)
                copy = Copy(
                    card.approval_id,
                    channel,
                    ts,
                    "approver",
                    person,
                    ids[person],
                    command_key=command.key,
                )
                self.book.add(copy)  # at once: a later failure or crash keeps it
                done[person] = copy.to_dict()
        copies = list(done.values())
        first = copies[0]
        return {
            "ref": f"slack:{first['channel']}:{first['ts']}",
            "card": card.to_metadata(),
            "people": people,
            "copies": copies,
        }

    def _posted(self, command_key: str, slot: Callable[[Copy], str]) -> dict[str, Any]:
        """The copies ``command_key`` posted already, by ``slot``, as result dicts: the
        book's record (any process, across a crash) and this process's memo of a retry."""
        done = self._memo(command_key)
        for copy in self.book.posted_by(command_key):
            done.setdefault(slot(copy), copy.to_dict())
        return done

    def _card(self, run_id: str, approval_id: str | None) -> bk.Card | None:
        raw = self.book.card(run_id, approval_id or "")
        return bk.Card.from_metadata(raw) if raw else None

    # -- reminders and escalations ------------------------------------------------------------
    def _remind(self, command: RemindApproval) -> dict[str, Any]:
        card = self._card(command.run_id, command.approval_id)
        if card is None:
            return {"skipped": "no Slack message for this approval"}
        approval_id = card.approval_id
        decided = self.book.decided(command.run_id, approval_id)
        note = (
            ":alarm_clock: *Reminder*: this approval is waiting for you, "
            f"due {bk._when(card.due_at)}."
        )
        text = bk.fallback_text(card, "Reminder")
        # a repost goes to the same conversation as the copy it replaces: what this reminder
        # posted before a crash is found by (channel, person) and not posted again
        done = self._posted(command.key, lambda c: f"{c.channel}:{c.person or ''}")
        retired: list[list[str]] = []
        for old in self.book.copies(command.run_id, approval_id):
            if old.command_key == command.key:
                continue  # a copy this reminder posted
            if old.role not in ("approver", "channel") or (old.person and old.person in decided):
                continue
            slot = f"{old.channel}:{old.person or ''}"
            if slot not in done:
                channel, ts = self.post(
                    command.key,
                    slot,
                    old.channel,
                    text,
                    bk.request_blocks(card, who=self.who, note=note),
                )
                new = Copy(approval_id, channel, ts, old.role, old.person, old.user, command.key)
                self.book.add(new)  # at once, before the old copy loses its buttons
                done[slot] = new.to_dict()
            self.update(
                old.channel,
                old.ts,
                bk.fallback_text(card, "Reminded"),
                bk.outcome_blocks(
                    card,
                    "reminded",
                    who=self.who,
                    note="A reminder with the buttons was posted below.",
                ),
            )
            self.book.retire(approval_id, old.channel, old.ts)
            retired.append([old.channel, old.ts])
        return {"copies": list(done.values()), "retired": retired}

    def _escalate(self, command: EscalateApproval) -> dict[str, Any]:
        card = self._card(command.run_id, command.approval_id)
        if card is None:
            return {"skipped": "no Slack message for this approval"}
        people = [x for x in command.people if x]
        ids = self.directory.user_ids(people)
        decided = self.book.decided(command.run_id, card.approval_id)
        waiting = [
            x for x in self.book.people(command.run_id, card.approval_id) if x not in decided
        ]
        note = (
            f":rotating_light: *Escalated to you*: this approval was due {bk._when(card.due_at)} "
            "and is still open. "
            f"Waiting for: {', '.join(self.who(x) for x in waiting) or 'the approvers'}."
        )
        done = self._posted(command.key, lambda c: c.person or "")
        for person in people:
            if person in done:
                continue
            channel, ts = self.post(
                command.key,
                person,
                self.dm(ids[person]),
                bk.fallback_text(card, "Escalated"),
                bk.escalation_blocks(card, note, who=self.who),
            )
            copy = Copy(card.approval_id, channel, ts, "watcher", person, ids[person], command.key)
            self.book.add(copy)  # at once: a crash before the next post keeps it
            done[person] = copy.to_dict()
        overdue = (
            f":warning: *Overdue* since {bk._when(card.due_at)}; "
            f"escalated to {', '.join(self.who(x) for x in people)}."
        )
        for copy in self.book.copies(command.run_id, card.approval_id):
            if copy.role in ("approver", "channel") and not (
                copy.person and copy.person in decided
            ):
                self.update(
                    copy.channel,
                    copy.ts,
                    bk.fallback_text(card, "Overdue"),
                    bk.request_blocks(card, who=self.who, note=overdue),
                )
        return {"copies": list(done.values())}

    # -- the end of a request ---------------------------------------------------------------------
    def _close(self, command: CloseApproval) -> dict[str, Any]:
        card = self._card(command.run_id, command.approval_id)
        if card is None:
            return {"skipped": "no Slack message for this approval"}
        outcome = command.outcome
        note = (
            f"Asked of {command.escalated_to} instead."
            if outcome == "expired" and command.escalated_to
            else None
        )
        blocks = bk.outcome_blocks(card, outcome, command.decisions, who=self.who, note=note)
        text = bk.fallback_text(card, outcome.title())
        updated = sum(
            self.update(c.channel, c.ts, text, blocks)
            for c in self.book.copies(command.run_id, card.approval_id)
        )
        return {"updated": updated, "outcome": outcome}

    def _invalidate(self, command: InvalidateApproval) -> dict[str, Any]:
        card = self._card(command.run_id, command.approval_id)
        if card is None:
            return {"skipped": "no Slack message for this approval"}
        reason = command.reason or "the content changed"
        note = f"Not valid any more: {reason}. A fresh request with the new content has been sent."
        blocks = bk.outcome_blocks(card, "invalidated", who=self.who, note=note)
        text = bk.fallback_text(card, "Replaced")
        updated = sum(
            self.update(c.channel, c.ts, text, blocks)
            for c in self.book.copies(command.run_id, card.approval_id)
        )
        return {"updated": updated}

    def _reopen(self, command: ReopenApproval) -> dict[str, Any]:
        """A withdrawn decision: the person's copies get their buttons back."""
        card = self._card(command.run_id, command.approval_id)
        if card is None:
            return {"skipped": "no Slack message for this approval"}
        note = (
            f":leftwards_arrow_with_hook: You withdrew your decision: "
            f"“{bk._md_escape(command.reason)}”. The request is open for you again."
        )
        blocks = bk.request_blocks(card, who=self.who, note=note)
        text = bk.fallback_text(card, "Withdrawn")
        updated = sum(
            self.update(c.channel, c.ts, text, blocks)
            for c in self.book.copies(command.run_id, card.approval_id)
            if c.person == command.person and c.role == "approver"
        )
        return {"updated": updated}

    def _refuse(self, command: RefuseDecision) -> dict[str, Any]:
        card = self._card(command.run_id, command.approval_id) if command.approval_id else None
        what = f"“{card.title}”" if card else "this approval"
        text = f":no_entry: Your decision on {what} was not recorded: {command.reason}."
        response = command.response
        user = response.user if response else None
        channel = response.channel if response else None
        if response and response.response_url and self._respond(response.response_url, text):
            return {"shown": "ephemeral", "via": "response_url"}
        if user is None:
            try:
                user = self.directory.user_id(command.person)
            except UnknownPerson:
                return {"skipped": "the person is not in Slack"}
        if channel:
            try:
                slack_call(
                    "chat.postEphemeral",
                    lambda: self.client.chat_postEphemeral(channel=channel, user=user, text=text),
                )
                return {"shown": "ephemeral", "channel": channel}
            except PermanentError:
                pass  # the person left the channel, or it was a Home tab click: tell them directly
        dm = self.dm(user)
        slack_call(
            "chat.postEphemeral",
            lambda: self.client.chat_postEphemeral(channel=dm, user=user, text=text),
        )
        return {"shown": "ephemeral", "channel": dm}

    def _respond(self, url: str, text: str) -> bool:
        """An ephemeral answer to an interaction through its ``response_url``; False when Slack
        no longer takes it (it lives 30 minutes and takes 5 answers): then tell them directly."""
        try:
            answer = WebhookClient(url, timeout=10).send(
                text=text, response_type="ephemeral", replace_original=False
            )
        except (SlackClientError, OSError) as error:
            log.info("response_url not usable (%s); telling the person directly", error)
            return False
        if answer.status_code >= 500 or answer.status_code == 429:
            raise translate(
                "response_url", SlackClientError(f"HTTP {answer.status_code}: {answer.body}")
            )
        return answer.status_code == 200


class SlackNotifier(_Base):
    """``notify`` commands as direct messages. Posts to everyone Slack knows, then reports
    anyone it does not as a permanent error (so the run shows who missed the message).

    Who was messaged is kept with the post intents in the database (one per person and
    notification), not in memory: a notification retried after a crash, or by another
    process, reaches each person once."""

    def perform(self, command: Command) -> dict[str, Any]:
        if not isinstance(command, Notify):
            log.info("ignoring %s: not a notification", command.kind)
            return {}
        message = command.message or command.kind
        done = set(self.poster.made(command.key))
        missing: list[str] = []
        for person in command.people:
            if person in done:
                continue
            try:
                user_id = self.directory.user_id(person)
            except UnknownPerson:
                missing.append(person)
                continue
            self.post(
                command.key,
                person,
                self.dm(user_id),
                message[:3000],
                [
                    {
                        "type": "section",
                        "text": {"type": "mrkdwn", "text": bk._md_escape(message)[:3000]},
                    }
                ],
            )
            done.add(person)
        if missing:
            raise UnknownPerson(missing)
        return {"sent": sorted(done)}
