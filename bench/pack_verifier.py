"""How the audit pack's standalone verifier compares with plain hashing.

    .venv/bin/python bench/pack_verifier.py [rows]      # default 200,000

Writes ``rows`` ledger rows in the pack's exact layout (``write_jsonl``: canonical JSON, task
answers of about 300 bytes, non-ASCII and escapes in them) to a temporary file, then times, in
this process and best of three:

* (a) plain hashing: SHA-256 of every line's bytes (hashlib, the floor any check pays);
* (b) the chain walk of ``evidence/verify_ledger.py --ledger-only``: every line parsed, its
  canonical array encoded and hashed, linked to the row before (``aims_chain.ChainWalk``).

and prints b/a. Issue 14 asks for b/a <= 3.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path

from aims_workflows.engine.chain_walk import GENESIS, ChainWalk, row_hash


def write_rows(path: Path, rows: int) -> None:
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    canon = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode
    prev = GENESIS
    with path.open("w", encoding="utf-8") as out:
        for seq in range(1, rows + 1):
            answers = {
                "risk_title": f'Risk {seq}: prompt "injection" — über',
                "likelihood": seq % 5,
            }
            answers["notes"] = "mitigated by review\n" * 10
            row = {
                "seq": seq,
                "kind": "task.completed",
                "run_id": f"R{seq // 10:06d}",
                "step_id": "identify",
                "actor": "erin@example.com",
                "via": "jira",
                "effective_at": "2026-01-01T00:00:00.000000Z",
                "recorded_at": "2026-01-01T00:00:00.000000Z",
                "payload": canon({"answers": answers, "attempt": 1, "by": "erin@example.com"}),
                "ref": "AIMS-1",
                "prev_hash": prev,
            }
            row["hash"] = prev = row_hash(row)
            out.write(dumps(row) + "\n")


def plain_hashing(path: Path) -> float:
    start = time.perf_counter()
    with path.open("rb") as handle:
        for line in handle:
            hashlib.sha256(line).hexdigest()
    return time.perf_counter() - start


def chain_walk(path: Path) -> float:
    start = time.perf_counter()
    walk = ChainWalk(anchored=True, in_file=True)
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            walk.feed(json.loads(line))
    assert walk.ok, walk.problem
    return time.perf_counter() - start


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ledger.jsonl"
        write_rows(path, rows)
        size = path.stat().st_size
        a = min(plain_hashing(path) for _ in range(3))
        b = min(chain_walk(path) for _ in range(3))
    print(f"{rows:,} rows, {size / 1e6:.0f} MB")
    print(f"(a) plain hashing      {a:6.2f} s")
    print(f"(b) verifier's walk    {b:6.2f} s")
    print(f"    b/a                {b / a:6.1f}x   (target <= 3)")


if __name__ == "__main__":
    main()
