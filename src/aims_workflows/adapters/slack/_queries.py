"""Read-only questions the Slack app answers for a person: what waits for me, how is system X.

They read what the approval channel recorded about who each request went to (see ``_book``)
and ask the runtime the rest (who has decided, an AI system's status).
"""

from __future__ import annotations

from typing import Any

from ...runtime.views import SystemStatus
from ._blocks import Card
from ._book import MessageBook

__all__ = ["pending_for", "system_status", "SystemStatus"]


def pending_for(book: MessageBook, email: str, limit: int = 50) -> list[Card]:
    """Open approvals sent to ``email`` on which they have not decided yet, oldest first."""
    cards: list[Card] = []
    wanted = email.lower()
    for request in book.open_requests():
        if wanted not in {p.lower() for p in request.people} or not request.card:
            continue
        decided = book.decided(request.run_id, request.approval_id)
        if wanted in {p.lower() for p in decided if p}:
            continue
        cards.append(Card.from_metadata(request.card))
        if len(cards) >= limit:
            break
    return cards


def system_status(runtime: Any, name: str) -> SystemStatus | list[str]:
    """The system's assessments and latest runs; the known names when there is no such system."""
    return runtime.system_status(name)
