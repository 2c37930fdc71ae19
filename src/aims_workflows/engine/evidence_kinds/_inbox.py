"""Evidence about inbound deliveries set aside and put back."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from ._base import EvidencePayload

__all__ = ["KINDS", "DeliveryRef", "DeliveriesRetried"]


class DeliveryRef(BaseModel):
    """One delivery put back, and why it had been parked."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    source: str = Field(description="where it came from: jira, jira-poll or slack")
    delivery_id: str = Field(description="the id its source gave it")
    run_id: str | None = Field(default=None, description="the run it concerns, when known")
    parked_because: str = Field(description="the reason it had been parked with")


class DeliveriesRetried(EvidencePayload):
    """Someone put parked deliveries back in the queue (``aims inbox retry``), to be applied
    again by the next worker pass; the row's actor says who."""

    KIND = "inbox.retried"

    deliveries: list[DeliveryRef] = Field(description="the deliveries put back")


KINDS: tuple[type[EvidencePayload], ...] = (DeliveriesRetried,)
