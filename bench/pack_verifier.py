"""How the audit pack's standalone verifier compares with plain hashing.

    .venv/bin/python bench/pack_verifier.py [rows]      # default 200,000
    .venv/bin/python bench/pack_verifier.py [rows] --before main   # ... and that commit's verifier

Writes ``rows`` ledger rows (task answers of about 300 bytes, non-ASCII and escapes in them) to
two temporary files, the layout of pack format 2 (``aims_chain.row_line``: the canonical array the
hash covers, with the hash appended) and that of format 1 (a JSON object a row), then times, in
this process and best of three:

* (a) plain hashing: SHA-256 of every line's bytes of the format 2 file (hashlib, the floor any
  check pays);
* (b) the format 1 walk: every line parsed, its canonical array encoded and hashed, linked to
  the row before (``ChainWalk.feed``), what the verifier did before format 2;
* (c) the chain walk of ``evidence/verify_ledger.py --ledger-only`` over the format 2 file, with
  the verifier's own code as the pack ships it (``read_lines`` and ``ChainWalk.feed_lines``);
* (d) for information: the one parse of every row that a whole-pack check adds after the walk
  (the auditor files rebuilt, the registers' facts and the KPIs' base measures gathered,
  ``RowFacts``, and the KPIs' facts made of them).

and prints b/a, c/a, d/a and (c+d)/a, the rows' share of a whole-pack check. With ``--before
REF`` the verifier's files as commit REF has them are timed too, alternating with this tree's
over the same file, so that the two are compared under the same load. Issue 14 asks for
c/a <= 3.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from aims_workflows.engine.chain_walk import GENESIS, ChainWalk, row_hash, row_line
from aims_workflows.export.pack import auditor_files, writer


def write_rows(path: Path, old_path: Path, rows: int) -> None:
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    canon = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode
    prev = GENESIS
    with path.open("w", encoding="utf-8") as out, old_path.open("w", encoding="utf-8") as old:
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
            out.write(row_line(row) + "\n")
            old.write(dumps(row) + "\n")


def plain_hashing(path: Path) -> float:
    start = time.perf_counter()
    with path.open("rb") as handle:
        for line in handle:
            hashlib.sha256(line).hexdigest()
    return time.perf_counter() - start


def object_walk(path: Path) -> float:
    start = time.perf_counter()
    walk = ChainWalk(anchored=True, in_file=True)
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            walk.feed(json.loads(line))
    assert walk.ok, walk.problem
    return time.perf_counter() - start


def _shipped_sources(ref: str | None) -> dict[str, str]:
    """Path in the pack -> the text of evidence/verify_ledger.py and the modules it imports,
    as this tree has them, or as commit ``ref`` had them (a module it did not ship left out)."""
    if ref is None:
        texts = {
            name: Path(str(module.__file__)).read_text("utf-8")
            for name, module in auditor_files.VERIFIER_MODULES.items()
        }
        texts["evidence/verify_ledger.py"] = writer._template_text("verify_ledger.py")
        return texts
    root = Path(__file__).resolve().parent.parent
    texts = {}
    for name, module in auditor_files.VERIFIER_MODULES.items():
        source = Path(str(module.__file__)).resolve().relative_to(root).as_posix()
        shown = subprocess.run(["git", "show", f"{ref}:{source}"], capture_output=True, cwd=root)
        if shown.returncode == 0:
            texts[name] = shown.stdout.decode("utf-8")
    template = "src/aims_workflows/export/pack/templates/verify_ledger.py"
    texts["evidence/verify_ledger.py"] = subprocess.run(
        ["git", "show", f"{ref}:{template}"], capture_output=True, cwd=root, check=True
    ).stdout.decode("utf-8")
    return texts


def shipped_verifier(folder: Path, ref: str | None = None) -> ModuleType:
    """evidence/verify_ledger.py and the modules it imports, laid out as in a pack (in a folder
    of their own), imported afresh (see _shipped_sources for ``ref``)."""
    (folder / "evidence").mkdir(parents=True)
    for name, text in _shipped_sources(ref).items():
        (folder / name).write_text(text, "utf-8")
    for name in ["verify_ledger", *(Path(n).stem for n in auditor_files.VERIFIER_MODULES)]:
        sys.modules.pop(name, None)  # the other verifier's modules, when both are timed
    sys.path.insert(0, str(folder / "evidence"))
    try:
        return importlib.import_module("verify_ledger")
    finally:
        sys.path.pop(0)


def line_walk(verifier: Any, path: Path) -> float:
    start = time.perf_counter()
    walk = verifier.aims_chain.ChainWalk(anchored=True, in_file=True)
    bad = walk.feed_lines(
        verifier.read_lines(path), lambda line, no: verifier.parse_row(line, no, path)
    )
    assert bad is None and walk.ok, walk.problem
    return time.perf_counter() - start


def one_parse(verifier: Any, path: Path) -> float:
    start = time.perf_counter()
    facts = verifier.RowFacts(set())
    # a verifier that rebuilds the KPIs' facts gathers them in the same pass (RowFacts.add)
    also = getattr(facts, "add", facts.registers.add)
    verifier.aims_auditor.build(facts.rows(path), seed="0" * 16, also=also)
    if hasattr(facts, "kpis"):
        facts.kpis.facts(datetime.now(UTC), {}, {})
    return time.perf_counter() - start


def main() -> None:
    args = sys.argv[1:]
    before = None
    if "--before" in args:
        at = args.index("--before")
        before = args[at + 1]
        del args[at : at + 2]
    rows = int(args[0]) if args else 200_000
    with tempfile.TemporaryDirectory() as folder:
        path, old_path = Path(folder) / "ledger.jsonl", Path(folder) / "ledger-format-1.jsonl"
        write_rows(path, old_path, rows)
        verifiers = {"": shipped_verifier(Path(folder) / "now")}
        if before:
            verifiers[before] = shipped_verifier(Path(folder) / "before", before)
        size, old_size = path.stat().st_size, old_path.stat().st_size
        times: dict[str, list[float]] = {"a": [], "b": []}
        for _ in range(3):  # alternated, so that a change in the machine's load hits both
            times["a"].append(plain_hashing(path))
            times["b"].append(object_walk(old_path))
            for name, verifier in verifiers.items():
                times.setdefault("c" + name, []).append(line_walk(verifier, path))
                times.setdefault("d" + name, []).append(one_parse(verifier, path))
    best = {key: min(found) for key, found in times.items()}
    a, b = best["a"], best["b"]
    print(f"{rows:,} rows, {size / 1e6:.0f} MB (format 1: {old_size / 1e6:.0f} MB)")
    print(f"(a) plain hashing               {a:6.2f} s")
    print(f"(b) format 1 walk (before)      {b:6.2f} s   b/a {b / a:5.1f}x")
    for name in verifiers:
        c, d = best["c" + name], best["d" + name]
        if name:
            print(f"the verifier of {name}:")
        print(f"(c) verifier's walk (format 2)  {c:6.2f} s   c/a {c / a:5.1f}x   (target <= 3)")
        print(f"(d) + one parse of every row    {d:6.2f} s   d/a {d / a:5.1f}x   (whole pack only)")
        print(f"    walk and parse (c + d)      {c + d:6.2f} s   (c+d)/a {(c + d) / a:5.1f}x")


if __name__ == "__main__":
    main()
