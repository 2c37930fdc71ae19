"""What an approval request adds to the values it shows: which of them changed since the
step's previous request in the same run (after a rework, or after answers were edited), read
from the ledger so the approver sees what is new without comparing two messages."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, select

from ..engine.commands import RequestApproval
from ..store.models import Evidence

__all__ = ["changed_since_last_request"]

_LEDGER = Evidence.__table__
MAX_SHOWN = 200
"""Values longer than this are cut in the comparison's text: the request shows them whole."""


def changed_since_last_request(
    conn: Connection, command: RequestApproval
) -> tuple[tuple[str, str, str], ...]:
    """(label, before, after) for each shown value that differs from the step's previous
    request in this run; nothing for a first request."""
    rows = conn.execute(
        select(_LEDGER.c.payload)
        .where(
            _LEDGER.c.run_id == command.run_id,
            _LEDGER.c.step_id == command.step_id,
            _LEDGER.c.kind == "approval.requested",
        )
        .order_by(_LEDGER.c.seq)
    ).all()
    earlier = [json.loads(payload) for (payload,) in rows]
    earlier = [p for p in earlier if p.get("approval_id") != command.approval_id]
    if not earlier:
        return ()
    before: dict[str, Any] = earlier[-1].get("shown") or {}
    after = _as_stored(command.show)
    changed = []
    for label in list(dict.fromkeys([*before, *after])):
        if before.get(label) != after.get(label):
            changed.append((label, _text(before.get(label)), _text(after.get(label))))
    return tuple(changed)


def _as_stored(shown: dict[str, Any]) -> dict[str, Any]:
    # the ledger keeps what JSON keeps: compare like with like
    loaded: dict[str, Any] = json.loads(json.dumps(shown, default=str))
    return loaded


def _text(value: Any) -> str:
    if value is None:
        return "(none)"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 1] + "…"
