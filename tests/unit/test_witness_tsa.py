"""An RFC 3161 time-stamp authority as a witness of the ledger checkpoints.

The loopback TSA (``aims_workflows.sandbox.tsa``) answers real ``TimeStampResp`` DER over HTTP,
signed by a test CA it generates, behind basic authentication; the worker's pass (``App.pump``,
injected clock) timestamps each checkpoint there with ``rfc3161-client`` and keeps the token in
the ledger, on a SQLite file and on PostgreSQL. Each way a TSA can fail (refusal, a token over
another digest, another request's nonce, unavailable, stopped) and each way the tokens can be
undermined later (a rewritten chain re-signed with a stolen key, a TSA nobody trusts) is named
by ``aims evidence verify --witnesses``, and the audit pack's verifier checks the tokens too."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import tsp
from export_world import Pack, drop_ledger_triggers
from sqlalchemy import select, text

from aims_workflows.app import open_app, shipped_workflows_dir
from aims_workflows.config import Settings
from aims_workflows.engine.chain_walk import FIELDS as LEDGER_COLUMNS
from aims_workflows.engine.checkpoints import Checkpoint
from aims_workflows.engine.evidence import chain_hash, iso
from aims_workflows.engine.evidence_kinds import canonical_json, evidence_payload, parse_evidence
from aims_workflows.export.pack import write_audit_pack
from aims_workflows.inventory import AISystemRecord
from aims_workflows.runtime.witness import WitnessKey
from aims_workflows.sandbox.tsa import SandboxAuthority, TsaSandbox
from aims_workflows.store import ledger
from aims_workflows.store.models import OutboxItem
from aims_workflows.testing import ManualClock
from conftest import cli_environment, run_aims

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
USER, PASSWORD = "aims-ledger", "tsa-pass-7f3a9c"
OWNER = "olga@example.com"
HASHED = list(LEDGER_COLUMNS[:-1])  # what a row's hash covers


@dataclass
class Stamped:
    app: Any
    clock: ManualClock
    tsa: TsaSandbox
    key: WitnessKey
    ca_file: Path
    env: dict[str, str]

    def worker_pass(self) -> Any:
        return self.app.pump()

    def head(self) -> tuple[int, str]:
        with self.app.db.connect() as conn:
            return ledger.head(conn)

    def rows(self, kind: str) -> list[Any]:
        with self.app.db.connect() as conn:
            return list(ledger.iter_rows(conn, kind=kind))

    def tsa_posts(self) -> list[tuple[str, str | None]]:
        table = OutboxItem.__table__
        with self.app.db.connect() as conn:
            return [
                (status, error)
                for payload, status, error in conn.execute(
                    select(table.c.payload, table.c.status, table.c.last_error).where(
                        table.c.kind == "witness.post"
                    )
                )
                if json.loads(payload)["witness"] == "tsa"
            ]


@pytest.fixture
def world(database, db_url, tmp_path) -> Iterator[Stamped]:
    clock = ManualClock(T0)
    tsa = TsaSandbox(clock=clock.now, credentials=(USER, PASSWORD))
    ca_file = tmp_path / "tsa-ca.pem"
    ca_file.write_bytes(tsa.authority.ca_pem())
    config = tmp_path / "aims.yaml"
    config.write_text(
        f"organisation: Example Bank\nroles:\n  aims_owner: [{OWNER}]\nwitness:\n  every: 1d\n",
        encoding="utf-8",
    )
    key = WitnessKey.create(tmp_path / "aims-witness.key")
    with tsa:
        env = {
            "AIMS_DATABASE_URL": db_url,
            "AIMS_CONFIG": str(config),
            "AIMS_WORKFLOWS": str(shipped_workflows_dir()),
            "AIMS_WITNESS_TSA_URL": tsa.url,
            "AIMS_WITNESS_TSA_CA": str(ca_file),
            "AIMS_WITNESS_TSA_USERNAME": USER,
            "AIMS_WITNESS_TSA_PASSWORD": PASSWORD,
        }
        settings = Settings(
            database_url=db_url,
            config=config,
            workflows=shipped_workflows_dir(),
            witness_tsa_url=tsa.url,
            witness_tsa_ca=ca_file,
            witness_tsa_username=USER,
            witness_tsa_password=PASSWORD,  # type: ignore[arg-type]
        )
        app = open_app(settings, clock=clock)
        app.inventory.add(AISystemRecord(name="Support chatbot", owner=OWNER, risk_tier="limited"))
        try:
            yield Stamped(app, clock, tsa, key, ca_file, env)
        finally:
            app.db.dispose()


@pytest.fixture
def aims_cli(world, monkeypatch, capsys):
    cli_environment(monkeypatch)
    for name, value in world.env.items():
        monkeypatch.setenv(name, value)

    def run(*args: str):
        return run_aims(capsys, *args)

    return run


def said(result) -> str:
    """What a command printed on standard error, with the console's line wrapping undone."""
    return " ".join(result.err.split())


