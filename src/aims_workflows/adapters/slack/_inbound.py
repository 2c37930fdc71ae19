"""Slack decisions in: from an interaction payload to an engine ``Event``, through the inbox.

Slack comes in the way Jira does: the request is verified (``routes.SlackSignatureCheck``), the
decision it carries is stored in the inbox (``Runtime.store_delivery``), Slack gets its
acknowledgement, and the runtime applies the stored delivery (``Runtime.receive``), once, in one
transaction with its inbox row. A delivery stored but not applied (the process stopped in
between) is applied by :meth:`SlackInbox.process_pending`, which ``aims worker`` runs.

What cannot count is answered at once where that needs no write (the click of someone the
request was not sent to opens no modal); the engine's refusal, recorded in the ledger, reaches
the person as an ``approval.refuse`` command through the interaction's ``response_url``.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from ...engine import Actor, ApprovalDecided, ReplyTo
from ...errors import AimsError, IntegrationError, RetryableError, StoreError
from ...runtime import Delivery, Outcome
from ._directory import Directory
from ._errors import redact

__all__ = ["SOURCE", "SlackDecision", "SlackInbox", "to_event", "person_of", "TRY_AGAIN"]

log = logging.getLogger("aims.slack")

SOURCE = "slack"
"""The inbox source of Slack deliveries (de-duplication keys are ``(SOURCE, id)``)."""


@dataclass(frozen=True)
class SlackDecision:
    """What one interaction says about one approval. ``delivery_id`` is stable across Slack's
    retries of the same interaction (``view:<view id>``, ``click:<user>:<action_ts>``);
    ``channel``, ``response_url`` and ``home`` say where to answer the person."""

    delivery_id: str
    user: str
    approval_id: str
    decision: str
    reason: str
    content_hash: str
    channel: str | None = None
    response_url: str | None = None
    home: bool = False

    @property
    def ref(self) -> str:
        return "slack:" + self.delivery_id

    def payload(self) -> str:
        """What the inbox keeps of the delivery: enough to apply it later, no secret."""
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_payload(cls, text: str) -> SlackDecision | None:
        try:
            data = json.loads(text)
            return cls(**data) if isinstance(data, dict) else None
        except (ValueError, TypeError):
            return None


def from_view(body: dict[str, Any], view: dict[str, Any], reason: str) -> SlackDecision:
    """The decision a submitted reason modal carries (its private metadata says which)."""
    meta = json.loads(view.get("private_metadata") or "{}")
    return SlackDecision(
        delivery_id=f"view:{view['id']}",
        user=body["user"]["id"],
        approval_id=meta["a"],
        decision=meta["d"],
        reason=reason,
        content_hash=meta["h"],
        channel=meta.get("c"),
        home=bool(meta.get("home")),
    )


def from_click(
    body: dict[str, Any], approval_id: str, content_hash: str, decision: str
) -> SlackDecision:
    """A click that counts as a decision without a reason (one the engine will refuse)."""
    action = body["actions"][0]
    user = body["user"]["id"]
    return SlackDecision(
        delivery_id=f"click:{user}:{action.get('action_ts')}",
        user=user,
        approval_id=approval_id,
        decision=decision,
        reason="",
        content_hash=content_hash,
        channel=(body.get("channel") or {}).get("id"),
        response_url=body.get("response_url"),
    )


def to_event(decision: SlackDecision, actor: Actor) -> ApprovalDecided:
    """The engine event of a Slack decision; the runtime adds the run, step and eligibility."""
    return ApprovalDecided(
        actor=actor,
        approval_id=decision.approval_id,
        decision=decision.decision,
        reason=decision.reason,
        content_hash=decision.content_hash,
        reply_to=ReplyTo(
            channel=decision.channel, user=decision.user, response_url=decision.response_url
        ),
        ref=decision.ref,
    )


TRY_AGAIN = (
    "Slack is busy and could not tell aims who you are just now, so nothing was recorded. "
    "Please try again in a minute."
)
"""What a person is told when their Slack identity cannot be looked up for a while."""


def person_of(directory: Directory, user_id: str) -> str:
    """The person (e-mail) behind a Slack user, or ``slack:<id>`` when Slack will not say.

    A lookup Slack refuses for a while (rate-limited, unavailable) raises the
    :class:`~aims_workflows.errors.RetryableError`: answering ``slack:<id>`` then would turn an
    eligible approver into "not an approver" and record that refusal."""
    try:
        email = directory.email(user_id)
    except RetryableError:
        log.warning("Slack user %s cannot be looked up for now (rate-limited)", user_id)
        raise
    except AimsError as err:
        log.warning("cannot look up Slack user %s: %s", user_id, redact(str(err)))
        email = None
    return email or f"slack:{user_id}"


Applied = Callable[[SlackDecision, str, Outcome], None]
"""Called after a decision was applied: (decision, person, outcome)."""


class SlackInbox:
    """Stores Slack decisions before they are acknowledged and applies them after."""

    def __init__(self, runtime: Any, directory: Directory) -> None:
        self.runtime = runtime
        self.directory = directory
        self.on_applied: Applied | None = None
        # the name this process takes stored decisions under (see process_pending)
        self.owner = f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def store(self, decision: SlackDecision) -> bool:
        """Keep the delivery before Slack is answered; False for a repeat."""
        return bool(self.runtime.store_delivery(self._delivery(decision)))

    def apply(self, decision: SlackDecision) -> Outcome:
        """Apply a decision (stored before or not) in the runtime, once."""
        person = person_of(self.directory, decision.user)
        outcome: Outcome = self.runtime.receive(
            to_event(decision, self.runtime.actor(person, SOURCE, handle=decision.user)),
            delivery=self._delivery(decision),
        )
        if not outcome.duplicate and self.on_applied is not None:
            self.on_applied(decision, person, outcome)
        return outcome

    def process_pending(self, limit: int = 200) -> int:
        """Apply the decisions stored but not applied yet (after a stop); how many. They are
        taken under this process's name first, so workers sharing a database apply different
        ones; what is left is given back at the end."""
        try:
            return self._apply_taken(self.runtime.claim_deliveries(SOURCE, self.owner, limit))
        finally:
            self.runtime.release_deliveries(SOURCE, self.owner)

    def _apply_taken(self, taken: list[Delivery]) -> int:
        done = 0
        for delivery in taken:
            decision = SlackDecision.from_payload(delivery.payload)
            try:
                if decision is None:
                    done += self.runtime.ignore(delivery, "not a Slack decision")
                elif not self.apply(decision).duplicate:
                    done += 1
            except (StoreError, IntegrationError) as err:
                # the database or Slack is unavailable (a lookup rate-limited): try again later
                log.warning("slack delivery %s not applied yet: %s", delivery.id, err)
            except Exception as err:  # noqa: BLE001 - one odd delivery must not stop the rest
                reason = f"cannot be applied: {type(err).__name__}: {str(err)[:300]}"
                log.error("slack delivery %s parked: %s", delivery.id, reason)
                done += int(self.runtime.park(delivery, reason))
        return done

    @staticmethod
    def _delivery(decision: SlackDecision) -> Delivery:
        return Delivery(SOURCE, decision.delivery_id, decision.payload())
