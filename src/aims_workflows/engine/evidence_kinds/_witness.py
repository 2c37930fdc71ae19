"""Evidence about the ledger itself: signed checkpoints of its head, kept outside the database."""

from __future__ import annotations

from pydantic import Field

from ._base import EvidencePayload, Timestamp

__all__ = ["KINDS", "LedgerCheckpoint"]


class LedgerCheckpoint(EvidencePayload):
    """The ledger head (row and hash) at a moment, signed with the organisation's Ed25519 witness
    key and posted to witnesses outside the database (a Slack channel, a pinned Jira issue, a
    file in a git repository), so that a later rewrite of the chain is seen (7.5.3 protection of
    integrity). ``aims evidence verify --witnesses`` fetches the posted copies back."""

    KIND = "ledger.checkpoint"

    head_seq: int = Field(description="the ledger row the checkpoint vouches for (the head)")
    head_hash: str = Field(description="that row's hash")
    at: Timestamp = Field(description="when the checkpoint was made (signed with the row)")
    key_id: str = Field(description="the first 16 hex digits of the public key's SHA-256")
    signature: str = Field(description="Ed25519 signature of the checkpoint, hex")
    witnesses: list[str] = Field(description="where it is posted (slack, jira, git)")


KINDS: tuple[type[EvidencePayload], ...] = (LedgerCheckpoint,)
