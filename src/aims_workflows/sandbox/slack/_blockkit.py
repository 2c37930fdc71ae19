"""Block Kit checks on what the app sends, the way Slack answers ``invalid_blocks``.

``slack_sdk.models`` knows the block and element types and their limits; on top of it we
reject what Slack rejects but the models silently drop (unknown properties, unknown block
types), plus a few layout rules Slack enforces on the whole message or view.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View as SdkView

__all__ = ["BlockKitError", "parse_json_arg", "check_blocks", "check_view"]

MAX_MESSAGE_BLOCKS = 50


class BlockKitError(ValueError):
    """The blocks or the view are not valid Block Kit; ``problems`` lists why."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def parse_json_arg(value: Any) -> Any:
    """Form bodies carry ``blocks`` / ``view`` as JSON strings, JSON bodies as arrays/objects."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise BlockKitError([f"not valid JSON: {exc.msg}"]) from exc
        except ValueError as exc:  # the JSON is well formed, its content is not: too many digits
            raise BlockKitError([f"not valid JSON: {exc}"]) from exc
    return value


# Slack's documented limits (api.slack.com/reference/block-kit/blocks, .../block-elements,
# .../composition-objects). slack_sdk's models check some of them; Slack refuses a message that
# breaks any with invalid_blocks, so the sandbox checks them all itself.
_SECTION_TEXT = 3000
_SECTION_FIELDS = 10
_FIELD_TEXT = 2000
_HEADER_TEXT = 150
_CONTEXT_ELEMENTS = 10
_ACTIONS_ELEMENTS = 25
_BUTTON_TEXT = 75
_BUTTON_VALUE = 2000
_OPTION_TEXT = 75
_OPTION_VALUE = 150
_ID_LENGTH = 255


def _text_of(obj: Any) -> str:
    text = obj.get("text") if isinstance(obj, dict) else None
    return text if isinstance(text, str) else ""


def _limit_problems(where: str, raw: dict[str, Any]) -> list[str]:
    problems: list[str] = []

    def over(what: str, value: Any, limit: int) -> None:
        if isinstance(value, (str, list)) and len(value) > limit:
            unit = "items" if isinstance(value, list) else "characters"
            problems.append(f"{where}: {what} must be at most {limit} {unit} ({len(value)})")

    kind = raw.get("type")
    over("block_id", raw.get("block_id"), _ID_LENGTH)
    if kind == "section":
        over("text", _text_of(raw.get("text")), _SECTION_TEXT)
        fields = raw.get("fields") or []
        over("fields", fields, _SECTION_FIELDS)
        for i, item in enumerate(fields if isinstance(fields, list) else []):
            over(f"fields[{i}].text", _text_of(item), _FIELD_TEXT)
    elif kind == "header":
        over("text", _text_of(raw.get("text")), _HEADER_TEXT)
    elif kind == "context":
        over("elements", raw.get("elements") or [], _CONTEXT_ELEMENTS)
    elif kind == "actions":
        over("elements", raw.get("elements") or [], _ACTIONS_ELEMENTS)
    elements = raw.get("elements") if kind == "actions" else [raw.get("accessory")]
    for i, element in enumerate(elements if isinstance(elements, list) else []):
        if not isinstance(element, dict):
            continue
        over(f"elements[{i}].action_id", element.get("action_id"), _ID_LENGTH)
        if element.get("type") == "button":
            over(f"elements[{i}].text", _text_of(element.get("text")), _BUTTON_TEXT)
            over(f"elements[{i}].value", element.get("value"), _BUTTON_VALUE)
        for j, option in enumerate(element.get("options") or []):
            over(f"elements[{i}].options[{j}].text", _text_of(option.get("text")), _OPTION_TEXT)
            over(f"elements[{i}].options[{j}].value", option.get("value"), _OPTION_VALUE)
    return problems


def _check_one(index: int, raw: Any) -> list[str]:
    where = f"blocks[{index}]"
    if not isinstance(raw, dict):
        return [f"{where}: must be an object"]
    limits = _limit_problems(where, raw)
    if limits:
        return limits
    try:
        block = Block.parse(raw)
    except (TypeError, SlackObjectFormationError) as exc:
        return [f"{where}: {exc}"]
    if block is None:
        return [f"{where}: unsupported type {raw.get('type')!r}"]
    try:
        block.validate_json()
    except SlackObjectFormationError as exc:
        return [f"{where}: {exc}"]
    # The models drop properties they do not know; Slack refuses them, so compare.
    try:
        shown = block.to_dict()
    except SlackObjectFormationError as exc:  # a nested element over its limit
        return [f"{where}: {exc}"]
    if shown != raw:
        return [f"{where}: contains properties Slack does not accept or values of the wrong type"]
    return []


def check_blocks(raw_blocks: Any, *, limit: int = MAX_MESSAGE_BLOCKS) -> list[dict[str, Any]]:
    """Return the blocks if valid, else raise ``BlockKitError`` naming every problem."""
    blocks = parse_json_arg(raw_blocks)
    if not isinstance(blocks, list):
        raise BlockKitError(["blocks must be an array"])
    problems: list[str] = []
    if len(blocks) > limit:
        problems.append(f"no more than {limit} blocks allowed")
    for index, raw in enumerate(blocks):
        problems.extend(_check_one(index, raw))
    block_ids = Counter(b.get("block_id") for b in blocks if isinstance(b, dict))
    problems.extend(
        f"duplicate block_id {block_id!r}"
        for block_id, n in block_ids.items()
        if block_id and n > 1
    )
    if problems:
        raise BlockKitError(problems)
    return blocks


def check_view(raw_view: Any, *, expected_type: str) -> dict[str, Any]:
    """Return the view if it is a valid ``expected_type`` view, else raise ``BlockKitError``."""
    view = parse_json_arg(raw_view)
    if not isinstance(view, dict):
        raise BlockKitError(["view must be an object"])
    problems: list[str] = []
    if view.get("type") != expected_type:
        problems.append(f"view type must be {expected_type!r}, not {view.get('type')!r}")
    try:
        model = SdkView(**view)
        model.validate_json()
        if model.to_dict() != view:
            problems.append("view contains properties Slack does not accept")
    except (TypeError, SlackObjectFormationError) as exc:
        problems.append(f"view: {exc}")
    blocks = view.get("blocks") or []
    try:
        check_blocks(blocks, limit=100)
    except BlockKitError as exc:
        problems.extend(exc.problems)
    if expected_type == "modal":
        if not view.get("title"):
            problems.append("a modal must have a title")
        has_input = any(isinstance(b, dict) and b.get("type") == "input" for b in blocks)
        if has_input and not view.get("submit"):
            problems.append("a modal with input blocks must have a submit button")
    if problems:
        raise BlockKitError(problems)
    return view
