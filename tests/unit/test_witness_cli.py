"""The witness key from `aims init` to `aims evidence witness key`, and the errors around it:
a missing or unreadable key, no witness configured, a malformed public key. None of them prints
the private key or a traceback."""

from __future__ import annotations

import stat
from datetime import timedelta

from aims_workflows.config import Settings
from aims_workflows.runtime.witness import WitnessKey


def test_init_creates_the_key_once_and_prints_only_its_public_half(aims, tmp_path):
    made = aims("init")
    assert made.code == 0, made
    path = tmp_path / "aims-witness.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key = WitnessKey.load(path)
    assert key.public_text() in made.out
    secret = path.read_text(encoding="ascii")
    assert "PRIVATE KEY" in secret and "PRIVATE" not in made.all
    again = aims("init")
    assert again.code == 0 and "witness key" in again.out and "exists (kept)" in again.out
    assert path.read_text(encoding="ascii") == secret  # never replaced
    shown = aims("evidence", "witness", "key")
    assert shown.code == 0 and shown.out.splitlines()[0] == key.public_text()


def test_a_key_supplied_by_path_is_used(aims, tmp_path, monkeypatch):
    elsewhere = tmp_path / "keys"
    elsewhere.mkdir()
    key = WitnessKey.create(elsewhere / "signing.key")
    monkeypatch.setenv("AIMS_WITNESS_KEY", str(elsewhere / "signing.key"))
    assert Settings().witness_key_path() == elsewhere / "signing.key"
    made = aims("init")
    assert made.code == 0 and "exists (kept)" in made.out
    assert not (tmp_path / "aims-witness.key").exists()
    assert key.public_text() in aims("evidence", "witness", "key").out


def test_a_missing_or_unreadable_key_is_a_clear_error(aims, tmp_path, monkeypatch):
    assert aims("init").code == 0
    (tmp_path / "aims-witness.key").unlink()
    missing = aims("evidence", "witness", "key")
    assert missing.code == 1 and "does not exist" in missing.err and "aims init" in missing.err
    (tmp_path / "aims-witness.key").write_text("-----BEGIN SOMETHING-----\nsecret-ish\n")
    broken = aims("evidence", "witness", "key")
    assert broken.code == 1 and "is not an unencrypted PEM Ed25519 private key" in broken.err
    assert "secret-ish" not in broken.all


def test_verify_with_witnesses_but_none_configured_fails(aims, tmp_path):
    assert aims("init").code == 0
    checked = aims("evidence", "verify", "--witnesses")
    assert checked.code == 1
    assert "evidence chain verified" in checked.out
    assert "no witness is configured" in checked.err
    bad_key = aims("evidence", "verify", "--witnesses", "--public-key", "not-a-key")
    assert bad_key.code == 1
    assert "64 hex digits" in bad_key.err


def test_a_witness_that_is_not_reachable_from_this_process_is_unreachable(aims, tmp_path):
    assert aims("init").code == 0
    with (tmp_path / "aims.yaml").open("a", encoding="utf-8") as out:
        out.write("witness:\n  slack_channel: C0123456789\n  git_dir: nowhere\n")
    checked = aims("evidence", "verify", "--witnesses")
    assert checked.code == 1
    assert "UNREACHABLE slack" in checked.err and "no slack connection" in checked.err
    assert "UNREACHABLE git" in checked.err and "does not exist" in checked.err
    assert "agree" not in checked.out


def test_the_worker_goes_on_without_a_key_and_checkpoints_once_it_has_one(
    harness, tmp_path, caplog
):
    from aims_workflows.app import open_app

    h = harness
    repo = tmp_path / "witness"
    repo.mkdir()
    with h.config_path.open("a", encoding="utf-8") as out:
        out.write(f"witness:\n  every: 12h\n  git_dir: {repo}\n")
    h.add_system("Chatbot")
    app = open_app(h.app.settings, clock=h.clock, tracker=h.tracker, approvals=h.approvals)
    assert app.checkpoint_if_due() is None
    assert "no ledger checkpoint made" in caplog.text and "aims init" in caplog.text
    app.pump()  # the worker's pass carries on
    WitnessKey.create(app.settings.witness_key_path())
    made = app.checkpoint_if_due()
    assert made is not None and app.checkpoint_if_due() is None
    app.dispatcher.pump()
    assert (repo / "aims-checkpoints.txt").read_text(encoding="ascii") == made.line() + "\n"
    h.clock.advance(hours=12)
    assert app.checkpoint_if_due() is not None
    app.db.dispose()


def test_two_workers_at_the_same_moment_make_one_checkpoint(harness, tmp_path):
    """Two worker processes share the database; each pass asks for the daily checkpoint."""
    from threading import Barrier, Thread

    from aims_workflows.runtime import witness
    from aims_workflows.store import ledger

    h = harness
    h.add_system("Chatbot")
    key = WitnessKey.create(tmp_path / "k.key")
    other = open_app_like(h)
    barrier, made = Barrier(2), []

    def worker(db):
        barrier.wait()
        made.append(witness.checkpoint_if_due(db, key, ["git"], DAY, h.clock.now()))

    threads = [Thread(target=worker, args=(db,)) for db in (h.app.db, other.db)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(m is None for m in made) == [False, True]
    with h.app.db.connect() as conn:
        assert len(list(ledger.iter_rows(conn, kind="ledger.checkpoint"))) == 1
    other.db.dispose()


DAY = timedelta(days=1)


def open_app_like(h):
    from aims_workflows.app import open_app

    return open_app(h.app.settings, clock=h.clock, tracker=h.tracker, approvals=h.approvals)


def test_aims_worker_makes_the_checkpoint_when_due_and_posts_it(aims, tmp_path):
    """`aims worker` (not only App.pump) checkpoints the chain head on its schedule."""
    assert aims("init").code == 0
    (tmp_path / "witness").mkdir()
    with (tmp_path / "aims.yaml").open("a", encoding="utf-8") as out:
        out.write("witness:\n  every: 1d\n  git_dir: witness\n")
    ran = aims("worker", "--once")
    assert ran.code == 0, ran.all
    lines = (tmp_path / "witness" / "aims-checkpoints.txt").read_text("ascii").splitlines()
    assert len(lines) == 1 and lines[0].startswith("aims-checkpoint/1;seq=")
    again = aims("worker", "--once")
    assert again.code == 0, again.all
    assert len((tmp_path / "witness" / "aims-checkpoints.txt").read_text("ascii").splitlines()) == 1
    verified = aims("evidence", "verify", "--witnesses")
    assert verified.code == 0, verified.all
    assert "1 checkpoint(s) agree" in verified.out
