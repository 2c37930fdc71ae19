"""Evidence of how a sign-off can end or change besides a decision: a request that nobody
decided in time expired (not a rejection), and an approver took back their decision within
the workflow's withdraw window (appended, never an edit of the decision's row)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ._base import EvidencePayload, Timestamp

__all__ = ["KINDS", "ApprovalExpired", "ApprovalStepUpRequested", "ApprovalWithdrawn"]


class ApprovalExpired(EvidencePayload):
    """A request was not decided by its due date and expired: it is closed without an outcome,
    which is neither an approval nor a rejection, and the approval-latency KPI does not count
    it. The request goes to the alternate approver role the workflow names (5.3, 9.1)."""

    KIND = "approval.expired"

    approval_id: str = Field(description="the request that expired")
    requested_at: Timestamp = Field(description="when it was requested")
    due_at: Timestamp = Field(description="when it was due")
    approvers: list[str] = Field(description="the roles it was asked of")
    decided: list[str] = Field(
        description="people whose decisions it held when it expired (a quorum not yet met)"
    )
    escalated_to: str | None = Field(description="the alternate role a fresh request goes to")


class ApprovalWithdrawn(EvidencePayload):
    """An approver took back their decision within the workflow's withdraw window, before the
    workflow acted on it. The decision's own row stays in the chain; this row follows it, and
    the request is open again (7.5.3 control of changes)."""

    KIND = "approval.withdrawn"

    approval_id: str = Field(description="the request the decision was on")
    person: str = Field(description="the approver who withdrew")
    decision: Literal["approve", "reject"] = Field(description="the decision withdrawn")
    decided_at: Timestamp = Field(description="when that decision was made")
    reason: str = Field(description="why it was withdrawn, in their words")
    on_behalf_of: str | None = Field(
        None, description="the role holder the withdrawn decision was made for, if any"
    )


class ApprovalStepUpRequested(EvidencePayload):
    """An approval above the workflow's step-up condition (e.g. a risk score over the
    threshold) passed every check but does not count yet: the same person must confirm it in a
    second channel, Jira, under the same account the directory of people links to them. The
    ``approval.decided`` row follows the confirmation (5.3, 6.1.3 risk acceptance)."""

    KIND = "approval.step_up_requested"

    approval_id: str = Field(description="the request approved")
    person: str = Field(description="the approver, who must confirm")
    reason: str = Field(description="their reason, in their words")
    condition: str = Field(description="the step's step_up condition, which held")
    confirm_in: Literal["jira"] = Field(description="where the confirmation is given")
    issues: list[str] = Field(description="the issues where the confirmation may be given")
    code: str = Field(description="what the confirming comment must say")


KINDS: tuple[type[EvidencePayload], ...] = (
    ApprovalExpired,
    ApprovalWithdrawn,
    ApprovalStepUpRequested,
)
