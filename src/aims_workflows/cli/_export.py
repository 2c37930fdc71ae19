"""``aims export soa | clauses | audit-pack``: what a certification auditor asks for."""

from __future__ import annotations

from pathlib import Path

import typer

from . import _export_oscal
from ._export_coverage import export_coverage
from ._export_options import ForceOut, Format, OutOrTerminal, Since, Until, period_from_options
from ._group import command_group

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    export = command_group(
        "Statement of Applicability, clause coverage, "
        "audit pack, OSCAL and the management review pack.",
        short_help="SoA, clause coverage, audit pack, OSCAL, management review pack.",
    )
    app.add_typer(export, name="export")
    _export_oscal.register(export)

    @export.command(
        "soa",
        short_help="Statement of Applicability: each Annex A control, its evidence and status.",
    )
    def soa(
        fmt: Format = "table",
        out: OutOrTerminal = None,
        since: Since = None,
        until: Until = None,
        force: ForceOut = False,
    ) -> None:
        """Statement of Applicability: each Annex A control, applicable or excluded (and why, from
        the `soa:` section of aims.yaml), how it is implemented, the workflows that evidence it,
        their runs and ledger rows in the period, and its status.

        An applicable control with no workflow and no implementation described is a GAP."""
        export_coverage("controls", fmt, out, since, until, force)

    @export.command("clauses", short_help="Clauses 4-10: the workflows and evidence behind each.")
    def clauses(
        fmt: Format = "table",
        out: OutOrTerminal = None,
        since: Since = None,
        until: Until = None,
        force: ForceOut = False,
    ) -> None:
        """Clauses 4-10: the workflows that evidence each clause (or one
        of its sub-clauses), their runs and ledger rows in the period."""
        export_coverage("clauses", fmt, out, since, until, force)

    @export.command(
        "audit-pack",
        short_help="One zip for the auditor: evidence, verifier, SoA, registers, manifest.",
    )
    def audit_pack(
        out: Path | None = typer.Option(
            None,
            "--out",
            help="zip file to write (default aims-audit-pack-DATE.zip; a directory puts it there)",
        ),
        since: Since = None,
        until: Until = None,
        force: bool = typer.Option(False, "--force", help="replace the file if it exists"),
        sample_seed: str | None = typer.Option(
            None,
            "--sample-seed",
            help="seed of the per-control samples (default: from the last exported row's hash)",
        ),
    ) -> None:
        """One zip for the auditor: the ledger rows of the period with a stand-alone verifier, the
        chain's verification, SoA, clause coverage, KPIs, inventory, runs, approvals, findings,
        tasks and the workflow texts runs used.

        manifest.json holds every file's SHA-256; the command prints the manifest's own hash, to
        send to the auditor separately.

        Exits 1 if the evidence chain is broken: the pack is still written, and marked."""
        from rich.markup import escape

        from ..export.pack import default_pack_name, write_audit_pack
        from ._context import open_cli_app
        from ._output import console, err_console, ok

        period = period_from_options(since, until)
        app_ = open_cli_app()
        now = app_.runtime.clock.now()
        target = out if out is not None else Path(default_pack_name(now))
        if target.is_dir():
            target = target / default_pack_name(now)
        if sample_seed is not None and not sample_seed.strip():
            raise typer.BadParameter("give a non-empty seed", param_hint="--sample-seed")
        result = write_audit_pack(
            app_, target, period=period, force=force, now=now, sample_seed=sample_seed
        )
        wrote = (
            f"wrote {escape(str(result.path))} ({result.size:,} bytes, {len(result.files)} files)"
            f" for {escape(period.label())}"
        )
        if result.chain.ok:
            ok(wrote)
        else:
            err_console().print(
                f"[bold red]✗[/] {wrote}, MARKED: the evidence chain is broken", soft_wrap=True
            )
        console().print(
            f"  ledger rows exported: {result.exported.rows}"
            + (
                f" (rows {result.exported.first_seq}-{result.exported.last_seq})"
                if result.exported.rows
                else ""
            )
        )
        gaps = result.soa.get("gaps") or []
        console().print(
            f"  SoA: {result.soa.get('implemented', 0)} of {result.soa.get('applicable', 0)} "
            f"applicable controls implemented with evidence; {len(gaps)} gap(s)"
        )
        console().print(
            f"  sample seed: [bold]{escape(result.sample_seed)}[/] (the pack's verifier re-draws "
            "the per-control samples from it); signed checkpoints in the pack: "
            f"{result.checkpoints}",
            soft_wrap=True,
        )
        # on a line of its own and never wrapped: people copy it into a message to the auditor
        console().print(
            f"  manifest.json SHA-256: [bold]{result.manifest_sha256}[/]", soft_wrap=True
        )
        console().print(
            "  send this hash to the auditor separately (not inside "
            "the pack): it shows the pack is the one exported",
            soft_wrap=True,
        )
        if not result.chain.ok:
            err_console().print(
                f"[bold red]evidence chain BROKEN at row {result.chain.first_bad_seq}[/]: "
                f"{escape(result.chain.problem or '')}\n"
                "the pack was written and marked (CHAIN-BROKEN.txt, index.html, manifest.json "
                "chain.ok = false)",
                soft_wrap=True,
            )
            raise typer.Exit(1)
        console().print(
            f"  evidence chain verified: {result.chain.rows_checked} rows, head "
            f"#{result.chain.head_seq}"
        )

    @export.command(
        "review-pack",
        short_help=(
            "Management review (9.3) input pack: figures with trends, and what people must add."
        ),
    )
    def review_pack(
        since: str | None = typer.Option(
            None,
            "--since",
            help=(
                "first day, YYYY-MM-DD (default: the day the last "
                "management review completed, or the whole history when there was none)"
            ),
        ),
        until: str | None = typer.Option(
            None, "--until", help="last day, YYYY-MM-DD (default: today)"
        ),
        out: Path | None = typer.Option(
            None,
            "--out",
            help=(
                "file to write (default aims-review-pack-DATE.md "
                "or .html; a directory puts it there)"
            ),
        ),
        fmt: str | None = typer.Option(
            None, "--format", help="md (default) or html; taken from --out's suffix when not given"
        ),
        force: bool = typer.Option(False, "--force", help="replace the file if it exists"),
        verify: bool = typer.Option(
            True,
            "--verify/--no-verify",
            help="verify the whole evidence chain (the pack says when it was skipped)",
        ),
        risk_threshold: float = typer.Option(
            10.0,
            "--risk-threshold",
            min=0,
            help="list accepted risks with a residual score of at least this",
        ),
    ) -> None:
        """The input pack top management reads before a management review (ISO/IEC 42001 clause
        9.3): the status of actions from previous reviews, KPIs at the start and end of the period,
        nonconformities and corrective actions, internal audits, risk and impact assessments,
        inventory changes and the ledger's integrity, each compared with the previous period of
        the same length.

        Inputs aims holds no data on (changes in issues and interested parties, external audits,
        opportunities for improvement) are left as sections for people to complete.

        Exits 1 if the evidence chain is broken: the pack is still written, and says so."""
        _review_pack(since, until, out, fmt, force, verify, risk_threshold)


