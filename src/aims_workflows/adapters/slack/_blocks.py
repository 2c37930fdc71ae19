"""Block Kit for approvals, built with ``slack_sdk.models`` so every block is checked as built.

* :func:`request_blocks`: the approval request (what, for which AI system, key answers, who
  asked, due date, Jira links, a short content hash) with Approve / Reject buttons;
* :func:`outcome_blocks`: the same card once the approval closed or was replaced: no buttons;
* :func:`decision_modal`: the modal that asks for the reason;
* :func:`home_view`: the App Home tab with the person's pending approvals.

Button values carry ``approval_id|content_hash``: the hash is the content the person saw, and
the engine refuses the decision when it no longer matches.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    SectionBlock,
)
from slack_sdk.models.views import View

from ...engine.commands import RequestApproval
from ...engine.state import Decision

__all__ = [
    "Card",
    "APPROVE",
    "REJECT",
    "WITHDRAW",
    "DECISION_CALLBACK",
    "REASON_BLOCK",
    "REASON_ACTION",
    "request_blocks",
    "outcome_blocks",
    "decided_blocks",
    "escalation_blocks",
    "decision_modal",
    "notice_modal",
    "home_view",
    "button_value",
    "parse_button_value",
    "short_hash",
    "fallback_text",
]

APPROVE = "aims_approve"
REJECT = "aims_reject"
WITHDRAW = "aims_withdraw"
DECISION_CALLBACK = "aims_decision"
REASON_BLOCK = "reason"
REASON_ACTION = "reason_text"
MAX_REASON = 2000

_SUBJECT_LABELS = {"ai_system": "AI system", "organisation": "Organisation", "finding": "Finding"}
_OUTCOME_WORDS = {
    "approved": ":white_check_mark: *Approved*",
    "rejected": ":x: *Rejected*",
    "cancelled": ":no_entry_sign: *Cancelled*: the run was cancelled",
    "invalidated": ":arrows_counterclockwise: *Replaced*",
    "expired": ":hourglass: *Expired*: nobody decided by the due date (not a rejection)",
}


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# Slack's limits (api.slack.com/reference/block-kit/blocks): a message holds at most 50 blocks,
# a section's text 3,000 characters, each of its at most 10 fields 2,000. Slack refuses a
# message over any of them (invalid_blocks), so long answers are cut with a pointer to the
# whole text, and answers beyond what fits are counted instead of shown.
SECTION_TEXT = 3000
FIELD_TEXT = 2000
MESSAGE_BLOCKS = 50
ANSWER_SECTIONS = 40
"""Sections of answers in one message (10 fields each), leaving room under 50 blocks for the
header, facts, note or outcome, buttons, hash line and the "…and N more" line."""


def _more_where(card: Card) -> str:
    if card.run_url:
        return f"<{card.run_url}|on the run page>"
    return f"in `aims runs show {card.run_id}`" if card.run_id else "in aims"


def clip_more(text: str, limit: int, card: Card) -> str:
    """``text`` within ``limit`` characters; when cut, it says how much is left out and where
    the whole text is (the run page, when aims knows its address)."""
    if len(text) <= limit:
        return text
    where = _more_where(card)
    # the suffix's own length depends on the count: reserve room for the longest count
    keep = limit - len(f"… and {len(text):,} more characters {where}")
    return f"{text[:keep]}… and {len(text) - keep:,} more characters {where}"


def _md_escape(text: str) -> str:
    # Slack mrkdwn needs only these three escaped; everything else is shown as typed.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def short_hash(content_hash: str) -> str:
    return content_hash[:12]


def button_value(approval_id: str, content_hash: str) -> str:
    return f"{approval_id}|{content_hash}"


def parse_button_value(value: str | None) -> tuple[str, str] | None:
    if not value or "|" not in value:
        return None
    approval_id, _, content_hash = value.rpartition("|")
    return (approval_id, content_hash) if approval_id and content_hash else None


def _when(iso: str | None) -> str:
    if not iso:
        return "no due date"
    try:
        moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return iso
    return moment.strftime("%a %d %b %Y %H:%M UTC")


def _value(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value) or "(none)"
    if value is None or value == "":
        return "(none)"
    return str(value)


@dataclass(frozen=True)
class Card:
    """What an approval message shows, taken from an ``approval.request`` command."""

    approval_id: str
    title: str
    workflow: str
    subject_type: str
    subject_name: str
    content_hash: str
    approvers: tuple[str, ...] = ()
    quorum: str = "any"
    asked_by: tuple[str, ...] = ()
    due_at: str | None = None
    show: tuple[tuple[str, str], ...] = ()
    issues: tuple[str, ...] = ()
    issue_links: tuple[tuple[str, str | None], ...] = field(default=())
    run_id: str = ""
    run_url: str | None = None
    """The run's page on the dashboard, where texts cut to fit Slack are shown whole."""
    escalated_from: str | None = None
    """The request that expired before this one went to an alternate role."""
    withdraw_within: str | None = None
    """How long a decision may be taken back ('1h'); None when it cannot."""
    step_up: bool = False
    """An approval counts only once the approver confirms it in Jira."""
    step_up_rule: str | None = None
    """The step-up condition with the values it read (a score against its threshold)."""
    changed: tuple[tuple[str, str, str], ...] = ()
    """(label, before, after): what changed since the step's previous request."""

    @classmethod
    def from_request(
        cls,
        request: RequestApproval,
        issue_url: Callable[[str], str | None] | None = None,
        run_url: Callable[[str], str | None] | None = None,
    ) -> Card:
        subject = request.subject
        issues = tuple(i for i in request.issues if i)
        return cls(
            run_id=request.run_id,
            run_url=run_url(request.run_id) if run_url else None,
            approval_id=request.approval_id,
            title=request.title or request.step_id or "Approval",
            workflow=request.workflow,
            subject_type=subject.type,
            subject_name=subject.name or subject.id,
            content_hash=request.content_hash,
            approvers=request.approvers,
            quorum=str(request.quorum),
            asked_by=request.asked_by,
            due_at=request.due_at,
            show=tuple((str(k), _value(v)) for k, v in request.show.items()),
            issues=issues,
            issue_links=tuple((key, issue_url(key) if issue_url else None) for key in issues),
            escalated_from=request.escalated_from,
            withdraw_within=request.withdraw_within,
            step_up=request.step_up,
            step_up_rule=request.step_up_rule,
            changed=request.changed,
        )

    def to_metadata(self) -> dict[str, Any]:
        """What the message remembers of itself (stored with each copy, re-rendered on close)."""
        return {
            "approval_id": self.approval_id,
            "title": self.title,
            "workflow": self.workflow,
            "subject_type": self.subject_type,
            "subject_name": self.subject_name,
            "content_hash": self.content_hash,
            "approvers": list(self.approvers),
            "quorum": self.quorum,
            "asked_by": list(self.asked_by),
            "due_at": self.due_at,
            "show": [list(p) for p in self.show],
            "issue_links": [list(p) for p in self.issue_links],
            "run_id": self.run_id,
            "run_url": self.run_url,
            # written only when set, so the metadata of other cards keeps its shape
            **({"escalated_from": self.escalated_from} if self.escalated_from else {}),
            **({"withdraw_within": self.withdraw_within} if self.withdraw_within else {}),
            **({"step_up": True} if self.step_up else {}),
            **({"step_up_rule": self.step_up_rule} if self.step_up_rule else {}),
            **({"changed": [list(c) for c in self.changed]} if self.changed else {}),
        }

    @classmethod
    def from_metadata(cls, data: dict[str, Any]) -> Card:
        return cls(
            approval_id=data["approval_id"],
            title=data["title"],
            workflow=data["workflow"],
            subject_type=data["subject_type"],
            subject_name=data["subject_name"],
            content_hash=data["content_hash"],
            approvers=tuple(data.get("approvers", ())),
            quorum=data.get("quorum", "any"),
            asked_by=tuple(data.get("asked_by", ())),
            due_at=data.get("due_at"),
            show=tuple(tuple(p) for p in data.get("show", ())),
            issues=tuple(k for k, _ in data.get("issue_links", ())),
            issue_links=tuple(tuple(p) for p in data.get("issue_links", ())),
            run_id=data.get("run_id", ""),
            run_url=data.get("run_url"),
            escalated_from=data.get("escalated_from"),
            withdraw_within=data.get("withdraw_within"),
            step_up=bool(data.get("step_up")),
            step_up_rule=data.get("step_up_rule"),
            changed=tuple((str(a), str(b), str(c)) for a, b, c in data.get("changed", ())),
        )


