"""The project workflow: statuses, their categories and the transitions between them.

To Do -> In Progress -> Done, and Done -> To Do ("Reopen"), as a simple Jira Cloud
company-managed project ships it. Ids are the ones Jira Cloud gives these statuses.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "Status",
    "Transition",
    "STATUSES",
    "TRANSITIONS",
    "INITIAL_STATUS",
    "status_by_name",
    "transitions_from",
    "ISSUE_TYPES",
    "RESOLUTION_DONE",
]


@dataclass(frozen=True)
class Status:
    """A status and its category (``new`` / ``indeterminate`` / ``done``)."""

    id: str
    name: str
    category_id: int
    category_key: str
    category_name: str
    color: str


@dataclass(frozen=True)
class Transition:
    """A workflow transition from ``from_id`` to ``to_id``."""

    id: str
    name: str
    from_id: str
    to_id: str


STATUSES: dict[str, Status] = {
    s.id: s
    for s in (
        Status("10000", "To Do", 2, "new", "To Do", "blue-gray"),
        Status("3", "In Progress", 4, "indeterminate", "In Progress", "yellow"),
        Status("10001", "Done", 3, "done", "Done", "green"),
    )
}
INITIAL_STATUS = "10000"

TRANSITIONS: tuple[Transition, ...] = (
    Transition("21", "Start Progress", "10000", "3"),
    Transition("31", "Done", "3", "10001"),
    Transition("41", "Reopen", "10001", "10000"),
)


def status_by_name(name: str) -> Status | None:
    """The status called ``name`` (case-insensitive), as JQL compares it."""
    return next((s for s in STATUSES.values() if s.name.lower() == name.lower()), None)


def transitions_from(status_id: str) -> list[Transition]:
    """Transitions available from ``status_id``."""
    return [t for t in TRANSITIONS if t.from_id == status_id]


# Issue types of the sandbox project: id -> name (Jira Cloud numbers them per site).
ISSUE_TYPES: dict[str, str] = {"10001": "Task", "10002": "Bug", "10003": "Story"}
RESOLUTION_DONE = ("10000", "Done")
