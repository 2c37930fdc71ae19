#!/usr/bin/env python3
"""Re-verify an aims audit pack without aims: Python 3.8+ standard library only (plus the
``cryptography`` package, if installed, to check the checkpoints' signatures).

    python3 evidence/verify_ledger.py                        # the whole pack this file is in
    python3 evidence/verify_ledger.py --expect-manifest SHA256  # ... and that it is the one sent
    python3 evidence/verify_ledger.py --public-key "aims-witness-key/1 ..."
    python3 evidence/verify_ledger.py --tsa-ca tsa-root.pem     # the TSA CA you trust
    python3 evidence/verify_ledger.py path/to/ledger.jsonl --ledger-only

What it checks, each problem named on a line of its own that starts with FAILED:

1. the manifest: its SHA-256 is the one sent separately (``--expect-manifest``); every file it
   lists is there with its SHA-256 and size; no file is there that it does not list;
2. the ledger rows (``evidence/ledger.jsonl``, one JSON array a row: the canonical array the
   hash covers with the hash appended; packs of format aims-audit-pack/1 wrote a JSON object a
   row): each row's SHA-256 over the canonical JSON array
   [seq, kind, run_id, step_id, actor, via, effective_at, recorded_at, payload, ref, prev_hash]
   (no spaces, non-ASCII kept as UTF-8; for a line in the array form, its bytes less the last
   element, hashed as they are), each linked to the row before, numbered without gaps
   from 1 (rows below 1, gaps, a numbering moved forward are each named), the first and last
   rows as ``verification.json`` records them, and the head the export recorded. The words are
   those of ``aims evidence verify`` (``aims_chain.py`` is the same code);
3. ``auditor/``: rebuilt from the ledger rows (``aims_auditor.py``), compared byte for byte, so
   the registers, the control index, the run timelines, the segregation-of-duties exceptions,
   the coverage timeline and the per-control sample (re-drawn from the seed in
   ``auditor/sampling.json``) are what the rows say; ``runs.csv``, ``approvals.csv``,
   ``inventory.csv``, ``findings.csv`` and ``tasks.csv`` (written from the database's tables)
   are checked against the rows they cover; every row of ``soa.csv`` and ``clauses.csv`` is
   rebuilt from the rows (with the pinned definitions in ``workflows/``, ``runs.csv`` for runs
   started before them, ``aims-config.json`` and the approved SoA) and compared exactly, the
   first differing cell of a row named;
4. ``workflows/``: every pinned definition's canonical JSON hashes to the hash the runs pinned,
   and every run started in the rows has its definition in the pack;
5. ``kpis.csv``: every KPI's row made again by its formula (``aims_kpis.py``, the code aims
   measures with) from the base measures ``evidence/kpi_facts.json`` records for it, each KPI
   whose row differs named; the facts taken at the ledger head and the moment the export
   read, and each target the one ``aims-config.json`` sets. When the ledger file holds the
   whole ledger (row 1 to that head), the facts themselves are rebuilt from the rows
   (``aims_kpi_rows.py``) and compared, the first fact that differs named for each KPI; the
   facts no row gives, and all of them for a period's slice, are listed as vouched for by the
   manifest's hash only;
6. ``witness/``: every signed checkpoint of the ledger head: signed by the witness key (checked
   when ``cryptography`` is installed), not newer than the head, and holding the hash the row it
   names has in this pack;
7. ``witness/timestamps.jsonl``: every RFC 3161 token a time-stamp authority gave a checkpoint:
   status granted, the SHA-256 of the checkpoint's signed bytes in its messageImprint, its
   signature and certificate chain valid under ``--tsa-ca`` (else the pack's own
   ``witness/tsa-ca.pem``) with the timeStamping usage (checked when ``rfc3161-client`` is
   installed), and the checkpoint the one ``witness/checkpoints.jsonl`` lists.

Exit status: 0 when everything verifies, 1 when anything does not (every problem is printed),
2 when the input cannot be read at all.
"""

import argparse
import csv
import datetime
import hashlib
import importlib
import io
import itertools
import json
import os
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ inside the pack being checked
HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:  # -I leaves the script's directory off the path
    sys.path.insert(0, HERE)

# shipped next to this file (the same code aims runs); by name, so tools do not look for them
# among installed packages
aims_auditor = importlib.import_module("aims_auditor")
aims_chain = importlib.import_module("aims_chain")
aims_checkpoints = importlib.import_module("aims_checkpoints")
aims_timestamps = importlib.import_module("aims_timestamps")
aims_kpis = importlib.import_module("aims_kpis")
aims_kpi_rows = importlib.import_module("aims_kpi_rows")

FIELDS = aims_chain.FIELDS


class Unreadable(Exception):
    pass