def fallback_text(card: Card, prefix: str = "Approval needed") -> str:
    """The plain text of a message: notifications and screen readers show this."""
    return _clip(
        f"{prefix}: {card.title} "
        f"({_SUBJECT_LABELS.get(card.subject_type, 'subject')} {card.subject_name})",
        3000,
    )


def _links(card: Card) -> str:
    parts = [f"<{url}|{key}>" if url else key for key, url in card.issue_links]
    return ", ".join(parts) if parts else "(none)"


def _body(card: Card, who: Callable[[str], str]) -> list[Block]:
    quorum = {"any": "any one of", "all": "all of"}.get(card.quorum, f"{card.quorum} of")
    facts = [
        f"*Workflow*\n{_md_escape(card.workflow)}",
        f"*{_SUBJECT_LABELS.get(card.subject_type, 'Subject')}*\n{_md_escape(card.subject_name)}",
        f"*Asked by*\n{', '.join(who(p) for p in card.asked_by) or 'the workflow'}",
        f"*Due*\n{_when(card.due_at)}",
        f"*Approvers*\n{quorum} {_md_escape(', '.join(card.approvers))}",
        f"*Jira*\n{_links(card)}",
    ]
    if card.run_url:
        facts.append(f"*Run*\n<{card.run_url}|{_md_escape(card.run_id or 'run page')}>")
    blocks: list[Block] = [
        HeaderBlock(text=_clip(card.title, 150)),
        SectionBlock(fields=[MarkdownTextObject(text=f) for f in facts]),
    ]
    if card.step_up or card.step_up_rule:
        lead = (
            ":closed_lock_with_key: *Above the step-up threshold*: an approval counts once you "
            "confirm it in Jira under your own account."
            if card.step_up
            else "*Step-up*: not needed."
        )
        rule = f"\n`{_md_escape(card.step_up_rule)}`" if card.step_up_rule else ""
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=_clip(lead + rule, 3000))]))
    if card.changed:
        lines = [
            f"• *{_md_escape(label)}*: {_md_escape(before)} → {_md_escape(after)}"
            for label, before, after in card.changed
        ]
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(
                    text=clip_more(
                        ":pencil2: *Changed since the last request*\n" + "\n".join(lines),
                        SECTION_TEXT,
                        card,
                    )
                )
            )
        )
    if card.escalated_from:
        blocks.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text=_clip(
                            ":hourglass: Asked of you because nobody decided the earlier "
                            f"request {card.escalated_from} by its due date.",
                            3000,
                        )
                    )
                ]
            )
        )
    shown = card.show[: ANSWER_SECTIONS * 10]
    answers = [
        MarkdownTextObject(text=clip_more(f"*{_md_escape(k)}*\n{_md_escape(v)}", FIELD_TEXT, card))
        for k, v in shown
    ]
    for start in range(0, len(answers), 10):  # a section holds at most 10 fields
        blocks.append(SectionBlock(fields=answers[start : start + 10]))
    if len(card.show) > len(shown):
        left = len(card.show) - len(shown)
        blocks.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text=f"…and {left:,} more answer{'s' if left > 1 else ''} "
                        f"{_more_where(card)}"
                    )
                ]
            )
        )
    return blocks


