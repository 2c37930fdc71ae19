"""Back-matter resources for the ledger rows a document cites, each carrying the row's seq and
SHA-256, so that a reader can check every citation against the ledger (``aims evidence verify``,
or the audit pack's ``evidence/ledger.jsonl`` and its verifier) without trusting the document.

Whatever cites a row (an observation's relevant evidence, an SSP statement, a POA&M item) points
at ``#<resource uuid>``; the resource says which row it is and links to the ledger file when the
document sits in an audit pack.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ._ids import stable_uuid
from ._meta import props

__all__ = ["LedgerRows"]


@dataclass(frozen=True)
class _Row:
    seq: int
    digest: str
    what: str


class LedgerRows:
    """The rows cited so far in one document, in the order first cited."""

    def __init__(self, organisation: str, ledger_href: str | None = None) -> None:
        self.organisation = organisation
        self.ledger_href = ledger_href
        self._rows: dict[int, _Row] = {}

    def uuid(self, seq: int) -> str:
        return stable_uuid("resource", "ledger-row", self.organisation, seq)

    def cite(self, seq: int, digest: str, what: str) -> str:
        """``#uuid`` of the resource for row ``seq`` (made on first citation; ``what`` says what
        the row is, in a few words)."""
        self._rows.setdefault(seq, _Row(seq, digest, what))
        return f"#{self.uuid(seq)}"

    def __len__(self) -> int:
        return len(self._rows)

    def resources(self, m: Any) -> list[Any]:
        common = m.common
        found = []
        for row in sorted(self._rows.values(), key=lambda r: r.seq):
            rlinks = None
            if self.ledger_href:
                rlinks = [common.Rlink(href=self.ledger_href, media_type="application/x-ndjson")]
            found.append(
                common.Resource(
                    uuid=self.uuid(row.seq),
                    title=f"Evidence ledger row #{row.seq}",
                    description=(
                        f"Row {row.seq} of the evidence ledger ({row.what}). Its SHA-256, in "
                        "ledger-hash, covers the row's fields and the previous row's hash: "
                        "recompute it from the row to check this citation."
                    ),
                    props=props(m, [("ledger-seq", row.seq), ("ledger-hash", row.digest)]),
                    rlinks=rlinks,
                )
            )
        return found