class Checker:
    def __init__(self, root):
        self.root = root
        self.problems = []

    def fail(self, text):
        self.problems.append(text)
        print(f"FAILED: {text}")

    def path(self, name):
        return os.path.join(self.root, *name.split("/"))

    def read(self, name):
        with open(self.path(name), "rb") as handle:
            return handle.read()


# -- 1. the manifest ------------------------------------------------------------------------------
def sha256_file(path):
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def check_manifest(checker, manifest_path, expect):
    base = os.path.dirname(os.path.abspath(manifest_path))
    if expect is not None:
        digest, _ = sha256_file(manifest_path)
        if digest != expect.lower():
            checker.fail(
                f"manifest.json has SHA-256 {digest}, not the {expect.lower()} you were sent: "
                "this is not the pack that was exported (or the manifest was changed)"
            )
        else:
            print("OK: manifest.json is the one whose SHA-256 you were sent")
    with open(manifest_path, encoding="utf-8") as handle:
        manifest = json.load(handle)
    listed = {}
    for entry in manifest.get("files", []):
        name = entry["path"]
        target = os.path.normpath(os.path.join(base, name))
        if not target.startswith(base + os.sep):
            checker.fail(f"manifest lists a path outside the pack: {name}")
            continue
        listed[os.path.relpath(target, base).replace(os.sep, "/")] = entry
    bad = 0
    for name, entry in listed.items():
        target = os.path.join(base, *name.split("/"))
        if not os.path.isfile(target):
            checker.fail(f"{name} is listed in the manifest but missing from the pack")
            bad += 1
            continue
        digest, size = sha256_file(target)
        if size != entry["bytes"] or digest != entry["sha256"]:
            checker.fail(f"{name} does not match the manifest: it was changed after export")
            bad += 1
    manifest_name = os.path.relpath(os.path.abspath(manifest_path), base).replace(os.sep, "/")
    for folder, _dirs, files in os.walk(base):
        for file_name in files:
            name = os.path.relpath(os.path.join(folder, file_name), base).replace(os.sep, "/")
            if name != manifest_name and name not in listed:
                checker.fail(f"{name} is in the pack but not in the manifest: it was added")
                bad += 1
    if not bad:
        print(f"OK: {len(listed)} files match {os.path.basename(manifest_path)}")
    return manifest


# -- 2. the ledger rows ---------------------------------------------------------------------------
PACK_FORMATS = ("aims-audit-pack/1", "aims-audit-pack/2")
"""The pack formats this verifier reads: /1 wrote each row as a JSON object; /2 writes it as
the canonical array the hash covers with the hash appended (``aims_chain.row_line``)."""
BLOCK = 1 << 24  # the ledger file is read 16 MiB at a time
DECODE = aims_auditor.loads  # json.loads less its per-call set-up (read once per row)
ROW_FIELDS = len(FIELDS)


def read_lines(path):
    """Every line of ``path`` as bytes, without its line end, read in large blocks (an iterator
    of C-level lists: no Python call per line)."""

    def blocks():
        rest = b""
        with open(path, "rb") as handle:
            while True:
                block = handle.read(BLOCK)
                if not block:
                    break
                lines = (rest + block).split(b"\n")
                rest = lines.pop()
                yield lines
        if rest:
            yield [rest]

    return itertools.chain.from_iterable(blocks())


def parse_row(line, line_no, path):
    """One line (bytes) as a row; None for a blank line; Unreadable for a line that is no row.
    A line is the JSON array of the row's fields in hash order (this pack format) or a JSON
    object of them (packs of format aims-audit-pack/1)."""
    try:
        row = DECODE(line.decode("utf-8") if isinstance(line, bytes) else line)
    except ValueError as err:
        if not line.strip():  # blank: asked only here, so a row's line is not copied by strip
            return None
        raise Unreadable(f"line {line_no} of {path}: not valid JSON ({err})") from None
    if type(row) is list and len(row) == ROW_FIELDS:  # the common case first: one test
        row = dict(zip(FIELDS, row))
    elif isinstance(row, list):
        if len(row) != len(FIELDS):
            raise Unreadable(
                f"line {line_no} of {path}: a row is an array of {len(FIELDS)} values "
                f"({', '.join(FIELDS)}), this one has {len(row)}"
            )
        row = dict(zip(FIELDS, row))
    elif isinstance(row, dict):
        missing = [name for name in FIELDS if name not in row]
        if missing:
            raise Unreadable(f"line {line_no}: missing field(s) {', '.join(missing)}")
    else:
        raise Unreadable(f"line {line_no} of {path}: not a JSON array or object")
    if type(row["seq"]) is not int:  # JSON gives int, bool or float: only int is a number here
        raise Unreadable(f"line {line_no}: seq must be a whole number")
    if type(row["payload"]) is not str:
        raise Unreadable(
            f"row {row['seq']} (line {line_no}): payload must be the JSON text exactly "
            "as exported, not a parsed object"
        )
    return row


