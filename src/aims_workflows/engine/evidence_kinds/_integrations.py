"""Evidence written while carrying out effects in other tools: Jira attachments, dead commands,
documents published to Confluence."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from ._base import EvidencePayload

__all__ = [
    "KINDS",
    "AttachmentRecorded",
    "CommandDead",
    "CommandRevived",
    "CommandRef",
    "DocumentPublished",
]


class AttachmentRecorded(EvidencePayload):
    """A file a person attached to a task's Jira issue, identified by its SHA-256 so that the copy
    an auditor is shown can be checked against what was attached (7.5.3 protection of
    integrity). The row's actor is the person who attached it."""

    KIND = "attachment.recorded"

    issue: str = Field(description="the Jira issue key")
    attachment_id: str = Field(description="Jira's id of the attachment")
    filename: str | None = Field(description="its file name, as Jira gave it")
    mime_type: str | None = Field(description="its media type, as Jira gave it")
    size: int = Field(description="its size in bytes")
    sha256: str = Field(description="SHA-256 of its content")


class CommandDead(EvidencePayload):
    """An effect in another tool (creating a Jira issue, posting a Slack approval) failed every
    retry and was set aside: the process is held up until someone acts (8.1)."""

    KIND = "command.dead"

    key: str = Field(description="the command's idempotency key")
    kind: str = Field(description="what it was to do (task.create, approval.request, ...)")
    reason: str = Field(description="why it was given up, with the last error")
    attempts: int = Field(description="how many times it was tried")


class CommandRef(BaseModel):
    """One command, by what it does and its idempotency key."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    kind: str = Field(description="what it does (task.create, approval.request, ...)")
    key: str = Field(description="its idempotency key")


class CommandRevived(EvidencePayload):
    """Someone queued a run's dead commands again (``aims runs retry``); the row's actor says
    who."""

    KIND = "command.revived"

    commands: list[CommandRef] = Field(description="the commands queued again")


class DocumentPublished(EvidencePayload):
    """A document (the SoA, the review pack, the audit summary, the AI policy, the register of
    documented information, a management review's input pack or minutes) was published to a
    Confluence page, built from the ledger up to ``ledger_head_seq`` (7.5.3 control of documented
    information: which version people read, and what it was made from). The row's actor says
    who published it."""

    KIND = "document.published"

    document: str = Field(
        description="which document: soa, review-pack, audit-summary, policy, documents, "
        "review-input-pack/RUN or review-minutes/RUN",
    )
    action: str = Field(description="created, updated, or unchanged (the page already said it)")
    space: str = Field(description="the Confluence space key")
    page_id: str = Field(description="Confluence's id of the page")
    title: str = Field(description="the page title")
    version: int = Field(description="the page version that holds this content")
    url: str = Field(description="where people read it")
    sha256: str = Field(description="SHA-256 of the storage-format body published")
    ledger_head_seq: int = Field(description="the last ledger row the document was built from")
    ledger_head_hash: str = Field(description="that row's hash")


KINDS: tuple[type[EvidencePayload], ...] = (
    AttachmentRecorded,
    CommandDead,
    CommandRevived,
    DocumentPublished,
)
