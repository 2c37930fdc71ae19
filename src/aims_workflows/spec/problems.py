"""A problem found in a workflow file, located as ``file:line:column path: message (hint)``."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["Finding", "KeyPath", "Problem", "did_you_mean", "format_path"]

KeyPath = tuple[str | int, ...]
"""Where in a workflow file: keys and list indexes from the top, ``("steps", 2, "approvers")``."""

Finding = tuple[KeyPath, str, str | None]
"""(path parts, message, hint) from a whole-spec check; the loader turns it into a located
:class:`Problem`."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a workflow file. ``line`` and ``column`` are 1-based (0 if unknown)."""

    file: str
    line: int
    column: int
    path: str
    message: str
    hint: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}" if self.line else self.file
        located = f"{where} {self.path}: " if self.path else f"{where}: "
        return located + self.message + (f" ({self.hint})" if self.hint else "")


def did_you_mean(value: str, known: Iterable[str]) -> str | None:
    """``"did you mean 'ciso'?"`` for a near miss, else ``None``."""
    close = difflib.get_close_matches(value, sorted(set(known)), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None


def format_path(parts: Iterable[object]) -> str:
    """``("steps", 2, "approvers")`` -> ``"steps[2].approvers"``."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text