def read_rows(path):
    """(line number, row) for every non-blank line; Unreadable for a line that is no row."""
    for line_no, line in enumerate(read_lines(path), start=1):
        row = parse_row(line, line_no, path)
        if row is not None:
            yield line_no, row


def unknown_format(manifest, verification):
    """Why this verifier cannot read the pack (a format newer than it knows), or None."""
    pack_format = manifest.get("format")
    if pack_format is not None and pack_format not in PACK_FORMATS:
        return (
            f"the pack is of format {pack_format!r}, which this verifier does not know (it reads "
            f"{', '.join(PACK_FORMATS)}): run the evidence/verify_ledger.py that came in that "
            "pack, or the one of the aims version that wrote it"
        )
    row_format = verification.get("row_format")
    if row_format is not None and row_format != aims_chain.LINE_FORMAT:
        return (
            f"the ledger rows are written as {row_format!r}, which this verifier does not know "
            f"(it reads {aims_chain.LINE_FORMAT} and the JSON objects of aims-audit-pack/1): run "
            "the evidence/verify_ledger.py that came with them"
        )
    return None


def load_json(path):
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def check_ledger(checker, path, verification):
    """Walk the rows as ``aims evidence verify`` does; compare the ends with what the export
    recorded. Returns the walk."""
    period = (verification or {}).get("period") or {}
    whole_start = verification is not None and not period.get("since")
    walk = aims_chain.ChainWalk(anchored=whole_start, in_file=True)
    name = os.path.basename(path)
    bad_line = walk.feed_lines(read_lines(path), lambda line, no: parse_row(line, no, path))
    if bad_line is not None:
        checker.fail(f"{walk.problem} [line {bad_line} of {name}]")
        return walk
    recorded = (verification or {}).get("exported")
    if isinstance(recorded, dict):
        found = (walk.rows, walk.first_seq, walk.last_seq or None, walk.first_prev_hash)
        found += (walk.last_hash if walk.rows else None,)
        names = ("rows", "first seq", "last seq", "first prev_hash", "last hash")
        keys = ("rows", "first_seq", "last_seq", "first_prev_hash", "last_hash")
        for label, have, key in zip(names, found, keys):
            if have != recorded.get(key):
                checker.fail(
                    f"{label} is {have} but verification.json records {recorded.get(key)}: "
                    f"rows were added to or cut from {name}"
                )
                return walk
    chain = (verification or {}).get("chain") or {}
    if not period.get("until") and "head_seq" in chain:
        # the file runs to the head the export read: the end must be that head
        if walk.head_problem(chain["head_seq"], chain["head_hash"]) is not None:
            checker.fail(walk.problem)
            return walk
    if chain.get("ok") is False:
        checker.fail(
            f"when the pack was exported the whole chain did not verify: row "
            f"{chain.get('first_bad_seq')}: {chain.get('problem')}"
        )
        return walk
    if walk.rows:
        print(
            f"OK: {walk.rows} rows verify (seq {walk.first_seq} to {walk.last_seq}), "
            "each SHA-256 linked to the one before"
        )
        if walk.first_seq != 1:
            print(
                f"    the first row continues the chain from prev_hash {walk.first_prev_hash} "
                f"(row {walk.first_seq - 1}, before the period)"
            )
        print(f"    last hash {walk.last_hash}")
    else:
        print(f"OK: {path} holds no rows")
    if isinstance(recorded, dict):
        print("    first and last rows match verification.json")
    return walk


# -- 3. auditor/ --------------------------------------------------------------------------
def first_difference(have, want):
    have_lines, want_lines = have.splitlines(), want.splitlines()
    for number, (a, b) in enumerate(zip(have_lines, want_lines), start=1):
        if a != b:
            return f"line {number} is {a[:120]!r}, the rows give {b[:120]!r}"
    return f"it has {len(have_lines)} lines, the rows give {len(want_lines)}"


class RowFacts:
    """What the checks after the chain walk need from the rows, gathered while the rows are
    parsed once (for the auditor files): the runs started, the checkpoint rows, and the hashes
    of the rows the witness checkpoints name; and, fed by the auditor files' build, the
    registers' facts (``registers``)."""

    def __init__(self, wanted_seqs):
        self.registers = aims_auditor.RegisterRows()
        self.kpis = aims_kpi_rows.KpiRows(self.registers.started)  # the KPIs' base measures
        self.started = []  # (line number, row) of every run.started row
        self.checkpoint_rows = []  # (seq, payload text) of every ledger.checkpoint row
        self.wanted = wanted_seqs
        self.hashes = {}  # seq -> hash, for the seqs in wanted
        registers_add, kpis_add = self.registers.add, self.kpis.add

        def add(row, payload):
            """Take in one row and its payload parsed (``aims_auditor.build``'s ``also``)."""
            registers_add(row, payload)
            kpis_add(row, payload)

        self.add = add  # a plain function, not a method: called once a row

    def rows(self, path):
        """The rows of ``path``, gathering the facts as they pass (the lines read and parsed
        here, not through :func:`read_rows`: one generator fewer a row)."""
        wanted, started, checkpoints = self.wanted, self.started, self.checkpoint_rows
        for line_no, line in enumerate(read_lines(path), start=1):
            row = parse_row(line, line_no, path)
            if row is None:
                continue
            kind = row["kind"]
            if kind == "run.started":
                started.append((line_no, row))
            elif kind == "ledger.checkpoint":
                checkpoints.append((row["seq"], row["payload"]))
            if row["seq"] in wanted:
                self.hashes[row["seq"]] = row["hash"]
            yield row


