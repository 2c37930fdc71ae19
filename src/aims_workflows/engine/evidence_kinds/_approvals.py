"""Evidence of sign-offs: requested over a content hash, decided, refused, closed, invalidated."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, JsonValue

from ._base import EvidencePayload, Timestamp
from ._tasks import Escalated, Overdue, Reminded

__all__ = [
    "KINDS",
    "ApprovalRequested",
    "ApprovalDecided",
    "ApprovalRefused",
    "ApprovalClosed",
    "ApprovalInvalidated",
    "ApprovalReminded",
    "ApprovalOverdue",
    "ApprovalEscalated",
]


class ApprovalRequested(EvidencePayload):
    """Approval was asked of roles, bound to a SHA-256 of exactly the content to approve: the
    review and approval of documented information (7.5.2), the acceptance of residual risk by
    its owner (6.1.3, 8.3)."""

    KIND = "approval.requested"

    approval_id: str = Field(description="the request's id: run, step, visit and round")
    approvers: list[str] = Field(description="the roles that may decide")
    quorum: Literal["any", "all"] | int = Field(
        description="how many must approve: any one, all who may, or a number"
    )
    content_hash: str = Field(description="SHA-256 of the approved steps' data at the request")
    round: int = Field(
        description="1, then 2 and on when edited answers called for the approval again"
    )
    shown: dict[str, JsonValue] = Field(description="what the approvers were shown, by label")
    escalated_from: str | None = Field(
        None, description="the request that expired before this one was asked of an alternate"
    )
    step_up: str | None = Field(
        None,
        description="the step's step_up condition when it held: an approval counts only once "
        "confirmed in Jira",
    )


class ApprovalDecided(EvidencePayload):
    """An approver's decision with their reason, after every check passed: the approver holds an
    approving role, segregation of duties holds (they did not do the work or own the system),
    the content is what they saw, and they had not decided already (5.3, 7.5.2)."""

    KIND = "approval.decided"

    approval_id: str = Field(description="the request decided on")
    person: str = Field(description="the approver")
    decision: Literal["approve", "reject"] = Field(description="what they decided")
    reason: str = Field(description="their reason, in their words")
    content_hash: str = Field(description="SHA-256 of the content they approved or rejected")
    checks: list[str] = Field(description="the checks the decision passed, in the order made")
    on_behalf_of: str | None = Field(
        None, description="the role holder the approver decided for (a delegation), if any"
    )
    assurance: str | None = Field(
        None,
        description="how the approver's identity is known: 'verified by slack', "
        "'verified by jira', 'claimed' (the CLI); 'stepped up' adds a second channel",
    )


class ApprovalRefused(EvidencePayload):
    """A decision was not accepted, and the person was told why: not an approver, a segregation
    of duties conflict, content changed since they saw it, a second decision, no reason, or a
    request already closed. Attempts that break the rules are evidence too."""

    KIND = "approval.refused"

    person: str = Field(description="who tried to decide")
    approval_id: str | None = Field(description="the request they decided on, if known")
    reason: str = Field(description="why it was refused")
    decision: str | None = Field(description="the decision they sent, as sent")


class ApprovalClosed(EvidencePayload):
    """The approval reached its outcome: approved once the quorum was met, or rejected by any
    rejection (7.5.2). The latency feeds the approval-latency KPI (9.1)."""

    KIND = "approval.closed"

    approval_id: str = Field(description="the request closed")
    outcome: Literal["approved", "rejected"] = Field(description="its outcome")
    latency_seconds: float = Field(description="seconds from the request to the outcome")
    requested_at: Timestamp = Field(description="when it was requested")


class ApprovalInvalidated(EvidencePayload):
    """An open request no longer matched its content (answers it covers were edited), so it can
    no longer be given; a fresh request follows (7.5.3 control of changes)."""

    KIND = "approval.invalidated"

    approval_id: str = Field(description="the request invalidated")
    old_hash: str = Field(description="SHA-256 of the content it was asked over")
    new_hash: str = Field(description="SHA-256 of the content now")
    reason: str = Field(description="what changed")


class ApprovalReminded(Reminded):
    """A reminder of an open approval went to its approver roles (9.1)."""

    KIND = "approval.reminded"


class ApprovalOverdue(Overdue):
    """An approval's due date passed while it was open (9.1)."""

    KIND = "approval.overdue"


class ApprovalEscalated(Escalated):
    """An overdue approval was escalated to the role the workflow names (5.3, 9.1)."""

    KIND = "approval.escalated"


KINDS: tuple[type[EvidencePayload], ...] = (
    ApprovalRequested,
    ApprovalDecided,
    ApprovalRefused,
    ApprovalClosed,
    ApprovalInvalidated,
    ApprovalReminded,
    ApprovalOverdue,
    ApprovalEscalated,
)
