"""Signed checkpoints of the ledger head, made on a schedule and checked against witnesses.

:func:`checkpoint_if_due` (called by the worker's pass, ``App.pump``) signs ``(head row, head
hash, now)`` with the witness key, appends it to the ledger as ``ledger.checkpoint`` and puts one
``witness.post`` command per configured witness in the outbox, in one transaction: the posting
is retried like any effect, and a crash cannot leave a checkpoint half made.

:func:`compare` is the other half (``aims evidence verify --witnesses``): every checkpoint found,
in the ledger or at a witness, must carry the witness key's signature, name a row the ledger
has, and hold that row's hash. The first one that does not is named.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Connection, select

from ..engine import Actor
from ..engine import evidence_kinds as ev
from ..engine.checkpoints import (
    Checkpoint,
    key_id,
    public_key_text,
    signature_problem,
)
from ..engine.commands import PostCheckpoint
from ..engine.evidence import EvidenceRecord, iso
from ..errors import ConfigError
from ..store import Database, ledger, outbox
from ..store.models import Evidence, OutboxItem

__all__ = [
    "WitnessKey",
    "WitnessFinding",
    "WitnessReport",
    "Unreachable",
    "Refuted",
    "checkpoint_if_due",
    "make_checkpoint",
    "ledger_checkpoints",
    "compare",
]

WITNESS = Actor("aims", "witness")
OUTBOX_RUN = "ledger"
"""The outbox's run id for the ledger's own work (checkpoints belong to no workflow run)."""
_EVIDENCE = Evidence.__table__


class WitnessKey:
    """The Ed25519 key that signs checkpoints. Its file is never printed or logged; only the
    public half is shown (``aims evidence witness key``)."""

    def __init__(self, private_bytes: bytes) -> None:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        self._key = Ed25519PrivateKey.from_private_bytes(private_bytes)

    def __repr__(self) -> str:
        return f"WitnessKey({self.key_id})"

    @property
    def public_bytes(self) -> bytes:
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        return self._key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    @property
    def key_id(self) -> str:
        return key_id(self.public_bytes)

    def public_text(self) -> str:
        return public_key_text(self.public_bytes)

    def sign(self, head_seq: int, head_hash: str, at: str) -> Checkpoint:
        signature = self._key.sign(Checkpoint.message(head_seq, head_hash, at)).hex()
        return Checkpoint(head_seq, head_hash, at, self.key_id, signature)

    @classmethod
    def load(cls, path: Path) -> WitnessKey:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        hint = "run `aims init` to create it, or set AIMS_WITNESS_KEY to the key file's path"
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise ConfigError(f"the witness key file {path} does not exist", hint=hint) from None
        except OSError as err:
            raise ConfigError(
                f"cannot read the witness key file {path}: {err.strerror}", hint=hint
            ) from None
        try:
            key = load_pem_private_key(data, password=None)
        except (ValueError, TypeError):
            # the message says what is wrong, never what the file holds
            raise ConfigError(
                f"{path} is not an unencrypted PEM Ed25519 private key", hint=hint
            ) from None
        if not isinstance(key, Ed25519PrivateKey):
            raise ConfigError(f"{path} holds a key of another type than Ed25519", hint=hint)
        from cryptography.hazmat.primitives.serialization import (
            Encoding,
            NoEncryption,
            PrivateFormat,
        )

        return cls(key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()))

    @classmethod
    def create(cls, path: Path) -> WitnessKey:
        """A new key written to ``path`` (readable by its owner only); an existing file is
        never replaced (checkpoints already posted are signed with it)."""
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        from cryptography.hazmat.primitives.serialization import (
            Encoding,
            NoEncryption,
            PrivateFormat,
        )

        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
        return cls(key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()))


def append_witness_row(
    conn: Connection, payload: ev.EvidencePayload, ref: str, now: datetime
) -> None:
    """One row of the witness's own (a checkpoint, a timestamp token) appended to the ledger
    in ``conn``'s transaction: no run, no step, recorded as it happens."""
    record = EvidenceRecord(
        payload.KIND, None, None, WITNESS.id, WITNESS.via, now, ev.evidence_payload(payload), ref
    )
    ledger.append(conn, [record], recorded_at=now)


