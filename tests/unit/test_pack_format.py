"""Pack format 2: each row of ``evidence/ledger.jsonl`` is the canonical array its hash covers
with the hash appended, so the verifier checks a row on its bytes. Tampering is named in the
same words as before, packs of format 1 (a JSON object a row) still verify, an unknown format is
refused, and soa.csv and clauses.csv are checked against the rows."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

import pytest
from export_world import edit_cell, rewrite_in_pack, unpacked_pack, verify_pack

from aims_workflows.engine.chain_walk import FIELDS, LINE_FORMAT, row_hash


@pytest.fixture
def unpacked(harness, answers, tmp_path):
    return unpacked_pack(harness, answers, tmp_path)


def ledger_lines(directory: Path) -> list[bytes]:
    return (directory / "evidence" / "ledger.jsonl").read_bytes().split(b"\n")[:-1]


def write_ledger(directory: Path, lines: list[bytes]) -> None:
    (directory / "evidence" / "ledger.jsonl").write_bytes(b"".join(line + b"\n" for line in lines))


def test_each_line_less_its_last_element_is_what_the_hash_covers(unpacked):
    _, directory = unpacked
    lines = ledger_lines(directory)
    assert lines
    for line in lines:
        values = json.loads(line)
        assert len(values) == len(FIELDS)
        row = dict(zip(FIELDS, values, strict=True))
        covered = line[: line.rindex(b',"')] + b"]"
        assert hashlib.sha256(covered).hexdigest() == row["hash"] == row_hash(row)
    verification = json.loads((directory / "evidence" / "verification.json").read_text("utf-8"))
    assert verification["row_format"] == LINE_FORMAT
    manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["format"] == "aims-audit-pack/2"


def test_tampering_with_format_2_lines_is_named(unpacked):
    _, directory = unpacked
    lines = ledger_lines(directory)
    seven = json.loads(lines[6])
    edited = list(seven)
    edited[FIELDS.index("payload")] = seven[FIELDS.index("payload")].replace(
        "}", ',"note":"approved after all"}', 1
    )
    write_ledger(
        directory, [*lines[:6], json.dumps(edited, separators=(",", ":")).encode(), *lines[7:]]
    )
    check = verify_pack(directory, "--ledger-only")
    assert check.returncode == 1
    assert (
        f"FAILED: row 7 ({seven[1]}) was altered: its content no longer matches its hash "
        "[line 7 of ledger.jsonl]" in check.stdout
    ), check.stdout

    # the edit with the row's hash recomputed: the next row no longer follows it
    recomputed = dict(zip(FIELDS, edited, strict=True))
    edited[-1] = row_hash(recomputed)
    write_ledger(
        directory, [*lines[:6], json.dumps(edited, separators=(",", ":")).encode(), *lines[7:]]
    )
    check = verify_pack(directory, "--ledger-only")
    assert "FAILED: row 8 does not follow row 7: rows were reordered or replaced" in check.stdout

    write_ledger(directory, [*lines[:3], *lines[4:]])  # a row deleted
    check = verify_pack(directory, "--ledger-only")
    assert "FAILED: row 4 missing: deleted from the ledger, or moved within this file" in (
        check.stdout
    )
    write_ledger(directory, [*lines[:4], lines[3], *lines[4:]])  # a row inserted (repeated)
    check = verify_pack(directory, "--ledger-only")
    assert "FAILED: row 4 follows row 4: rows are out of order or repeated [line 5" in check.stdout
    write_ledger(directory, lines[:-1])  # the last row cut: the head the export read disagrees
    check = verify_pack(directory, "--ledger-only")
    assert check.returncode == 1 and "verification.json records" in check.stdout
    write_ledger(directory, lines)
    assert verify_pack(directory, "--ledger-only").returncode == 0


def test_a_row_spelled_otherwise_with_the_same_values_still_verifies_by_its_values(unpacked):
    _, directory = unpacked
    lines = ledger_lines(directory)
    spaced = json.dumps(json.loads(lines[4]), ensure_ascii=True, separators=(", ", ": ")).encode()
    assert spaced != lines[4]
    write_ledger(directory, [*lines[:4], spaced, *lines[5:]])
    check = verify_pack(directory, "--ledger-only")
    assert check.returncode == 0, check.stdout


def test_a_pack_of_format_1_still_verifies_and_an_unknown_format_is_refused(unpacked):
    result, directory = unpacked
    objects = [
        json.dumps(
            dict(zip(FIELDS, json.loads(line), strict=True)),
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode("utf-8")
        for line in ledger_lines(directory)
    ]
    content = b"".join(line + b"\n" for line in objects)
    rewrite_in_pack(directory, "evidence/ledger.jsonl", content)
    verification_path = directory / "evidence" / "verification.json"
    verification = json.loads(verification_path.read_text(encoding="utf-8"))
    for key in ("row_format", "row_layout"):
        verification.pop(key)
    rewrite_in_pack(directory, "evidence/verification.json", json.dumps(verification).encode())
    manifest_path = directory / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["format"] = "aims-audit-pack/1"
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    check = verify_pack(directory)
    assert check.returncode == 0, check.stdout + check.stderr
    assert f"OK: {result.exported.rows} rows verify" in check.stdout

    seven = json.loads(objects[6])
    objects[6] = json.dumps(dict(seven, actor="mallory@example.com")).encode()
    write_ledger(directory, objects)
    check = verify_pack(directory, "--ledger-only")
    assert f"FAILED: row 7 ({seven['kind']}) was altered" in check.stdout

    manifest["format"] = "aims-audit-pack/9"
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    refused = verify_pack(directory)
    assert refused.returncode == 2
    assert "the pack is of format 'aims-audit-pack/9', which this verifier does not know" in (
        refused.stderr
    )
    verification["row_format"] = "aims-ledger-line/7"
    verification_path.write_text(json.dumps(verification), encoding="utf-8")
    refused = verify_pack(directory, "--ledger-only")
    assert refused.returncode == 2 and "'aims-ledger-line/7'" in refused.stderr


def _cell(text: str, key_column: str, key: str, column: str) -> tuple[int, str]:
    """The CSV line number (header = 1) of ``key``'s row and its ``column`` cell."""
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    for line, row in enumerate(rows, start=2):
        if row[key_column] == key:
            return line, row[column]
    raise AssertionError(f"no {key} in the CSV")