def _payload(row):
    try:
        return DECODE(row["payload"])
    except ValueError:
        return None


def check_auditor(checker, ledger_path, manifest, facts):
    sampling = load_json(checker.path("auditor/sampling.json")) or {}
    seed = sampling.get("seed")
    period = manifest.get("period") or {}
    bad = 0
    if not seed:
        checker.fail("auditor/sampling.json is missing or names no seed")
        bad += 1
        for row in facts.rows(ledger_path):
            facts.add(row, _payload(row))  # the other checks still read the rows
        rebuilt = {}
    else:
        rebuilt = aims_auditor.build(
            facts.rows(ledger_path),
            seed=seed,
            since=period.get("since"),
            until=period.get("until"),
            also=facts.add,  # each payload parsed once for all
        )
    for name, text in sorted(rebuilt.items()):
        if not os.path.isfile(checker.path(name)):
            checker.fail(f"{name} is missing: the ledger rows in the pack give one")
            bad += 1
            continue
        have = checker.read(name).decode("utf-8", errors="replace")
        if have != text:
            checker.fail(
                f"{name} does not match the ledger rows in the pack: {first_difference(have, text)}"
            )
            bad += 1
    folder = checker.path("auditor")
    for current, _dirs, files in os.walk(folder) if seed else ():
        for file_name in files:
            name = os.path.relpath(os.path.join(current, file_name), checker.root)
            name = name.replace(os.sep, "/")
            if name not in rebuilt:
                checker.fail(f"{name} is not something the ledger rows in the pack give")
                bad += 1
    registers = {}
    tables = ("runs.csv", "approvals.csv", "inventory.csv", "findings.csv", "tasks.csv")
    for name in tables + ("soa.csv", "clauses.csv"):
        if os.path.isfile(checker.path(name)):
            text = checker.read(name).decode("utf-8", errors="replace")
            registers[name] = list(csv.DictReader(io.StringIO(text, newline="")))
    problems = facts.registers.runs_problems(registers)
    problems += facts.registers.register_problems(registers, to_head=not period.get("until"))
    config = load_json(checker.path("aims-config.json")) or {}
    coverage, notes = aims_auditor.coverage_problems(
        facts.registers,
        registers,
        soa_config=config.get("soa"),
        since=period.get("since"),
        until=period.get("until"),
        specs=pinned_citations(checker),
    )
    problems += coverage
    for problem in problems:
        checker.fail(problem)
        bad += 1
    if not bad:
        sampled = sampling.get("sampled")
        print(
            f"OK: {len(rebuilt)} auditor files rebuilt from the ledger rows are identical, "
            f"the sample of {sampled} run(s) over {sampling.get('controls')} control(s) "
            f"re-drawn from seed {seed}; runs.csv, approvals.csv, inventory.csv, findings.csv "
            "and tasks.csv agree with the rows; every row of soa.csv and clauses.csv is what the "
            "rows, aims-config.json and the approved SoA give"
        )
    for note in notes:
        print(f"NOTE: {note}")


def pinned_citations(checker):
    """(workflow, version) -> what its pinned definition in workflows/ says it evidences, for
    each definition that hashes to what its runs pinned (check_workflows names the others)."""
    return {key: aims_auditor.spec_citations(spec) for key, spec in pinned_specs(checker).items()}


def pinned_specs(checker):
    """(workflow, version) -> its pinned definition in workflows/ (the canonical JSON), for
    each definition that hashes to what its runs pinned (check_workflows names the others)."""
    found = {}
    index_path = checker.path("workflows/index.csv")
    if not os.path.isfile(index_path):
        return found
    with open(index_path, encoding="utf-8", newline="") as handle:
        entries = list(csv.DictReader(handle))
    for entry in entries:
        name = "workflows/" + (entry.get("spec_json") or "")
        if not entry.get("spec_json") or not os.path.isfile(checker.path(name)):
            continue
        data = checker.read(name)
        if hashlib.sha256(data).hexdigest() != entry.get("content_hash"):
            continue
        try:
            spec = json.loads(data.decode("utf-8"))
        except ValueError:
            continue
        if isinstance(spec, dict):
            found[(entry["workflow"], entry["version"])] = spec
    return found


