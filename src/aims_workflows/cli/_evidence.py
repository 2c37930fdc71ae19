"""``aims evidence verify | list`` and ``aims kpi``."""

from __future__ import annotations

import typer

from ._group import command_group
from ._listing import FormatOption, ListFormat

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    evidence = command_group("The hash-chained evidence ledger.")
    app.add_typer(evidence, name="evidence")

    @evidence.command("verify", short_help="Recompute the hash chain; name the first broken row.")
    def verify(
        witnesses: bool = typer.Option(
            False,
            "--witnesses",
            help="also fetch the signed checkpoints posted outside the database and compare",
        ),
        public_key: str | None = typer.Option(
            None,
            "--public-key",
            help="the witness public key as `aims evidence witness key` printed it "
            "(default: the key file's public half)",
        ),
    ) -> None:
        """Recompute the hash chain; exit 1 and name the first broken row on any tampering.

        With --witnesses, also read back the checkpoints posted to Slack, Jira and git and fail
        when the database disagrees with any of them, naming the first that disagrees."""
        from rich.markup import escape

        from ..store import ledger
        from ._context import open_cli_app
        from ._output import console, err_console, ok

        app_ = open_cli_app()
        with app_.db.connect() as conn:
            report = ledger.verify(conn)
        if report.ok:
            ok(f"evidence chain verified: {report.rows} rows, head #{report.head_seq}")
        else:
            err_console().print(
                f"[bold red]evidence chain BROKEN at row {report.first_bad_seq}[/]: "
                f"{escape(report.problem or '')}"
            )
            console().print(f"checked {report.rows} rows before stopping")
        witnessed = True
        if witnesses:
            from ._witness import check_witnesses

            witnessed = check_witnesses(app_, public_key)
        if not report.ok or not witnessed:
            raise typer.Exit(1)

    from ._witness import register as register_witness

    register_witness(evidence)

    @evidence.command("list")
    def list_(
        run: str | None = typer.Option(None, "--run", help="only this run"),
        kind: str | None = typer.Option(
            None, "--kind", help="only this kind, e.g. approval.decided"
        ),
        limit: int = typer.Option(50, "--limit", min=1, help="newest N rows"),
        as_json: bool = typer.Option(False, "--json", help="JSON lines with every field and hash"),
        fmt: FormatOption = ListFormat.table,
    ) -> None:
        """Ledger rows (newest last)."""
        import json

        from ..engine.evidence_kinds import EVIDENCE_KINDS, close_kinds
        from ..kpi.timeline import describe
        from ..store import ledger
        from ._context import open_cli_app
        from ._listing import Column, emit
        from ._output import write

        app_ = open_cli_app()
        with app_.db.connect() as conn:
            rows = list(ledger.iter_rows(conn, run_id=run, kind=kind))[-limit:]
        if kind is not None and not rows and kind not in EVIDENCE_KINDS:
            # a misspelt kind would otherwise read as "nothing of that kind happened"
            close = close_kinds(kind)
            hint = (
                f"did you mean {' or '.join(close)}?"
                if close
                else "`aims schema --evidence` lists the kinds"
            )
            raise typer.BadParameter(
                f"'{kind}' is not an evidence kind: {hint}", param_hint="--kind"
            )
        if as_json:
            for row in rows:
                write(
                    json.dumps(
                        {**row.__dict__, "payload": json.loads(row.payload)}, ensure_ascii=False
                    )
                )
        else:
            emit(
                [
                    Column("seq", "#", 0),
                    Column("at", "at", 2),
                    Column("kind", "kind", 1),
                    Column("run", "run", 0),
                    Column("what", "what", 1),
                    Column("hash", "hash", 3),
                ],
                [
                    {
                        "seq": str(row.seq),
                        "at": row.effective_at[:16].replace("T", " "),
                        "kind": row.kind,
                        "run": row.run_id or "-",
                        "what": describe(row),
                        "hash": row.hash[:10] if fmt is ListFormat.table else row.hash,
                    }
                    for row in rows
                ],
                fmt,
                empty="no ledger rows",
            )

    from . import _kpi

    _kpi.register(app)  # aims kpi
