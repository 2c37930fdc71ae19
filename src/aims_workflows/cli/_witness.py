"""``aims evidence witness key | checkpoint`` and the ``--witnesses`` half of ``aims evidence
verify``: signed checkpoints of the ledger head, posted outside the database."""

from __future__ import annotations

from typing import Any

import typer

__all__ = ["register", "check_witnesses"]


def register(evidence: typer.Typer) -> None:
    from ._group import command_group

    witness = command_group("Signed checkpoints of the ledger head, kept outside the database.")
    evidence.add_typer(witness, name="witness")

    @witness.command("key")
    def key() -> None:
        """Print the public half of the witness key, to hand to the auditor (the private key
        file is never printed)."""
        from ..config import Settings
        from ..witness_schedule import load_witness_key
        from ._output import console, write

        settings = Settings()
        loaded = load_witness_key(settings)
        write(loaded.public_text())
        console().print(
            f"key id {loaded.key_id}; give this line to your auditor by a channel other than the "
            "audit pack (`--public-key` of the pack's verifier and of `aims evidence verify`)"
        )

    @witness.command("checkpoint")
    def checkpoint() -> None:
        """Make a checkpoint now (without waiting for the worker's schedule) and post it."""
        from ..witness_schedule import load_witness_key
        from ._context import open_cli_app
        from ._output import err_console, ok

        app_ = open_cli_app()
        from ..witness_schedule import witness_targets

        targets = witness_targets(app_.settings, app_.config)
        if not targets:
            err_console().print(
                "[red]no witness is configured[/]: add witness: with slack_channel, jira_issue "
                "or git_dir to aims.yaml, or set AIMS_WITNESS_TSA_URL"
            )
            raise typer.Exit(1)
        from ..runtime.witness import make_checkpoint

        key_ = load_witness_key(app_.settings)
        with app_.db.begin() as conn:
            made = make_checkpoint(conn, key_, targets, app_.runtime.clock.now())
        report = app_.dispatcher.pump()
        ok(
            f"checkpoint of row {made.head_seq} signed with key {made.key_id}, queued for "
            f"{', '.join(targets)}; {report.done} posted, {report.retried} to retry"
        )


def check_witnesses(app_: Any, public_key_text: str | None) -> bool:
    """Fetch every configured witness's checkpoints and compare them with the database; print
    one line per witness. True when every one was reached and agrees."""
    from rich.markup import escape

    from ..adapters.witness import WitnessUnreachable
    from ..engine.checkpoints import read_public_key
    from ..errors import ConfigError
    from ..runtime.witness import Unreachable, compare
    from ..witness_schedule import load_witness_key
    from ._output import console, err_console

    if public_key_text:
        try:
            public = read_public_key(public_key_text)
        except ValueError as err:
            raise ConfigError(
                str(err), hint="pass the line `aims evidence witness key` printed"
            ) from None
    else:
        public = load_witness_key(app_.settings).public_bytes
    from ..witness_schedule import witness_targets

    poster = app_.witness
    found: dict[str, Any] = {}
    for name in witness_targets(app_.settings, app_.config):
        if name == "tsa":
            found[name] = _tsa_witness(app_)
            continue
        if name not in poster.names():
            found[name] = Unreachable(
                f"{name} is named in aims.yaml but this process has no {name} connection "
                "(set its AIMS_ settings)"
            )
            continue
        try:
            found[name] = poster.fetch(name)
        except WitnessUnreachable as err:
            found[name] = Unreachable(str(err))
    if not found:
        err_console().print(
            "[red]no witness is configured[/]: nothing outside the database vouches for the "
            "chain (add witness: to aims.yaml, or set AIMS_WITNESS_TSA_URL)"
        )
        return False
    with app_.db.connect() as conn:
        report = compare(conn, public, found)
    for finding in report.findings:
        where = (
            "the ledger's own checkpoint rows"
            if finding.witness == "ledger"
            else (poster.where(finding.witness))
        )
        if finding.unreachable:
            err_console().print(
                f"[bold red]UNREACHABLE[/] {finding.witness} ({escape(where)}): "
                f"{escape(finding.unreachable)}; not verified"
            )
        elif finding.problem:
            err_console().print(
                f"[bold red]DISAGREES[/] {finding.witness} ({escape(where)}): "
                f"{escape(finding.problem)}"
            )
        elif finding.checkpoints == 0 and finding.witness == "ledger":
            console().print(
                "- ledger: holds no checkpoint yet (the worker makes one every "
                f"{escape(app_.config.witness.every)} once a witness is configured)"
            )
        elif finding.checkpoints == 0:
            err_console().print(
                f"[bold red]EMPTY[/] {finding.witness} ({escape(where)}): holds no checkpoint, "
                "so it vouches for nothing yet"
            )
        else:
            console().print(
                f"[green]✓[/] {finding.witness} ({escape(where)}): {finding.checkpoints} "
                "checkpoint(s) agree with the database"
            )
    first = report.first_problem()
    if first is not None and first.first_bad is not None:
        err_console().print(
            f"[bold red]first checkpoint that disagrees:[/] {first.first_bad.describe()} "
            f"(at {first.witness})"
        )
    return report.ok and all(f.checkpoints > 0 for f in report.findings if f.witness != "ledger")


def _tsa_witness(app_: Any) -> Any:
    """The TSA's tokens in the ledger, checked against the configured TSA CA (the TSA itself is
    not asked: its tokens are checked where they are kept)."""
    from ..adapters.tsa import trusted_certificates
    from ..runtime.timestamps import tsa_witness
    from ..runtime.witness import Unreachable

    trusted = trusted_certificates(app_.settings.witness_tsa_ca)
    with app_.db.connect() as conn:
        try:
            return tsa_witness(conn, trusted)
        except ImportError:
            return Unreachable(
                "the tokens cannot be checked: the rfc3161-client package is not installed "
                "(pip install 'aims-workflows[tsa]')"
            )