# -- 4. workflows/ --------------------------------------------------------------------------
def check_workflows(checker, facts):
    index_path = checker.path("workflows/index.csv")
    if not os.path.isfile(index_path):
        checker.fail("workflows/index.csv is missing")
        return
    with open(index_path, encoding="utf-8", newline="") as handle:
        entries = list(csv.DictReader(handle))
    pinned, bad = set(), 0
    for entry in entries:
        key = (entry["workflow"], entry["version"], entry["content_hash"])
        pinned.add(key)
        spec_name = entry.get("spec_json") or ""
        for file_name in (entry["file"], spec_name):
            if not file_name or not os.path.isfile(checker.path("workflows/" + file_name)):
                checker.fail(f"workflows/{file_name or '?'} is missing ({entry['workflow']})")
                bad += 1
                break
        else:
            digest = hashlib.sha256(checker.read("workflows/" + spec_name)).hexdigest()
            if digest != entry["content_hash"]:
                checker.fail(
                    f"workflows/{spec_name} hashes to {digest}, not the {entry['content_hash']} "
                    f"that runs of {entry['workflow']} v{entry['version']} pinned"
                )
                bad += 1
    runs = 0
    for line_no, row in facts.started:
        try:
            started = json.loads(row["payload"])
        except ValueError:
            continue
        runs += 1
        key = (str(started.get("workflow")), str(started.get("version")), started.get("spec_hash"))
        if key not in pinned:
            checker.fail(
                f"run {row['run_id']} (row {row['seq']}, line {line_no}) pinned {key[0]} "
                f"v{key[1]} with hash {key[2]}, which workflows/ does not hold"
            )
            bad += 1
    if not bad:
        print(
            f"OK: {len(entries)} workflow definition(s) hash to what the runs pinned; the "
            f"{runs} run(s) started in these rows each have theirs"
        )


# -- 5. kpis.csv ---------------------------------------------------------------------------
def _csv_rows(text):
    return list(csv.reader(io.StringIO(text, newline="")))


def _moment(text):
    """An ISO 8601 moment (``Z`` or an offset) as a datetime; None for anything else."""
    try:
        return datetime.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None


def check_kpis(checker, manifest, verification):
    """kpis.csv against the rows its formulas make of evidence/kpi_facts.json."""
    facts_name = "evidence/kpi_facts.json"
    recorded = load_json(checker.path(facts_name))
    if not isinstance(recorded, dict) or not isinstance(recorded.get("kpis"), list):
        checker.fail(f"{facts_name} is missing or lists no KPIs: kpis.csv cannot be checked")
        return
    if not os.path.isfile(checker.path("kpis.csv")):
        checker.fail("kpis.csv is missing")
        return
    bad = 0
    chain = (verification or {}).get("chain") or {}
    head = recorded.get("chain_head") or {}
    if (head.get("seq"), head.get("hash")) != (chain.get("head_seq"), chain.get("head_hash")):
        checker.fail(
            f"{facts_name} was taken at ledger row {head.get('seq')} ({head.get('hash')}), not at "
            f"the head the export read, row {chain.get('head_seq')} ({chain.get('head_hash')})"
        )
        bad += 1
    measured = _moment(recorded.get("measured_at"))
    if measured is None or measured != _moment(manifest.get("generated_at")):
        checker.fail(
            f"{facts_name} was measured at {recorded.get('measured_at')}, not when the pack was "
            f"exported ({manifest.get('generated_at')})"
        )
        bad += 1
    targets = (load_json(checker.path("aims-config.json")) or {}).get("kpi_targets") or {}
    want, order = {}, []
    for entry in recorded["kpis"]:
        key = str(entry.get("key"))
        order.append(key)
        setting = entry.get("target_setting")
        if setting in targets and float(targets[setting]) != entry.get("target"):
            checker.fail(
                f"{facts_name} judges KPI {key} against target {entry.get('target')}, "
                f"aims-config.json sets kpi_targets.{setting} to {targets[setting]}"
            )
            bad += 1
        at = (entry.get("facts") or {}).get("at")
        if at is not None and _moment(at) != measured:
            checker.fail(f"KPI {key} was measured at {at}, not at {recorded.get('measured_at')}")
            bad += 1
        try:
            row = aims_kpis.csv_row(aims_kpis.rebuilt(entry))
        except (KeyError, ValueError) as err:
            checker.fail(f"KPI {key}: its facts in {facts_name} cannot be used: {err}")
            bad += 1
            continue
        want[key] = _csv_rows(_csv_line(row))[0]  # each cell as the CSV writes it
    text = checker.read("kpis.csv").decode("utf-8", errors="replace")
    found = _csv_rows(text)
    header, have = (found[0], found[1:]) if found else ([], [])
    if header != aims_kpis.CSV_HEADER:
        checker.fail(f"kpis.csv's header is {header}, not {aims_kpis.CSV_HEADER}")
        return
    seen = set()
    for cells in have:
        key = cells[0] if cells else ""
        seen.add(key)
        expected = want.get(key)
        if expected is None:
            if key not in order:
                checker.fail(f"kpis.csv shows KPI {key}, which {facts_name} does not record")
                bad += 1
            continue
        for column, cell, value in itertools.zip_longest(header, cells, expected):
            if cell != value:
                checker.fail(
                    f"kpis.csv says {column} {cell!r} for KPI {key}; its formula over the "
                    f"facts in {facts_name} gives {value!r}"
                )
                bad += 1
    for key in order:
        if key not in seen:
            checker.fail(f"kpis.csv does not show KPI {key}, which {facts_name} records")
            bad += 1
    if not bad and text != aims_kpis.csv_text(aims_kpis.rebuilt(e) for e in recorded["kpis"]):
        checker.fail("kpis.csv is not written as its KPIs' formulas write it (order or layout)")
        bad += 1
    if not bad:
        print(
            f"OK: the {len(order)} KPIs of kpis.csv are what their formulas make of the facts "
            f"in {facts_name}, taken at ledger row {head.get('seq')}"
        )


