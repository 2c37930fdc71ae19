"""Signed checkpoints of the ledger head: the words witnesses outside the database keep.

A checkpoint says "row ``head_seq`` of the ledger had hash ``head_hash`` at ``at``", signed with
the organisation's Ed25519 witness key. It is appended to the ledger (kind ``ledger.checkpoint``)
and posted where the database cannot reach (a Slack channel, a comment on a pinned Jira issue, a
file in a git repository). Rewriting the chain afterwards changes row ``head_seq``'s hash, and
the posted checkpoint then disagrees with the database: ``aims evidence verify --witnesses`` and
the audit pack's verifier name it.

The posted form is one line of plain ASCII that chat and issue trackers keep as written::

    aims-checkpoint/1;seq=41;hash=<64 hex>;at=2026-12-07T09:00:00.000000Z;key=<16 hex>;sig=<128 hex>

The signature covers ``aims-checkpoint/1\\n<seq>\\n<hash>\\n<at>\\n``. Checking it needs the
``cryptography`` package; everything else here is the standard library (Python 3.8 syntax), and
the audit pack ships this file as ``evidence/aims_checkpoints.py``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

__all__ = [
    "FORMAT",
    "Checkpoint",
    "find_checkpoints",
    "key_id",
    "public_key_text",
    "read_public_key",
    "signature_problem",
]

FORMAT = "aims-checkpoint/1"
KEY_FORMAT = "aims-witness-key/1"
_LINE = re.compile(
    r"aims-checkpoint/1;seq=(-?\d{1,18});hash=([0-9a-f]{64});"
    r"at=(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z);key=([0-9a-f]{16});sig=([0-9a-f]{128})"
)


def key_id(public_key: bytes) -> str:
    """The short name of a public key: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(public_key).hexdigest()[:16]


def public_key_text(public_key: bytes) -> str:
    """How the public key is printed for the auditor and kept in the pack."""
    return f"{KEY_FORMAT} {public_key.hex()}"


def read_public_key(text: str) -> bytes:
    """The raw 32-byte key from :func:`public_key_text`'s form (or bare hex); ValueError if not."""
    value = text.strip()
    if value.startswith(KEY_FORMAT):
        value = value[len(KEY_FORMAT) :].strip()
    if not re.fullmatch(r"[0-9a-fA-F]{64}", value):
        raise ValueError(
            f"a witness public key is '{KEY_FORMAT} ' followed by 64 hex digits, not {text!r}"
        )
    return bytes.fromhex(value)


@dataclass(frozen=True)
class Checkpoint:
    head_seq: int
    head_hash: str
    at: str
    key_id: str
    signature: str  # hex

    @staticmethod
    def message(head_seq: int, head_hash: str, at: str) -> bytes:
        """The bytes the witness key signs."""
        return f"{FORMAT}\n{head_seq}\n{head_hash}\n{at}\n".encode("ascii")

    def line(self) -> str:
        return (
            f"{FORMAT};seq={self.head_seq};hash={self.head_hash};at={self.at};"
            f"key={self.key_id};sig={self.signature}"
        )

    def describe(self) -> str:
        return f"the checkpoint of row {self.head_seq} made at {self.at}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "head_seq": self.head_seq,
            "head_hash": self.head_hash,
            "at": self.at,
            "key_id": self.key_id,
            "signature": self.signature,
        }

    @classmethod
    def from_dict(cls, data: Any) -> Checkpoint:
        if not isinstance(data, dict):
            raise ValueError("a checkpoint is a JSON object")
        line = (
            f"{FORMAT};seq={data.get('head_seq')};hash={data.get('head_hash')};"
            f"at={data.get('at')};key={data.get('key_id')};sig={data.get('signature')}"
        )
        found = find_checkpoints(line)
        if len(found) != 1:
            raise ValueError(f"not a well-formed checkpoint: {line[:200]}")
        return found[0]


def find_checkpoints(text: str) -> list[Checkpoint]:
    """Every checkpoint line in ``text`` (a Slack message, a Jira comment, a file)."""
    return [
        Checkpoint(int(m.group(1)), m.group(2), m.group(3), m.group(4), m.group(5))
        for m in _LINE.finditer(text)
    ]


def signature_problem(checkpoint: Checkpoint, public_key: bytes) -> str | None:
    """Why the signature does not hold under ``public_key`` (None: it holds).

    Raises ImportError when the ``cryptography`` package is not installed."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    if checkpoint.key_id != key_id(public_key):
        return (
            f"{checkpoint.describe()} is signed by another key ({checkpoint.key_id}, not the "
            f"witness key {key_id(public_key)})"
        )
    message = Checkpoint.message(checkpoint.head_seq, checkpoint.head_hash, checkpoint.at)
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(
            bytes.fromhex(checkpoint.signature), message
        )
    except InvalidSignature:
        return (
            f"{checkpoint.describe()} does not carry a valid signature of the witness key "
            f"{key_id(public_key)}: it was made or changed by someone without that key"
        )
    return None
