"""Problems of a workflow's shape (missing or unknown keys, wrong types, bad values), from
pydantic's validation errors: each located in the file and worded for the person who wrote it,
errors on the same key merged into one problem."""

from __future__ import annotations

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from . import model as m
from .problems import KeyPath, Problem, did_you_mean, format_path
from .source import YamlSource

__all__ = ["structural_problems", "without_unknown_keys"]


def _all_keys() -> set[str]:
    keys: set[str] = set()
    for obj in vars(m).values():
        if isinstance(obj, type) and issubclass(obj, BaseModel) and obj is not BaseModel:
            keys.update(obj.model_fields)
    return keys


_KNOWN_KEYS = _all_keys()
_STEP_KINDS = ("task", "approval", "decision", "spawn", "record", "notify", "wait")


def _strip_tags(loc: KeyPath, data: object) -> KeyPath:
    """Drop the parts of a pydantic location that are not in the file (union tags, member names)."""
    parts: list[str | int] = []
    node = data
    for part in loc:
        if isinstance(node, dict):
            if part in node:
                parts.append(part)
                node = node[part]
            elif part == node.get("kind") or not isinstance(part, str) or "[" in part:
                continue  # a discriminator tag or union member
            else:
                parts.append(part)  # a missing or unknown key: it is what the problem is about
                node = None
        elif isinstance(node, list) and isinstance(part, int):
            parts.append(part)
            node = node[part] if 0 <= part < len(node) else None
        else:
            break  # below a scalar: union member names and the like
    return tuple(parts)


def _describe(error: ErrorDetails, parts: KeyPath) -> tuple[str, str | None]:
    kind = error["type"]
    key = parts[-1] if parts else ""
    if kind == "missing":
        return f"missing required key '{key}'", None
    if kind == "extra_forbidden":
        return f"unknown key '{key}'", did_you_mean(str(key), _KNOWN_KEYS)
    if kind == "union_tag_invalid":
        tag = error.get("ctx", {}).get("tag", "")
        return f"unknown step kind '{tag}'", did_you_mean(str(tag), _STEP_KINDS) or (
            "kinds are " + ", ".join(_STEP_KINDS)
        )
    if kind == "union_tag_not_found":
        return "missing required key 'kind'", "kinds are " + ", ".join(_STEP_KINDS)
    if kind == "string_pattern_mismatch":
        if key == "id" and len(parts) == 1:
            return "must be lower-case words joined by '-' (e.g. 'ai-risk-assessment')", None
        return (
            "must be lower-case snake_case: letters, digits and '_', starting with a letter",
            None,
        )
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        value = error.get("input")
        options = [o.strip().strip("'") for o in str(expected).replace(" or ", ",").split(",")]
        hint = did_you_mean(str(value), options) if isinstance(value, str) else None
        return f"{value!r} is not one of {expected}", hint
    message = error["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    return message[0].lower() + message[1:], None


def structural_problems(err: ValidationError, source: YamlSource, file: str) -> list[Problem]:
    """One located problem per key of ``source`` that failed validation."""
    merged: dict[KeyPath, tuple[list[str], str | None]] = {}
    errors = err.errors()
    failing_items = {e["loc"][:1] for e in errors if len(e["loc"]) > 1}
    for error in errors:
        if error["type"] == "too_short" and error["loc"][:1] in failing_items:
            continue  # items that failed validation are not "too few items"
        parts = _strip_tags(error["loc"], source.data)
        message, hint = _describe(error, parts)
        messages, old_hint = merged.setdefault(parts, ([], hint))
        if message not in messages:
            messages.append(message)
        if hint and not old_hint:
            merged[parts] = (messages, hint)
    problems = []
    for parts, (messages, hint) in merged.items():
        line, column = source.position(parts)
        problems.append(
            Problem(file, line, column, format_path(parts), "; or ".join(messages), hint)
        )
    return problems


def without_unknown_keys(err: ValidationError, data: object) -> object | None:
    """``data`` without the keys ``err`` calls unknown, when unknown keys are all that is wrong;
    else ``None``. Validating what is left finds the problems the unknown keys hid (a typo in
    one key must not hide a wrong step target in the same file)."""
    import copy

    errors = err.errors()
    if not errors or any(e["type"] != "extra_forbidden" for e in errors):
        return None
    cleaned = copy.deepcopy(data)
    for error in errors:
        parts = _strip_tags(error["loc"], data)
        node: object = cleaned
        for part in parts[:-1]:
            node = node[part]  # type: ignore[index]
        if isinstance(node, dict):
            node.pop(parts[-1], None)
    return cleaned