def signed_bytes(checkpoint: Checkpoint) -> bytes:
    return Checkpoint.message(checkpoint.head_seq, checkpoint.head_hash, checkpoint.at)


def test_each_checkpoint_is_timestamped_at_the_tsa_and_verified(world, aims_cli, caplog):
    h = world
    seq, head_hash = h.head()
    made = h.worker_pass()
    assert made is not None
    [request_der] = h.tsa.requests
    request = tsp.TimeStampReq.load(request_der)
    [checkpoint_row] = h.rows("ledger.checkpoint")
    payload = json.loads(checkpoint_row.payload)
    checkpoint = Checkpoint(seq, head_hash, iso(T0), payload["key_id"], payload["signature"])
    assert request["message_imprint"]["hash_algorithm"]["algorithm"].native == "sha256"
    assert request["message_imprint"]["hashed_message"].native == (
        hashlib.sha256(signed_bytes(checkpoint)).digest()
    )
    assert request["cert_req"].native is True and request["nonce"].native is not None

    [stamp] = h.rows("ledger.timestamp")
    assert canonical_json(evidence_payload(parse_evidence(stamp.kind, stamp.payload))) == (
        stamp.payload
    )
    token = json.loads(stamp.payload)
    assert token["head_seq"] == seq and token["head_hash"] == head_hash
    assert token["gen_time"] == "2026-03-02T09:00:00Z" and token["serial"] == 1
    answer = tsp.TimeStampResp.load(base64.b64decode(token["token"]))
    tst_info = answer["time_stamp_token"]["content"]["encap_content_info"]["content"].parsed
    assert tst_info["nonce"].native == request["nonce"].native
    assert token["tsa"] == h.tsa.url and PASSWORD not in stamp.payload

    verified = aims_cli("evidence", "verify", "--witnesses")
    assert verified.code == 0, verified.all
    assert f"tsa (the time-stamp authority {h.tsa.url}): 1 checkpoint(s) agree" in verified.out
    assert PASSWORD not in verified.all + caplog.text

    h.clock.advance(days=1)
    h.worker_pass()
    assert len(h.rows("ledger.timestamp")) == 2 and len(h.tsa.requests) == 2
    again = aims_cli("evidence", "verify", "--witnesses")
    assert again.code == 0 and "2 checkpoint(s) agree" in again.out
    by_hand = aims_cli("evidence", "witness", "checkpoint")  # the TSA alone is a witness
    assert by_hand.code == 0 and "queued for tsa; 1 posted" in by_hand.out, by_hand.all
    assert len(h.rows("ledger.timestamp")) == 3


