"""Evidence records and the hash chain that makes the ledger tamper-evident.

The engine produces :class:`EvidenceRecord` objects; the ledger numbers them and chains them:
``hash = sha256(canonical JSON of the row's fields including prev_hash)``. Everything here is
pure, so the property tests chain evidence in memory exactly as the store does on disk.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from json.encoder import encode_basestring
from typing import Any

__all__ = [
    "EvidenceRecord",
    "ChainedEvidence",
    "Unlinked",
    "chain",
    "link",
    "unlinked",
    "GENESIS_HASH",
    "canonical_json",
    "chain_hash",
    "iso",
    "verify_chain",
]

GENESIS_HASH = "0" * 64


def iso(moment: datetime) -> str:
    """Canonical UTC timestamp text: ``2026-11-29T19:25:41.000000Z``."""
    if moment.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    utc = moment if moment.tzinfo is UTC else moment.astimezone(UTC)
    if utc.year < 1000:  # strftime does not pad the year to four digits; keep its text
        return utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    # the same text as that strftime (``...SS.ffffff+00:00`` cut before the offset), built in C
    # without strftime's per-call format parsing: every evidence row formats two timestamps
    return utc.isoformat(timespec="microseconds")[:26] + "Z"


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"cannot put {type(value).__name__} in evidence")


# What json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
# default=_default) builds on every call, built once (the encoder keeps no state between calls).
_CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default
)


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8 kept: the form hashes are computed over."""
    return _CANONICAL.encode(value)


def _text_json(value: str | None) -> str:
    """canonical_json of a ledger row's text field (a string or null), without the encoder's
    dispatch: what JSONEncoder.encode itself returns for these (``ensure_ascii=False``)."""
    if value is None:
        return "null"
    if type(value) is str:
        return encode_basestring(value)
    return canonical_json(value)


@dataclass(frozen=True)
class EvidenceRecord:
    """What happened, before the ledger gives it a place in the chain."""

    kind: str
    run_id: str | None
    step_id: str | None
    actor: str
    via: str
    effective_at: datetime
    payload: dict[str, Any] = field(default_factory=dict)
    ref: str | None = None
    model: Any = field(default=None, compare=False, repr=False)
    """The payload model ``payload`` was dumped from, when the engine built the record: the read
    models are moved from it instead of parsing ``payload`` again (not part of the record)."""


@dataclass(frozen=True)
class ChainedEvidence:
    """A ledger row: the record plus sequence number, recording time and the two hashes."""

    seq: int
    kind: str
    run_id: str | None
    step_id: str | None
    actor: str
    via: str
    effective_at: str
    recorded_at: str
    payload: str
    ref: str | None
    prev_hash: str
    hash: str


def chain_hash(
    *,
    seq: int,
    kind: str,
    run_id: str | None,
    step_id: str | None,
    actor: str,
    via: str,
    effective_at: str,
    recorded_at: str,
    payload: str,
    ref: str | None,
    prev_hash: str,
) -> str:
    """SHA-256 over the canonical form of every field of a ledger row but the hash itself."""
    body = canonical_json(
        [seq, kind, run_id, step_id, actor, via, effective_at, recorded_at, payload, ref, prev_hash]
    )
    return hashlib.sha256(body.encode()).hexdigest()


@dataclass(frozen=True)
class Unlinked:
    """A record serialised for the chain but not yet placed in it: everything a ledger row
    holds except ``seq``, ``prev_hash`` and ``hash``, and the canonical JSON of those fields as
    they sit between ``seq`` and ``prev_hash`` in the hashed list. Made before the ledger's head
    is locked, so the writer holding it only numbers and hashes (:func:`link`)."""

    fields: dict[str, Any]
    middle: str


_MIDDLE = ("kind", "run_id", "step_id", "actor", "via", "effective_at", "recorded_at", "payload")
_MIDDLE_AND_REF = (*_MIDDLE, "ref")


def unlinked(records: Iterable[EvidenceRecord], *, recorded_at: datetime) -> list[Unlinked]:
    """Serialise records for :func:`link` (the payloads' canonical JSON, the timestamps)."""
    out: list[Unlinked] = []
    recorded = iso(recorded_at)
    for record in records:
        fields: dict[str, Any] = dict(
            kind=record.kind,
            run_id=record.run_id,
            step_id=record.step_id,
            actor=record.actor,
            via=record.via,
            # the runtime records at the moment the event happened: the same datetime, formatted
            # once
            effective_at=recorded
            if record.effective_at is recorded_at
            else iso(record.effective_at),
            recorded_at=recorded,
            payload=canonical_json(record.payload),
            ref=record.ref,
        )
        # canonical_json of a list is its items' canonical JSON joined by "," in brackets: the
        # items between seq and prev_hash are encoded once here, outside the head's lock
        middle = ",".join([_text_json(fields[name]) for name in _MIDDLE_AND_REF])
        out.append(Unlinked(fields, middle))
    return out


def link(items: Iterable[Unlinked], *, start_seq: int, prev_hash: str) -> list[ChainedEvidence]:
    """Number and hash serialised records after the row ``start_seq - 1`` whose hash is
    ``prev_hash``: the same rows :func:`chain` makes, with only the hashing left to do."""
    rows: list[ChainedEvidence] = []
    for offset, item in enumerate(items):
        seq = start_seq + offset
        body = f"[{seq},{item.middle},{_text_json(prev_hash)}]"
        digest = hashlib.sha256(body.encode()).hexdigest()
        rows.append(ChainedEvidence(seq=seq, **item.fields, prev_hash=prev_hash, hash=digest))
        prev_hash = digest
    return rows


def chain(
    records: Iterable[EvidenceRecord], *, start_seq: int, prev_hash: str, recorded_at: datetime
) -> list[ChainedEvidence]:
    """Number and hash records after the row ``start_seq - 1`` whose hash is ``prev_hash``."""
    return link(
        unlinked(records, recorded_at=recorded_at), start_seq=start_seq, prev_hash=prev_hash
    )


def verify_chain(rows: Iterable[ChainedEvidence], *, expected_first_seq: int = 1) -> int | None:
    """The ``seq`` of the first row that breaks the chain, or ``None`` when all verify.

    Catches an edited field (hash mismatch), a deleted row (sequence gap or prev_hash mismatch)
    and reordered rows (prev_hash mismatch).
    """
    prev_hash, want_seq = GENESIS_HASH, expected_first_seq
    for row in rows:
        fields = {k: getattr(row, k) for k in ChainedEvidence.__dataclass_fields__ if k != "hash"}
        if row.seq != want_seq or row.prev_hash != prev_hash or chain_hash(**fields) != row.hash:
            return row.seq
        prev_hash, want_seq = row.hash, want_seq + 1
    return None
