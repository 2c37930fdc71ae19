"""Retry timing for outbox commands: exponential back-off with jitter, honouring Retry-After."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import timedelta

__all__ = ["Backoff"]


@dataclass
class Backoff:
    """``delay(attempt)`` = base * 2**(attempt-1), capped, times a jitter factor in [0.5, 1.5).

    Jitter spreads retries of many commands that failed together (a Jira outage) so they do not
    all come back at the same second. The random source is injected for repeatable tests.
    """

    base: timedelta = timedelta(seconds=5)
    cap: timedelta = timedelta(hours=1)
    # 10 doublings from 5 s reach the 1 h cap after about 1.4 h in all; 20 attempts keep a command
    # alive through about 10 h of outage (a Jira incident) before it is parked as dead.
    max_attempts: int = 20
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int, retry_after: float | None = None) -> timedelta:
        raw = min(self.cap.total_seconds(), self.base.total_seconds() * 2 ** max(0, attempt - 1))
        jittered = raw * (0.5 + self.rng.random())
        if retry_after is not None:
            jittered = max(jittered, float(retry_after))
        return timedelta(seconds=jittered)