@pytest.mark.parametrize(
    ("fault", "named"),
    [
        ("rejection", "the TSA refused to timestamp the checkpoint of row {seq} made at {at}"),
        ("wrong_imprint", "the timestamp token of the checkpoint of row {seq} made at {at} stamps"),
        ("wrong_nonce", "the timestamp token of the checkpoint of row {seq} made at {at} answers"),
    ],
)
def test_a_tsa_answer_that_does_not_vouch_for_the_checkpoint_is_refused(
    world, aims_cli, fault, named
):
    h = world
    seq, _ = h.head()
    h.tsa.fail(fault)
    h.worker_pass()
    assert h.rows("ledger.checkpoint") and not h.rows("ledger.timestamp")
    [(status, error)] = h.tsa_posts()
    assert status == "dead" and named.format(seq=seq, at=iso(T0)) in str(error)
    checked = aims_cli("evidence", "verify", "--witnesses")
    assert checked.code == 1, checked.all
    assert "DISAGREES tsa (the time-stamp authority" in checked.err
    assert f"the checkpoint of row {seq} made at {iso(T0)} has no timestamp" in said(checked)
    assert named.format(seq=seq, at=iso(T0)) in said(checked)
    # the outbox is no evidence: with the dead command deleted, the checkpoint's row still says
    # the TSA was to timestamp it
    with h.app.db.begin() as conn:
        conn.execute(text("DELETE FROM outbox WHERE kind = 'witness.post'"))
    cleared = aims_cli("evidence", "verify", "--witnesses")
    assert cleared.code == 1, cleared.all
    assert (
        f"the checkpoint of row {seq} made at {iso(T0)} has no timestamp: the ledger holds no "
        "token for it"
    ) in said(cleared)


@pytest.mark.parametrize("how", ["unavailable", "stopped"])
def test_an_unreachable_tsa_is_reported_unreachable_and_retried(world, aims_cli, how):
    h = world
    seq, _ = h.head()
    if how == "stopped":
        h.tsa.stop()
    else:
        h.tsa.fail("unavailable")
    h.worker_pass()
    [(status, error)] = h.tsa_posts()
    assert status == "pending" and "TSA at" in str(error)
    checked = aims_cli("evidence", "verify", "--witnesses")
    assert checked.code == 1, checked.all
    assert "UNREACHABLE tsa (the time-stamp authority" in checked.err
    assert f"the checkpoint of row {seq} made at {iso(T0)} has no timestamp yet" in said(checked)
    assert "not verified" in checked.err and "tsa (" not in checked.out  # never "agree"

    if how == "stopped":
        h.tsa.start()  # the same port: the configured URL reaches it again
    h.tsa.fail(None)
    h.clock.advance(hours=1)  # past the outbox's back-off
    h.app.dispatcher.pump()
    assert h.tsa_posts() == [("done", None)]
    assert aims_cli("evidence", "verify", "--witnesses").code == 0


def test_a_tsa_certificate_without_the_time_stamping_usage_is_refused(world):
    h = world
    h.tsa.authority = SandboxAuthority(time_stamping_eku=False)
    h.ca_file.write_bytes(h.tsa.authority.ca_pem())
    h.app.witness.tsa_client().trusted_pem = h.tsa.authority.ca_pem()
    h.worker_pass()
    [(status, error)] = h.tsa_posts()
    assert status == "dead" and "not signed by a trusted time-stamp authority" in str(error)
    assert "unsuitable certificate purpose" in str(error)


def test_tokens_checked_against_a_ca_that_did_not_issue_the_tsa_are_refused(
    world, aims_cli, tmp_path, monkeypatch
):
    h = world
    seq, _ = h.head()
    h.worker_pass()
    stranger = tmp_path / "other-ca.pem"
    stranger.write_bytes(SandboxAuthority(name="another TSA").ca_pem())
    monkeypatch.setenv("AIMS_WITNESS_TSA_CA", str(stranger))
    checked = aims_cli("evidence", "verify", "--witnesses")
    assert checked.code == 1, checked.all
    assert (
        f"DISAGREES tsa (the time-stamp authority {h.tsa.url}): the timestamp token of the "
        f"checkpoint of row {seq} made at {iso(T0)} is not signed by a trusted time-stamp "
        "authority"
    ) in said(checked)
    monkeypatch.setenv("AIMS_WITNESS_TSA_CA", str(tmp_path / "missing.pem"))
    missing = aims_cli("evidence", "verify", "--witnesses")
    assert missing.code == 1 and "cannot read the TSA CA file" in missing.err
    assert "Traceback" not in missing.all


