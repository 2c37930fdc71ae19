"""A background beat that keeps a dispatcher's outbox claims alive while it works on them.

A claim lasts a lease (two minutes); a slow vendor (Jira answering in seconds, a bulk import)
can take longer than that over a handful of commands. Without renewal another dispatcher takes
the commands over and both carry them out. The beat renews every claim its owner holds, every
``every`` seconds of wall time, until the work is through.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from types import TracebackType

__all__ = ["Heartbeat"]

log = logging.getLogger("aims.dispatcher")


class Heartbeat:
    """``with Heartbeat(renew, every=30):`` calls ``renew()`` every ``every`` seconds on a
    thread of its own while the block runs. A failing renewal is logged and tried again at the
    next beat: the claims themselves stay safe (only their holder may settle them)."""

    def __init__(self, renew: Callable[[], object], every: float) -> None:
        self._renew = renew
        self._every = every
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.beats = 0

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            try:
                self._renew()
                self.beats += 1
            except Exception:  # noqa: BLE001 - a missed beat is retried; the lease covers it
                log.warning("renewing outbox claims failed; trying again", exc_info=True)

    def __enter__(self) -> Heartbeat:
        self._thread = threading.Thread(target=self._run, name="aims-claims", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
