"""Reading Slack messages in scenario tests: their buttons and all their text."""

from __future__ import annotations


def buttons(message) -> list[str]:
    """The action ids of every button still on the message."""
    return [e["action_id"] for b in message.blocks if b["type"] == "actions" for e in b["elements"]]


def text_of(message) -> str:
    """The message's fallback text and every text its blocks show, one per line."""
    parts = [message.text]
    for block in message.blocks:
        if block.get("text"):
            parts.append(block["text"]["text"])
        parts += [f["text"] for f in block.get("fields", [])]
        parts += [
            e.get("text", "") for e in block.get("elements", []) if isinstance(e.get("text"), str)
        ]
    return "\n".join(parts)
