"""Signed checkpoints of the ledger head, witnessed outside the database.

Real clients against the loopback sandboxes over HTTP: the worker's pass (``App.pump``) makes a
checkpoint a day (injected clock), posts it with ``slack_sdk`` to a channel, with the ``jira``
client as a comment on a pinned issue, and to a file committed in a git repository;
``aims evidence verify --witnesses`` reads them back (``conversations.history``, the issue's
comments, the file). After a full rewrite of the chain in the database (triggers dropped, every
hash recomputed) the chain alone verifies, but the witnesses and the audit pack's verifier name
the checkpoint that disagrees."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from starlette.middleware import Middleware

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "contract"))
from export_world import Pack, drop_ledger_triggers  # noqa: E402
from jira_fixtures import SpecRecorder, jira_openapi, jira_spec_dict  # noqa: E402,F401
from slack_fixtures import SpecCheckMiddleware, SpecRecord, slack_spec  # noqa: E402

from aims_workflows.app import open_app, shipped_workflows_dir  # noqa: E402
from aims_workflows.config import Settings  # noqa: E402
from aims_workflows.demo.jira_loopback import JiraLoopback  # noqa: E402
from aims_workflows.demo.slack_loopback import SlackLoopback  # noqa: E402
from aims_workflows.engine.chain_walk import FIELDS as LEDGER_COLUMNS
from aims_workflows.engine.evidence import chain_hash, iso  # noqa: E402
from aims_workflows.export.pack import write_audit_pack  # noqa: E402
from aims_workflows.inventory import AISystemRecord  # noqa: E402
from aims_workflows.runtime.witness import WitnessKey  # noqa: E402
from aims_workflows.store import ledger  # noqa: E402
from aims_workflows.testing import ManualClock  # noqa: E402
from conftest import cli_environment, run_aims  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:Unsupported scheme type:UserWarning")

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ROLES = {
    "top_management": ["tom@example.com"],
    "aims_owner": ["amy@example.com"],
    "risk_owner": ["rita@example.com"],
    "engineer": ["eve@example.com"],
}
OWNER = "olga@example.com"
FIELDS = list(LEDGER_COLUMNS[:-1])  # what the hash covers


@dataclass
class Witnessed:
    app: Any
    clock: ManualClock
    jira: JiraLoopback
    slack: SlackLoopback
    channel: str
    repo: Path
    key: WitnessKey
    env: dict[str, str]

    def settle(self) -> None:
        for _ in range(10):
            self.slack.wait()
            delivered = self.jira.sync()
            report = self.app.pump(schedules=False)
            if not delivered and not report.done:
                return
        raise AssertionError("the integrations did not settle")

    def worker_pass(self):
        """What one pass of `aims worker` does: schedules (the checkpoint among them), outbox."""
        report = self.app.pump()
        self.slack.wait()
        return report

    def head(self) -> tuple[int, str]:
        with self.app.db.connect() as conn:
            return ledger.head(conn)

    def slack_lines(self) -> list[str]:
        messages = self.slack.sandbox.workspace.messages.get(self.channel, [])
        return [m.text for m in messages if "aims-checkpoint/1;" in m.text]

    def git_lines(self) -> list[str]:
        target = self.repo / "aims-checkpoints.txt"
        return target.read_text(encoding="ascii").splitlines() if target.exists() else []


@contextmanager
def witnessed(db_url: str, tmp_path: Path, recorder: SpecRecorder) -> Iterator[Witnessed]:
    folder = tmp_path / "workflows"
    folder.mkdir()
    for name in ("ai-risk-assessment", "ai-risk", "risk-treatment"):
        shutil.copy(shipped_workflows_dir() / f"{name}.yaml", folder)
    repo = tmp_path / "witness-repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True, timeout=60)
    key = WitnessKey.create(tmp_path / "aims-witness.key")
    clock = ManualClock(T0)
    record = SpecRecord()
    people = sorted({p for ps in ROLES.values() for p in ps} | {OWNER})
    middleware = [
        Middleware(
            SpecCheckMiddleware, spec=slack_spec(), failures=record.failures, checked=record.checked
        )
    ]
    with SlackLoopback(people=people, channel="aims-witness", middleware=middleware) as slack:
        channel = slack.sandbox.workspace.resolve_channel("#aims-witness").id
        config = tmp_path / "aims.yaml"
        config.write_text(
            "organisation: Example Bank\nroles:\n"
            + "".join(f"  {role}: [{', '.join(p)}]\n" for role, p in ROLES.items())
            + f"witness:\n  every: 1d\n  slack_channel: {channel}\n  jira_issue: AIMS-1\n"
            f"  git_dir: {repo.name}\n",
            encoding="utf-8",
        )
        jira = JiraLoopback(observers=(recorder,), people=people)
        settings = Settings(database_url=db_url, config=config, workflows=folder)
        app = open_app(settings, clock=clock, jira=jira.connect, slack=slack.attach)
        jira.serve(app)
        pinned = app.jira.connection.create_issue(
            {
                "project": {"key": "AIMS"},
                "summary": "Ledger checkpoints (do not close)",
                "issuetype": {"name": "Task"},
            },
            what="create the pinned issue",
        )
        assert pinned["key"] == "AIMS-1"
        bot = jira.sandbox.service_account
        env = {
            "AIMS_DATABASE_URL": db_url,
            "AIMS_CONFIG": str(config),
            "AIMS_WORKFLOWS": str(folder),
            "AIMS_JIRA_URL": jira.sandbox.url,
            "AIMS_JIRA_EMAIL": bot.email,
            "AIMS_JIRA_API_TOKEN": bot.api_token,
            "AIMS_SLACK_BOT_TOKEN": slack.sandbox.bot_token,
            "AIMS_SLACK_API_URL": slack.sandbox.api_url,
        }
        world = Witnessed(app, clock, jira, slack, channel, repo, key, env)
        try:
            yield world
        finally:
            slack.wait()
            jira.close()
            app.db.dispose()
    assert record.checked and not record.failures, "\n".join(record.failures)
    assert not recorder.errors, "\n".join(recorder.errors)


@pytest.fixture
def recorder(jira_openapi) -> SpecRecorder:  # noqa: F811
    return SpecRecorder(jira_openapi)


@pytest.fixture
def world(database, db_url, tmp_path, recorder) -> Iterator[Witnessed]:
    with witnessed(db_url, tmp_path, recorder) as found:
        found.app.inventory.add(
            AISystemRecord(name="Support chatbot", owner=OWNER, risk_tier="limited")
        )
        found.settle()
        yield found


@pytest.fixture
def aims_cli(world, monkeypatch, capsys):
    cli_environment(monkeypatch)
    for name, value in world.env.items():
        monkeypatch.setenv(name, value)

    def run(*args: str):
        return run_aims(capsys, *args)

    return run


def rewrite_chain(db, from_seq: int) -> None:
    """What someone with the database and time does: edit a row, then recompute every hash
    after it and the head's, so that the chain verifies again."""
    drop_ledger_triggers(db)
    with db.begin() as conn:
        rows = [
            dict(r) for r in conn.execute(text("SELECT * FROM evidence ORDER BY seq")).mappings()
        ]
        prev = rows[from_seq - 2]["hash"] if from_seq > 1 else "0" * 64
        for row in rows[from_seq - 1 :]:
            if row["seq"] == from_seq:
                row["actor"] = "mallory@example.com"
            row["prev_hash"] = prev
            row["hash"] = chain_hash(**{k: row[k] for k in FIELDS})
            conn.execute(
                text(
                    "UPDATE evidence SET actor = :actor, prev_hash = :prev_hash, hash = :hash "
                    "WHERE seq = :seq"
                ),
                row,
            )
            prev = row["hash"]
        conn.execute(text("UPDATE ledger_head SET hash = :hash WHERE id = 1"), {"hash": prev})


