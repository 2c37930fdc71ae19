#!/usr/bin/env python3
"""Re-verify an aims evidence ledger export without aims: Python 3.8+ standard library only.

    python3 verify_ledger.py                       # ledger.jsonl next to this script
    python3 verify_ledger.py path/to/ledger.jsonl
    python3 verify_ledger.py --manifest ../manifest.json   # also check every file of the pack

For each row it recomputes SHA-256 over the canonical JSON array
[seq, kind, run_id, step_id, actor, via, effective_at, recorded_at, payload, ref, prev_hash]
(no spaces, non-ASCII kept as UTF-8) and compares it with the row's hash; it checks that each
row's prev_hash is the hash of the row before and that seq numbers follow without gaps. A file
that starts at row 1 must start from the genesis hash (64 zeros). If verification.json lies next
to the ledger file, the first and last rows are also compared with what it records, so rows cut
from either end of the file are noticed.

Exit status: 0 when everything verifies, 1 on the first problem (named by seq and line), 2 when
the input cannot be read.
"""

import argparse
import hashlib
import json
import os
import sys

FIELDS = (
    "seq",
    "kind",
    "run_id",
    "step_id",
    "actor",
    "via",
    "effective_at",
    "recorded_at",
    "payload",
    "ref",
    "prev_hash",
    "hash",
)
GENESIS = "0" * 64


def row_hash(row):
    """The hash the ledger gives a row: SHA-256 of the canonical JSON of every field but hash."""
    body = json.dumps(
        [row[name] for name in FIELDS[:-1]], ensure_ascii=False, separators=(",", ":")
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


class Broken(Exception):
    pass


def check_row(row, line_no):
    if not isinstance(row, dict):
        raise Broken(f"line {line_no}: not a JSON object")
    missing = [name for name in FIELDS if name not in row]
    if missing:
        raise Broken(f"line {line_no}: missing field(s) {', '.join(missing)}")
    if not isinstance(row["seq"], int) or isinstance(row["seq"], bool):
        raise Broken(f"line {line_no}: seq must be a whole number")
    if not isinstance(row["payload"], str):
        raise Broken(
            f"row {row['seq']} (line {line_no}): payload must be the JSON text exactly as "
            "exported, not a parsed object"
        )


def verify_file(path):
    """(rows, first_seq, last_seq, first_prev_hash, last_hash); raises Broken on the first
    problem."""
    rows, first_seq, first_prev, prev_hash, prev_seq = 0, None, None, None, None
    with open(path, encoding="utf-8", newline="") as handle:
        for line_no, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as err:
                raise Broken(f"line {line_no}: not valid JSON ({err})") from None
            check_row(row, line_no)
            seq = row["seq"]
            if prev_seq is None:
                first_seq, first_prev = seq, row["prev_hash"]
                if seq == 1 and row["prev_hash"] != GENESIS:
                    raise Broken(f"row 1 (line {line_no}) does not start from the genesis hash")
            elif seq > prev_seq + 1:
                gap = (
                    f"row {prev_seq + 1} is"
                    if seq == prev_seq + 2
                    else f"rows {prev_seq + 1}-{seq - 1} are"
                )
                raise Broken(
                    f"row {seq} (line {line_no}) follows row {prev_seq}: "
                    f"{gap} missing or out of order"
                )
            elif seq <= prev_seq:
                raise Broken(
                    f"row {seq} (line {line_no}) follows row {prev_seq}: "
                    "rows are out of order or repeated"
                )
            elif row["prev_hash"] != prev_hash:
                raise Broken(
                    f"row {seq} (line {line_no}) does not link to row {prev_seq}: "
                    "its prev_hash is not that row's hash"
                )
            if row_hash(row) != row["hash"]:
                raise Broken(
                    f"row {seq} (line {line_no}, {row['kind']}) was altered: "
                    "its content no longer matches its hash"
                )
            rows, prev_seq, prev_hash = rows + 1, seq, row["hash"]
    return rows, first_seq, prev_seq, first_prev, prev_hash


def compare_with_record(path, found):
    """Compare the file's ends with verification.json (written at export time), if present."""
    record_path = os.path.join(os.path.dirname(os.path.abspath(path)), "verification.json")
    if not os.path.exists(record_path):
        return None
    with open(record_path, encoding="utf-8") as handle:
        recorded = json.load(handle).get("exported")
    if not isinstance(recorded, dict):
        return None
    rows, first_seq, last_seq, first_prev, last_hash = found
    expected = (
        recorded.get("rows"),
        recorded.get("first_seq"),
        recorded.get("last_seq"),
        recorded.get("first_prev_hash"),
        recorded.get("last_hash"),
    )
    names = ("rows", "first seq", "last seq", "first prev_hash", "last hash")
    for name, have, want in zip(
        names, (rows, first_seq, last_seq, first_prev, last_hash), expected
    ):
        if have != want:
            raise Broken(
                f"{name} is {have} but verification.json records {want}: "
                "rows were added to or cut from the file"
            )
    return record_path


def check_manifest(manifest_path):
    base = os.path.dirname(os.path.abspath(manifest_path))
    with open(manifest_path, encoding="utf-8") as handle:
        manifest = json.load(handle)
    checked = 0
    for entry in manifest.get("files", []):
        target = os.path.normpath(os.path.join(base, entry["path"]))
        if not target.startswith(base + os.sep):
            raise Broken(f"manifest lists a path outside the pack: {entry['path']}")
        if not os.path.exists(target):
            raise Broken(f"{entry['path']} is listed in the manifest but missing")
        digest, size = hashlib.sha256(), 0
        with open(target, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
                size += len(block)
        if size != entry["bytes"] or digest.hexdigest() != entry["sha256"]:
            raise Broken(
                f"{entry['path']} does not match the manifest: it was changed after export"
            )
        checked += 1
    return checked


def main(argv=None):
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(
        description="Re-verify an aims evidence ledger export (ledger.jsonl)."
    )
    parser.add_argument(
        "ledger",
        nargs="?",
        default=os.path.join(here, "ledger.jsonl"),
        help="ledger.jsonl to verify",
    )
    parser.add_argument(
        "--manifest", help="manifest.json of the pack: also check every file's SHA-256 and size"
    )
    args = parser.parse_args(argv)
    try:
        if args.manifest:
            count = check_manifest(args.manifest)
            print(f"OK: {count} files match {args.manifest}")
        found = verify_file(args.ledger)
        record = compare_with_record(args.ledger, found)
    except Broken as err:
        print(f"FAILED: {err}")
        return 1
    except (OSError, ValueError, KeyError, TypeError) as err:
        print(f"cannot check: {err}", file=sys.stderr)
        return 2
    rows, first_seq, last_seq, first_prev, last_hash = found
    if not rows:
        print(f"OK: {args.ledger} holds no rows")
        return 0
    print(
        f"OK: {rows} rows verify (seq {first_seq} to {last_seq}), "
        "each SHA-256 linked to the one before"
    )
    if first_seq != 1:
        print(
            f"    the first row continues the chain from prev_hash {first_prev} "
            f"(row {first_seq - 1}, before the period)"
        )
    print(f"    last hash {last_hash}")
    if record:
        print("    first and last rows match verification.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
