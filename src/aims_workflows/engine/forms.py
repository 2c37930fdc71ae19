"""Checking a person's answers against a task's form, in words they can act on."""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping
from datetime import date
from typing import Any
from urllib.parse import urlparse

from ..spec.expressions import ExpressionError, evaluate
from ..spec.model import FormField

__all__ = ["check_answers"]

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TRUE = {"true", "yes", "y", "1", "on"}
_FALSE = {"false", "no", "n", "0", "off"}


def _blank(value: Any) -> bool:
    return (
        value is None
        or (isinstance(value, (str, list, tuple)) and len(value) == 0)
        or (isinstance(value, str) and not value.strip())
    )


def _convert(field: FormField, value: Any) -> Any:
    """The clean value, or raise ValueError with what is wrong."""
    kind = field.type
    if kind == "text":
        text = str(value).strip()
        if field.max_length and len(text) > field.max_length:
            raise ValueError(f"is {len(text)} characters; at most {field.max_length}")
        if field.pattern and not re.fullmatch(field.pattern, text):
            raise ValueError(f"does not match the expected format ({field.pattern})")
        return text
    if kind == "number":
        if isinstance(value, bool):
            raise ValueError("must be a number")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"must be a number, not {value!r}") from None
        if not math.isfinite(number):
            raise ValueError(f"must be a finite number, not {value!r}")
        if field.integer or number.is_integer():
            if field.integer and not number.is_integer():
                raise ValueError(f"must be a whole number, not {value!r}")
            number = int(number)
        if field.min is not None and number < field.min:
            raise ValueError(f"must be at least {field.min:g}, not {number:g}")
        if field.max is not None and number > field.max:
            raise ValueError(f"must be at most {field.max:g}, not {number:g}")
        return number
    if kind == "choice":
        text = str(value).strip()
        if text not in (field.choices or ()):
            raise ValueError(f"must be one of {', '.join(field.choices or ())}, not {text!r}")
        return text
    if kind == "multi_choice":
        if isinstance(value, str):
            items = [v.strip() for v in value.split(",")]
        elif isinstance(value, (list, tuple)):
            items = list(value)
        else:
            raise ValueError(f"must be a list of choices, not {value!r}")
        wrong = [v for v in items if v not in (field.choices or ())]
        if wrong:
            raise ValueError(
                f"{', '.join(map(repr, wrong))} not among {', '.join(field.choices or ())}"
            )
        return sorted(set(items), key=list(field.choices or ()).index)
    if kind == "date":
        try:
            return date.fromisoformat(str(value)[:10]).isoformat()
        except ValueError:
            raise ValueError(f"must be a date as YYYY-MM-DD, not {value!r}") from None
    if kind == "user":
        text = str(value).strip()
        if not (_EMAIL.match(text) or re.fullmatch(r"[A-Za-z0-9:\-]{6,128}", text)):
            raise ValueError(f"must be a person's e-mail or account id, not {text!r}")
        return text
    if kind == "url":
        text = str(value).strip()
        parsed = urlparse(text)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError(f"must be an http(s) link, not {text!r}")
        return text
    if kind == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError(f"must be yes or no, not {value!r}")
    raise ValueError(f"unsupported field type {kind}")  # pragma: no cover - the model forbids it


def check_answers(
    form: tuple[FormField, ...],
    answers: Mapping[str, Any],
    *,
    step_id: str,
    context: Mapping[str, Any],
) -> tuple[dict[str, Any], list[str]]:
    """(clean answers, problems). Unknown answers are dropped; every problem is one sentence."""
    clean: dict[str, Any] = {}
    problems: list[str] = []
    wrong: set[str] = set()
    if not isinstance(answers, Mapping):
        return clean, [f"the answers must be named fields, not {type(answers).__name__}."]
    for field in form:
        value = answers.get(field.id)
        if _blank(value):
            continue
        try:
            clean[field.id] = _convert(field, value)
        except ValueError as err:
            problems.append(f"{field.label}: {err}.")
            wrong.add(field.id)
    for field in form:
        if field.line_keys and field.id in clean:
            problem = _unknown_line_keys(field, clean[field.id], context)
            if problem:
                problems.append(f"{field.label}: {problem}.")
                wrong.add(field.id)
                del clean[field.id]
    scope = {**context, step_id: clean}
    for field in form:
        if field.id in clean or field.id in wrong:
            continue  # answered, or already told what is wrong with the answer
        needed = field.required
        if field.required_if:
            try:
                needed = bool(evaluate(field.required_if, scope))
            except ExpressionError:
                needed = True  # a condition over missing answers: ask for the answer
        if needed:
            problems.append(f"{field.label}: an answer is required.")
    return clean, problems


def _allowed_keys(field: FormField, context: Mapping[str, Any]) -> list[str]:
    """The keys ``line_keys`` allows: a list, or a text of keys separated by blanks or commas."""
    try:
        value = evaluate(field.line_keys or "", dict(context))
    except ExpressionError:
        return []
    if value is None:
        return []
    if isinstance(value, str):
        return [key for key in re.split(r"[\s,]+", value) if key]
    if isinstance(value, (list, tuple)):
        return [str(key) for key in value]
    return [str(value)]


def _unknown_line_keys(field: FormField, answer: str, context: Mapping[str, Any]) -> str | None:
    """What is wrong with the lines of ``answer`` whose key is not allowed, or None.

    A line's key is its text up to the first ':' ("RISK-3: retired with the old model")."""
    allowed = _allowed_keys(field, context)
    unknown: list[str] = []
    for line in answer.splitlines():
        key = line.split(":", 1)[0].strip()
        if key and key not in allowed and key not in unknown:
            unknown.append(key)
    if not unknown:
        return None
    if not allowed:
        return f"{', '.join(map(repr, unknown))} not known here: there is nothing to choose from"
    parts = []
    for key in unknown:
        close = difflib.get_close_matches(key, allowed, n=3, cutoff=0.5)
        parts.append(f"{key!r} (did you mean {' or '.join(close)}?)" if close else repr(key))
    return f"{', '.join(parts)} not among {', '.join(allowed)}"
