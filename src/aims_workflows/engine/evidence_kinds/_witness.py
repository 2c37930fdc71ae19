"""Evidence about the ledger itself: signed checkpoints of its head, kept outside the database,
and the RFC 3161 timestamps a time-stamp authority gave them."""

from __future__ import annotations

from pydantic import Field

from ._base import EvidencePayload, Timestamp

__all__ = ["KINDS", "LedgerCheckpoint", "LedgerTimestamp"]


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
    witnesses: list[str] = Field(description="where it is posted (slack, jira, git, tsa)")


class LedgerTimestamp(EvidencePayload):
    """An RFC 3161 time-stamp authority's token for a checkpoint: the TSA signed, at its own
    time, the SHA-256 of the checkpoint's signed bytes, so the checkpoint existed then (7.5.3
    protection of integrity). ``aims evidence verify --witnesses`` and the audit pack's
    verifier check the token against the trusted TSA CA."""

    KIND = "ledger.timestamp"

    head_seq: int = Field(description="the ledger row the timestamped checkpoint vouches for")
    head_hash: str = Field(description="that row's hash, as the checkpoint holds it")
    at: Timestamp = Field(description="when the checkpoint was made (it names it with head_seq)")
    key_id: str = Field(description="the checkpoint's witness key id")
    signature: str = Field(description="the checkpoint's Ed25519 signature, hex")
    digest: str = Field(
        description="SHA-256 of the checkpoint's signed bytes, hex: what the TSA stamped"
    )
    tsa: str = Field(description="the TSA's URL")
    gen_time: str = Field(description="the time the TSA put in the token (genTime)")
    serial: int = Field(description="the token's serial number at the TSA")
    token: str = Field(description="the TSA's DER TimeStampResp, base64")


KINDS: tuple[type[EvidencePayload], ...] = (LedgerCheckpoint, LedgerTimestamp)
