"""The audit pack, written from a history the real runtime produced: its manifest, the ledger file
an auditor re-verifies with the stand-alone script, a tampered database, periods, and the
promises about the output file (never half-written, never silently replaced)."""

from __future__ import annotations

import gc
import hashlib
import json
from pathlib import Path

import pytest
from export_world import Pack, assessed_world, audit_with_a_finding, tamper, use_soa, verify_pack
from sqlalchemy import event, text

from aims_workflows.engine.chain_walk import FIELDS as LEDGER_COLUMNS
from aims_workflows.engine.evidence import chain_hash, iso
from aims_workflows.errors import AimsError
from aims_workflows.export import parse_period
from aims_workflows.export.pack import write_audit_pack

FIELDS = list(LEDGER_COLUMNS)


def export(h, path: Path, **kw):
    result = write_audit_pack(h.app, path, **kw)
    return result, Pack(path)


def db_rows(h) -> list[dict]:
    with h.db.connect() as conn:
        return [
            dict(r._mapping)
            for r in conn.execute(text(f"SELECT {', '.join(FIELDS)} FROM evidence ORDER BY seq"))
        ]


@pytest.fixture
def world(harness, answers):
    use_soa(harness)
    return assessed_world(harness, answers)


def test_the_manifest_lists_every_file_with_its_hash(harness, world, tmp_path):
    result, pack = export(harness, tmp_path / "pack.zip")
    manifest = pack.json("manifest.json")
    assert result.chain.ok
    assert result.manifest_sha256 == hashlib.sha256(pack.files["manifest.json"]).hexdigest()
    listed = {f["path"]: f for f in manifest["files"]}
    assert set(listed) == set(pack.files) - {"manifest.json"}
    for name, content in pack.files.items():
        if name != "manifest.json":
            assert listed[name]["sha256"] == hashlib.sha256(content).hexdigest(), name
            assert listed[name]["bytes"] == len(content), name
    expected = {
        "index.html",
        "evidence/ledger.jsonl",
        "evidence/VERIFY.md",
        "evidence/verify_ledger.py",
        "evidence/verification.json",
        "soa.csv",
        "soa.md",
        "soa.json",
        "clauses.csv",
        "clauses.md",
        "kpis.json",
        "kpis.csv",
        "inventory.csv",
        "inventory_history.csv",
        "runs.csv",
        "approvals.csv",
        "findings.csv",
        "tasks.csv",
        "workflows/index.csv",
        "aims-config.json",
    }
    assert expected <= set(pack.files) and "CHAIN-BROKEN.txt" not in pack.files
    # generated at the injected clock's time, for the organisation of aims.yaml
    assert manifest["generated_at"] == iso(harness.clock.now())
    assert manifest["organisation"] == "Example Ltd" and manifest["period"] == {
        "since": None,
        "until": None,
    }
    assert manifest["chain"]["ok"] is True and manifest["chain"]["head_seq"] == len(
        db_rows(harness)
    )
    assert result.path == (tmp_path / "pack.zip").absolute() and result.size == len(pack.bytes)


def test_the_ledger_file_holds_exactly_the_stored_rows(harness, world, tmp_path):
    _, pack = export(harness, tmp_path / "pack.zip")
    rows = pack.ledger()
    assert rows == db_rows(harness)
    assert list(rows[0]) == FIELDS  # hash order, then the hash
    assert all(isinstance(r["payload"], str) for r in rows)
    # the values are the ones the hash covers: recomputing gives the stored hash
    assert all(chain_hash(**{k: r[k] for k in FIELDS[:-1]}) == r["hash"] for r in rows)
    verification = pack.json("evidence/verification.json")
    assert verification["chain"]["ok"] and verification["chain"]["rows_checked"] == len(rows)
    assert verification["exported"] == {
        "rows": len(rows),
        "first_seq": 1,
        "last_seq": len(rows),
        "first_prev_hash": "0" * 64,
        "last_hash": rows[-1]["hash"],
    }
    assert verification["chain"]["head_hash"] == rows[-1]["hash"]