def _review_pack(
    since: str | None,
    until: str | None,
    out: Path | None,
    fmt: str | None,
    force: bool,
    verify: bool,
    risk_threshold: float,
) -> None:
    from rich.markup import escape

    from ..export._files import check_target
    from ..export._snapshot import snapshot
    from ..export.review import (
        FORMATS,
        choose_period,
        default_review_name,
        gather_review,
        write_review,
    )
    from ._context import open_cli_app
    from ._output import console, err_console, ok

    if fmt is None:
        fmt = "html" if out is not None and out.suffix.lower() in (".html", ".htm") else "md"
    if fmt not in FORMATS:
        raise typer.BadParameter("must be md or html", param_hint="--format")
    period_from_options(since, until)  # the dates' form, before any work
    app_ = open_cli_app()
    now = app_.runtime.clock.now()
    target = out if out is not None else Path(default_review_name(now, fmt))
    if target.is_dir():
        target = target / default_review_name(now, fmt)
    with snapshot(app_.db) as conn:
        try:
            period = choose_period(conn, since, until, now)
        except ValueError as err:
            raise typer.BadParameter(str(err)) from None
        check_target(target, force=force)  # a wrong path fails before the long part
        pack = gather_review(
            app_, conn, period, now=now, verify=verify, risk_threshold=risk_threshold
        )
    size = write_review(pack, target, fmt, force=force)
    p = pack.period
    console().print(f"period: {escape(p.label())}, {escape(p.reason)}", soft_wrap=True)
    console().print(f"compared with: {escape(p.previous.label())}", soft_wrap=True)
    ok(f"wrote {escape(str(target))} ({size:,} bytes, {fmt})")
    a, n = pack.actions, pack.nonconformities
    figures = {f.label: f for f in a.figures + n.figures + pack.performance.kpis}
    console().print(
        f"  review actions: {figures['Review actions open'].value:.0f} open, "
        f"{figures['Review actions overdue'].value:.0f} overdue; nonconformities: "
        f"{figures['Nonconformities raised'].value:.0f} raised, "
        f"{figures['Nonconformities closed'].value:.0f} closed, "
        f"{figures['Nonconformities open'].value:.0f} open",
        soft_wrap=True,
    )
    console().print(
        "  section 7 is for people: changes in issues and interested "
        "parties, external audits, opportunities for improvement",
        soft_wrap=True,
    )
    for note in pack.performance.notes:
        err_console().print(f"[yellow]note:[/] {escape(note)}", soft_wrap=True)
    chain = pack.chain
    if chain.check is None:
        console().print(
            f"  evidence chain NOT verified (--no-verify); ledger head #{chain.head_seq}"
        )
    elif chain.check.ok:
        console().print(
            f"  evidence chain verified: {chain.check.rows_checked} rows, head #{chain.head_seq}"
        )
    else:
        err_console().print(
            f"[bold red]evidence chain BROKEN at row {chain.check.first_bad_seq}[/]: "
            f"{escape(chain.check.problem or '')}\nthe pack was written and says so",
            soft_wrap=True,
        )
        raise typer.Exit(1)