def _hash_context(card: Card, extra: str | None = None) -> ContextBlock:
    text = f"Content `{short_hash(card.content_hash)}` · approval {card.approval_id}"
    if extra:
        text = f"{extra} · {text}"
    return ContextBlock(elements=[MarkdownTextObject(text=_clip(text, 3000))])


def _plain(email: str) -> str:
    return _md_escape(email)


def request_blocks(
    card: Card, *, who: Callable[[str], str] = _plain, note: str | None = None
) -> list[dict[str, Any]]:
    """The request with its buttons. ``note`` (a reminder, an escalation) goes above them."""
    blocks = _body(card, who)
    if note:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=_clip(note, 3000))))
    value = button_value(card.approval_id, card.content_hash)
    blocks.append(
        ActionsBlock(
            block_id="aims_decide",
            elements=[
                ButtonElement(text="Approve", action_id=APPROVE, value=value, style="primary"),
                ButtonElement(text="Reject", action_id=REJECT, value=value, style="danger"),
            ],
        )
    )
    blocks.append(_hash_context(card))
    return [b.to_dict() for b in _validated(blocks)]


def outcome_blocks(
    card: Card,
    outcome: str,
    decisions: Sequence[Decision] = (),
    *,
    who: Callable[[str], str] = _plain,
    note: str | None = None,
) -> list[dict[str, Any]]:
    """The card without buttons, saying how it ended and who decided why."""
    blocks = _body(card, who)
    lines = [_OUTCOME_WORDS.get(outcome, f"*{outcome.title()}*")]
    if note:
        lines.append(_md_escape(note))
    for d in decisions:
        verb = "approved" if d.decision == "approve" else "rejected"
        # a delegate's decision reads "B for A", as the ledger has it
        for_whom = f" for {who(d.on_behalf_of)}" if d.on_behalf_of else ""
        lines.append(f"• {who(d.person)}{for_whom} {verb}: “{_md_escape(d.reason)}”")
    blocks.append(
        SectionBlock(text=MarkdownTextObject(text=clip_more("\n".join(lines), SECTION_TEXT, card)))
    )
    blocks.append(_hash_context(card))
    return [b.to_dict() for b in _validated(blocks)]


