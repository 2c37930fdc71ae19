"""One writer at a time on a SQLite database, queued in this process instead of inside SQLite.

SQLite lets one writer in at a time and makes the others poll with growing sleeps (up to 100 ms
each), so a writer someone is waiting on (storing a webhook delivery while Jira waits for the
answer) could sit behind a background writer's sleep for far longer than the write takes.
Queueing every writer of the process on a condition here instead hands the database over as soon
as it is free, urgent writers first. :meth:`Database.begin` passes through the gate of its
database; PostgreSQL takes concurrent writers itself and gets :class:`NoGate`.

The gate is re-entrant for the thread holding it, so a caller that takes it explicitly (to mark
its write urgent) can then open the transaction that takes it again.
"""

from __future__ import annotations

import contextlib
import threading
import time
import weakref
from collections.abc import Iterator
from pathlib import Path

from ..errors import DatabaseUnavailable

__all__ = ["WriteGate", "NoGate", "gate_for"]

_WAIT_SECONDS = 10.0
"""How long a writer queues before giving up: SQLite's own busy timeout (store/db.py)."""


class WriteGate:
    """Orders this process's writes to one database: ``urgent`` ones (an answer is waiting on
    them) before ``background`` ones; among each, whoever the condition wakes."""

    def __init__(self, wait_seconds: float = _WAIT_SECONDS) -> None:
        self._cond = threading.Condition()
        self._holder: int | None = None
        self._depth = 0
        self._urgent = 0
        self._waiting = 0
        self._wait_seconds = wait_seconds

    @property
    def waiting(self) -> int:
        """How many writers are queued for the gate now."""
        return self._waiting

    @contextlib.contextmanager
    def urgent(self) -> Iterator[None]:
        """Hold the gate for a write someone is waiting on; goes before background writers."""
        self._enter(urgent=True)
        try:
            yield
        finally:
            self._leave()

    @contextlib.contextmanager
    def background(self) -> Iterator[None]:
        """Hold the gate for a write nobody waits on; yields to every queued urgent writer."""
        self._enter(urgent=False)
        try:
            yield
        finally:
            self._leave()

    def _enter(self, *, urgent: bool) -> None:
        me = threading.get_ident()
        with self._cond:
            if self._holder == me:
                self._depth += 1
                return
            deadline = time.monotonic() + self._wait_seconds
            if urgent:
                self._urgent += 1
            self._waiting += 1
            try:
                while self._holder is not None or (not urgent and self._urgent):
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise DatabaseUnavailable(
                            f"the database stayed busy with another write for "
                            f"{self._wait_seconds:g} s",
                            hint="a write is taking too long; try again, and check the logs "
                            "for a stuck worker",
                        )
                    self._cond.wait(left)
            finally:
                self._waiting -= 1
                if urgent:
                    self._urgent -= 1
            self._holder, self._depth = me, 1

    def _leave(self) -> None:
        with self._cond:
            self._depth -= 1
            if self._depth == 0:
                self._holder = None
                self._cond.notify_all()


class NoGate:
    """The gate of a database that takes concurrent writers itself (PostgreSQL)."""

    @contextlib.contextmanager
    def urgent(self) -> Iterator[None]:
        yield

    @contextlib.contextmanager
    def background(self) -> Iterator[None]:
        yield


_GATES: weakref.WeakValueDictionary[str, WriteGate] = weakref.WeakValueDictionary()
_GATES_LOCK = threading.Lock()


def gate_for(sqlite_file: str | None) -> WriteGate:
    """The one gate of a SQLite file in this process, shared by every ``Database`` opened on
    it while any of them is open (an in-memory database, never shared, gets its own)."""
    if not sqlite_file or sqlite_file == ":memory:":
        return WriteGate()
    key = str(Path(sqlite_file).resolve())
    with _GATES_LOCK:
        gate = _GATES.get(key)
        if gate is None:
            gate = _GATES[key] = WriteGate()
        return gate
