"""Evidence payloads as types: one frozen model per evidence kind, the contract auditors read.

A ledger row keeps its kind in its own column and its payload as canonical JSON text; the hash
covers those stored bytes. This package gives each kind a strict model, so a payload read back
is an object with attributes rather than a dict, and a payload written is checked against the
contract first::

    >>> stored = '{"answers":{"impact":3},"attempt":1,"by":"eve@example.com","overdue":false}'
    >>> completed = parse_evidence("task.completed", stored)
    >>> completed.by, completed.answers["impact"]
    ('eve@example.com', 3)
    >>> canonical_json(evidence_payload(completed)) == stored
    True

The models are the definition; ``docs/evidence.md`` and ``aims schema --evidence`` are generated
from them. :data:`SCHEMA_VERSION` says which revision of the contract this is (see the docs for
how it changes).
"""

from __future__ import annotations

from ..evidence import canonical_json
from ._approval_states import ApprovalExpired, ApprovalStepUpRequested, ApprovalWithdrawn
from ._approvals import (
    ApprovalClosed,
    ApprovalDecided,
    ApprovalEscalated,
    ApprovalInvalidated,
    ApprovalOverdue,
    ApprovalRefused,
    ApprovalReminded,
    ApprovalRequested,
)
from ._base import EvidencePayload, SubjectSnapshot, Timestamp
from ._documents import DocumentRegistered, DocumentReviewed, DocumentSnapshot
from ._inbox import DeliveriesRetried, DeliveryRef
from ._integrations import (
    AttachmentRecorded,
    CommandDead,
    CommandRef,
    CommandRevived,
    DocumentPublished,
)
from ._inventory import (
    FINDING_SOURCES,
    AISystemChanged,
    AISystemRegistered,
    AISystemSnapshot,
    FindingRaised,
    FindingSource,
)
from ._people import (
    DelegationGranted,
    DirectoryRefused,
    PersonLinked,
    RoleGranted,
    RoleRevoked,
)
from ._reference import evidence_reference
from ._registry import (
    AREAS,
    EVIDENCE_KINDS,
    SCHEMA_VERSION,
    AnyEvidence,
    close_kinds,
    evidence_model,
    evidence_payload,
    parse_evidence,
)
from ._runs import (
    ArtefactRecorded,
    ChildFinished,
    DecisionTaken,
    NotificationSent,
    RunCancelled,
    RunCompleted,
    RunFailed,
    RunSpawned,
    RunStarted,
    SubjectChanged,
    WaitEnded,
    WaitStarted,
)
from ._schema import evidence_json_schema, evidence_schema_text
from ._tasks import (
    Escalated,
    Overdue,
    Reminded,
    TaskAnswersChanged,
    TaskAnswersRefused,
    TaskCompleted,
    TaskEscalated,
    TaskIssued,
    TaskOverdue,
    TaskRefused,
    TaskReminded,
    TaskRequested,
)
from ._witness import LedgerCheckpoint, LedgerTimestamp

__all__ = [
    "SCHEMA_VERSION",
    "DeliveriesRetried",
    "DeliveryRef",
    "AREAS",
    "EVIDENCE_KINDS",
    "AnyEvidence",
    "EvidencePayload",
    "canonical_json",
    "close_kinds",
    "evidence_json_schema",
    "evidence_reference",
    "evidence_schema_text",
    "evidence_model",
    "evidence_payload",
    "parse_evidence",
    # shared shapes
    "AISystemSnapshot",
    "CommandRef",
    "Escalated",
    "Overdue",
    "Reminded",
    "SubjectSnapshot",
    "Timestamp",
    # one model per kind
    "AISystemChanged",
    "AISystemRegistered",
    "ApprovalClosed",
    "ApprovalDecided",
    "ApprovalEscalated",
    "ApprovalExpired",
    "ApprovalInvalidated",
    "ApprovalOverdue",
    "ApprovalRefused",
    "ApprovalReminded",
    "ApprovalRequested",
    "ApprovalStepUpRequested",
    "ApprovalWithdrawn",
    "ArtefactRecorded",
    "AttachmentRecorded",
    "ChildFinished",
    "CommandDead",
    "CommandRevived",
    "DocumentPublished",
    "LedgerCheckpoint",
    "LedgerTimestamp",
    "DocumentRegistered",
    "DocumentReviewed",
    "DocumentSnapshot",
    "DecisionTaken",
    "DelegationGranted",
    "DirectoryRefused",
    "FindingRaised",
    "FindingSource",
    "FINDING_SOURCES",
    "NotificationSent",
    "PersonLinked",
    "RoleGranted",
    "RoleRevoked",
    "RunCancelled",
    "RunCompleted",
    "RunFailed",
    "RunSpawned",
    "RunStarted",
    "SubjectChanged",
    "TaskAnswersChanged",
    "TaskAnswersRefused",
    "TaskCompleted",
    "TaskEscalated",
    "TaskIssued",
    "TaskOverdue",
    "TaskRefused",
    "TaskReminded",
    "TaskRequested",
    "WaitEnded",
    "WaitStarted",
]
