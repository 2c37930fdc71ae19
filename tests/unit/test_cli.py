"""The ``aims`` command, run in-process with ``main([...])`` on a temporary directory, settings
from the environment, output captured. Errors are messages with exit code 1, never tracebacks."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

from sqlalchemy import text

from aims_workflows.app import shipped_workflows_dir
from aims_workflows.store import Database
from conftest import CliResult

INVENTORY = Path(__file__).resolve().parents[1] / "fixtures" / "inventory"


def run_id_of(result: CliResult) -> str:
    match = re.search(r"started run (\S+)", result.out)
    assert match, result
    return match.group(1)


# -- init and the database ------------------------------------------------------------------------
def test_init_writes_the_config_and_the_database(aims, tmp_path):
    result = aims("init")
    assert result.code == 0, result
    assert (tmp_path / "aims.yaml").read_text().startswith("# aims-workflows configuration")
    assert "wrote" in result.out and "schema revision" in result.out
    Database(f"sqlite:///{tmp_path / 'aims.db'}").require_ready()
    again = aims("init")
    assert again.code == 0 and "exists (kept" in again.out


def test_init_force_rewrites_the_config(aims, tmp_path):
    aims("init")
    (tmp_path / "aims.yaml").write_text("organisation: Mine\n")
    aims("init", "--force")
    assert "Example Ltd" in (tmp_path / "aims.yaml").read_text()


def test_db_upgrade_twice_is_a_no_op(aims):
    first, second = aims("db", "upgrade"), aims("db", "upgrade")
    assert first.code == second.code == 0
    assert first.out == second.out
    current = aims("db", "current")
    revisions = re.findall(r"(?:current|latest):\s+(\S+)", current.out)
    assert len(revisions) == 2 and revisions[0] == revisions[1]


def test_db_current_on_an_empty_database(aims):
    assert "(empty database)" in aims("db", "current").out


def test_a_command_on_a_missing_database_says_run_init(aims):
    result = aims("systems", "list")
    assert result.code == 1
    assert "has no aims tables" in result.err and "aims init" in result.err


def test_a_bad_database_url_never_prints_the_password(aims, monkeypatch):
    monkeypatch.setenv(
        "AIMS_DATABASE_URL",
        "postgresql+psycopg://admin:s3cret-pw@127.0.0.1:1/aims?connect_timeout=2",
    )
    for args in (("systems", "list"), ("db", "upgrade"), ("init",), ("evidence", "verify")):
        result = aims(*args)
        assert result.code == 1, result
        assert "s3cret-pw" not in result.all
        assert "not reachable" in result.err
    monkeypatch.setenv("AIMS_DATABASE_URL", "mysqlish://root:s3cret-pw@host/db")
    result = aims("systems", "list")
    assert result.code == 1 and "s3cret-pw" not in result.all
    assert "AIMS_DATABASE_URL" in result.err


# -- validate --------------------------------------------------------------------------------------
def test_validate_the_shipped_workflows(aims):
    result = aims("validate", str(shipped_workflows_dir()))
    assert result.code == 0, result
    assert "workflow(s) valid" in result.out
    assert "ai-risk-assessment v2" in result.out


def test_validate_reports_every_located_problem(aims, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "typo.yaml").write_text(
        "id: typo\nversion: 1\ntitle: Typo\nsubject: ai_system\nevidences: ['6.1.2']\nstepz: []\n",
        encoding="utf-8",
    )
    (bad / "junk.yaml").write_bytes(b"\x00\x01\x02\xff\xfe binary junk \x89PNG")
    (bad / "empty.yaml").write_text("", encoding="utf-8")
    result = aims("validate", str(bad))
    assert result.code == 1, result
    problems = [line for line in result.err.splitlines() if line.strip()]
    assert any(
        line.startswith(str(bad / "typo.yaml") + ":6") and "stepz" in line for line in problems
    ), result.err
    assert any(str(bad / "junk.yaml") in line for line in problems), result.err
    assert any(str(bad / "empty.yaml") in line for line in problems), result.err
    assert "problem(s)" in problems[-1]


def test_validate_a_directory_without_workflows(aims, tmp_path):
    (tmp_path / "none").mkdir()
    result = aims("validate", str(tmp_path / "none"))
    assert result.code == 1 and "no workflow files found" in result.err


# -- systems ---------------------------------------------------------------------------------------
def test_systems_add_list_show_set(ready):
    aims = ready
    added = aims(
        "systems",
        "add",
        "Chatbot",
        "--owner",
        "olga@example.com",
        "--set",
        "risk_tier=limited",
        "--set",
        "model_type=llm",
    )
    assert added.code == 0, added
    assert "registered 'Chatbot' (id 1); started runs" in added.out
    listed = aims("systems", "list")
    assert listed.code == 0 and "Chatbot" in listed.out and "olga@example.com" in listed.out
    assert "missing or stale" in listed.out
    changed = aims("systems", "set", "Chatbot", "owner=oscar@example.com")
    assert changed.code == 0 and "changed owner" in changed.out
    assert "started runs" not in changed.out
    shown = aims("systems", "show", "chatbot")
    assert shown.code == 0
    assert "owner: oscar@example.com" in shown.out and "risk_tier: limited" in shown.out
    assert "v2" in shown.out and "'olga@example.com' -> 'oscar@example.com'" in shown.out
    nothing = aims("systems", "set", "Chatbot", "owner=oscar@example.com")
    assert "nothing changed" in nothing.out


def test_systems_errors_are_messages(ready):
    aims = ready
    aims("systems", "add", "Chatbot", "--owner", "olga@example.com")
    for args, message in [
        (("systems", "add", "Chatbot", "--owner", "olga@example.com"), "exists already"),
        (("systems", "add", "X", "--owner", "not-an-email"), "is not an e-mail address"),
        (("systems", "set", "Chatbot", "colour=blue"), "unknown field"),
        (("systems", "set", "Chatbot", "risk_tier"), "is not NAME=VALUE"),
        (("systems", "show", "Chatbto"), "no AI system 'Chatbto'"),
    ]:
        result = aims(*args)
        assert result.code == 1, (args, result)
        assert message in result.err, (args, result)


def test_systems_import_good_and_bad_files(ready, tmp_path):
    aims = ready
    good = aims("systems", "import", str(INVENTORY / "systems.csv"))
    assert good.code == 0, good
    assert "3 added, 0 changed, 4 run(s) started" in good.out
    db = Database(f"sqlite:///{tmp_path / 'aims.db'}")
    with db.connect() as conn:
        before = conn.execute(text("SELECT count(*) FROM ai_systems")).scalar()
    bad = aims("systems", "import", str(INVENTORY / "bad_row.json"))
    assert bad.code == 1
    assert "nothing was imported" in bad.err
    assert "row 2, column colour: unknown column" in bad.err
    assert "row 3, column name: Field required" in bad.err
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM ai_systems")).scalar() == before
    db.dispose()


# -- runs, tasks, approvals, evidence, KPIs --------------------------------------------------------
RISK_ANSWERS = [
    "risk_title=Biased answers",
    "risk_description=Skewed training data",
    "risk_sources=bias_fairness,data_quality",
    "affected_parties=customers",
    "likelihood=2",
    "impact=3",
    "rating_rationale=complaints",
]
TREAT_ANSWERS = ["treatment=accept", "residual_likelihood=1", "residual_impact=2", "rationale=low"]


def _answers(items: list[str]) -> list[str]:
    return [arg for item in items for arg in ("--answer", item)]


def test_a_run_through_the_command_line(ready, tmp_path):
    aims = ready
    aims("systems", "add", "Chatbot", "--owner", "olga@example.com", "--set", "in_scope=no")
    started = aims("start", "ai-risk-assessment", "--system", "Chatbot")
    assert started.code == 0, started
    run_id = run_id_of(started)

    tasks = aims("tasks", "list")
    assert run_id in tasks.out and "identify" in tasks.out and "eve@example.com" in tasks.out

    bad = aims(
        "tasks",
        "complete",
        run_id,
        "identify",
        "--as",
        "eve@example.com",
        *_answers(["likelihood=9"]),
    )
    assert bad.code == 1
    assert "must be at most 5, not 9" in bad.err
    assert "Risk title" in bad.err  # missing answers are problems too
    assert "the task stays open" in bad.err

    done = aims(
        "tasks", "complete", run_id, "identify", "--as", "eve@example.com", *_answers(RISK_ANSWERS)
    )
    assert done.code == 0, done
    assert f"completed identify; run {run_id} is running at 'treat'" in done.out
    again = aims(
        "tasks", "complete", run_id, "identify", "--as", "eve@example.com", *_answers(RISK_ANSWERS)
    )
    assert again.code == 1 and "nothing done" in again.err
    assert (
        aims(
            "tasks",
            "complete",
            run_id,
            "treat",
            "--as",
            "rita@example.com",
            *_answers(TREAT_ANSWERS),
        ).code
        == 0
    )

    pending = aims("approvals", "list")
    approval_id = f"{run_id}.accept_owner.1.1"
    # who may still decide, by name: the risk owner
    assert approval_id in pending.out and "rita@example.com" in pending.out
    refused = aims(
        "approvals", "decide", approval_id, "approve", "--as", "eve@example.com", "--reason", "mine"
    )
    assert refused.code == 1 and "refused:" in refused.err
    wrong = aims(
        "approvals", "decide", approval_id, "maybe", "--as", "rita@example.com", "--reason", "x"
    )
    assert wrong.code != 0 and "approve" in wrong.err
    decided = aims(
        "approvals",
        "decide",
        approval_id,
        "approve",
        "--as",
        "rita@example.com",
        "--reason",
        "acceptable",
    )
    assert decided.code == 0, decided
    assert "recorded approve by rita@example.com; run is completed" in decided.out

    runs = aims("runs", "list")
    assert run_id in runs.out and "completed" in runs.out and "ai-risk-assessment v2" in runs.out
    shown = aims("runs", "show", run_id)
    assert shown.code == 0 and "status: completed" in shown.out and "timeline" in shown.out
    missing = aims("runs", "show", "R-NOPE")
    assert missing.code == 1 and "no run 'R-NOPE'" in missing.err

    listed = aims("evidence", "list", "--json", "--run", run_id, "--limit", "1000")
    rows = [json.loads(line) for line in listed.out.splitlines()]
    assert rows[0]["kind"] == "run.started" and rows[-1]["kind"] == "run.completed"
    assert all(set(r) >= {"seq", "hash", "prev_hash", "payload", "actor", "via"} for r in rows)
    decided_row = next(r for r in rows if r["kind"] == "approval.decided")
    assert (
        decided_row["actor"] == "rita@example.com"
        and decided_row["payload"]["reason"] == "acceptable"
    )
    assert len(aims("evidence", "list", "--json", "--limit", "3").out.splitlines()) == 3
    assert "approval.decided" in aims("evidence", "list").out

    verified = aims("evidence", "verify")
    assert verified.code == 0 and "evidence chain verified" in verified.out

    kpi_json = json.loads(aims("kpi", "--format", "json").out)
    by_key = {k["key"]: k for k in kpi_json["kpis"]}
    assert by_key["median_approval_latency_hours"]["detail"] == "over 1 closed approvals"
    # one-off commands start no recurring workflows: only the worker runs the schedules
    db = Database(f"sqlite:///{tmp_path / 'aims.db'}")
    with db.connect() as conn:
        open_steps = conn.execute(text("SELECT count(*) FROM steps WHERE status = 'open'")).scalar()
        scheduled = conn.execute(
            text("SELECT count(*) FROM runs WHERE workflow_id <> 'ai-risk-assessment'")
        ).scalar()
    db.dispose()
    assert by_key["open_tasks"]["value"] == open_steps == scheduled == 0

    def scheduled_runs() -> list[str]:
        with db.connect() as conn:
            found = conn.execute(
                text("SELECT workflow_id FROM runs WHERE workflow_id <> 'ai-risk-assessment'")
            ).scalars()
            return sorted(found)

    # the worker's first pass starts no yearly workflow: their first due date is a year after
    # the ledger's first row, or the date aims.yaml gives
    worker = aims("worker", "--once")
    assert worker.code == 0 and "internal-audit: every 365d, next due" in worker.out
    assert scheduled_runs() == []
    with (tmp_path / "aims.yaml").open("a") as config:
        config.write("schedules:\n  internal-audit: {first_due: 2020-01-01}\n")
    worker = aims("worker", "--once")
    assert worker.code == 0 and ": internal-audit on Example Ltd (schedule)" in worker.out
    db.dispose()
    assert scheduled_runs() == ["internal-audit"]
    db.dispose()
    kpi_csv = list(csv.DictReader(io.StringIO(aims("kpi", "--format", "csv").out)))
    assert {r["key"] for r in kpi_csv} == set(by_key)
    table = aims("kpi")
    assert table.code == 0 and "Median approval latency" in table.out
    assert aims("kpi", "--format", "xml").code != 0


def test_evidence_verify_fails_after_tampering(ready, tmp_path):
    aims = ready
    aims("systems", "add", "Chatbot", "--owner", "olga@example.com")
    db = Database(f"sqlite:///{tmp_path / 'aims.db'}")
    with db.begin() as conn:
        conn.execute(text("DROP TRIGGER evidence_no_update"))
        conn.execute(text("UPDATE evidence SET actor = 'mallory@example.com' WHERE seq = 2"))
    db.dispose()
    result = aims("evidence", "verify")
    assert result.code == 1
    assert "evidence chain BROKEN at row 2" in result.err
    assert "row 2" in result.err and "altered" in result.err


def test_start_errors_are_messages(ready):
    aims = ready
    for args, message in [
        (("start", "ai-risk-assesment", "--system", "X"), "no workflow 'ai-risk-assesment'"),
        (("start", "ai-risk-assessment"), "pass --system NAME"),
        (("start", "corrective-action", "--finding", "F-9"), "no finding 'F-9'"),
    ]:
        result = aims(*args)
        assert result.code == 1, (args, result)
        assert message in result.err, (args, result)


def test_worker_once_carries_out_due_work(ready):
    aims = ready
    aims("systems", "add", "Chatbot", "--owner", "olga@example.com")
    result = aims("worker", "--once")
    assert result.code == 0, result
    assert "internal-audit" not in result.err


def test_usage_errors_exit_with_a_message(ready):
    result = ready("systems", "add")
    assert result.code == 2 and "Missing" in result.err
    assert ready("no-such-command").code == 2


def test_runs_retry_queues_dead_commands_after_the_cause_is_fixed(aims, tmp_path):
    import re

    assert aims("init").code == 0
    config = tmp_path / "aims.yaml"
    # nobody holds the engineer role: the first task cannot be assigned and its command dies
    config.write_text(
        config.read_text().replace("engineer: [engineer@example.com]", "engineer: []")
    )
    assert (
        aims(
            "systems", "add", "Chatbot", "--owner", "olga@example.com", "--set", "in_scope=no"
        ).code
        == 0
    )
    started = aims("start", "ai-risk-assessment", "--system", "Chatbot")
    run_id = re.search(r"started run (\S+)", started.out).group(1)
    shown = aims("runs", "show", run_id)
    assert "dead" in shown.out and "role 'engineer' has nobody in aims.yaml" in shown.out
    config.write_text(config.read_text().replace("engineer: []", "engineer: [eva@example.com]"))
    retried = aims("runs", "retry", run_id, "--as", "ana@example.com")
    assert retried.code == 0 and "queued 1 command(s) again: task.create" in retried.out
    listed = aims("tasks", "list")
    assert run_id in listed.out and "eva@example.com" in listed.out
    timeline = aims("runs", "show", run_id).out
    assert "ana@example.com via cli queued again: task.create" in timeline
    assert "no dead commands" in aims("runs", "retry", run_id).out
