"""The Bolt app: what happens when an approver clicks, submits the reason, types ``/aims`` or
opens the App Home tab.

Every listener acknowledges first and works afterwards (Bolt's ``process_before_response``
with lazy listeners): Slack gets its HTTP 200 in milliseconds, and the lazy part
(``views.open``, applying the decision, the Web API) runs on the :class:`~._work.WorkPool`. The
modal's answer needs a check first: a blank reason is answered with ``response_action: errors``
and records nothing; a decision with a reason is stored in the inbox before the answer (see
``_inbound``), so nothing Slack was told is recorded can be lost.

The checks of a decision are the engine's, recorded in the ledger whether they pass or fail.
A click is checked early (is the request open, unchanged, sent to this person?) so that a
stranger or a stale button gets the refusal at once rather than after typing a reason; a
click that fails the early check is sent to the engine as a decision without a reason, and the
engine records why it is refused.
"""

from __future__ import annotations

import functools
import html
import json
import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from ...errors import AimsError, NotFound, RetryableError
from ...runtime import Outcome
from . import _blocks as bk
from ._book import MessageBook
from ._delegate import USAGE as DELEGATE_USAGE
from ._delegate import delegate_from_slack
from ._directory import Directory
from ._errors import redact, slack_call
from ._inbound import SOURCE, TRY_AGAIN, SlackDecision, SlackInbox, from_click, from_view
from ._inbound import person_of as _person_of
from ._queries import SystemStatus, pending_for, system_status
from ._work import WorkPool

__all__ = ["build_bolt_app", "SOURCE"]

log = logging.getLogger("aims.slack")

REASON_MISSING = "Please give a reason: it is recorded as evidence with your decision."