def test_the_worked_example_in_verify_md_is_right(harness, world, tmp_path):
    _, pack = export(harness, tmp_path / "pack.zip")
    guide = pack.text("evidence/VERIFY.md")
    example = guide.split("The JSON array of row 1, as hashed:\n\n```\n", 1)[1].split("\n```", 1)[0]
    first = pack.ledger()[0]
    assert hashlib.sha256(example.encode("utf-8")).hexdigest() == first["hash"]
    assert f"Its SHA-256 is `{first['hash']}`" in guide


def test_the_standalone_verifier_passes_then_names_an_edited_row(harness, world, tmp_path):
    _, pack = export(harness, tmp_path / "pack.zip")
    directory = pack.extract(tmp_path / "unpacked")
    good = verify_pack(directory, "--manifest", "manifest.json")
    rows = pack.ledger()
    assert good.returncode == 0, good.stdout + good.stderr
    assert f"OK: {len(pack.files) - 1} files match manifest.json" in good.stdout
    assert f"OK: {len(rows)} rows verify (seq 1 to {len(rows)})" in good.stdout

    # an auditor-side edit of one payload: the row is named, by seq and line
    victim = rows[6]
    edited = dict(
        victim, payload=victim["payload"].replace("}", ',"note":"approved after all"}', 1)
    )
    lines = (directory / "evidence" / "ledger.jsonl").read_text(encoding="utf-8").splitlines()
    lines[6] = json.dumps(edited, ensure_ascii=False, separators=(",", ":"))
    (directory / "evidence" / "ledger.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    bad = verify_pack(directory, "--ledger-only")
    assert bad.returncode == 1
    assert (
        f"FAILED: row {victim['seq']} ({victim['kind']}) was altered: its content no longer "
        "matches its hash [line 7 of ledger.jsonl]" in bad.stdout
    )
    # and the manifest notices the changed file before even looking at the chain
    listed = verify_pack(directory, "--manifest", "manifest.json")
    assert (
        listed.returncode == 1
        and "evidence/ledger.jsonl does not match the manifest" in listed.stdout
    )


def test_the_verifier_notices_rows_cut_from_the_end_or_reordered(harness, world, tmp_path):
    _, pack = export(harness, tmp_path / "pack.zip")
    directory = pack.extract(tmp_path / "unpacked")
    ledger = directory / "evidence" / "ledger.jsonl"
    lines = ledger.read_text(encoding="utf-8").splitlines()
    ledger.write_text("\n".join(lines[:-2]) + "\n", encoding="utf-8")
    cut = verify_pack(directory)
    assert cut.returncode == 1 and "verification.json records" in cut.stdout
    lines[3], lines[4] = lines[4], lines[3]
    ledger.write_text("\n".join(lines) + "\n", encoding="utf-8")
    swapped = verify_pack(directory)
    assert (
        swapped.returncode == 1
        and "FAILED: row 4 missing: deleted from the ledger, or moved within this file "
        "[line 4 of ledger.jsonl]"
        in swapped.stdout
    )


def test_a_tampered_database_gives_a_marked_pack(harness, world, tmp_path):
    h = harness
    tamper(h.db, "UPDATE evidence SET actor = 'mallory@example.com' WHERE seq = 9")
    result, pack = export(h, tmp_path / "pack.zip")
    assert not result.chain.ok and result.chain.first_bad_seq == 9
    assert "row 9" in result.chain.problem and "altered" in result.chain.problem
    assert "CHAIN-BROKEN.txt" in pack.files and "First broken row: 9" in pack.text(
        "CHAIN-BROKEN.txt"
    )
    assert list(pack.files)[0] == "CHAIN-BROKEN.txt"  # the first thing anyone listing the zip sees
    assert "THE EVIDENCE CHAIN IS BROKEN at row 9" in pack.text("index.html")
    assert "BROKEN at row 9" in pack.text("evidence/VERIFY.md")
    manifest = pack.json("manifest.json")
    assert manifest["chain"]["ok"] is False and manifest["chain"]["first_bad_seq"] == 9
    # the rows are exported as stored, so the stand-alone verifier finds the same row
    directory = pack.extract(tmp_path / "unpacked")
    check = verify_pack(directory)
    assert check.returncode == 1 and "FAILED: row 9 " in check.stdout


def test_a_period_exports_a_contiguous_stretch_that_verifies_on_its_own(harness, world, tmp_path):
    h = harness
    result, pack = export(h, tmp_path / "later.zip", period=parse_period("2026-02-10", None))
    rows, everything = pack.ledger(), db_rows(h)
    in_period = [r for r in everything if r["recorded_at"] >= "2026-02-10"]
    assert rows == in_period and rows[0]["seq"] > 1
    assert (
        rows[0]["prev_hash"] == everything[rows[0]["seq"] - 2]["hash"]
    )  # anchored to the row before
    assert result.chain.rows_checked == len(everything)  # the whole chain is still verified
    runs = {r["run"] for r in pack.csv("runs.csv")}
    assert runs == {world.risk2, world.impact2}  # the January runs ended before the period
    assert {r["run"] for r in pack.csv("tasks.csv")} <= runs
    assert pack.csv("approvals.csv") == []
    assert [r["system"] for r in pack.csv("inventory_history.csv")] == ["Scorer"]
    assert len(pack.csv("inventory.csv")) == 2  # the inventory as it stands, whatever the period
    directory = pack.extract(tmp_path / "later")
    check = verify_pack(directory, "--manifest", "manifest.json")
    assert check.returncode == 0, check.stdout + check.stderr
    assert (
        f"continues the chain from prev_hash {rows[0]['prev_hash']} (row {rows[0]['seq'] - 1}"
        in check.stdout
    )
    assert pack.json("manifest.json")["period"] == {"since": "2026-02-10", "until": None}

    _, early = export(h, tmp_path / "early.zip", period=parse_period("2026-01-01", "2026-01-31"))
    assert early.ledger() == [r for r in everything if r["recorded_at"] < "2026-02-01"]
    assert {r["run"] for r in early.csv("runs.csv")} == {world.risk, world.impact}
    _, none = export(h, tmp_path / "none.zip", period=parse_period("2025-01-01", "2025-12-31"))
    assert none.ledger() == [] and none.csv("runs.csv") == []
    assert "No ledger rows were recorded in this period" in none.text("index.html")


def test_the_registers_in_the_pack(harness, answers, tmp_path):
    h = harness
    use_soa(h)
    world = assessed_world(h, answers)
    audit, corrective = audit_with_a_finding(h, answers)
    h.clock.advance(days=20)  # Scorer's tasks are now past their due dates
    _, pack = export(h, tmp_path / "pack.zip")

    runs = {r["run"]: r for r in pack.csv("runs.csv")}
    assert (
        runs[world.risk]["workflow"] == "ai-risk-assessment"
        and runs[world.risk]["status"] == "completed"
    )
    assert (
        runs[world.risk]["spec_hash"] == h.run_row(world.risk).spec_hash
        and runs[world.risk]["version"] == "2"
    )
    assert runs[world.impact2]["status"] == "running" and runs[world.impact2]["completed_at"] == ""
    assert (runs[corrective]["started_by_run"], runs[corrective]["waited_for_by"]) == (
        audit,
        "",
    )  # not waited for
    assert runs[world.risk]["started_by_run"] == ""

    decisions = [r for r in pack.csv("approvals.csv") if r["run"] == world.risk]
    assert len(decisions) == 1
    assert (
        decisions[0]["decided_by"],
        decisions[0]["decision"],
        decisions[0]["reason"],
        decisions[0]["outcome"],
    ) == ("rita@example.com", "approve", "residual risk acceptable", "approved")
    assert float(decisions[0]["latency_hours"]) == pytest.approx(5.0)
    assert decisions[0]["approvers"] == '["risk_owner"]'

    (finding,) = pack.csv("findings.csv")
    assert (
        finding["status"],
        finding["corrective_action_run"],
        finding["corrective_action_status"],
    ) == ("closed", corrective, "completed")
    assert float(finding["days_to_close"]) == pytest.approx(32.0) and finding["clause"] == "6.1.2"
    assert finding["source"] == f"internal-audit/{audit}"
    assert (finding["source_type"], finding["tracker_issue"]) == ("internal", "")

    tasks = [r for r in pack.csv("tasks.csv") if r["run"] in (world.risk2, world.impact2)]
    assert tasks and all(r["status"] == "open" and r["overdue"] == "true" for r in tasks)
    assert all(float(r["days_overdue"]) > 0 for r in tasks)
    done = [r for r in pack.csv("tasks.csv") if r["run"] == world.risk]
    assert {r["step"] for r in done} == {"identify", "treat"} and all(
        r["overdue"] == "false" for r in done
    )

    systems = {r["name"]: r for r in pack.csv("inventory.csv")}
    assert (
        set(systems) == {"Chatbot", "Scorer"} and systems["Scorer"]["owner"] == "oscar@example.com"
    )
    assert {"risk_tier", "lifecycle_stage", "in_scope", "risk_valid_until"} <= set(
        systems["Chatbot"]
    )

    # the exact texts runs were pinned to
    index = {r["workflow"]: r for r in pack.csv("workflows/index.csv")}
    assert set(index) == {
        "ai-risk-assessment",
        "ai-impact-assessment",
        "internal-audit",
        "internal-audit-area",  # the audit checks each planned area in a run of its own
        "corrective-action",
    }
    with h.db.connect() as conn:
        stored = conn.execute(
            text(
                "SELECT text, content_hash FROM spec_versions "
                "WHERE workflow_id = 'ai-risk-assessment'"
            )
        ).one()
    entry = index["ai-risk-assessment"]
    assert entry["content_hash"] == stored.content_hash
    assert pack.text("workflows/" + entry["file"]) == stored.text

    kpis = {k["key"]: k for k in pack.json("kpis.json")["kpis"]}
    # measured to the corrective action, implemented the day the finding was raised: the 30-day
    # wait and the effectiveness check two days later are not counted
    assert kpis["mean_days_to_close_nonconformity"]["value"] == pytest.approx(0)
    assert kpis["nonconformity_action_effectiveness"]["value"] == 1.0
    assert {r["key"] for r in pack.csv("kpis.csv")} == set(kpis)
    soa = {r["control"]: r for r in pack.csv("soa.csv")}
    assert soa["A.10.4"]["status"] == "excluded" and soa["A.4.5"]["gap"] == "false"
    assert {r["clause"]: r for r in pack.csv("clauses.csv")}["9.2"]["status"] == "implemented"


def test_text_that_a_spreadsheet_would_run_is_defused(harness, answers, tmp_path):
    h = harness
    h.add_system('=HYPERLINK("http://evil.example")', owner="olga@example.com")
    _, pack = export(h, tmp_path / "pack.zip")
    (system,) = pack.csv("inventory.csv")
    assert system["name"] == '\'=HYPERLINK("http://evil.example")'
    assert any(
        '"name":"=HYPERLINK' in r["payload"] for r in pack.ledger()
    )  # the ledger keeps the exact value


def test_html_is_escaped(harness, tmp_path):
    h = harness
    use_soa(
        h,
        "soa:\n  controls:\n    A.10.4: {applicable: false, justification: "
        "'<script>alert(1)</script>'}\n",
    )
    _, pack = export(h, tmp_path / "pack.zip")
    page = pack.text("index.html")
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "http://" not in page and "https://" not in page  # no external assets: it reads offline


def test_two_exports_of_the_same_moment_are_identical(harness, world, tmp_path):
    first, _ = export(harness, tmp_path / "a.zip")
    second, _ = export(harness, tmp_path / "b.zip")
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()
    assert first.manifest_sha256 == second.manifest_sha256


# -- the output file ------------------------------------------------------------------------------
def test_an_existing_file_is_kept_unless_forced(harness, world, tmp_path):
    (tmp_path / "out").mkdir()
    target = tmp_path / "out" / "pack.zip"
    target.write_bytes(b"the auditor's copy")
    with pytest.raises(AimsError) as caught:
        write_audit_pack(harness.app, target)
    assert "exists already" in caught.value.message and "--force" in caught.value.hint
    assert target.read_bytes() == b"the auditor's copy"
    write_audit_pack(harness.app, target, force=True)
    assert Pack(target).json("manifest.json")["organisation"] == "Example Ltd"
    assert [p.name for p in target.parent.iterdir()] == [
        "pack.zip"
    ]  # no temporary file left beside it


@pytest.mark.parametrize("failure", [RuntimeError("disk trouble"), KeyboardInterrupt()])
def test_a_failed_export_leaves_no_file_and_no_temporary_file(
    harness, world, tmp_path, monkeypatch, failure
):
    from aims_workflows.export import records

    out = tmp_path / "out"
    out.mkdir()

    def broken(*args, **kwargs):
        raise type(failure)(*failure.args)  # a fresh one: its traceback must not outlive the test

    monkeypatch.setattr(records, "tasks", broken)
    with pytest.raises(type(failure)):
        write_audit_pack(harness.app, out / "pack.zip")
    gc.collect()  # a half-written zip object must not complain later, when it is collected
    assert list(out.iterdir()) == []


def test_unwritable_targets_are_clear_errors(harness, tmp_path):
    for target, words in [
        (tmp_path / "missing" / "pack.zip", "the directory"),
        (tmp_path, "is a directory"),
    ]:
        with pytest.raises(AimsError) as caught:
            write_audit_pack(harness.app, target)
        assert words in caught.value.message, caught.value.message
    assert not (tmp_path / "missing").exists()


def test_the_ledger_is_read_in_batches_not_at_once(harness, tmp_path):
    """A million-row ledger must not be loaded whole: rows are fetched by keyset pages on seq."""
    from aims_workflows.engine.evidence import EvidenceRecord
    from aims_workflows.export import ledger_slice
    from aims_workflows.export._snapshot import snapshot
    from aims_workflows.store import ledger

    h = harness
    records = [
        EvidenceRecord(
            "test.recorded", None, None, "eve@example.com", "cli", h.clock.now(), {"n": n}
        )
        for n in range(250)
    ]
    with h.db.begin() as conn:
        ledger.append(conn, records, recorded_at=h.clock.now())
    statements: list[str] = []
    with snapshot(h.db) as conn:
        event.listen(conn, "before_cursor_execute", lambda *a: statements.append(a[2]))
        rows = list(ledger_slice.iter_slice(conn, 1, 250, batch=100))
    assert [r[0] for r in rows] == list(range(1, 251))
    pages = [s for s in statements if "FROM evidence" in s]
    assert len(pages) == 3 and all("LIMIT" in s for s in pages)


def test_the_pack_is_one_moment_even_while_the_runtime_writes(
    harness, world, tmp_path, monkeypatch
):
    """Rows appended while the export runs (the worker does not stop for it) are in neither the
    ledger file nor the verification: the pack reads one snapshot, and the write is not blocked."""
    from aims_workflows.engine.evidence import EvidenceRecord
    from aims_workflows.export.pack import writer as pack_module
    from aims_workflows.store import ledger

    h = harness
    before = len(db_rows(h))
    real_seq_range = pack_module.seq_range

    def range_while_writing(conn, period):
        # after the chain was verified, before the ledger rows are read: another connection
        # appends, as the worker would
        with h.db.begin() as writer:
            ledger.append(
                writer,
                [
                    EvidenceRecord(
                        "test.during_export",
                        None,
                        None,
                        "eve@example.com",
                        "cli",
                        h.clock.now(),
                        {},
                    )
                ],
                recorded_at=h.clock.now(),
            )
        return real_seq_range(conn, period)

    monkeypatch.setattr(pack_module, "seq_range", range_while_writing)
    result, pack = export(h, tmp_path / "pack.zip")
    assert len(db_rows(h)) == before + 1
    assert len(pack.ledger()) == before and result.chain.head_seq == before and result.chain.ok
    assert pack.json("evidence/verification.json")["exported"]["last_seq"] == before


def test_the_templates_ship_with_the_package():
    import tomllib

    pyproject = tomllib.loads(
        (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text(encoding="utf-8")
    )
    package_data = pyproject["tool"]["setuptools"]["package-data"]["aims_workflows"]
    assert {"export/pack/templates/*", "export/review/templates/*"} <= set(package_data)
    from importlib.resources import files

    pack = {p.name for p in files("aims_workflows.export.pack").joinpath("templates").iterdir()}
    assert {"index.html.j2", "VERIFY.md.j2", "verify_ledger.py"} <= pack
    review = {p.name for p in files("aims_workflows.export.review").joinpath("templates").iterdir()}
    assert {"review.md.j2", "review.html.j2"} <= review
