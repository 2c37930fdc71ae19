"""The loop of ``aims worker``: a pass of due work every few seconds, and when the database has
a short problem (a SQLite write lock held by another process, a long import transaction,
PostgreSQL refusing connections while it restarts) a wait with growing back-off and another
try, instead of an exit. Sleeping is injected, so tests run on their own time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from sqlalchemy.exc import DBAPIError

from ..errors import DatabaseUnavailable

__all__ = ["WorkerLoop", "Waits"]

log = logging.getLogger("aims.worker")

_R = TypeVar("_R")


@dataclass
class Waits:
    """Back-off between tries while the database is unavailable: ``first`` seconds, doubled
    each time up to ``cap``. ``give_up_after`` seconds of waiting in a row end a single pass
    (``--once``); the running worker never gives up."""

    first: float = 1.0
    cap: float = 30.0
    give_up_after: float = 120.0

    def delay(self, failures: int) -> float:
        return float(min(self.cap, self.first * 2 ** max(0, failures - 1)))


def _transient(err: BaseException) -> bool:
    if isinstance(err, DatabaseUnavailable):
        return True
    # raised outside Database.begin/connect (a driver error mid-read): the connection went away
    return isinstance(err, DBAPIError) and bool(err.connection_invalidated)


@dataclass
class WorkerLoop(Generic[_R]):
    """Runs ``work`` (one pass) every ``interval`` seconds.

    >>> loop = WorkerLoop(app.pump, interval=5.0)           # doctest: +SKIP
    >>> loop.run()                                          # doctest: +SKIP
    """

    work: Callable[[], _R]
    interval: float = 5.0
    waits: Waits = field(default_factory=Waits)
    sleep: Callable[[float], object] | None = None
    """How to wait (``time.sleep`` when not given)."""
    on_pass: Callable[[_R], object] = lambda report: None
    on_wait: Callable[[str, float], object] = lambda problem, seconds: None
    waited: list[float] = field(default_factory=list)
    """Every back-off wait so far, in seconds (what a test or a log reader wants to see)."""

    def _sleep(self, seconds: float) -> None:
        (self.sleep or time.sleep)(seconds)

    def one_pass(self) -> _R:
        """One pass of work, waiting out database problems; raises the last one when they last
        longer than ``waits.give_up_after``."""
        failures = 0
        waited = 0.0
        while True:
            try:
                return self.work()
            except Exception as err:
                if not _transient(err):
                    raise
                failures += 1
                delay = self.waits.delay(failures)
                if waited + delay > self.waits.give_up_after:
                    raise
                problem = str(err).splitlines()[0][:300]
                log.warning("database unavailable (%s); trying again in %.0f s", problem, delay)
                self.on_wait(problem, delay)
                self.waited.append(delay)
                self._sleep(delay)
                waited += delay

    def run(self, *, once: bool = False, passes: int | None = None) -> int:
        """Pass after pass (``once``: a single one; ``passes``: that many). Returns the number
        of passes done. A pass that cannot reach the database for long is logged and the next
        pass tries again; only ``once`` gives up, with the error."""
        done = 0
        while True:
            try:
                report = self.one_pass()
            except Exception as err:
                if once or not _transient(err):
                    raise
                log.error("database unavailable for %.0f s; still trying", self.waits.give_up_after)
            else:
                self.on_pass(report)
            done += 1
            if once or (passes is not None and done >= passes):
                return done
            self._sleep(self.interval)
