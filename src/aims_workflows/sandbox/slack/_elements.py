"""Interactive elements inside blocks: finding one by ``action_id`` and turning what a person
chose into Slack's ``actions[]`` entries and ``state.values`` entries."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from ._errors import SandboxUsageError

__all__ = ["iter_elements", "find_element", "action_entry", "state_entry", "input_elements"]

_SINGLE_OPTION = {"static_select", "external_select", "radio_buttons", "overflow"}
_MULTI_OPTION = {"multi_static_select", "multi_external_select", "checkboxes"}
_SELECTED_KEY = {
    "users_select": "selected_user",
    "multi_users_select": "selected_users",
    "conversations_select": "selected_conversation",
    "multi_conversations_select": "selected_conversations",
    "channels_select": "selected_channel",
    "multi_channels_select": "selected_channels",
    "datepicker": "selected_date",
    "timepicker": "selected_time",
}


def iter_elements(blocks: list[dict[str, Any]]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """Every (block, element) pair that can carry an ``action_id``."""
    for block in blocks:
        if "accessory" in block:
            yield block, block["accessory"]
        if "element" in block:
            yield block, block["element"]
        for element in block.get("elements", []) if block.get("type") == "actions" else []:
            yield block, element


def input_elements(blocks: list[dict[str, Any]]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """The (input block, element) pairs whose values a submission carries."""
    for block in blocks:
        if block.get("type") == "input" and "element" in block:
            yield block, block["element"]


def find_element(
    blocks: list[dict[str, Any]], action_id: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The block and element with ``action_id``; a usage error lists the ones that exist."""
    found = [(b, e) for b, e in iter_elements(blocks) if e.get("action_id") == action_id]
    if not found:
        known = sorted(e.get("action_id", "?") for _, e in iter_elements(blocks))
        raise SandboxUsageError(f"no element with action_id {action_id!r}; there are {known}")
    return found[0]


def _options(element: dict[str, Any]) -> list[dict[str, Any]]:
    options = list(element.get("options", []))
    for group in element.get("option_groups", []):
        options.extend(group.get("options", []))
    return options


def _option(element: dict[str, Any], value: str) -> dict[str, Any]:
    for option in _options(element):
        if option.get("value") == value:
            return copy.deepcopy(option)
    if element.get("type", "").endswith("external_select"):
        # External options come from the app at run time; accept any value for them.
        return {"text": {"type": "plain_text", "text": value}, "value": value}
    raise SandboxUsageError(f"{element.get('action_id')!r} has no option with value {value!r}")


def _chosen(element: dict[str, Any], value: Any) -> dict[str, Any]:
    """The keys that describe a choice, shared by ``actions[]`` and ``state.values``."""
    kind = element.get("type", "")
    if kind in _SINGLE_OPTION:
        return {"selected_option": None if value is None else _option(element, str(value))}
    if kind in _MULTI_OPTION:
        values = [] if value is None else ([value] if isinstance(value, str) else list(value))
        return {"selected_options": [_option(element, str(v)) for v in values]}
    if kind in _SELECTED_KEY:
        return {_SELECTED_KEY[kind]: value}
    if kind == "rich_text_input":
        return {"rich_text_value": value}
    return {"value": None if value is None else str(value)}


def action_entry(
    block: dict[str, Any], element: dict[str, Any], value: Any, action_ts: str
) -> dict[str, Any]:
    """One ``actions[]`` entry of a ``block_actions`` payload, as Slack builds it."""
    entry: dict[str, Any] = {
        "action_id": element["action_id"],
        "block_id": block.get("block_id"),
        "type": element.get("type"),
        "action_ts": action_ts,
    }
    if element.get("type") == "button":
        entry["text"] = copy.deepcopy(element.get("text"))
        if "value" in element:
            entry["value"] = element["value"]
        if "style" in element:
            entry["style"] = element["style"]
    else:
        entry.update(_chosen(element, value))
        if "placeholder" in element:
            entry["placeholder"] = copy.deepcopy(element["placeholder"])
    return entry


def state_entry(element: dict[str, Any], value: Any) -> dict[str, Any]:
    """One ``state.values[block_id][action_id]`` entry."""
    return {"type": element.get("type"), **_chosen(element, value)}
