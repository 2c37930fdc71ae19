"""Identifiers and timestamps shaped like the ones Slack hands out.

The vendor spec pins IDs with strict patterns (``^B[A-Z0-9]{8,}$`` for bots, ``^[TE][A-Z0-9]{8,}$``
for workspaces, ``^\\d{10}\\.\\d{6}$`` for message timestamps), and client code sometimes branches
on the first letter (``D`` is a DM, ``C`` a channel), so the sandbox never invents shorter or
differently shaped IDs. A seeded generator keeps them repeatable from one test run to the next.
"""

from __future__ import annotations

import random
import string
import threading
import time
from collections.abc import Callable

__all__ = ["Clock", "IdFactory", "wall_clock"]

Clock = Callable[[], float]
"""Returns the current time as Unix seconds. Tests pass a settable one."""

_ALPHABET = string.ascii_uppercase + string.digits


def wall_clock() -> float:
    """The real clock."""
    return time.time()


class IdFactory:
    """Hands out unique, realistic IDs, ``ts`` values, trigger ids and view hashes.

    >>> ids = IdFactory(seed=1)
    >>> ids.new("U").startswith("U0"), len(ids.new("C"))
    (True, 11)
    """

    def __init__(self, seed: int = 42001) -> None:
        self._rng = random.Random(seed)
        self._seen: set[str] = set()
        self._last_ts_us = 0
        # The server thread and the test thread both mint IDs.
        self._lock = threading.Lock()

    def new(self, prefix: str) -> str:
        """A fresh ID such as ``U07QX3M1ZKD``: prefix, ``0``, nine upper-case letters/digits."""
        with self._lock:
            while True:
                candidate = prefix + "0" + "".join(self._rng.choice(_ALPHABET) for _ in range(9))
                if candidate not in self._seen:
                    self._seen.add(candidate)
                    return candidate

    def secret(self, length: int = 24) -> str:
        """Random lower-case letters and digits, for tokens and response URLs."""
        with self._lock:
            alphabet = string.ascii_lowercase + string.digits
            return "".join(self._rng.choice(alphabet) for _ in range(length))

    def bot_token(self) -> str:
        """A bot token shaped like Slack's: ``xoxb-<13 digits>-<13 digits>-<24 letters>``."""
        with self._lock:
            first = self._rng.randrange(10**12, 10**13)
            second = self._rng.randrange(10**12, 10**13)
            alphabet = string.ascii_letters + string.digits
            tail = "".join(self._rng.choice(alphabet) for _ in range(24))
        return f"xoxb-{first}-{second}-{tail}"

    def app_token(self, app_id: str) -> str:
        """An app-level token shaped like Slack's: ``xapp-1-<app id>-<13 digits>-<64 hex>``."""
        with self._lock:
            number = self._rng.randrange(10**12, 10**13)
            tail = "".join(self._rng.choice("0123456789abcdef") for _ in range(64))
        return f"xapp-1-{app_id}-{number}-{tail}"

    def block_id(self) -> str:
        """A short mixed-case id such as ``x4Rk2``, like the ones Slack gives unnamed blocks."""
        with self._lock:
            alphabet = string.ascii_letters + string.digits
            return "".join(self._rng.choice(alphabet) for _ in range(5))

    def ts(self, now: float) -> str:
        """A message timestamp like ``1733000000.000100``, strictly increasing.

        Slack uses ``ts`` as the message key within a channel, so two messages posted in the
        same microsecond (or with a frozen test clock) must still get different values.
        """
        with self._lock:
            micros = max(int(now * 1_000_000), self._last_ts_us + 1)
            self._last_ts_us = micros
        return f"{micros // 1_000_000:010d}.{micros % 1_000_000:06d}"

    def trigger_id(self, now: float) -> str:
        """A trigger id like ``1733000000123.4571234567.1f2e...``, as Slack's look."""
        with self._lock:
            account = self._rng.randrange(10**9, 10**10)
            tail = "".join(self._rng.choice("0123456789abcdef") for _ in range(32))
        return f"{int(now * 1000)}.{account}.{tail}"

    def view_hash(self, now: float) -> str:
        """A view hash like ``1733000000.1a2b3c4d``; it changes on every update."""
        with self._lock:
            tail = "".join(self._rng.choice("0123456789abcdef") for _ in range(8))
        return f"{int(now)}.{tail}"