def rewrite_and_resign(db, key: WitnessKey, from_seq: int) -> None:
    """What someone with the database and the witness key does: edit a row, recompute every
    hash after it, and sign the checkpoints again over the new hashes. Only the TSA's tokens,
    signed by a key they do not have, still hold the old digests."""
    drop_ledger_triggers(db)
    with db.begin() as conn:
        rows = [
            dict(r) for r in conn.execute(text("SELECT * FROM evidence ORDER BY seq")).mappings()
        ]
        hashes = {r["seq"]: r["hash"] for r in rows}
        prev = hashes[from_seq - 1] if from_seq > 1 else "0" * 64
        for row in rows[from_seq - 1 :]:
            if row["seq"] == from_seq:
                row["actor"] = "mallory@example.com"
            if row["kind"] in ("ledger.checkpoint", "ledger.timestamp"):
                payload = json.loads(row["payload"])
                signed = key.sign(payload["head_seq"], hashes[payload["head_seq"]], payload["at"])
                payload.update(head_hash=signed.head_hash, signature=signed.signature)
                row["payload"] = canonical_json(payload)
            row["prev_hash"] = prev
            row["hash"] = chain_hash(**{k: row[k] for k in HASHED})
            hashes[row["seq"]] = row["hash"]
            conn.execute(
                text(
                    "UPDATE evidence SET actor = :actor, payload = :payload, "
                    "prev_hash = :prev_hash, hash = :hash WHERE seq = :seq"
                ),
                row,
            )
            prev = row["hash"]
        conn.execute(text("UPDATE ledger_head SET hash = :hash WHERE id = 1"), {"hash": prev})


def test_a_chain_rewritten_and_re_signed_with_a_stolen_key_is_named_by_the_tsa(world, aims_cli):
    h = world
    seq, _ = h.head()
    h.worker_pass()
    rewrite_and_resign(h.app.db, h.key, 2)
    with h.app.db.connect() as conn:
        assert ledger.verify(conn).ok  # the chain alone shows nothing
    checked = aims_cli("evidence", "verify", "--witnesses")
    assert checked.code == 1, checked.all
    # re-signed with the stolen key, the ledger's own checkpoints agree with the rewrite
    assert "ledger (the ledger's own checkpoint rows): 1 checkpoint(s) agree" in checked.out
    assert (
        f"DISAGREES tsa (the time-stamp authority {h.tsa.url}): the timestamp token of the "
        f"checkpoint of row {seq} made at {iso(T0)} stamps digest"
    ) in said(checked)
    assert "the checkpoint is not the one the TSA saw" in said(checked)