def decided_blocks(
    card: Card,
    person: str,
    decision: str,
    reason: str,
    *,
    who: Callable[[str], str] = _plain,
    then: str | None = None,
) -> list[dict[str, Any]]:
    """One approver's copy once they decided while the request is still open: others still
    have to decide (quorum all / N), or the step's withdraw window has not passed (then the
    copy offers a Withdraw button)."""
    verb = ":white_check_mark: You approved" if decision == "approve" else ":x: You rejected"
    blocks = _body(card, who)
    then = then or (
        f"It takes effect once {card.withdraw_within} has passed; until then you can withdraw it."
        if card.withdraw_within
        else "Waiting for the other approvers."
    )
    blocks.append(
        SectionBlock(
            text=MarkdownTextObject(text=_clip(f"{verb}: “{_md_escape(reason)}”\n{then}", 3000))
        )
    )
    if card.withdraw_within:
        blocks.append(
            ActionsBlock(
                block_id="aims_withdraw",
                elements=[
                    ButtonElement(
                        text="Withdraw my decision",
                        action_id=WITHDRAW,
                        value=button_value(card.approval_id, card.content_hash),
                    )
                ],
            )
        )
    blocks.append(_hash_context(card))
    return [b.to_dict() for b in _validated(blocks)]


def escalation_blocks(
    card: Card, note: str, *, who: Callable[[str], str] = _plain
) -> list[dict[str, Any]]:
    """What the person escalated to sees: the card and why, without buttons (not their call)."""
    blocks = _body(card, who)
    blocks.append(SectionBlock(text=MarkdownTextObject(text=_clip(note, 3000))))
    blocks.append(_hash_context(card))
    return [b.to_dict() for b in _validated(blocks)]


