"""Faults the tests arm from Python: the next N calls to a method fail in a chosen way.

An in-process control object rather than a special HTTP endpoint, so that nothing the app
could reach by accident changes the sandbox's behaviour.
"""

from __future__ import annotations

import threading
from collections import defaultdict, deque
from dataclasses import dataclass

__all__ = ["Fault", "Faults"]


@dataclass(frozen=True)
class Fault:
    """One armed failure: HTTP 429 with ``Retry-After`` if ``retry_after`` is set, else an
    ``{"ok": false, "error": error}`` answer with HTTP 200, as Slack sends errors."""

    error: str
    retry_after: int | None = None


class Faults:
    """Queues of failures per Web API method, consumed one per call.

    >>> faults = Faults()
    >>> faults.rate_limit("chat.postMessage", times=2, retry_after=1)
    >>> faults.fail("views.open", "expired_trigger_id")
    >>> faults.take("chat.postMessage").retry_after
    1
    """

    def __init__(self) -> None:
        self._queues: dict[str, deque[Fault]] = defaultdict(deque)
        self._lock = threading.Lock()

    def rate_limit(self, method: str, *, times: int = 1, retry_after: int = 1) -> None:
        """The next ``times`` calls to ``method`` answer HTTP 429 ``ratelimited``."""
        self._push(method, Fault("ratelimited", retry_after=retry_after), times)

    def fail(self, method: str, error: str, *, times: int = 1) -> None:
        """The next ``times`` calls to ``method`` answer ``{"ok": false, "error": error}``."""
        self._push(method, Fault(error), times)

    def take(self, method: str) -> Fault | None:
        """The fault for this call of ``method``, if one is armed (and disarm it)."""
        with self._lock:
            queue = self._queues.get(method)
            return queue.popleft() if queue else None

    def pending(self, method: str) -> int:
        """How many armed faults ``method`` still has."""
        with self._lock:
            return len(self._queues.get(method, ()))

    def clear(self) -> None:
        """Disarm everything."""
        with self._lock:
            self._queues.clear()

    def _push(self, method: str, fault: Fault, times: int) -> None:
        if times < 1:
            raise ValueError("times must be at least 1")
        with self._lock:
            self._queues[method].extend([fault] * times)
