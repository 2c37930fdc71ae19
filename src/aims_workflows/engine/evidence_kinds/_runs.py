"""Evidence of a run's course: started, decided, recorded, notified, waited, finished."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, JsonValue

from ._base import EvidencePayload, SubjectSnapshot, Timestamp

__all__ = [
    "KINDS",
    "RunStarted",
    "RunCompleted",
    "RunFailed",
    "RunCancelled",
    "SubjectChanged",
    "RunSpawned",
    "ChildFinished",
    "DecisionTaken",
    "ArtefactRecorded",
    "NotificationSent",
    "WaitStarted",
    "WaitEnded",
]


class RunStarted(EvidencePayload):
    """A governance process began for a subject (8.1 operational planning and control).

    It names the exact workflow definition (id, version, content hash), what started it and the
    clauses and controls the run evidences, so every later row of the run can be traced to the
    process as it was written when the run began."""

    KIND = "run.started"

    workflow: str = Field(description="the workflow's id")
    version: int = Field(description="the workflow's version; the run finishes on this version")
    spec_hash: str = Field(description="SHA-256 of the workflow definition the run follows")
    subject: SubjectSnapshot = Field(description="what the run is about, at the start")
    inputs: dict[str, JsonValue] = Field(
        description="the values the run was started with (unset inputs are null)"
    )
    parent_run_id: str | None = Field(
        description="the run that started this one and waits for it, if any"
    )
    evidences: list[str] = Field(description="ISO/IEC 42001 clause and control ids it evidences")
    trigger: str = Field(
        description="what started it: manual, a schedule, an inventory change, another run"
    )


class RunCompleted(EvidencePayload):
    """The process reached its end: every step was done (8.1). Together with the run's earlier
    rows it is the record that the workflow was carried out as defined."""

    KIND = "run.completed"

    workflow: str = Field(description="the workflow's id")
    version: int = Field(description="the workflow's version the run followed")


class RunFailed(EvidencePayload):
    """The run stopped on an error in its definition or data (a condition that cannot be
    evaluated, an endless loop). The AIMS owner is told; the process did not complete, which an
    auditor may treat as a nonconformity of the process (10.2)."""

    KIND = "run.failed"

    reason: str = Field(description="what went wrong")
    step: str | None = Field(description="the step the run was at")


class RunCancelled(EvidencePayload):
    """Someone stopped the run before its end; the row's actor says who. Open tasks and
    approvals were withdrawn and running child runs cancelled with it."""

    KIND = "run.cancelled"

    reason: str = Field(description="why it was cancelled, as given")


class SubjectChanged(EvidencePayload):
    """The subject of an open run changed (an AI system's inventory record was edited). The run's
    conditions and segregation-of-duties checks read the subject, so the change is evidence: a
    significant change is what calls for a new risk assessment (8.2)."""

    KIND = "subject.changed"

    before: SubjectSnapshot = Field(description="the subject before the change")
    after: SubjectSnapshot = Field(description="the subject after the change")


class RunSpawned(EvidencePayload):
    """The run started other runs: a corrective action per audit finding (10.2), a follow-up per
    management review decision (9.3)."""

    KIND = "run.spawned"

    workflow: str = Field(description="the workflow the new runs follow")
    runs: list[str] = Field(description="the ids of the runs started, possibly none")
    wait: bool = Field(description="whether this run waits for them to finish")


class ChildFinished(EvidencePayload):
    """A run this run was waiting for ended; when the last one has, the parent goes on."""

    KIND = "child.finished"

    run_id: str = Field(description="the run that ended")
    status: Literal["completed", "cancelled", "failed"] = Field(description="how it ended")


class DecisionTaken(EvidencePayload):
    """An automatic routing decision of the workflow: which condition held (a risk score above a
    threshold sends the assessment to a higher approver), so the path taken can be explained."""

    KIND = "decision.taken"

    case: int | None = Field(
        description="the position (from 0) of the case whose condition held; null: none held"
    )
    when: str | None = Field(description="that case's condition; null when none held")
    goto: str = Field(description="the step the run went to")


class ArtefactRecorded(EvidencePayload):
    """Documented information (7.5) computed from the run's data: a risk register entry (6.1.2,
    8.2), an impact assessment summary (6.1.4, 8.4), an audit report (9.2). Written again only
    when edited answers change its values."""

    KIND = "artefact.recorded"

    artefact: str = Field(description="the artefact's name in the workflow (risk_register, ...)")
    fields: dict[str, JsonValue] = Field(description="its values, by field name")
    subject: str = Field(description="the id of the run's subject")


class NotificationSent(EvidencePayload):
    """A message the workflow sent to roles (7.4 communication)."""

    KIND = "notification.sent"

    to: list[str] = Field(description="the roles it was sent to")
    message: str = Field(description="the text sent")


class WaitStarted(EvidencePayload):
    """A planned pause began, such as the period before a corrective action's effectiveness is
    checked (10.2)."""

    KIND = "wait.started"

    until: Timestamp = Field(description="when the pause ends")
    duration_seconds: int = Field(description="its length in seconds")


class WaitEnded(EvidencePayload):
    """A planned pause ended and the run went on."""

    KIND = "wait.ended"

    timer: str = Field(description="the id of the timer that ended it")


KINDS: tuple[type[EvidencePayload], ...] = (
    RunStarted,
    RunCompleted,
    RunFailed,
    RunCancelled,
    SubjectChanged,
    RunSpawned,
    ChildFinished,
    DecisionTaken,
    ArtefactRecorded,
    NotificationSent,
    WaitStarted,
    WaitEnded,
)
