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


def _check_one(index: int, raw: Any) -> list[str]:
    where = f"blocks[{index}]"
    if not isinstance(raw, dict):
        return [f"{where}: must be an object"]
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
    if block.to_dict() != raw:
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
