"""JSON from outside (a webhook body, a Slack payload, a stored delivery) parsed with limits, so
that a signed but hostile body is refused with a reason instead of failing somewhere deeper.

``json.loads`` recurses once per nesting level: ten thousand ``[`` raise ``RecursionError``, and
a body a few hundred levels deep parses but makes every later walk over it (hashing, copying,
validation) recurse as deeply. Real Jira and Slack payloads are under 15 levels deep.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["MAX_DEPTH", "JSONInputError", "loads", "depth_problem", "unstorable_text"]

MAX_DEPTH = 64
"""The deepest nesting of arrays and objects accepted."""


class JSONInputError(ValueError):
    """The text is not JSON, or not JSON we accept; the message says which, in one line."""


def _too_deep(text: str | bytes, limit: int) -> bool:
    """A quick scan of the brackets outside strings: deeper than ``limit`` before parsing."""
    raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    depth = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return False


def depth_problem(text: str | bytes, limit: int = MAX_DEPTH) -> str | None:
    """Why ``text`` is refused before parsing (nested too deeply), or None."""
    if _too_deep(text, limit):
        return f"the JSON is nested deeper than {limit} levels"
    return None


def loads(text: str | bytes, *, limit: int = MAX_DEPTH) -> Any:
    """``json.loads`` that refuses nesting deeper than ``limit`` and numbers too long to
    convert, with a one-line :class:`JSONInputError`."""
    problem = depth_problem(text, limit)
    if problem:
        raise JSONInputError(problem)
    try:
        return json.loads(text)
    except RecursionError:  # pragma: no cover - the scan above refuses these first
        raise JSONInputError(f"the JSON is nested deeper than {limit} levels") from None
    except UnicodeDecodeError:
        raise JSONInputError("the body is not UTF-8 text") from None
    except ValueError as err:  # JSONDecodeError, and ints over Python's 4,300-digit limit
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise JSONInputError(f"the body is not valid JSON ({reason[:120]})") from None


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable_text(value: Any) -> str | None:
    """The first text (key or value) in parsed JSON holding a NUL, which PostgreSQL refuses in
    text, or a lone UTF-16 surrogate, which cannot be encoded as UTF-8 (a valid pair such as an
    emoji is one character once parsed, and passes)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _UNSTORABLE.search(item):
                return item
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None
