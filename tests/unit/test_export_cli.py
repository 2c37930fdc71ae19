"""``aims export soa | clauses | audit-pack`` run in-process with ``main([...])`` on a database the
real runtime filled (SQLite and PostgreSQL): formats, files, exit codes and messages."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from export_world import Pack, assessed_world, tamper, use_soa, workflows_without

from aims_workflows.cli import _output
from aims_workflows.store import Database
from conftest import CliResult, cli_environment, run_aims


@pytest.fixture
def cli(monkeypatch, capsys, tmp_path):
    """``cli(db_url, config_path)`` -> a runner of ``aims`` commands against that database."""
    monkeypatch.chdir(tmp_path)
    cli_environment(monkeypatch)

    def bind(db_url: str, config: Path):
        monkeypatch.setenv("AIMS_DATABASE_URL", db_url)
        monkeypatch.setenv("AIMS_CONFIG", str(config))

        def run(*args: str) -> CliResult:
            return run_aims(capsys, *args)

        return run

    yield bind
    _output.console.cache_clear()
    _output.err_console.cache_clear()


@pytest.fixture
def aims(cli, harness, answers, db_url):
    use_soa(harness)
    assessed_world(harness, answers)
    return cli(db_url, harness.config_path)


@pytest.fixture
def without_intake(cli, make_harness, database, db_url, tmp_path, clock, answers, monkeypatch):
    """``aims`` on the assessed world of an organisation that does not use the ai-system-intake
    workflow: A.4.5 has no workflow."""
    (tmp_path / "org").mkdir()
    folder = workflows_without(tmp_path / "wf", "ai-system-intake")
    h = make_harness(db_url, tmp_path / "org", clock, workflows=folder)
    use_soa(h)
    assessed_world(h, answers)
    run = cli(db_url, h.config_path)
    monkeypatch.setenv("AIMS_WORKFLOWS", str(folder))
    yield run
    h.app.db.dispose()


def test_soa_in_every_format(without_intake, tmp_path):
    aims = without_intake
    table = aims("export", "soa")
    assert table.code == 0, table
    assert "Statement of Applicability: Example Ltd" in table.out
    assert re.search(r"A\.10\.4 .*no: No AI system is offered to customers", table.out)
    assert re.search(r"A\.4\.5 .*GAP: applicable, no evidence yet", table.out)
    # the note wraps where the terminal width puts it
    assert "gap(s)" in table.out and "exclude them with a reason" in " ".join(table.out.split())

    rows = {
        r["control"]: r
        for r in csv.DictReader(io.StringIO(aims("export", "soa", "--format", "csv").out))
    }
    assert (
        len(rows) == 38
        and rows["A.5.2"]["status"] == "implemented"
        and rows["A.10.4"]["applicable"] == "no"
    )
    data = json.loads(aims("export", "soa", "--format", "json").out)
    assert data["organisation"] == "Example Ltd" and len(data["controls"]) == 38
    assert (
        "| A.5.2 Impact assessment process | yes |" in aims("export", "soa", "--format", "md").out
    )

    clauses = aims("export", "clauses", "--format", "csv", "--since", "2026-02-10")
    by_id = {r["clause"]: r for r in csv.DictReader(io.StringIO(clauses.out))}
    assert by_id["8.2"]["runs_completed"] == "0" and by_id["8.2"]["runs_open"] == "1"
    assert "clauses have evidence" in aims("export", "clauses").out


def test_soa_to_a_file_refuses_to_overwrite(aims, tmp_path):
    target = tmp_path / "soa.md"
    first = aims("export", "soa", "--format", "md", "--out", str(target))
    assert first.code == 0 and f"wrote {target}" in first.out
    assert target.read_text(encoding="utf-8").startswith(
        "# Statement of Applicability: Example Ltd"
    )
    again = aims("export", "soa", "--format", "md", "--out", str(target))
    assert again.code == 1 and "exists already" in again.err and "--force" in again.err
    assert aims("export", "soa", "--format", "csv", "--out", str(target), "--force").code == 0
    assert target.read_text(encoding="utf-8").startswith("control,title,applicable")
    table_to_file = aims("export", "soa", "--out", str(tmp_path / "x.txt"))
    assert table_to_file.code == 2 and "use --format csv, md or json" in table_to_file.err
    assert aims("export", "soa", "--format", "xml").code == 2


def test_bad_dates_say_the_format(aims):
    for args, words in [
        (("--since", "2026-31-01"), "expected YYYY-MM-DD"),
        (("--until", "yesterday"), "expected YYYY-MM-DD"),
        (("--since", "2026-03-01", "--until", "2026-02-01"), "is after --until"),
    ]:
        for command in (("export", "soa"), ("export", "audit-pack")):
            result = aims(*command, *args)
            assert result.code == 2, (command, args, result)
            assert words in result.err, (command, args, result)


def test_audit_pack_writes_a_verified_pack_and_prints_the_manifest_hash(aims, tmp_path, harness):
    result = aims("export", "audit-pack", "--out", "pack.zip")
    assert result.code == 0, result
    pack = Pack(tmp_path / "pack.zip")
    import hashlib

    digest = hashlib.sha256(pack.files["manifest.json"]).hexdigest()
    assert f"manifest.json SHA-256: {digest}" in result.out
    assert (
        "evidence chain verified" in result.out
        and f"ledger rows exported: {len(pack.ledger())}" in result.out
    )
    refused = aims("export", "audit-pack", "--out", "pack.zip")
    assert refused.code == 1 and "exists already" in refused.err
    assert aims("export", "audit-pack", "--out", "pack.zip", "--force").code == 0
    # a directory as --out: the default name inside it
    (tmp_path / "packs").mkdir()
    into = aims(
        "export", "audit-pack", "--out", "packs", "--since", "2026-01-01", "--until", "2026-01-31"
    )
    assert into.code == 0, into
    (made,) = (tmp_path / "packs").iterdir()
    assert re.fullmatch(r"aims-audit-pack-\d{4}-\d{2}-\d{2}\.zip", made.name)
    assert Pack(made).json("manifest.json")["period"] == {
        "since": "2026-01-01",
        "until": "2026-01-31",
    }
    missing = aims("export", "audit-pack", "--out", str(tmp_path / "nowhere" / "pack.zip"))
    assert missing.code == 1 and "does not exist" in missing.err


def test_audit_pack_on_a_tampered_database_exits_1_and_marks_the_pack(aims, tmp_path, harness):
    tamper(harness.db, "UPDATE evidence SET payload = :p WHERE seq = 5", p='{"forged":true}')
    result = aims("export", "audit-pack", "--out", "pack.zip")
    assert result.code == 1, result
    assert (
        "evidence chain BROKEN at row 5" in result.err
        and "the pack was written and marked" in result.err
    )
    pack = Pack(tmp_path / "pack.zip")
    assert "CHAIN-BROKEN.txt" in pack.files and pack.json("manifest.json")["chain"]["ok"] is False


def test_secrets_never_reach_the_pack(cli, harness, answers, db_url, monkeypatch, tmp_path):
    assessed_world(harness, answers)
    secrets = {
        "AIMS_JIRA_API_TOKEN": "jira-token-s3cret",
        "AIMS_JIRA_WEBHOOK_SECRET": "hook-s3cret",
        "AIMS_SLACK_SIGNING_SECRET": "signing-s3cret",
    }
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    aims = cli(db_url, harness.config_path)
    assert aims("export", "audit-pack", "--out", "pack.zip").code == 0
    pack = Pack(tmp_path / "pack.zip")
    for name, content in pack.files.items():
        for value in secrets.values():
            assert value.encode() not in content, (name, value)
    assert set(pack.json("aims-config.json")) == {"organisation", "roles", "kpi_targets", "soa"}


def test_a_database_never_initialised_or_behind_says_how_to_fix_it(cli, tmp_path):
    config = tmp_path / "aims.yaml"
    empty = cli(f"sqlite:///{tmp_path / 'empty.db'}", config)
    for args in (("export", "audit-pack"), ("export", "soa")):
        result = empty(*args)
        assert (
            result.code == 1 and "has no aims tables" in result.err and "aims init" in result.err
        ), result
    assert not list(tmp_path.glob("*.zip")) and not list(tmp_path.glob(".*.part"))
    behind_url = f"sqlite:///{tmp_path / 'old.db'}"
    old = Database(behind_url)
    old.upgrade("0002")
    old.dispose()
    behind = cli(behind_url, config)("export", "audit-pack")
    assert behind.code == 1 and "aims db upgrade" in behind.err


def test_an_unknown_control_in_aims_yaml_stops_the_export(cli, harness, db_url, tmp_path):
    harness.config_path.write_text(
        harness.config_path.read_text() + "soa:\n  controls:\n    A.6.2.9: {justification: x}\n"
    )
    result = cli(db_url, harness.config_path)("export", "soa")
    assert result.code == 1
    assert "unknown Annex A control 'A.6.2.9' (did you mean 'A.6.2.8'?)" in result.err


def test_the_help_names_the_commands_and_the_top_level_help_stays_light():
    code = (
        "import sys; from aims_workflows.cli import app; "
        "print(sorted(m for m in sys.modules if m.startswith('aims_workflows.export') or m in "
        "('jinja2', 'sqlalchemy')))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "[]"
    from typer.testing import CliRunner

    from aims_workflows.cli import app

    text = CliRunner().invoke(app, ["export", "--help"]).output
    assert "audit-pack" in text and "soa" in text and "clauses" in text
    pack_help = CliRunner().invoke(app, ["export", "audit-pack", "--help"]).output
    assert "--since" in pack_help and "YYYY-MM-DD" in pack_help and "--force" in pack_help
