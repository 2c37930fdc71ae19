"""The screen rule of create, edit and transition requests, and the done transition's
resolution.

Jira looks at the screen of the operation before it looks at any value: a field that the
screen lacks is refused whatever its value. A transition without a screen takes no fields; one
whose screen holds Resolution wants a resolution (Jira's "Resolve Issue Screen"), and the
resolution it is given is the one the issue gets. Callers hold ``state.lock``.
"""

from __future__ import annotations

from typing import Any

from ._errors import JiraApiError
from ._screens import Screen, not_on_screen
from ._state import JiraState

__all__ = ["RESOLUTIONS", "off_screen", "check_transition_fields", "resolution_of"]

RESOLUTIONS: dict[str, str] = {"10000": "Done", "10001": "Won't Do", "10002": "Duplicate"}
"""The resolutions of a new Jira Cloud site, id -> name."""

_ALWAYS = frozenset({"project", "issuetype", "comment"})
"""Set by any create (project, issue type) or added by any edit or transition (comment)."""


def _named(body: dict[str, Any]) -> set[str]:
    fields = body.get("fields") if isinstance(body.get("fields"), dict) else {}
    update = body.get("update") if isinstance(body.get("update"), dict) else {}
    return (set(fields or {}) | set(update or {})) - _ALWAYS


def off_screen(state: JiraState, screen: Screen | None, body: dict[str, Any]) -> dict[str, str]:
    """Jira's error per field of ``body`` that ``screen`` lacks (known fields only: an
    unknown field gets the same words from the value checks)."""
    have = screen.field_ids if screen is not None else set()
    return {
        field_id: not_on_screen(field_id)
        for field_id in sorted(_named(body))
        if field_id not in have and state.field(field_id) is not None
    }


def check_transition_fields(state: JiraState, transition_id: str, body: dict[str, Any]) -> None:
    """Refuse fields the transition's screen lacks, and a missing resolution it wants."""
    screen_id = state.screens.transition_screens.get(transition_id)
    screen = state.screens.screens.get(screen_id) if screen_id else None
    errors = off_screen(state, screen, body)
    if screen is not None and "resolution" in screen.field_ids and not errors:
        given = (body.get("fields") or {}).get("resolution")
        if given is None:
            errors["resolution"] = "Resolution is required."
        elif resolution_of(given) is None:
            errors["resolution"] = "Specify a valid resolution"
    if errors:
        raise JiraApiError.bad_fields(errors)


def resolution_of(value: Any) -> str | None:
    """The resolution name a ``{"id"}`` or ``{"name"}`` reference stands for, if any."""
    if not isinstance(value, dict):
        return None
    if str(value.get("id")) in RESOLUTIONS:
        return RESOLUTIONS[str(value["id"])]
    return next((n for n in RESOLUTIONS.values() if n == value.get("name")), None)