def check_kpi_facts(checker, walk, facts):
    """The KPIs' base measures in evidence/kpi_facts.json (read from the database) against the
    same facts rebuilt from the ledger rows (``aims_kpi_rows.py``), when the rows are the whole
    ledger up to the head they were read at; else which facts only the manifest vouches for."""
    facts_name = "evidence/kpi_facts.json"
    recorded = load_json(checker.path(facts_name))
    measured = _moment((recorded or {}).get("measured_at"))
    if not isinstance(recorded, dict) or not isinstance(recorded.get("kpis"), list) or not measured:
        return  # named by check_kpis
    if measured.tzinfo is None:
        measured = measured.replace(tzinfo=datetime.timezone.utc)
    targets = (load_json(checker.path("aims-config.json")) or {}).get("kpi_targets") or {}
    head = recorded.get("chain_head") or {}
    entries = [e for e in recorded["kpis"] if isinstance(e, dict)]
    whole = (
        walk.rows > 0
        and walk.first_seq == 1
        and walk.last_seq == head.get("seq")
        and walk.last_hash == head.get("hash")
    )
    if not whole:
        print(
            f"NOTE: the facts of the {len(entries)} KPIs in {facts_name} are NOT rebuilt from "
            "the ledger rows: the pack holds rows "
            f"{walk.first_seq if walk.rows else '-'} to {walk.last_seq if walk.rows else '-'}, "
            f"not the whole ledger from row 1 to row {head.get('seq')}, and every count needs "
            "the whole of it; only the manifest's hash (--expect-manifest) vouches for the facts "
            "of: " + ", ".join(str(e.get("key")) for e in entries)
        )
        return
    specs = {}
    for key, spec in pinned_specs(checker).items():
        specs[key] = aims_kpi_rows.spec_coverage(spec)
    rebuilt = facts.kpis.facts(measured, specs, targets)
    bad, checked, left = 0, [], []
    for entry in entries:
        key = str(entry.get("key"))
        want = rebuilt.get(key)
        if want is None:
            left.append(key)
            continue
        have = entry.get("facts") or {}
        differing = aims_kpi_rows.differences(have, want)
        if differing:
            name = differing[0]
            checker.fail(
                f"KPI {key}: its fact {name} is {have.get(name)!r} in {facts_name}, the ledger "
                f"rows give {want.get(name)!r} (value {_reading(have)} by its formula from the "
                f"recorded facts, {_reading(want)} from the rows)"
            )
            bad += 1
        checked.append(key)
    if not bad:
        print(
            f"OK: the facts of {len(checked)} KPIs in {facts_name} are what the ledger rows "
            f"(row 1 to the head, row {head.get('seq')}) give"
        )
    if left:
        why = [
            f"{k} ({aims_kpi_rows.NOT_FROM_ROWS.get(k, 'not rebuilt by this verifier')})"
            for k in left
        ]
        print(
            "NOTE: facts vouched for by the manifest's hash only (not in the ledger rows): "
            + "; ".join(why)
        )


def _reading(facts):
    try:
        return aims_kpis.apply(facts)[0]
    except ValueError:
        return "(none)"


def _csv_line(row):
    out = io.StringIO()
    csv.writer(out).writerow(row)
    return out.getvalue()


