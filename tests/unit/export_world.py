"""Building an AIMS history through the real runtime for the export tests, and reading packs.

Imported by the export test modules (``from export_world import ...``).
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text

SOA_YAML = """\
soa:
  controls:
    A.10.4: {applicable: false, justification: "No AI system is offered to customers"}
    A.4.2: {justification: "We run our own models", implementation: "Resource register https://wiki.example.com/res"}
    A.5.2: {justification: "Our systems affect applicants"}
"""


@dataclass
class World:
    risk: str
    impact: str
    risk2: str
    impact2: str


def assessed_world(h, answers) -> World:
    """'Chatbot' registered at T0 and fully assessed (risk and impact completed, approved); 40 days
    later 'Scorer' registered, its two assessments left open."""
    _, started = h.add_system("Chatbot")
    risk = next(r for r in started if h.run_row(r).workflow_id == "ai-risk-assessment")
    impact = next(r for r in started if r != risk)
    h.complete("identify", answers["risk.identify"], run_id=risk)
    h.complete("treat", answers["risk.treat"], run_id=risk)
    h.clock.advance(hours=5)
    h.decide("rita@example.com", reason="residual risk acceptable", run_id=risk)
    h.complete("context", answers["impact.context"], run_id=impact)
    h.complete("impacts", answers["impact.impacts"], run_id=impact)
    h.complete("mitigate", answers["impact.mitigate"], run_id=impact)
    h.decide("amy@example.com", run_id=impact)
    assert h.run_row(risk).status == h.run_row(impact).status == "completed"

    h.clock.advance(days=40)
    _, started2 = h.add_system("Scorer", owner="oscar@example.com")
    risk2 = next(r for r in started2 if h.run_row(r).workflow_id == "ai-risk-assessment")
    impact2 = next(r for r in started2 if r != risk2)
    return World(risk, impact, risk2, impact2)


def audit_with_a_finding(h, answers) -> tuple[str, str]:
    """An internal audit raising one minor nonconformity whose corrective action closes it
    32 days later. Returns (audit run, corrective-action run)."""
    audit = h.start_audit()
    h.pump()
    h.complete("programme", answers["audit.programme"], run_id=audit)
    h.decide("amy@example.com", run_id=audit)
    h.audit_areas(audit, answers, check_risk=answers["audit.minor"])
    h.clock.advance(days=1)
    h.decide("amy@example.com", run_id=audit)
    child = f"{audit}.raise_findings1.1"
    h.close_corrective_action(child, answers)
    assert h.run_row(child).status == "completed"
    return audit, child


def workflows_without(folder: Path, *left_out: str) -> Path:
    """A copy of the shipped workflows in ``folder`` without the ``left_out`` ones: with every
    Annex A control evidenced by some shipped workflow, an organisation that does not use one
    is how a control comes to have no workflow (a gap)."""
    import shutil

    from aims_workflows.app import shipped_workflows_dir

    folder.mkdir(parents=True, exist_ok=True)
    for source in shipped_workflows_dir().glob("*.yaml"):
        if source.stem not in left_out:
            shutil.copy(source, folder / source.name)
    return folder


def use_soa(h, soa_yaml: str = SOA_YAML) -> None:
    """Add a ``soa:`` section to the harness's aims.yaml and reload the configuration."""
    from aims_workflows.config import load_config

    h.config_path.write_text(h.config_path.read_text(encoding="utf-8") + soa_yaml, encoding="utf-8")
    h.app.config = load_config(h.config_path)


def drop_ledger_triggers(db) -> None:
    """What someone editing the database behind the application's back does first."""
    with db.begin() as conn:
        if db.dialect == "sqlite":
            conn.execute(text("DROP TRIGGER evidence_no_update"))
            conn.execute(text("DROP TRIGGER evidence_no_delete"))
        else:
            conn.execute(text("DROP TRIGGER evidence_no_update_delete ON evidence"))
            conn.execute(text("DROP TRIGGER evidence_no_truncate ON evidence"))


def tamper(db, statement: str, **params) -> None:
    drop_ledger_triggers(db)
    with db.begin() as conn:
        conn.execute(text(statement), params)


class Pack:
    """An exported zip, read back."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.bytes = path.read_bytes()
        with zipfile.ZipFile(io.BytesIO(self.bytes)) as zf:
            self.files = {name: zf.read(name) for name in zf.namelist()}

    def text(self, name: str) -> str:
        return self.files[name].decode("utf-8")

    def json(self, name: str):
        return json.loads(self.files[name])

    def csv(self, name: str) -> list[dict[str, str]]:
        import csv

        return list(csv.DictReader(io.StringIO(self.text(name), newline="")))

    def ledger(self) -> list[dict]:
        """The rows of evidence/ledger.jsonl (each line the array of the fields in hash order)."""
        from aims_workflows.engine.chain_walk import FIELDS

        lines = self.text("evidence/ledger.jsonl").splitlines()
        return [dict(zip(FIELDS, json.loads(line), strict=True)) for line in lines]

    def extract(self, directory: Path) -> Path:
        with zipfile.ZipFile(self.path) as zf:
            zf.extractall(directory)
        return directory


def unpacked_pack(h, answers, tmp_path: Path):
    """An assessed world's audit pack, written and unpacked: (the export's result, the
    folder)."""
    from aims_workflows.export.pack import write_audit_pack

    use_soa(h)
    assessed_world(h, answers)
    result = write_audit_pack(h.app, tmp_path / "pack.zip")
    return result, Pack(tmp_path / "pack.zip").extract(tmp_path / "unpacked")


def verify_pack(directory: Path, *args: str) -> subprocess.CompletedProcess:
    """The pack's verifier as an auditor runs it: a plain interpreter without site-packages
    (-S), isolated (-I)."""
    return subprocess.run(
        [sys.executable, "-I", "-S", str(directory / "evidence" / "verify_ledger.py"), *args],
        capture_output=True,
        text=True,
        cwd=directory,
        timeout=60,
    )


def rewrite_in_pack(directory: Path, name: str, content: bytes | None) -> None:
    """Change (or with None delete) a file of an unpacked pack and make the manifest agree, as
    someone who wants the change to go unnoticed does."""
    target = directory / name
    manifest_path = directory / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    if content is None:
        target.unlink()
        manifest["files"] = [f for f in manifest["files"] if f["path"] != name]
    else:
        target.write_bytes(content)
        for entry in manifest["files"]:
            if entry["path"] == name:
                entry["sha256"] = hashlib.sha256(content).hexdigest()
                entry["bytes"] = len(content)
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def edit_cell(text: str, key_column: str, column: str, pick, value: str) -> tuple[str, str]:
    """``text`` (a pack CSV) with ``column`` set to ``value`` in the first row ``pick`` (given
    the row as a dict) chooses, and that row's ``key_column``."""
    import csv

    rows = list(csv.reader(io.StringIO(text, newline="")))
    header = rows[0]
    for row in rows[1:]:
        if row and pick(dict(zip(header, row, strict=True))):
            row[header.index(column)] = value
            key = row[header.index(key_column)]
            break
    else:
        raise AssertionError(f"no row to edit in {header}")
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue(), key