def build_bolt_app(
    *,
    runtime: Any,
    client: WebClient,
    directory: Directory,
    book: MessageBook,
    signing_secret: str,
    pool: WorkPool,
    decisions: WorkPool | None = None,
    on_recorded: Callable[[], Any] | None = None,
    inbox: SlackInbox | None = None,
) -> App:
    """The Bolt ``App`` with the approval listeners. Signatures are checked before Bolt sees a
    request (``routes.SlackSignatureCheck``, which owns the clock), so Bolt's own check is off.

    ``pool`` runs the quick work after an acknowledgement (above all ``views.open``, which must
    happen within the 3 seconds a trigger id lives); ``decisions`` runs the database writes, so a
    burst of decisions queued behind the database never delays a modal. Without ``decisions``
    both run on ``pool``."""
    decisions = decisions or pool
    inbox = inbox or SlackInbox(runtime, directory)
    app = App(
        client=client,
        signing_secret=signing_secret,
        token_verification_enabled=False,
        request_verification_enabled=False,
        process_before_response=True,
        listener_executor=pool,
        raise_error_for_unhandled_request=False,
        logger=logging.getLogger("aims.slack.bolt"),
    )

    def person_of(user_id: str) -> str:
        return _person_of(directory, user_id)

    def tell(user_id: str, channel: str | None, text: str) -> None:
        try:
            target = (
                channel
                or slack_call(
                    "conversations.open", lambda: client.conversations_open(users=user_id)
                )["channel"]["id"]
            )
            slack_call(
                "chat.postEphemeral",
                lambda: client.chat_postEphemeral(channel=target, user=user_id, text=text),
            )
        except AimsError as err:
            log.warning("could not tell %s: %s", user_id, redact(str(err)))

    def recorded() -> None:
        if on_recorded is not None:
            try:
                on_recorded()
            except Exception:  # noqa: BLE001 - the decision is recorded; delivery is retried by the worker
                log.exception("carrying out commands after a Slack decision failed")

    # -- Approve / Reject -------------------------------------------------------------------
    def acknowledge(ack: Any) -> None:
        ack()

    def open_decision(body: dict[str, Any]) -> None:
        """The form first, the checks after: the trigger id lives 3 seconds, and looking the
        person up in Slack or reading the approval may take longer. A click that cannot count
        turns the open form into a notice saying why."""
        action = body["actions"][0]
        decision = {bk.APPROVE: "approve", bk.WITHDRAW: "withdraw"}.get(
            action["action_id"], "reject"
        )
        user_id = body["user"]["id"]
        channel = (body.get("channel") or {}).get("id")
        message_ts = (body.get("container") or {}).get("message_ts")
        parsed = bk.parse_button_value(action.get("value"))
        if parsed is None:
            tell(user_id, channel, "This button does not belong to an approval.")
            return
        approval_id, content_hash = parsed
        title = _title_in(body) or approval_id
        metadata = {
            "a": approval_id,
            "d": decision,
            "h": content_hash,
            "c": channel,
            "t": message_ts,
            "home": (body.get("container") or {}).get("type") == "view",
        }
        view = bk.decision_modal(title, decision, metadata, content_hash)
        try:
            opened = slack_call(
                "views.open", lambda: client.views_open(trigger_id=body["trigger_id"], view=view)
            )
        except AimsError as err:
            log.warning("views.open failed for %s: %s", user_id, redact(str(err)))
            tell(
                user_id,
                channel,
                "Slack could not open the form in time. Please click the button again.",
            )
            return
        view_id = str((opened.get("view") or {}).get("id") or "")

        def instead(text: str) -> None:
            """The open form becomes a notice: this click cannot count, and why."""
            try:
                slack_call(
                    "views.update",
                    lambda: client.views_update(view_id=view_id, view=bk.notice_modal(title, text)),
                )
            except AimsError as err:
                log.warning("could not update the form of %s: %s", user_id, redact(str(err)))

        try:
            person = person_of(user_id)
        except RetryableError:
            instead(TRY_AGAIN)
            tell(user_id, channel, TRY_AGAIN)
            return
        try:
            row = runtime.approval(approval_id)
        except NotFound:
            gone = f"Approval {approval_id} does not exist (any more)."
            instead(gone)
            tell(user_id, channel, gone)
            return
        people = book.people(row["run_id"], approval_id)
        stale = row["status"] != "open" or row["content_hash"] != content_hash
        not_asked = bool(people) and person not in people
        already = person in book.decided(row["run_id"], approval_id)
        if decision == "withdraw":
            # taking one's own decision back: the engine checks the window and says why not
            already = not already
        if stale or not_asked or already:
            # The engine decides and records why this click cannot count; the refusal reaches
            # the person through the click's response_url, and the form says it too.
            outcome = inbox.apply(from_click(body, approval_id, content_hash, decision))
            refused = [
                e.payload.get("reason")
                for e in (outcome.transition.evidence if outcome.transition else ())
                if e.kind == "approval.refused"
            ]
            instead(
                f"Your decision cannot be recorded: {refused[0]}."
                if refused
                else "Your decision cannot be recorded on this request."
            )
            return

    app.action(bk.APPROVE)(ack=acknowledge, lazy=[open_decision])
    app.action(bk.REJECT)(ack=acknowledge, lazy=[open_decision])
    app.action(bk.WITHDRAW)(ack=acknowledge, lazy=[open_decision])

    # -- the reason modal -------------------------------------------------------------------
    def reason_of(view: dict[str, Any]) -> str:
        values = (view.get("state") or {}).get("values") or {}
        return str(
            ((values.get(bk.REASON_BLOCK) or {}).get(bk.REASON_ACTION) or {}).get("value") or ""
        ).strip()

    def check_reason(ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        reason = reason_of(view)
        if not reason:
            ack(response_action="errors", errors={bk.REASON_BLOCK: REASON_MISSING})
            return
        inbox.store(from_view(body, view, reason))  # kept before Slack hears it was received
        ack()

    def record_decision(body: dict[str, Any], view: dict[str, Any]) -> None:
        if reason_of(view):
            decisions.submit(guarded, decide_now, body, view)

    def guarded(work: Callable[..., None], body: dict[str, Any], view: dict[str, Any]) -> None:
        """A failure after the ack cannot reach Slack's answer: log it and tell the person. The
        decision is in the inbox (stored before the ack): the worker applies it later."""
        try:
            work(body, view)
        except Exception as err:  # noqa: BLE001 - the stored delivery is applied by the worker
            meta = json.loads(view.get("private_metadata") or "{}")
            if isinstance(err, RetryableError):
                # Slack would not say who submitted (rate-limited): the decision stays stored
                # and the worker applies it once Slack answers again
                log.warning("a Slack decision waits for Slack to name its person: %s", err)
                cause = "Slack is busy"
            else:
                log.exception("applying a Slack decision failed; it stays stored for the worker")
                cause = type(err).__name__
            tell(
                body["user"]["id"],
                meta.get("c"),
                f"Your decision was received but not recorded yet ({cause}); "
                "it will be recorded shortly, there is no need to submit it again.",
            )

    def decide_now(body: dict[str, Any], view: dict[str, Any]) -> None:
        decision = from_view(body, view, reason_of(view))
        outcome = inbox.apply(decision)
        if outcome.run_id is None and outcome.not_applied:
            tell(
                decision.user,
                decision.channel,
                f"Approval {decision.approval_id} does not exist (any more).",
            )

    def applied(decision: SlackDecision, person: str, outcome: Outcome) -> None:
        """After a decision was applied, here or by the worker's pass over stored ones."""
        kinds = {e.kind for e in outcome.transition.evidence} if outcome.transition else set()
        if "approval.decided" in kinds and "approval.closed" not in kinds and outcome.run_id:
            mark_decided(
                outcome.run_id, decision.approval_id, person, decision.decision, decision.reason
            )
        elif "approval.step_up_requested" in kinds and outcome.run_id:
            mark_decided(
                outcome.run_id,
                decision.approval_id,
                person,
                decision.decision,
                decision.reason,
                then=":closed_lock_with_key: It counts once you confirm it in Jira: add a "
                f"comment reading “aims confirm {decision.approval_id}” on the issue, under "
                "your own Jira account.",
            )
        recorded()
        if decision.home:
            publish_home(decision.user)

    inbox.on_applied = applied

    def mark_decided(
        run_id: str,
        approval_id: str,
        person: str,
        decision: str,
        reason: str,
        then: str | None = None,
    ) -> None:
        """Others still have to decide (or a withdraw window or a step-up is open): this
        person's own copies lose their buttons."""
        card = book.card(run_id, approval_id)
        if card is None:
            return
        blocks = bk.decided_blocks(bk.Card.from_metadata(card), person, decision, reason, then=then)
        for copy in book.copies(run_id, approval_id):
            if copy.person == person and copy.role == "approver":
                try:
                    slack_call(
                        "chat.update",
                        functools.partial(
                            client.chat_update,
                            channel=copy.channel,
                            ts=copy.ts,
                            text="You decided",
                            blocks=blocks,
                        ),
                    )
                except AimsError as err:
                    log.warning("could not update %s: %s", copy.ts, redact(str(err)))

    app.view(bk.DECISION_CALLBACK)(ack=check_reason, lazy=[record_decision])

    # -- /aims ------------------------------------------------------------------------------
    def on_command(ack: Any, command: dict[str, Any]) -> None:
        words = (command.get("text") or "").split()
        verb = words[0].lower() if words else "help"
        if verb == "pending":
            try:
                cards = pending_for(book, person_of(command["user_id"]))
            except RetryableError:
                ack(text=TRY_AGAIN)
                return
            ack(text=_pending_text(cards))
        elif verb == "status" and len(words) > 1:
            asked = " ".join(words[1:])
            try:
                person = person_of(command["user_id"])
            except RetryableError:
                ack(text=TRY_AGAIN)
                return
            ack(text=_visible_status(system_status(runtime, asked), asked, person, runtime))
        elif verb == "delegate":
            try:
                person = person_of(command["user_id"])
                ack(text=delegate_from_slack(runtime, person, words[1:], person_of))
            except RetryableError:
                ack(text=TRY_AGAIN)
        else:
            ack(
                text="Usage: `/aims pending` (approvals waiting for you), "
                "`/aims status SYSTEM` (an AI system's assessments and runs) or "
                f"{DELEGATE_USAGE[len('Usage: ') :]}"
            )

    app.command("/aims")(on_command)

    # -- App Home ---------------------------------------------------------------------------
    def publish_home(user_id: str) -> None:
        try:
            cards = pending_for(book, person_of(user_id))
        except RetryableError:
            return  # the Home tab keeps what it showed; the next open publishes it again
        try:
            slack_call(
                "views.publish",
                lambda: client.views_publish(user_id=user_id, view=bk.home_view(cards)),
            )
        except AimsError as err:
            log.warning("could not publish the Home tab of %s: %s", user_id, redact(str(err)))

    def on_home_opened(event: dict[str, Any]) -> None:
        if event.get("tab", "home") == "home":
            publish_home(event["user"])

    app.event("app_home_opened")(ack=acknowledge, lazy=[on_home_opened])
    return app


def _title_in(body: dict[str, Any]) -> str | None:
    """The request's title as the clicked message shows it (its header), or as the Home tab
    shows it (the bold first line of the card above the clicked buttons)."""
    message = body.get("message") or {}
    for block in message.get("blocks") or ():
        if isinstance(block, dict) and block.get("type") == "header":
            text = (block.get("text") or {}).get("text")
            if isinstance(text, str) and text:
                return text
    blocks = list((body.get("view") or {}).get("blocks") or ())
    clicked = ((body.get("actions") or [{}])[0]).get("block_id")
    ids = [b.get("block_id") if isinstance(b, dict) else None for b in blocks]
    if clicked not in ids:
        return None
    for block in reversed(blocks[: ids.index(clicked)]):
        text = ((block.get("text") or {}).get("text") or "") if isinstance(block, dict) else ""
        if block.get("type") == "section" and text.startswith("*") and "*\n" in text:
            return html.unescape(text[1 : text.index("*\n")])  # shown escaped as mrkdwn
    return None


def _pending_text(cards: list[bk.Card]) -> str:
    if not cards:
        return "Nothing is waiting for your approval."
    lines = [f"*{len(cards)} approval(s) waiting for you:*"]
    for card in cards:
        due = f", due {bk._when(card.due_at)}" if card.due_at else ""
        lines.append(
            f"• {card.title} ({card.workflow}, {card.subject_name}{due}) "
            f"`{bk.short_hash(card.content_hash)}`"
        )
    lines.append("Open the aims app's Home tab, or the messages it sent you, to approve or reject.")
    return "\n".join(lines)


COMPLIANCE_ROLES = frozenset({"aims_owner", "internal_auditor", "top_management"})
"""Roles that may see any AI system's status in Slack; anyone else sees the systems they own."""


def _visible_status(status: SystemStatus | list[str], asked: str, person: str, runtime: Any) -> str:
    """``/aims status`` as this person may see it: every system for a compliance role, else
    only systems they own (and no list of the others' names)."""
    roles = set(runtime.actor(person, "slack").roles)
    if roles & COMPLIANCE_ROLES:
        return _status_text(status, asked)
    owns = isinstance(status, SystemStatus) and status.owner.lower() == person.lower()
    if owns:
        return _status_text(status, asked)
    return (
        f"You can see the status of the AI systems you own, and “{asked}” is not one of them. "
        "The AIMS owner, internal auditors and top management see every system."
    )


def _status_text(status: SystemStatus | list[str], asked: str) -> str:
    if isinstance(status, list):
        known = ", ".join(status) or "none yet"
        return f"No AI system named “{asked}”. Known systems: {known}."

    def until(moment: Any) -> str:
        return f"valid until {moment:%Y-%m-%d}" if moment else "none on record"

    lines = [
        f"*{status.name}* (owner {status.owner}, risk tier {status.risk_tier})",
        f"Risk assessment: {until(status.risk_valid_until)}. "
        f"Impact assessment: {until(status.impact_valid_until)}.",
    ]
    if not status.runs:
        lines.append("No workflow has run on it yet.")
    for run in status.runs:
        where = (
            f" at {run['current_step']}"
            if run["status"] == "running" and run["current_step"]
            else ""
        )
        lines.append(
            f"• {run['workflow_id']} {run['id']}: {run['status']}{where} "
            f"(started {run['started_at']:%Y-%m-%d})"
        )
    return "\n".join(lines)
