"""The web app's Prometheus metrics."""

from __future__ import annotations

from typing import Any

__all__ = ["Metrics"]


class Metrics:
    """Prometheus metrics of one app (its own registry, so several apps can live in a process)."""

    def __init__(self, registry: Any = None) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = registry or CollectorRegistry()
        self.deliveries = Counter(
            "aims_webhook_deliveries_total",
            "Webhook deliveries by outcome",
            ["source", "outcome"],
            registry=self.registry,
        )
        self.answer_seconds = Histogram(
            "aims_webhook_answer_seconds",
            "Time to answer a webhook delivery",
            ["source"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=self.registry,
        )
        self.processed = Counter(
            "aims_inbox_processed_total",
            "Stored deliveries applied in the runtime",
            ["source"],
            registry=self.registry,
        )
        self.backlog = Gauge(
            "aims_inbox_backlog",
            "Stored deliveries waiting to be applied",
            ["source"],
            registry=self.registry,
        )

        self.parked = Gauge(
            "aims_inbox_parked",
            "Stored deliveries set aside because they cannot be applied (see aims runs show)",
            ["source"],
            registry=self.registry,
        )

    def render(self) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST
