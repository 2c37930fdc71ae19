"""Tables of the risk register (migration 0010): each AI risk as it stands now, what happened to
it, and its treatment actions.

They are read models of the ledger, moved in the same transaction as the evidence that moves
them (``store.risk_register``): a register entry (``risk_register_entry``), a register review
(``risk_register_review``: closures), and the start and result of a ``risk-treatment`` run. The
ledger stays the record; these rows answer ``aims risks`` and the KPIs without a scan.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base

__all__ = ["Risk", "RiskEvent", "RiskTreatment"]


class Risk(Base):
    """One risk of one AI system: ``RISK-<seq>``, stable across re-assessments."""

    __tablename__ = "risks"
    risk_id: Mapped[str] = mapped_column(String(20), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    system_name: Mapped[str] = mapped_column(String(200), index=True)
    title: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), index=True)  # open | closed
    inherent_score: Mapped[float | None] = mapped_column(Float)
    inherent_level: Mapped[str | None] = mapped_column(String(10))
    residual_score: Mapped[float | None] = mapped_column(Float)
    residual_level: Mapped[str | None] = mapped_column(String(10))
    # where the risk stands now: inherent until its treatment is done, then residual
    score: Mapped[float | None] = mapped_column(Float)
    level: Mapped[str | None] = mapped_column(String(10))
    treatment: Mapped[str | None] = mapped_column(String(20))
    owner: Mapped[str | None] = mapped_column(String(320))
    action_owner: Mapped[str | None] = mapped_column(String(320))
    target_date: Mapped[str | None] = mapped_column(String(10))
    fields: Mapped[dict[str, Any]]
    last_run_id: Mapped[str] = mapped_column(String(200), index=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    close_reason: Mapped[str | None] = mapped_column(Text)


class RiskEvent(Base):
    """One step in a risk's history: assessed, re-rated, kept, closed, treatment started or
    finished. ``details`` holds what an auditor reads (ratings before and after, reasons)."""

    __tablename__ = "risk_events"
    __table_args__ = (Index("ix_risk_events_risk_id_at", "risk_id", "at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    risk_id: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(30))
    run_id: Mapped[str] = mapped_column(String(200))
    details: Mapped[dict[str, Any]]


class RiskTreatment(Base):
    """One treatment action (a ``risk-treatment`` run), open until its task is completed."""

    __tablename__ = "risk_treatments"
    run_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    risk_id: Mapped[str | None] = mapped_column(String(20), index=True)
    system_name: Mapped[str] = mapped_column(String(200))
    risk_title: Mapped[str] = mapped_column(Text)
    treatment: Mapped[str] = mapped_column(String(20))
    plan: Mapped[str] = mapped_column(Text)
    action_owner: Mapped[str] = mapped_column(String(320))
    due_date: Mapped[str] = mapped_column(String(10), index=True)
    # open | done | partly_done | not_done | cancelled
    status: Mapped[str] = mapped_column(String(12), index=True)
    started_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