def pack_verifier(h: Witnessed, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """The pack's verifier with `cryptography` importable (-I keeps the virtualenv's packages)."""
    directory = Pack(tmp_path / "pack.zip").extract(tmp_path / "unpacked")
    return subprocess.run(
        [sys.executable, "-I", str(directory / "evidence" / "verify_ledger.py"), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_checkpoint_a_day_is_posted_to_every_witness_and_read_back(world, aims_cli):
    h = world
    head_before = h.head()
    h.worker_pass()
    assert len(h.slack_lines()) == len(h.git_lines()) == 1
    [line] = h.git_lines()
    assert line == h.slack_lines()[0].splitlines()[-1]
    assert f"seq={head_before[0]};hash={head_before[1]};at={iso(T0)}" in line
    comments = h.app.jira.connection.comments(
        "AIMS-1", order_by="created", max_results=50, what="read"
    )
    assert len(comments) == 1 and line in json.dumps(comments[0]["body"])
    log = subprocess.run(
        ["git", "-C", str(h.repo), "log", "--oneline"], capture_output=True, text=True, timeout=60
    )
    assert log.stdout.count("aims ledger checkpoint") == 1
    # not again the same day, whatever the number of passes
    h.clock.advance(hours=23)
    h.worker_pass()
    assert len(h.git_lines()) == 1
    h.clock.advance(hours=1)
    h.worker_pass()
    assert len(h.git_lines()) == len(h.slack_lines()) == 2
    with h.app.db.connect() as conn:
        kinds = [r.kind for r in ledger.iter_rows(conn, kind="ledger.checkpoint")]
    assert len(kinds) == 2

    verified = aims_cli("evidence", "verify", "--witnesses")
    assert verified.code == 0, verified.all
    assert "slack (Slack channel" in verified.out and "2 checkpoint(s) agree" in verified.out
    assert "jira (Jira issue AIMS-1): 2 checkpoint(s) agree" in verified.out
    assert "aims-checkpoints.txt): 2 checkpoint(s) agree" in verified.out
    printed = aims_cli("evidence", "witness", "key")
    assert printed.code == 0 and h.key.public_text() in printed.out
    assert "PRIVATE" not in printed.all


def test_a_full_chain_rewrite_is_named_by_the_witnesses_and_the_pack(world, aims_cli, tmp_path):
    h = world
    h.worker_pass()
    first = h.head()[0] - 1  # the checkpoint row follows the row it vouches for
    h.clock.advance(days=1)
    h.worker_pass()
    rewrite_chain(h.app.db, 3)
    with h.app.db.connect() as conn:
        assert ledger.verify(conn).ok  # the chain alone no longer shows anything
    checked = aims_cli("evidence", "verify", "--witnesses")
    assert checked.code == 1
    made = iso(T0)
    assert f"first checkpoint that disagrees: the checkpoint of row {first} made at {made}" in (
        checked.err
    ), checked.all
    for witness in ("slack", "jira", "git", "ledger"):
        assert f"DISAGREES {witness} (" in checked.err
    assert "the chain was rewritten" in checked.err

    write_audit_pack(h.app, tmp_path / "pack.zip")
    check = pack_verifier(h, tmp_path, "--public-key", h.key.public_text())
    assert check.returncode == 1, check.stdout
    assert (
        f"FAILED: the checkpoint of row {first} made at {made} disagrees with the ledger"
        in check.stdout
    )
    assert f"the first checkpoint that disagrees: the checkpoint of row {first}" in check.stdout


def test_another_key_a_checkpoint_past_the_head_and_an_unreachable_witness(
    world, aims_cli, tmp_path
):
    h = world
    h.worker_pass()
    seq, head_hash = h.head()
    stranger = WitnessKey.create(tmp_path / "stranger.key")
    forged = stranger.sign(seq, head_hash, iso(T0 + timedelta(hours=1)))
    with (h.repo / "aims-checkpoints.txt").open("a", encoding="ascii") as out:
        out.write(forged.line() + "\n")
    other = aims_cli("evidence", "verify", "--witnesses")
    assert other.code == 1
    assert f"is signed by another key ({stranger.key_id}, not the witness key" in other.err
    assert "DISAGREES git (" in other.err

    ahead = h.key.sign(seq + 5, "f" * 64, iso(T0 + timedelta(hours=2)))
    h.slack.ports.client.chat_postMessage(channel=h.channel, text=ahead.line())
    newer = aims_cli("evidence", "verify", "--witnesses")
    assert newer.code == 1
    assert f"the checkpoint of row {seq + 5} made at" in newer.err
    assert f"is newer than the ledger head (row {seq})" in newer.err

    shutil.rmtree(h.repo)
    gone = aims_cli("evidence", "verify", "--witnesses")
    assert gone.code == 1
    assert "UNREACHABLE git (" in gone.err and "not verified" in gone.err
    assert "git" not in [line for line in gone.out.splitlines() if "agree" in line]

    # the pack: checked under a key the auditor was given, not the pack's own
    write_audit_pack(h.app, tmp_path / "pack.zip")
    check = pack_verifier(h, tmp_path, "--public-key", stranger.public_text())
    assert check.returncode == 1
    assert "witness/public_key.txt is not the public key you were given" in check.stdout
    assert "is signed by another key" in check.stdout


def test_the_pack_names_a_signed_checkpoint_newer_than_its_head(world, tmp_path):
    h = world
    h.worker_pass()
    seq, _ = h.head()
    write_audit_pack(h.app, tmp_path / "pack.zip")
    directory = Pack(tmp_path / "pack.zip").extract(tmp_path / "unpacked")
    good = subprocess.run(
        [sys.executable, "-I", str(directory / "evidence" / "verify_ledger.py")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert good.returncode == 0, good.stdout + good.stderr
    assert f"1 checkpoint(s) signed by key {h.key.key_id} agree" in good.stdout
    bare = subprocess.run(  # an auditor without the cryptography package
        [sys.executable, "-I", "-S", str(directory / "evidence" / "verify_ledger.py")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bare.returncode == 0, bare.stdout + bare.stderr
    assert "NOTE: signatures NOT checked: install the cryptography package" in bare.stdout
    ahead = h.key.sign(seq + 3, "e" * 64, iso(T0 + timedelta(hours=1)))
    name = "witness/checkpoints.jsonl"
    content = (directory / name).read_bytes() + (
        json.dumps({"row": seq + 4, **ahead.as_dict()}, sort_keys=True) + "\n"
    ).encode()
    (directory / name).write_bytes(content)
    manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    for entry in manifest["files"]:
        if entry["path"] == name:
            entry.update(sha256=hashlib.sha256(content).hexdigest(), bytes=len(content))
    (directory / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    check = subprocess.run(
        [sys.executable, "-I", str(directory / "evidence" / "verify_ledger.py")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert check.returncode == 1
    assert f"FAILED: the checkpoint of row {seq + 3} made at" in check.stdout
    assert f"is newer than the ledger head (row {seq})" in check.stdout


def test_a_checkpoint_made_by_hand_is_posted_at_once(world, aims_cli):
    h = world
    seq, _ = h.head()
    made = aims_cli("evidence", "witness", "checkpoint")
    assert made.code == 0, made.all
    assert f"checkpoint of row {seq} signed with key {h.key.key_id}" in made.out
    assert "queued for slack, jira, git; 3 posted" in made.out
    assert len(h.slack_lines()) == len(h.git_lines()) == 1
    assert aims_cli("evidence", "verify", "--witnesses").code == 0


def test_a_checkpoint_deleted_at_a_witness_is_named(world, aims_cli):
    """Someone removes the evidence outside the database: a line of the git file, a Slack
    message. What the outbox delivered to a witness must still be there when it is read back."""
    h = world
    h.worker_pass()
    h.clock.advance(days=1)
    h.worker_pass()
    first, second = h.git_lines()
    (h.repo / "aims-checkpoints.txt").write_text(second + "\n", encoding="ascii")
    workspace = h.slack.sandbox.workspace
    gone = next(m for m in workspace.messages[h.channel] if "aims-checkpoint/1;" in m.text)
    workspace.delete(h.channel, gone.ts)  # as chat.delete or an admin does

    checked = aims_cli("evidence", "verify", "--witnesses")
    assert checked.code == 1, checked.all
    seq = first.split("seq=")[1].split(";")[0]
    assert f"the checkpoint of row {seq} made at" in checked.err
    assert checked.err.count("was posted to this witness and is no longer there") == 2
    assert "jira (Jira issue AIMS-1): 2 checkpoint(s) agree" in checked.out