def test_soa_and_clause_rows_are_rebuilt_exactly_from_the_rows(unpacked):
    _, directory = unpacked
    clauses = (directory / "clauses.csv").read_bytes().decode("utf-8")
    # one more evidence row than there are: a claim the minimum check let through
    inflated, clause = edit_cell(
        clauses, "clause", "evidence_rows", lambda r: int(r["evidence_rows"]) > 0, "999"
    )
    line, honest = _cell(clauses, "clause", clause, "evidence_rows")
    rewrite_in_pack(directory, "clauses.csv", inflated.encode("utf-8"))
    check = verify_pack(directory)
    assert check.returncode == 1
    assert (
        f"FAILED: clauses.csv row {line} (clause {clause}), column evidence_rows: it says "
        f"'999', the ledger rows in the pack give '{honest}'" in check.stdout
    ), check.stdout
    played_down, clause = edit_cell(
        clauses, "clause", "status", lambda r: r["status"] == "implemented", "no_evidence"
    )
    line, _ = _cell(clauses, "clause", clause, "status")
    rewrite_in_pack(directory, "clauses.csv", played_down.encode("utf-8"))
    check = verify_pack(directory)
    assert (
        f"FAILED: clauses.csv row {line} (clause {clause}), column status: it says "
        "'no_evidence', the ledger rows in the pack give 'implemented'" in check.stdout
    ), check.stdout
    rewrite_in_pack(directory, "clauses.csv", clauses.encode("utf-8"))

    soa = (directory / "soa.csv").read_bytes().decode("utf-8")
    more, control = edit_cell(
        soa, "control", "runs_completed", lambda r: int(r["runs_completed"]) > 0, "40"
    )
    line, honest = _cell(soa, "control", control, "runs_completed")
    rewrite_in_pack(directory, "soa.csv", more.encode("utf-8"))
    check = verify_pack(directory)
    assert check.returncode == 1
    assert (
        f"FAILED: soa.csv row {line} (control {control}), column runs_completed: it says "
        f"'40', the ledger rows in the pack give '{honest}'" in check.stdout
    ), check.stdout
    excluded, control = edit_cell(
        soa, "control", "applicable", lambda r: r["applicable"] == "yes", "no"
    )
    line, _ = _cell(soa, "control", control, "applicable")
    rewrite_in_pack(directory, "soa.csv", excluded.encode("utf-8"))
    check = verify_pack(directory)
    assert (
        f"FAILED: soa.csv row {line} (control {control}), column applicable: it says 'no', the "
        "ledger rows in the pack give 'yes'" in check.stdout
    ), check.stdout
    rewrite_in_pack(directory, "soa.csv", soa.encode("utf-8"))
    good = verify_pack(directory)
    assert good.returncode == 0, good.stdout
    assert "every row of soa.csv and clauses.csv is what the rows" in good.stdout


