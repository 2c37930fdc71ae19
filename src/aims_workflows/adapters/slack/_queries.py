"""Read-only questions the Slack app answers for a person: what waits for me, how is system X.

They read the projections the runtime keeps (approvals, runs, AI systems) and what the
approval channel recorded about who each request went to (see ``_book``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from ...store.models import AISystem, Approval, OutboxItem, Run
from ._blocks import Card
from ._book import MessageBook

__all__ = ["pending_for", "system_status", "SystemStatus"]


def pending_for(db: Any, book: MessageBook, email: str, limit: int = 50) -> list[Card]:
    """Open approvals sent to ``email`` on which they have not decided yet, oldest first."""
    approvals, outbox = Approval.__table__, OutboxItem.__table__
    with db.connect() as conn:
        rows = conn.execute(
            select(approvals.c.approval_id, approvals.c.run_id)
            .where(approvals.c.status == "open")
            .order_by(approvals.c.requested_at)
        ).all()
        keys = {f"{r.run_id}/{r.approval_id}/request": r for r in rows}
        results: dict[str, Any] = {}
        keys_list = list(keys)
        for start in range(0, len(keys_list), 500):
            chunk = keys_list[start : start + 500]
            for key, result in conn.execute(
                select(outbox.c.key, outbox.c.result).where(
                    outbox.c.key.in_(chunk), outbox.c.status == "done"
                )
            ):
                results[key] = json.loads(result) if result else {}
    cards: list[Card] = []
    for key, row in keys.items():
        result = results.get(key) or {}
        if email.lower() not in {p.lower() for p in result.get("people", [])} or not result.get(
            "card"
        ):
            continue
        if email.lower() in {p.lower() for p in book.decided(row.run_id, row.approval_id) if p}:
            continue
        cards.append(Card.from_metadata(result["card"]))
        if len(cards) >= limit:
            break
    return cards


@dataclass(frozen=True)
class SystemStatus:
    name: str
    owner: str
    risk_tier: str
    risk_valid_until: datetime | None
    impact_valid_until: datetime | None
    runs: list[dict[str, Any]]


def system_status(db: Any, name: str) -> SystemStatus | list[str]:
    """The system's assessments and latest runs; the known names when there is no such system."""
    systems, runs = AISystem.__table__, Run.__table__
    with db.connect() as conn:
        row = conn.execute(
            select(systems).where(func.lower(systems.c.name) == name.strip().lower())
        ).first()
        if row is None:
            return [
                n
                for (n,) in conn.execute(select(systems.c.name).order_by(systems.c.name).limit(30))
            ]
        latest = conn.execute(
            select(
                runs.c.id,
                runs.c.workflow_id,
                runs.c.status,
                runs.c.current_step,
                runs.c.started_at,
                runs.c.completed_at,
            )
            .where(runs.c.subject_type == "ai_system", runs.c.subject_name == row.name)
            .order_by(runs.c.started_at.desc())
            .limit(10)
        ).all()
    return SystemStatus(
        name=row.name,
        owner=row.owner,
        risk_tier=row.risk_tier or "(not set)",
        risk_valid_until=row.risk_valid_until,
        impact_valid_until=row.impact_valid_until,
        runs=[dict(r._mapping) for r in latest],
    )
