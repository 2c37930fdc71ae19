"""``aims export oscal``: the catalogue, the SoA as a profile, the AIMS's system security plan,
an assessment plan, the period's assessment results and a POA&M as OSCAL JSON. Registered onto
the ``aims export`` group by ``_export.register``; imports nothing heavy until it runs
(compliance-trestle takes most of a second to import)."""

from __future__ import annotations

from pathlib import Path

import typer

from ._export_options import Since, Until

__all__ = ["register"]


def register(export: typer.Typer) -> None:
    @export.command(
        "oscal",
        short_help="OSCAL JSON: catalogue, SoA profile, SSP, assessment plan and results, POA&M.",
    )
    def oscal(
        out: Path | None = typer.Option(
            None, "--out", help="directory to create (default aims-oscal-DATE)"
        ),
        since: Since = None,
        until: Until = None,
        force: bool = typer.Option(
            False, "--force", help="replace an earlier OSCAL export in --out"
        ),
    ) -> None:
        """NIST OSCAL (JSON) for GRC tools: catalog.json (clauses 4-10 and the Annex A controls,
        ids such as a-6.2.4 for A.6.2.4), profile.json (the Statement of Applicability),
        system-security-plan.json (the AIMS and the AI systems in scope, with statements drawn
        from the workflows), assessment-plan.json, assessment-results.json (per Annex A control
        an observation with its SoA status and the ledger rows behind it, by seq and SHA-256;
        findings, each aims' own determination: satisfied, not satisfied, gaps, open
        nonconformities) and plan-of-action-and-milestones.json (open nonconformities and
        overdue risk treatments, with milestones).

        Needs the optional extra: pip install 'aims-workflows[oscal]'.

        Exits 1 if the evidence chain is broken: the files are still written, with a finding
        saying so."""
        from rich.markup import escape

        from ..export.oscal import default_directory_name, write_oscal
        from ..export.oscal._trestle import oscal_models
        from ._context import open_cli_app
        from ._export_options import period_from_options
        from ._output import console, err_console, ok

        period = period_from_options(since, until)
        oscal_models()  # before opening the database: a missing extra is said first
        app_ = open_cli_app()
        now = app_.runtime.clock.now()
        target = out if out is not None else Path(default_directory_name(now))
        result = write_oscal(app_, target, period=period, force=force, now=now)
        wrote = (
            f"wrote {escape(str(result.path))}/ (OSCAL {result.oscal_version})"
            f" for {escape(period.label())}"
        )
        if result.chain.ok:
            ok(wrote)
        else:
            err_console().print(
                f"[bold red]✗[/] {wrote}, with a finding: the evidence chain is broken",
                soft_wrap=True,
            )
        for name, digest in sorted(result.files.items()):
            console().print(f"  {name}  sha256 {digest}", soft_wrap=True)
        gaps = result.soa.get("gaps") or []
        console().print(
            f"  findings: {result.findings.get('satisfied', 0)} satisfied, "
            f"{result.findings.get('not_satisfied', 0)} not satisfied; {len(gaps)} gap(s); "
            f"open nonconformities: {result.findings.get('nonconformities', 0)}; "
            f"POA&M items: {result.findings.get('poam_items', 0)} open, "
            f"{result.findings.get('treatments_completed', 0)} risk treatment(s) completed",
            soft_wrap=True,
        )
        if not result.chain.ok:
            err_console().print(
                f"[bold red]evidence chain BROKEN at row {result.chain.first_bad_seq}[/]: "
                f"{escape(result.chain.problem or '')}",
                soft_wrap=True,
            )
            raise typer.Exit(1)