# -- 6. witness/ --------------------------------------------------------------------------
def read_checkpoints(checker):
    """The signed checkpoints in witness/checkpoints.jsonl; None when the file is missing."""
    lines_path = checker.path("witness/checkpoints.jsonl")
    if not os.path.isfile(lines_path):
        checker.fail("witness/checkpoints.jsonl is missing")
        return None
    found = []
    with open(lines_path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                try:
                    found.append(aims_checkpoints.Checkpoint.from_dict(json.loads(line)))
                except ValueError as err:
                    checker.fail(f"witness/checkpoints.jsonl line {number}: {err}")
    return found


def check_witness(checker, found, facts, verification, public_key_text):
    if found is None:
        return
    hashes = facts.hashes
    for seq, payload_text in facts.checkpoint_rows:
        try:
            found_here = aims_checkpoints.Checkpoint.from_dict(json.loads(payload_text))
        except ValueError as err:
            checker.fail(f"row {seq} is a checkpoint that does not parse: {err}")
            continue
        if found_here not in found:
            checker.fail(
                f"row {seq} holds {found_here.describe()}, which "
                "witness/checkpoints.jsonl does not list"
            )
    if not found:
        print("NOTE: the pack holds no signed checkpoint: nothing outside the database vouches")
        print("      for the chain (configure witness: in aims.yaml)")
        return
    key_path = checker.path("witness/public_key.txt")
    pack_key = open(key_path, encoding="utf-8").read().strip() if os.path.isfile(key_path) else ""
    key_text = public_key_text or pack_key
    if not key_text:
        checker.fail("no witness public key: pass --public-key (the pack holds none)")
        return
    try:
        public = aims_checkpoints.read_public_key(key_text)
    except ValueError as err:
        checker.fail(str(err))
        return
    if public_key_text and pack_key and aims_checkpoints.read_public_key(pack_key) != public:
        checker.fail(
            "witness/public_key.txt is not the public key you were given: the checkpoints "
            "are checked under yours"
        )
    try:
        import cryptography  # noqa: F401
    except ImportError:
        signatures = False
        print("NOTE: signatures NOT checked: install the cryptography package to check them")
    else:
        signatures = True
    head = ((verification or {}).get("chain") or {}).get("head_seq")
    bad, outside = 0, 0
    for checkpoint in sorted(found, key=lambda c: (c.head_seq, c.at)):
        problem = None
        if signatures:
            problem = aims_checkpoints.signature_problem(checkpoint, public)
        if problem is None and head is not None and checkpoint.head_seq > head:
            problem = (
                f"{checkpoint.describe()} is newer than the ledger head (row {head}) the export "
                "read: rows the witness saw are gone from the database"
            )
        if problem is None:
            have = hashes.get(checkpoint.head_seq)
            if have is None:
                outside += 1
            elif have != checkpoint.head_hash:
                problem = (
                    f"{checkpoint.describe()} disagrees with the ledger: it holds hash "
                    f"{checkpoint.head_hash} for row {checkpoint.head_seq}, this pack's row has "
                    f"{have}: the chain was rewritten"
                )
        if problem is not None:
            checker.fail(problem)
            bad += 1
            if bad == 1:
                print(f"    the first checkpoint that disagrees: {checkpoint.describe()}")
    if not bad:
        signed = "signed by key " + aims_checkpoints.key_id(public) if signatures else "unsigned"
        print(
            f"OK: {len(found)} checkpoint(s) {signed if signatures else 'read'} agree with the "
            f"ledger rows ({outside} name rows outside this pack's period)"
            + (
                ""
                if public_key_text
                else "; compare witness/public_key.txt with the key you "
                "were given, or pass --public-key"
            )
        )


# -- 6. witness/timestamps.jsonl ----------------------------------------------------------------
def read_timestamps(checker):
    """(line number, entry) of every RFC 3161 token in witness/timestamps.jsonl."""
    path = checker.path("witness/timestamps.jsonl")
    if not os.path.isfile(path):
        return []  # no time-stamp authority was configured
    found = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                try:
                    found.append((number, json.loads(line)))
                except ValueError as err:
                    checker.fail(f"witness/timestamps.jsonl line {number}: {err}")
    return found


def check_timestamps(checker, found, tsa_ca):
    """Each token must vouch for the checkpoint it is kept with, under a CA the auditor trusts,
    and that checkpoint must be the one witness/checkpoints.jsonl lists (checked there against
    the ledger rows)."""
    entries = read_timestamps(checker)
    if not entries:
        return
    ca_path = tsa_ca or checker.path("witness/tsa-ca.pem")
    if not os.path.isfile(ca_path):
        checker.fail("no TSA CA certificate to check the timestamp tokens: pass --tsa-ca FILE")
        return
    with open(ca_path, "rb") as handle:
        trusted = handle.read()
    listed = {(c.head_seq, c.at): c for c in found or ()}
    try:
        import rfc3161_client  # noqa: F401
    except ImportError:
        checked = False
        print(
            f"NOTE: {len(entries)} timestamp token(s) NOT checked: install rfc3161-client "
            "(and cryptography) to check them"
        )
    else:
        checked = True
    bad = 0
    for number, entry in entries:
        try:
            checkpoint = aims_checkpoints.Checkpoint.from_dict(entry)
            token = aims_timestamps.decode_token(str(entry["token"]))
        except (ValueError, KeyError) as err:
            checker.fail(f"witness/timestamps.jsonl line {number}: {err}")
            bad += 1
            continue
        problem = None
        if listed.get((checkpoint.head_seq, checkpoint.at)) != checkpoint:
            problem = (
                f"{checkpoint.describe()} is timestamped, but witness/checkpoints.jsonl does "
                "not list it as it was timestamped"
            )
        if checked:
            message = aims_checkpoints.Checkpoint.message(
                checkpoint.head_seq, checkpoint.head_hash, checkpoint.at
            )
            problem = (
                aims_timestamps.token_problem(checkpoint.describe(), message, token, trusted)
                or problem
            )
        if problem is not None:
            checker.fail(problem)
            bad += 1
    if checked and not bad:
        print(f"OK: {len(entries)} timestamp token(s) by a trusted TSA vouch for their checkpoints")
    if not tsa_ca:
        print(
            "NOTE: the TSA CA is the pack's own witness/tsa-ca.pem: pass --tsa-ca with the CA "
            "certificate you trust for the TSA"
        )


def main(argv=None):
    parser = argparse.ArgumentParser(description="Re-verify an aims audit pack.")
    parser.add_argument(
        "ledger", nargs="?", default=os.path.join(HERE, "ledger.jsonl"), help="ledger.jsonl"
    )
    parser.add_argument("--manifest", help="the pack's manifest.json (default: found by itself)")
    parser.add_argument(
        "--expect-manifest",
        metavar="SHA256",
        help="the manifest's SHA-256 as the exporter sent it to you, separately",
    )
    parser.add_argument(
        "--public-key", help="the witness public key as you were given it (aims-witness-key/1 ...)"
    )
    parser.add_argument(
        "--tsa-ca", help="PEM file of the CA certificate you trust for the time-stamp authority"
    )
    parser.add_argument(
        "--ledger-only", action="store_true", help="check the ledger file alone, not the pack"
    )
    args = parser.parse_args(argv)
    if args.expect_manifest is not None and not re.fullmatch(
        r"[0-9a-fA-F]{64}", args.expect_manifest.strip()
    ):
        print(
            f"FAILED: --expect-manifest {args.expect_manifest!r} is not a SHA-256: give the 64 "
            "hex digits the exporter sent you (aims export audit-pack prints them)"
        )
        return 1
    ledger_dir = os.path.dirname(os.path.abspath(args.ledger))
    root = os.path.dirname(ledger_dir)
    manifest_path = args.manifest or os.path.join(root, "manifest.json")
    in_pack = not args.ledger_only and os.path.isfile(manifest_path)
    if args.manifest and not os.path.isfile(args.manifest):
        print(f"cannot check: {args.manifest} does not exist", file=sys.stderr)
        return 2
    if args.expect_manifest and not in_pack:
        print(f"FAILED: no manifest.json found at {manifest_path} to compare with the hash")
        return 1
    checker = Checker(os.path.dirname(os.path.abspath(manifest_path)))
    try:
        manifest = {}
        if in_pack:
            expect = args.expect_manifest.strip() if args.expect_manifest else None
            manifest = check_manifest(checker, manifest_path, expect)
        verification = load_json(os.path.join(ledger_dir, "verification.json"))
        refused = unknown_format(manifest if in_pack else {}, verification or {})
        if refused:
            print(f"cannot check: {refused}", file=sys.stderr)
            return 2
        walk = check_ledger(checker, args.ledger, verification)
        if in_pack and walk.ok:
            found = read_checkpoints(checker)
            facts = RowFacts({c.head_seq for c in found or ()})
            check_auditor(checker, args.ledger, manifest, facts)  # the one parse of the rows
            check_workflows(checker, facts)
            check_kpis(checker, manifest, verification)
            check_kpi_facts(checker, walk, facts)
            check_witness(checker, found, facts, verification, args.public_key)
            check_timestamps(checker, found, args.tsa_ca)
    except Unreadable as err:
        print(f"cannot check: {err}", file=sys.stderr)
        return 2
    except (OSError, ValueError, KeyError, TypeError) as err:
        print(f"cannot check: {err}", file=sys.stderr)
        return 2
    if checker.problems:
        print(f"{len(checker.problems)} problem(s): this pack does NOT verify")
        return 1
    print("everything in the pack verifies" if in_pack else "the ledger file verifies")
    return 0


if __name__ == "__main__":
    sys.exit(main())
