"""The tables, as SQLAlchemy 2.0 typed models. Alembic migrations in ``migrations/`` create them;
a test checks the migrated schema matches these models exactly."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from .types import UTCDateTime

__all__ = [
    "Base",
    "AISystem",
    "AISystemHistory",
    "SpecVersion",
    "Run",
    "StepRecord",
    "Approval",
    "ApprovalLatencyBucket",
    "KpiCounter",
    "Evidence",
    "LedgerHead",
    "OutboxItem",
    "InboxItem",
    "RiskRegisterEntry",
    "Finding",
]


_OPEN_SCHEDULED = "scheduled AND status IN ('new', 'running')"
_OPEN_TRIGGERED = "triggered AND status IN ('new', 'running')"


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}
    # SQLAlchemy types __table__ as a FromClause, since a mapping may be to any selectable; every
    # model here maps one Table, and insert()/update() want one.
    __table__: ClassVar[Table]


class AISystem(Base):
    """The AI system inventory: one row per system, kept current; history in ai_system_history."""

    __tablename__ = "ai_systems"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    owner: Mapped[str] = mapped_column(String(320))
    business_purpose: Mapped[str] = mapped_column(Text, default="")
    model_type: Mapped[str] = mapped_column(String(100), default="")
    data_sources: Mapped[list[Any]] = mapped_column(default=list)
    outputs: Mapped[str] = mapped_column(Text, default="")
    users: Mapped[str] = mapped_column(Text, default="")
    deployment_scale: Mapped[str] = mapped_column(String(50), default="")
    dependencies: Mapped[list[Any]] = mapped_column(default=list)
    lifecycle_stage: Mapped[str] = mapped_column(String(30), default="")
    risk_tier: Mapped[str] = mapped_column(String(20), default="")
    in_scope: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    jurisdictions: Mapped[list[Any]] = mapped_column(default=list)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # projections kept in the same transaction as the evidence that moves them (KPIs read these)
    risk_assessed_at: Mapped[datetime | None]
    risk_valid_until: Mapped[datetime | None] = mapped_column(index=True)
    impact_assessed_at: Mapped[datetime | None]
    impact_valid_until: Mapped[datetime | None] = mapped_column(index=True)


class AISystemHistory(Base):
    __tablename__ = "ai_system_history"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("ai_systems.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    changed_at: Mapped[datetime]
    changed_by: Mapped[str] = mapped_column(String(320))
    changes: Mapped[dict[str, Any]]
    snapshot: Mapped[dict[str, Any]]


class SpecVersion(Base):
    """Every workflow version a run was started on, with its text: a run finishes on its version."""

    __tablename__ = "spec_versions"
    __table_args__ = (UniqueConstraint("workflow_id", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workflow_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    source_name: Mapped[str] = mapped_column(String(500))
    text: Mapped[str] = mapped_column(Text)
    registered_at: Mapped[datetime]


class Run(Base):
    __tablename__ = "runs"
    __table_args__ = (
        Index("ix_runs_subject", "workflow_id", "subject_type", "subject_id", "started_at"),
        Index(
            "ix_runs_started_at", "started_at"
        ),  # the newest runs first (dashboard, `aims runs list`)
        # one open scheduled run per (workflow, subject), however many workers run the schedules
        Index(
            "ux_runs_open_scheduled",
            "workflow_id",
            "subject_type",
            "subject_id",
            unique=True,
            sqlite_where=text(_OPEN_SCHEDULED),
            postgresql_where=text(_OPEN_SCHEDULED),
        ),
        # one open triggered run per (workflow, subject), however many processes fire triggers
        Index(
            "ux_runs_open_triggered",
            "workflow_id",
            "subject_type",
            "subject_id",
            unique=True,
            sqlite_where=text(_OPEN_TRIGGERED),
            postgresql_where=text(_OPEN_TRIGGERED),
        ),
    )
    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    workflow_id: Mapped[str] = mapped_column(String(64))
    spec_version: Mapped[int] = mapped_column(Integer)
    spec_hash: Mapped[str] = mapped_column(String(64))
    subject_type: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[str] = mapped_column(String(200))
    subject_name: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20), index=True)
    current_step: Mapped[str | None] = mapped_column(String(64))
    parent_run_id: Mapped[str | None] = mapped_column(String(200))  # the run waiting for this one
    spawned_by: Mapped[str | None] = mapped_column(
        String(200), index=True
    )  # the run that started it, waiting or not
    state: Mapped[str] = mapped_column(Text)
    lock_version: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    next_wake_at: Mapped[datetime | None] = mapped_column(index=True)
    scheduled: Mapped[bool | None] = mapped_column(Boolean)  # started by a schedule
    triggered: Mapped[bool | None] = mapped_column(Boolean)  # started by an event's trigger


class StepRecord(Base):
    """One visit of a task step: drives the open and overdue task KPIs."""

    __tablename__ = "steps"
    __table_args__ = (
        UniqueConstraint("run_id", "step_id", "attempt"),
        Index("ix_steps_open_due", "status", "due_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str] = mapped_column(String(200))
    step_id: Mapped[str] = mapped_column(String(64))
    attempt: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(500))
    role: Mapped[str] = mapped_column(String(64))
    assignee: Mapped[str | None] = mapped_column(String(320))
    external_ref: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))
    overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    due_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]


class Approval(Base):
    __tablename__ = "approvals"
    approval_id: Mapped[str] = mapped_column(String(300), primary_key=True)
    run_id: Mapped[str] = mapped_column(String(200), index=True)
    step_id: Mapped[str] = mapped_column(String(64))
    content_hash: Mapped[str] = mapped_column(String(64))
    approvers: Mapped[list[Any]] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(20), index=True)
    requested_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    latency_seconds: Mapped[float | None] = mapped_column(Float)
    external_ref: Mapped[str | None] = mapped_column(String(300))


class ApprovalLatencyBucket(Base):
    """Closed approvals counted per minute of latency, so the median is a walk over buckets,
    not a sort of every approval ever made."""

    __tablename__ = "approval_latency_histogram"
    bucket_minutes: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    count: Mapped[int] = mapped_column(BigInteger, default=0)


class KpiCounter(Base):
    __tablename__ = "kpi_counters"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[float] = mapped_column(Float, default=0.0)


class Evidence(Base):
    """The append-only, hash-chained ledger. No code path updates or deletes a row; on PostgreSQL
    and SQLite a trigger refuses UPDATE and DELETE."""

    __tablename__ = "evidence"
    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    run_id: Mapped[str | None] = mapped_column(String(200), index=True)
    step_id: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(64), index=True)
    actor: Mapped[str] = mapped_column(String(320))
    via: Mapped[str] = mapped_column(String(32))
    effective_at: Mapped[str] = mapped_column(String(32))
    recorded_at: Mapped[str] = mapped_column(String(32))
    payload: Mapped[str] = mapped_column(Text)
    ref: Mapped[str | None] = mapped_column(String(300))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class LedgerHead(Base):
    """The last row of the chain, so a deleted tail is noticed and appends need no scan."""

    __tablename__ = "ledger_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))


class OutboxItem(Base):
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(400), unique=True)
    run_id: Mapped[str] = mapped_column(String(200), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    done_at: Mapped[datetime | None]
    result: Mapped[str | None] = mapped_column(Text)
    claimed_by: Mapped[str | None] = mapped_column(String(64))  # the dispatcher holding it


class InboxItem(Base):
    """Inbound deliveries, so a retried webhook or interaction is applied once."""

    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("source", "delivery_id"),
        Index("ix_inbox_source_subject", "source", "subject"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(20))
    delivery_id: Mapped[str] = mapped_column(String(300))
    received_at: Mapped[datetime]
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), index=True)
    processed_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    # migration 0008: what an applied or parked delivery concerned, and where its change stands
    # in the history of its subject (e.g. a Jira issue: change time in ms, changelog id)
    run_id: Mapped[str | None] = mapped_column(String(200), index=True)
    subject: Mapped[str | None] = mapped_column(String(200))
    version: Mapped[int | None] = mapped_column(BigInteger)
    version_seq: Mapped[int | None] = mapped_column(BigInteger)
    # migration 0013: the worker applying a stored delivery takes it under its name until then
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_until: Mapped[datetime | None]


class RiskRegisterEntry(Base):
    __tablename__ = "risk_register"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str] = mapped_column(String(200), unique=True)
    system_name: Mapped[str] = mapped_column(String(200), index=True)
    risk: Mapped[str] = mapped_column(Text)
    likelihood: Mapped[float | None] = mapped_column(Float)
    impact: Mapped[float | None] = mapped_column(Float)
    score: Mapped[float | None] = mapped_column(Float)
    treatment: Mapped[str | None] = mapped_column(String(20))
    residual_score: Mapped[float | None] = mapped_column(Float)
    owner: Mapped[str | None] = mapped_column(String(320))
    fields: Mapped[dict[str, Any]]
    recorded_at: Mapped[datetime]


class Finding(Base):
    """Audit findings and other nonconformities; closed when their corrective action completes."""

    __tablename__ = "findings"
    # one finding per tracker issue: a webhook delivered twice raises it once
    __table_args__ = (UniqueConstraint("tracker_issue_id", name="uq_findings_tracker_issue_id"),)
    id: Mapped[str] = mapped_column(String(300), primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(300))
    clause: Mapped[str | None] = mapped_column(String(20))
    description: Mapped[str | None] = mapped_column(Text)
    system_name: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(12), index=True)
    raised_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    corrective_run_id: Mapped[str | None] = mapped_column(String(200))
    source_type: Mapped[str | None] = mapped_column(String(40), index=True)
    """incident, complaint, monitoring, external-audit, certification-audit or internal."""
    tracker_issue: Mapped[str | None] = mapped_column(String(64))
    """The key of the Jira issue the finding came in by, if it did."""
    tracker_issue_id: Mapped[str | None] = mapped_column(String(40))
