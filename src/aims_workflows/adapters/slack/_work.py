"""The thread pool that runs the work after each acknowledgement, and a way to wait for it.

Bolt runs lazy listeners on the executor it is given. This one counts what is in flight, so a
test (or the demo) can wait until the work a click started has finished, instead of sleeping.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

__all__ = ["WorkPool"]


class WorkPool(ThreadPoolExecutor):
    """A ``ThreadPoolExecutor`` with :meth:`wait_idle`."""

    def __init__(self, max_workers: int = 8, name: str = "aims-slack") -> None:
        super().__init__(max_workers=max_workers, thread_name_prefix=name)
        self._idle = threading.Condition()
        self._in_flight = 0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        with self._idle:
            self._in_flight += 1
        try:
            future = super().submit(fn, *args, **kwargs)
        except BaseException:
            self._done(None)
            raise
        future.add_done_callback(self._done)
        return future

    def _done(self, _future: Future | None) -> None:
        with self._idle:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.notify_all()

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until nothing is running or queued (True), or ``timeout`` seconds pass (False)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout=timeout)