def ledger_checkpoints(conn: Connection) -> list[tuple[int, Checkpoint]]:
    """Every checkpoint row of the ledger: ``(its row, the checkpoint)``, oldest first. A row
    whose payload is not a checkpoint is skipped here (the chain check names edited rows)."""
    found = []
    for row in ledger.iter_rows(conn, kind=ev.LedgerCheckpoint.KIND, after=None):
        try:
            payload = ev.parse_evidence(row.kind, row.payload)
            assert isinstance(payload, ev.LedgerCheckpoint)
            found.append(
                (
                    row.seq,
                    Checkpoint(
                        payload.head_seq,
                        payload.head_hash,
                        iso(payload.at),
                        payload.key_id,
                        payload.signature,
                    ),
                )
            )
        except Exception:  # noqa: BLE001 - a damaged row is the chain check's to name
            continue
    return found


def _last_checkpoint_at(conn: Connection) -> datetime | None:
    row = conn.execute(
        select(_EVIDENCE.c.effective_at)
        .where(_EVIDENCE.c.kind == ev.LedgerCheckpoint.KIND)
        .order_by(_EVIDENCE.c.seq.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    return datetime.strptime(row[0], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def make_checkpoint(
    conn: Connection, key: WitnessKey, witnesses: Iterable[str], now: datetime
) -> Checkpoint:
    """Sign the head, append the checkpoint row and queue its posting, in ``conn``'s
    transaction (the head is read locked, so no append slips in between)."""
    targets = list(witnesses)
    head_seq, head_hash = ledger.head(conn, lock=True)
    at = iso(now)
    checkpoint = key.sign(head_seq, head_hash, at)
    payload = ev.LedgerCheckpoint(
        head_seq=head_seq,
        head_hash=head_hash,
        at=now,
        key_id=checkpoint.key_id,
        signature=checkpoint.signature,
        witnesses=targets,
    )
    append_witness_row(conn, payload, f"checkpoint:{head_seq}", now)
    outbox.enqueue(
        conn,
        [
            PostCheckpoint(
                key=f"{OUTBOX_RUN}/checkpoint/{head_seq}/{at}/{target}",
                run_id=OUTBOX_RUN,
                witness=target,  # type: ignore[arg-type]  # checked by WitnessConfig.targets
                line=checkpoint.line(),
                head_seq=head_seq,
            )
            for target in targets
        ],
        now,
    )
    return checkpoint


def checkpoint_if_due(
    db: Database, key: WitnessKey, witnesses: Iterable[str], every: timedelta, now: datetime
) -> Checkpoint | None:
    """A checkpoint when the last one is ``every`` old or there is none yet; None otherwise.

    Any number of workers may call this at once: the head row is locked before the last
    checkpoint is read (PostgreSQL; SQLite's writers take the database lock), so the second
    worker sees the first one's checkpoint and makes none."""
    with db.begin() as conn:
        ledger.head(conn, lock=True)
        last = _last_checkpoint_at(conn)
        if last is not None and now - last < every:
            return None
        return make_checkpoint(conn, key, witnesses, now)


class Unreachable(Exception):
    """A witness could not be read: reported as unreachable, never as verified."""


@dataclass(frozen=True)
class Refuted:
    """A witness whose own record fails its check (a TSA token that does not vouch for its
    checkpoint): ``checkpoints`` read, the first that fails and why."""

    checkpoints: int
    problem: str
    first_bad: Checkpoint


@dataclass(frozen=True)
class WitnessFinding:
    witness: str
    checkpoints: int
    problem: str | None = None
    first_bad: Checkpoint | None = None
    unreachable: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None and self.unreachable is None


@dataclass
class WitnessReport:
    findings: list[WitnessFinding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.findings) and all(f.ok for f in self.findings)

    def first_problem(self) -> WitnessFinding | None:
        bad = [f for f in self.findings if f.problem is not None and f.first_bad is not None]
        if not bad:
            return None
        return min(bad, key=lambda f: (f.first_bad.head_seq, f.first_bad.at))  # type: ignore[union-attr]


def check_one(
    checkpoint: Checkpoint,
    public_key: bytes,
    head_seq: int,
    hashes: Mapping[int, str],
) -> str | None:
    """What is wrong with one checkpoint against the database (None: it agrees)."""
    problem = signature_problem(checkpoint, public_key)
    if problem is not None:
        return problem
    if checkpoint.head_seq > head_seq:
        return (
            f"{checkpoint.describe()} is newer than the ledger head (row {head_seq}): rows the "
            "witness saw are gone from the database"
        )
    stored = hashes.get(checkpoint.head_seq)
    if stored is None:
        return (
            f"{checkpoint.describe()} names a row the ledger does not have: row "
            f"{checkpoint.head_seq} was deleted"
        )
    if stored != checkpoint.head_hash:
        return (
            f"{checkpoint.describe()} disagrees with the database: the witness holds hash "
            f"{checkpoint.head_hash} for row {checkpoint.head_seq}, the ledger now has "
            f"{stored}: the chain was rewritten"
        )
    return None


def compare(
    conn: Connection,
    public_key: bytes,
    found: Mapping[str, list[Checkpoint] | Unreachable | Refuted],
) -> WitnessReport:
    """Check the ledger's own checkpoints and each witness's against the database."""
    head_seq, _ = ledger.head(conn)
    sources: dict[str, list[Checkpoint] | Unreachable | Refuted] = {
        "ledger": [c for _, c in ledger_checkpoints(conn)]
    }
    sources.update(found)
    wanted = {c.head_seq for cps in sources.values() if isinstance(cps, list) for c in cps}
    hashes = _hashes(conn, wanted)
    posted = posted_checkpoints(conn)
    report = WitnessReport()
    for name, checkpoints in sources.items():
        if isinstance(checkpoints, Unreachable):
            report.findings.append(WitnessFinding(name, 0, unreachable=str(checkpoints)))
            continue
        if isinstance(checkpoints, Refuted):
            report.findings.append(
                WitnessFinding(
                    name, checkpoints.checkpoints, checkpoints.problem, checkpoints.first_bad
                )
            )
            continue
        finding = WitnessFinding(name, len(checkpoints))
        for checkpoint in sorted(checkpoints, key=lambda c: (c.head_seq, c.at)):
            problem = check_one(checkpoint, public_key, head_seq, hashes)
            if problem is not None:
                finding = WitnessFinding(name, len(checkpoints), problem, checkpoint)
                break
        if finding.ok and name != "ledger":
            finding = _gone_from(name, checkpoints, posted) or finding
        report.findings.append(finding)
    return report


def posted_checkpoints(conn: Connection) -> dict[str, list[Checkpoint]]:
    """Witness -> the checkpoints the outbox delivered to it (its ``witness.post`` commands that
    are done): each must still be there when the witness is read back."""
    from ..engine.checkpoints import find_checkpoints

    table = OutboxItem.__table__
    rows = conn.execute(
        select(table.c.payload).where(table.c.kind == "witness.post", table.c.status == "done")
    )
    posted: dict[str, list[Checkpoint]] = {}
    for (payload,) in rows:
        try:
            command = json.loads(payload)
            found = find_checkpoints(str(command["line"]))
        except (ValueError, KeyError, TypeError):
            continue  # not ours to judge: the outbox row is damaged, not the witness
        posted.setdefault(str(command.get("witness")), []).extend(found)
    return posted


def _gone_from(
    name: str, checkpoints: list[Checkpoint], posted: Mapping[str, list[Checkpoint]]
) -> WitnessFinding | None:
    """The first checkpoint delivered to ``name`` that it no longer holds (a Slack message, a
    Jira comment or a line of the git file deleted), or None when all are there."""
    held = {(c.head_seq, c.at) for c in checkpoints}
    for checkpoint in sorted(posted.get(name, []), key=lambda c: (c.head_seq, c.at)):
        if (checkpoint.head_seq, checkpoint.at) not in held:
            return WitnessFinding(
                name,
                len(checkpoints),
                f"{checkpoint.describe()} was posted to this witness and is no longer there: "
                "it was deleted at the witness",
                checkpoint,
            )
    return None


def _hashes(conn: Connection, seqs: set[int]) -> dict[int, str]:
    found: dict[int, str] = {}
    ordered = sorted(seqs)
    for start in range(0, len(ordered), 500):
        chunk = ordered[start : start + 500]
        rows = conn.execute(
            select(_EVIDENCE.c.seq, _EVIDENCE.c.hash).where(_EVIDENCE.c.seq.in_(chunk))
        )
        found.update({seq: value for seq, value in rows})
    return found