def decision_modal(
    card_title: str, decision: str, metadata: dict[str, Any], content_hash: str
) -> View:
    """The modal that asks for the reason; ``metadata`` comes back with the submission."""
    verb = {"approve": "Approve", "withdraw": "Withdraw"}.get(decision, "Reject")
    view = View(
        type="modal",
        callback_id=DECISION_CALLBACK,
        title=verb,
        submit=verb,
        close="Cancel",
        private_metadata=json.dumps(metadata, separators=(",", ":")),
        blocks=[
            SectionBlock(
                text=MarkdownTextObject(
                    text=_clip(
                        f"*{_md_escape(card_title)}*\nYou are about to *{verb.lower()}*"
                        f"{' your decision on' if decision == 'withdraw' else ''} "
                        f"the content `{short_hash(content_hash)}`. "
                        "Your reason is recorded as evidence.",
                        3000,
                    )
                )
            ),
            InputBlock(
                block_id=REASON_BLOCK,
                label="Reason",
                element=PlainTextInputElement(
                    action_id=REASON_ACTION,
                    multiline=True,
                    max_length=MAX_REASON,
                    placeholder="Why do you decide this way?",
                ),
            ),
        ],
    )
    view.validate_json()
    return view


def notice_modal(card_title: str, text: str) -> View:
    """What an opened decision form turns into when the click cannot count: why, and no
    submit button (the form is opened first, within the 3 seconds a trigger id lives, and
    the checks come after)."""
    view = View(
        type="modal",
        title="Not recorded",
        close="Close",
        blocks=[
            SectionBlock(
                text=MarkdownTextObject(
                    text=_clip(f"*{_md_escape(card_title)}*\n{_md_escape(text)}", 3000)
                )
            )
        ],
    )
    view.validate_json()
    return view


def home_view(pending: Iterable[Card], *, who: Callable[[str], str] = _plain) -> View:
    """The App Home tab: each pending approval with its buttons, or a line saying there are none."""
    cards = list(pending)
    blocks: list[Block] = [HeaderBlock(text="Your pending approvals")]
    if not cards:
        blocks.append(
            SectionBlock(text=MarkdownTextObject(text="Nothing is waiting for you. :tada:"))
        )
    for index, card in enumerate(cards[:12]):  # a Home tab holds at most 100 blocks
        blocks.append(DividerBlock())
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(
                    text=_clip(
                        f"*{_md_escape(card.title)}*\n{_md_escape(card.workflow)} · "
                        f"{_md_escape(card.subject_name)} · due {_when(card.due_at)}",
                        3000,
                    )
                )
            )
        )
        if card.show:
            blocks.append(
                SectionBlock(
                    fields=[
                        MarkdownTextObject(
                            text=clip_more(f"*{_md_escape(k)}*\n{_md_escape(v)}", FIELD_TEXT, card)
                        )
                        for k, v in card.show[:10]
                    ]
                )
            )
        value = button_value(card.approval_id, card.content_hash)
        blocks.append(
            ActionsBlock(
                block_id=f"aims_home_{index}",
                elements=[
                    ButtonElement(text="Approve", action_id=APPROVE, value=value, style="primary"),
                    ButtonElement(text="Reject", action_id=REJECT, value=value, style="danger"),
                ],
            )
        )
        blocks.append(_hash_context(card))
    if len(cards) > 12:
        blocks.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(text=f"… and {len(cards) - 12} more: type `/aims pending`")
                ]
            )
        )
    view = View(type="home", blocks=blocks)
    view.validate_json()
    return view


def _validated(blocks: list[Block]) -> list[Block]:
    for block in blocks:
        block.validate_json()
    return blocks
