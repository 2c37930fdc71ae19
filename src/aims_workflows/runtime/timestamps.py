"""The time-stamp authority as a witness: its tokens kept in the ledger, and checked again.

When the outbox has posted a checkpoint to the TSA (``witness.post`` to ``tsa``), the verified
token comes back in the command's result and :func:`record_timestamp` appends it as a
``ledger.timestamp`` row, in the transaction that marks the command done.

:func:`tsa_witness` is the TSA's side of ``aims evidence verify --witnesses``: every token in the
ledger must vouch (:func:`~aims_workflows.engine.timestamps.token_problem`) for the checkpoint
it names; the checkpoints that hold are then compared with the database like any witness's.
A checkpoint that was meant for the TSA and has no token because the TSA could not be reached
makes the TSA unreachable (never verified); one whose posting was given up on is named.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select

from ..engine import evidence_kinds as ev
from ..engine.checkpoints import Checkpoint, find_checkpoints
from ..engine.commands import PostCheckpoint
from ..engine.evidence import iso
from ..engine.timestamps import checkpoint_digest, token_problem
from ..store import ledger
from ..store.models import OutboxItem
from .witness import Refuted, Unreachable, append_witness_row

__all__ = ["ledger_timestamps", "record_timestamp", "stamp_result", "tsa_witness"]

TSA = "tsa"


def stamp_result(
    checkpoint: Checkpoint, url: str, response: bytes, gen_time: str, serial: int
) -> dict[str, Any]:
    """The outbox result of a checkpoint timestamped at ``url`` (what :func:`record_timestamp`
    reads back)."""
    return {
        "ref": f"tsa:{serial}",
        "tsa": url,
        "gen_time": gen_time,
        "serial": serial,
        "digest": checkpoint_digest(_message(checkpoint)),
        "token": base64.b64encode(response).decode("ascii"),
    }


def _message(checkpoint: Checkpoint) -> bytes:
    return Checkpoint.message(checkpoint.head_seq, checkpoint.head_hash, checkpoint.at)


def record_timestamp(
    conn: Connection, command: PostCheckpoint, result: dict[str, Any], now: datetime
) -> None:
    """Append the token of a checkpoint the TSA timestamped to the ledger."""
    (checkpoint,) = find_checkpoints(command.line)
    payload = ev.LedgerTimestamp(
        head_seq=checkpoint.head_seq,
        head_hash=checkpoint.head_hash,
        at=datetime.strptime(checkpoint.at, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC),
        key_id=checkpoint.key_id,
        signature=checkpoint.signature,
        digest=str(result["digest"]),
        tsa=str(result["tsa"]),
        gen_time=str(result["gen_time"]),
        serial=int(result["serial"]),
        token=str(result["token"]),
    )
    append_witness_row(conn, payload, f"timestamp:{checkpoint.head_seq}:{checkpoint.at}", now)


def ledger_timestamps(conn: Connection) -> list[tuple[int, ev.LedgerTimestamp | None, str]]:
    """Every ``ledger.timestamp`` row: (its row, the payload or None when it does not parse,
    the stored payload text)."""
    found: list[tuple[int, ev.LedgerTimestamp | None, str]] = []
    for row in ledger.iter_rows(conn, kind=ev.LedgerTimestamp.KIND, after=None):
        try:
            payload = ev.parse_evidence(row.kind, row.payload)
        except Exception:  # noqa: BLE001 - said to the caller as a damaged token row
            found.append((row.seq, None, row.payload))
            continue
        assert isinstance(payload, ev.LedgerTimestamp)
        found.append((row.seq, payload, row.payload))
    return found


def timestamped_checkpoint(payload: ev.LedgerTimestamp) -> Checkpoint:
    return Checkpoint(
        payload.head_seq, payload.head_hash, iso(payload.at), payload.key_id, payload.signature
    )


def tsa_witness(conn: Connection, trusted_pem: bytes) -> list[Checkpoint] | Unreachable | Refuted:
    """The checkpoints the ledger's TSA tokens vouch for; Refuted naming the first token that
    does not; Unreachable when a checkpoint meant for the TSA is still waiting for it.

    Raises ImportError when ``rfc3161-client`` is not installed."""
    vouched: list[Checkpoint] = []
    rows = ledger_timestamps(conn)
    for seq, payload, _ in rows:
        if payload is None:
            continue  # the chain check names a row that no longer parses
        checkpoint = timestamped_checkpoint(payload)
        problem = token_problem(
            checkpoint.describe(), _message(checkpoint), _token(payload), trusted_pem
        )
        if problem is not None:
            return Refuted(len(rows), f"{problem} (ledger row {seq})", checkpoint)
        vouched.append(checkpoint)
    stamped = {(c.head_seq, c.at) for c in vouched}
    given_up = dict(_not_stamped(conn, ("dead",)))
    waiting = dict(_not_stamped(conn, ("pending", "inflight")))
    missing = [c for c in _meant_for_tsa(conn) if (c.head_seq, c.at) not in stamped]
    late = [c for c in missing if (c.head_seq, c.at) in waiting]
    for checkpoint in missing:
        if (checkpoint.head_seq, checkpoint.at) in waiting:
            continue
        error = given_up.get((checkpoint.head_seq, checkpoint.at))
        # the outbox is no evidence: with its row gone, the checkpoint's own row still says
        # the TSA was to timestamp it
        why = f"the TSA gave none ({error})" if error else "the ledger holds no token for it"
        return Refuted(len(rows), f"{checkpoint.describe()} has no timestamp: {why}", checkpoint)
    if late:
        checkpoint = late[0]
        error = waiting[(checkpoint.head_seq, checkpoint.at)]
        return Unreachable(
            f"{checkpoint.describe()} has no timestamp yet: {error or 'not posted yet'}"
            + (f" (and {len(late) - 1} later one(s))" if len(late) > 1 else "")
        )
    return vouched


def _meant_for_tsa(conn: Connection) -> list[Checkpoint]:
    """The ledger's checkpoints whose row names the TSA among its witnesses, oldest first."""
    found = []
    for row in ledger.iter_rows(conn, kind=ev.LedgerCheckpoint.KIND, after=None):
        try:
            payload = ev.parse_evidence(row.kind, row.payload)
        except Exception:  # noqa: BLE001 - the chain check names a row that does not parse
            continue
        if isinstance(payload, ev.LedgerCheckpoint) and TSA in payload.witnesses:
            found.append(
                Checkpoint(
                    payload.head_seq,
                    payload.head_hash,
                    iso(payload.at),
                    payload.key_id,
                    payload.signature,
                )
            )
    return found


def _token(payload: ev.LedgerTimestamp) -> bytes:
    try:
        return base64.b64decode(payload.token.encode("ascii"), validate=True)
    except ValueError:
        return b""  # token_problem says it is damaged


def _not_stamped(
    conn: Connection, statuses: tuple[str, ...]
) -> list[tuple[tuple[int, str], str | None]]:
    """(row, made at) of the checkpoints whose posting to the TSA is in one of ``statuses``,
    with the last error the outbox recorded."""
    table = OutboxItem.__table__
    rows = conn.execute(
        select(table.c.payload, table.c.last_error)
        .where(table.c.kind == "witness.post", table.c.status.in_(statuses))
        .order_by(table.c.id)
    )
    found: list[tuple[tuple[int, str], str | None]] = []
    for payload, error in rows:
        try:
            command = json.loads(payload)
        except ValueError:
            continue
        if command.get("witness") != TSA:
            continue
        found += [
            ((c.head_seq, c.at), error) for c in find_checkpoints(str(command.get("line") or ""))
        ]
    return found