def _rows(records: list[tuple[str, str | None, dict]]) -> list[dict]:
    """Ledger rows (in order, at one-day steps) of (kind, run, payload)."""
    return [
        {
            "seq": seq,
            "kind": kind,
            "run_id": run,
            "step_id": None,
            "actor": "erin@example.com",
            "via": "cli",
            "effective_at": f"2026-03-{seq:02d}T00:00:00.000000Z",
            "recorded_at": f"2026-03-{seq:02d}T00:00:00.000000Z",
            "payload": json.dumps(payload),
            "ref": None,
            "prev_hash": "0" * 64,
            "hash": "0" * 64,
        }
        for seq, (kind, run, payload) in enumerate(records, start=1)
    ]


def _soa_entry(control: str, applicable: str, justification: str) -> dict[str, str]:
    return {
        "control": control,
        "applicable": applicable,
        "justification": justification,
        "implementation": "",
        "runs_completed": "0",
        "runs_open": "0",
        "evidence_rows": "0",
        "latest_evidence": "",
        "status": "excluded" if applicable == "no" else "no_evidence",
    }


def test_the_soa_decisions_follow_the_approved_soa_in_the_rows_where_aims_yaml_is_silent():
    from aims_workflows.export.pack.auditor import RegisterRows, coverage_problems

    approval = {
        "artefact": "statement_of_applicability",
        "fields": {
            "version": "2",
            "excluded": ["A.10.4"],
            "exclusions": ["A.10.4: no AI system is offered to customers"],
            "inclusions": ["A.4.5: the model cards need it"],
        },
    }
    gathered = RegisterRows()
    for row in _rows([("artefact.recorded", "R1", approval)]):
        gathered.add(row)
    config = {"controls": {"A.6.2.2": {"applicable": True, "justification": "our own reason"}}}
    honest = {
        "soa.csv": [
            _soa_entry("A.10.4", "no", "no AI system is offered to customers"),
            _soa_entry("A.4.5", "yes", "the model cards need it"),
            _soa_entry("A.6.2.2", "yes", "our own reason"),
        ]
    }
    problems, notes = coverage_problems(
        gathered, honest, soa_config=config, since="2026-01-01", until=None
    )
    assert (problems, notes) == ([], [])
    flipped = {"soa.csv": [_soa_entry("A.10.4", "yes", "no AI system is offered to customers")]}
    problems, _ = coverage_problems(
        gathered, flipped, soa_config=config, since="2026-01-01", until=None
    )
    assert problems == [
        "soa.csv row 2 (control A.10.4), column applicable: it says 'yes', the ledger rows in "
        "the pack give 'no'"
    ]
    # a slice of the ledger with no approval in it: an earlier approval may apply, so the
    # decisions are left unchecked and the verifier says so
    problems, notes = coverage_problems(
        RegisterRows(), flipped, soa_config=config, since="2026-01-01", until=None
    )
    assert problems == [] and "soa.csv's decisions are not checked" in notes[0]


def test_clause_figures_count_each_run_once_and_completions_only_in_the_period():
    from aims_workflows.export.pack.auditor import RegisterRows, coverage_problems

    gathered = RegisterRows()
    records = [
        (
            "run.started",
            "R1",
            {"evidences": ["8.2", "8.4", "6.1.2"], "workflow": "w", "version": 1},
        ),
        ("task.completed", "R1", {"by": "erin@example.com"}),
        ("run.completed", "R1", {}),  # 2026-03-03
        ("run.started", "R2", {"evidences": ["8.2"], "workflow": "w", "version": 1}),
    ]
    for row in _rows(records):
        gathered.add(row)
    clause = {
        "clause": "8",
        "runs_completed": "1",
        "runs_open": "1",  # R2, never ended in the rows
        "evidence_rows": "4",  # R1's three rows and R2's one: R1 once, though it names 8.2 and 8.4
        "latest_evidence": "2026-03-04T00:00:00.000000Z",
        "status": "implemented",
    }
    problems, _ = coverage_problems(
        gathered, {"clauses.csv": [clause]}, soa_config=None, since=None, until=None
    )
    assert problems == []
    low = dict(clause, evidence_rows="3", status="in_progress")
    problems, _ = coverage_problems(
        gathered, {"clauses.csv": [low]}, soa_config=None, since=None, until=None
    )
    # one problem per row: the first cell that differs
    assert problems == [
        "clauses.csv row 2 (clause 8), column evidence_rows: it says '3', the ledger rows in the "
        "pack give '4'"
    ]
    # R1 completed before a period that starts on 2026-03-04: not counted as completed in it
    none_done = dict(clause, runs_completed="0", status="in_progress")
    problems, _ = coverage_problems(
        gathered, {"clauses.csv": [none_done]}, soa_config=None, since="2026-03-04", until=None
    )
    assert problems == []