def run_pack_verifier(directory: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-I", *args, str(directory / "evidence" / "verify_ledger.py")],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_audit_pack_carries_the_tokens_and_the_tsa_chain(world, tmp_path):
    h = world
    seq, _ = h.head()
    h.worker_pass()
    h.clock.advance(days=1)
    h.worker_pass()
    write_audit_pack(h.app, tmp_path / "pack.zip")
    directory = Pack(tmp_path / "pack.zip").extract(tmp_path / "unpacked")
    lines = (directory / "witness" / "timestamps.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2 and json.loads(lines[0])["head_seq"] == seq
    chain = (directory / "witness" / "tsa-certificates.pem").read_text(encoding="ascii")
    assert chain.count("BEGIN CERTIFICATE") == 2
    trusted = (directory / "witness" / "tsa-ca.pem").read_bytes()
    assert trusted == h.tsa.authority.ca_pem()

    good = run_pack_verifier(directory)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "OK: 2 timestamp token(s) by a trusted TSA vouch for their checkpoints" in good.stdout
    assert "NOTE: the TSA CA is the pack's own witness/tsa-ca.pem" in good.stdout
    bare = run_pack_verifier(directory, "-S")  # an auditor without rfc3161-client
    assert bare.returncode == 0, bare.stdout + bare.stderr
    assert "NOTE: 2 timestamp token(s) NOT checked: install rfc3161-client" in bare.stdout

    # the auditor's own copy of another CA: the tokens are not by a TSA it trusts
    other = tmp_path / "auditor-ca.pem"
    other.write_bytes(SandboxAuthority(name="another TSA").ca_pem())
    refused = subprocess.run(
        [
            sys.executable,
            "-I",
            str(directory / "evidence" / "verify_ledger.py"),
            "--tsa-ca",
            str(other),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 1
    assert (
        f"FAILED: the timestamp token of the checkpoint of row {seq} made at {iso(T0)} is not "
        "signed by a trusted time-stamp authority"
    ) in refused.stdout


def test_the_pack_names_a_timestamped_checkpoint_its_token_does_not_vouch_for(world, tmp_path):
    h = world
    h.worker_pass()
    write_audit_pack(h.app, tmp_path / "pack.zip")
    directory = Pack(tmp_path / "pack.zip").extract(tmp_path / "unpacked")
    name = "witness/timestamps.jsonl"
    entry = json.loads((directory / name).read_text(encoding="utf-8"))
    entry["at"] = iso(T0 + timedelta(minutes=5))
    content = (json.dumps(entry, sort_keys=True) + "\n").encode()
    (directory / name).write_bytes(content)
    manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    for item in manifest["files"]:
        if item["path"] == name:
            item.update(sha256=hashlib.sha256(content).hexdigest(), bytes=len(content))
    (directory / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    check = run_pack_verifier(directory)
    assert check.returncode == 1
    assert "stamps digest" in check.stdout and "FAILED: the timestamp token of" in check.stdout


def test_an_unreadable_tsa_ca_fails_the_timestamp_not_the_process(world, tmp_path):
    """The TSA's settings are read when a checkpoint is first timestamped: the rest of the
    worker's pass (and every other command) goes on, and the posting says what is wrong."""
    h = world
    settings = h.app.settings.model_copy(update={"witness_tsa_ca": tmp_path / "missing.pem"})
    app = open_app(settings, clock=h.clock)
    try:
        app.pump()
        [(status, error)] = h.tsa_posts()
        assert status == "pending" and f"cannot read the TSA CA file {tmp_path}" in str(error)
        assert not h.tsa.requests and PASSWORD not in str(error)
    finally:
        app.db.dispose()


def test_the_tsa_is_asked_in_its_own_media_type_and_wrong_credentials_are_named():
    """No database: the client and the sandbox over HTTP. The sandbox refuses any other media
    type (as TSAs do); a wrong password is named as refused credentials, never echoed."""
    import httpx

    from aims_workflows.adapters.tsa import TsaClient
    from aims_workflows.errors import PermanentError

    with TsaSandbox(clock=lambda: T0, credentials=(USER, PASSWORD)) as tsa:
        plain = httpx.post(tsa.url, content=b"x", auth=(USER, PASSWORD))
        assert plain.status_code == 415 and not tsa.requests
        wrong = TsaClient(tsa.url, tsa.authority.ca_pem(), auth=(USER, "not-the-password"))
        with pytest.raises(PermanentError) as refused:
            wrong.stamp(b"checkpoint bytes", "the checkpoint")
        assert "refused the credentials (HTTP 401)" in str(refused.value)
        assert "not-the-password" not in str(refused.value) + repr(wrong)
        right = TsaClient(tsa.url, tsa.authority.ca_pem(), auth=(USER, PASSWORD))
        assert right.stamp(b"checkpoint bytes", "the checkpoint").gen_time == "2026-03-02T09:00:00Z"
