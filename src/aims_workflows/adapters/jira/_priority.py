"""A workflow's priority (highest ... lowest) as one of the site's own priorities.

Jira Cloud sites rename, add and remove priorities, and a project's create screen may not have
Priority at all: the priority is a hint, so a site without a fitting name gets the nearest
one by rank, and a site that refuses it gets none, never a failed create.
"""

from __future__ import annotations

__all__ = ["RANKS", "nearest_priority"]

RANKS = ("highest", "high", "medium", "low", "lowest")
"""A workflow's priorities, most urgent first (as Jira lists its default ones)."""


def nearest_priority(wanted: str | None, site: list[str]) -> str | None:
    """The site priority (``site``: names most urgent first, as ``GET /priority`` lists them)
    with ``wanted``'s name, else the one at the same relative rank; None if the site has none."""
    if not site:
        return None
    wanted = (wanted or "medium").lower()
    same = next((name for name in site if name.lower() == wanted), None)
    if same is not None:
        return same
    rank = RANKS.index(wanted) if wanted in RANKS else RANKS.index("medium")
    return site[round(rank / (len(RANKS) - 1) * (len(site) - 1))]
