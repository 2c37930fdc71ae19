"""``aims documents list | show | add | review`` and ``aims readiness``."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer

from ._group import command_group

__all__ = ["register", "print_readiness"]

_STATUS_STYLE = {"met": "green", "partial": "yellow", "stale": "yellow", "missing": "red"}


def _register_of(app_):
    from ..documents.register import DocumentRegister

    return DocumentRegister(app_.runtime, app_.config, app_.settings.config.parent)


def _stored_path(given: str, config_dir: Path) -> str:
    """A file given on the command line, as the register keeps it: relative to the folder of
    aims.yaml when it lies inside it, absolute otherwise."""
    path = Path(given).expanduser().resolve()
    try:
        return str(path.relative_to(config_dir.resolve()))
    except ValueError:
        return str(path)


def register(app: typer.Typer) -> None:
    documents = command_group(
        "The register of documented information (7.5): what ISO/IEC 42001 asks for, "
        "who approved it, where it is kept."
    )
    app.add_typer(documents, name="documents")

    @documents.command("list", short_help="Every required document and record, and its entry.")
    def list_(
        output: str = typer.Option("table", "--format", help="table or json"),
    ) -> None:
        """The mandatory documented information, one line per requirement, with the register's
        entries (from `aims documents add` and the documents: section of aims.yaml)."""
        import json

        from ..documents.requirements import REQUIREMENTS
        from ._context import open_cli_app
        from ._output import console, styled, write
        from ._output import table as make_table

        _format(output)
        from ..documents.derived import produced_records
        from ..documents.gap_analysis import latest_gap_analysis

        app_ = open_cli_app()
        entries = _register_of(app_).list()
        with app_.db.connect() as conn:
            entries += produced_records(
                conn,
                workflow_ids=app_.workflows.ids(),
                titles={w.spec.id: w.spec.title for w in app_.workflows},
            )
            # what the latest gap analysis found for each requirement's clause
            gaps = latest_gap_analysis(conn)
        by_req: dict[str, list] = {}
        for doc in entries:
            by_req.setdefault(doc.snapshot.requirement, []).append(doc)
        if output == "json":
            write(
                json.dumps(
                    [
                        {
                            "requirement": r.key,
                            "clause": r.clause,
                            "title": r.title,
                            "kind": r.kind,
                            "produced_by": list(r.workflows),
                            "documents": [d.as_dict() for d in by_req.get(r.key, [])],
                            "gap_analysis": gaps.note(r.clause) if gaps else None,
                        }
                        for r in REQUIREMENTS
                    ],
                    indent=2,
                )
            )
            return
        table = make_table(
            "requirement",
            "reference",
            "title",
            "version",
            "author",
            "approved",
            "next review",
            "kept",
            ids=("reference", "kept"),
        )
        for r in REQUIREMENTS:
            docs = by_req.get(r.key, [])
            label = f"{r.clause} {r.title} ({r.key})"
            if not docs:
                produced = [w for w in r.workflows if w in app_.workflows]
                gap = gaps.note(r.clause) if gaps else None
                table.add_row(
                    label,
                    styled("[red]none[/]"),
                    "-",
                    "-",
                    "-",
                    "-",
                    "-",
                    (
                        "no completed run of " + ", ".join(produced)
                        if produced
                        else "not in the register"
                    )
                    + (f"; {gap}" if gap else ""),
                )
            for n, d in enumerate(docs):
                s = d.snapshot
                approved = f"{s.approved_on} by {s.approver}" if s.approver else "draft"
                kept = s.location or s.file or "-"
                if d.origin == "aims.yaml":
                    kept += " (aims.yaml)"
                if d.problem:
                    kept += f" [!] {d.problem}"
                table.add_row(
                    label if n == 0 else "",
                    s.reference,
                    s.title,
                    s.version,
                    s.author,
                    approved,
                    s.next_review or "-",
                    kept,
                )
        console().print(table)

    @documents.command("show", short_help="One document: its metadata and its history.")
    def show(reference: str) -> None:
        """A document's 7.5.2 metadata, where it is kept, and every entry and review; or the
        record a run produced (REFERENCE is then its run id)."""
        from ..errors import NotFound
        from ._context import open_cli_app
        from ._output import write

        app_ = open_cli_app()
        try:
            doc = _register_of(app_).get(reference)
        except NotFound:
            doc = _run_record(app_, reference)
            if doc is None:
                raise
        s = doc.snapshot
        lines = [
            f"reference:   {s.reference}",
            f"requirement: {s.requirement} (clause {s.clause})",
            f"title:       {s.title}",
            f"version:     {s.version}",
            f"author:      {s.author}",
            f"approver:    {s.approver or '- (draft)'}",
            f"approved on: {s.approved_on or '-'}",
            f"next review: {s.next_review or '-'}",
            f"location:    {s.location or '-'}",
            f"file:        {s.file or '-'}",
            f"sha256:      {s.sha256 or '-'}",
            "kept in:     "
            + {"aims.yaml": "aims.yaml", "runs": "the ledger (a run)"}.get(
                doc.origin, "the register"
            ),
        ]
        if doc.problem:
            lines.append(f"problem:     {doc.problem}")
        if doc.history:
            lines.append("history:")
            for h in doc.history:
                lines.append(
                    f"  #{h.seq} {h.at[:10]} {h.kind} v{h.version} by {h.actor}"
                    + (f" ({h.notes})" if h.notes else "")
                )
        write("\n".join(lines))

    @documents.command("add", short_help="Enter a document kept outside aims in the register.")
    def add(
        reference: str = typer.Argument(..., help="your reference for it, e.g. AIMS-POL-001"),
        requirement: str = typer.Option(
            ..., "--requirement", help="which one it is: scope, policy, soa ... or a clause"
        ),
        title: str = typer.Option(..., "--title"),
        version: str = typer.Option(..., "--version"),
        author: str = typer.Option(..., "--author", help="e-mail of who wrote it"),
        approver: str | None = typer.Option(None, "--approver", help="e-mail of who approved it"),
        approved_on: str | None = typer.Option(None, "--approved-on", help="YYYY-MM-DD"),
        next_review: str | None = typer.Option(None, "--next-review", help="YYYY-MM-DD"),
        location: str | None = typer.Option(None, "--location", help="a URL or confluence:PAGE-ID"),
        file: str | None = typer.Option(
            None, "--file", help="the document's file: its SHA-256 is recorded"
        ),
        sha256: str | None = typer.Option(None, "--sha256", help="the file's expected SHA-256"),
    ) -> None:
        """Enter a document in the register: one ledger row (document.registered)."""
        from ..documents.model import DocumentFields
        from ._context import open_cli_app
        from ._output import ok

        app_ = open_cli_app()
        fields = _validated(
            DocumentFields,
            {
                "requirement": requirement,
                "title": title,
                "version": version,
                "author": author,
                "approver": approver,
                "approved_on": _day(approved_on, "--approved-on"),
                "next_review": _day(next_review, "--next-review"),
                "location": location,
                "file": _stored_path(file, app_.settings.config.parent) if file else None,
                "sha256": sha256,
            },
        )
        snap = _register_of(app_).add(reference, fields, today=app_.runtime.clock.now().date())
        state = f"approved by {snap.approver}" if snap.approver else "a draft, not yet approved"
        ok(
            f"registered {snap.reference} v{snap.version} ({snap.requirement}, clause "
            f"{snap.clause}): {state}" + (f"; SHA-256 {snap.sha256}" if snap.sha256 else "")
        )

    @documents.command("review", short_help="Record a review and approval of a document.")
    def review(
        reference: str,
        approver: str = typer.Option(..., "--approver", help="e-mail of who approved it"),
        approved_on: str = typer.Option(..., "--approved-on", help="YYYY-MM-DD"),
        next_review: str = typer.Option(..., "--next-review", help="YYYY-MM-DD"),
        version: str | None = typer.Option(
            None, "--version", help="the new version, when the review revised it"
        ),
        notes: str = typer.Option("", "--notes", help="what the review found or changed"),
        location: str | None = typer.Option(None, "--location", help="where it is kept now"),
        file: str | None = typer.Option(None, "--file", help="the reviewed file (re-hashed)"),
    ) -> None:
        """Record that a document was reviewed and approved, as it is or as a new version: one
        ledger row (document.reviewed)."""
        from ._context import open_cli_app
        from ._output import ok

        app_ = open_cli_app()
        reviewed = _register_of(app_).review(
            reference,
            approver=approver,
            approved_on=_required_day(approved_on, "--approved-on"),
            next_review=_required_day(next_review, "--next-review"),
            version=version,
            notes=notes,
            location=location,
            file=_stored_path(file, app_.settings.config.parent) if file else None,
            today=app_.runtime.clock.now().date(),
        )
        d = reviewed.document
        ok(
            f"{d.reference} {reviewed.outcome}: v{d.version} approved by {d.approver} on "
            f"{d.approved_on}; next review {d.next_review}"
        )

    @app.command(short_help="Certification readiness: what Stage 1 or 2 still lacks.")
    def readiness(
        stage: int = typer.Option(..., "--stage", help="1 or 2"),
        output: str = typer.Option("table", "--format", help="table or json"),
        at: str | None = typer.Option(
            None,
            "--at",
            help="the audit day to check against (YYYY-MM-DD), default today: what is due or "
            "lapsed by then; the register and the inventory are read as they are now",
        ),
    ) -> None:
        """One line per piece of mandatory documented information (met, partial, missing,
        stale) with the reason and what fixes it, then the clauses they roll up to. Exits 1
        while anything required for the stage is not met."""
        import json
        from datetime import UTC, datetime, time

        from ..documents.readiness import readiness_of
        from ._context import open_cli_app
        from ._output import console, write

        _format(output)
        if stage not in (1, 2):
            from ..errors import ConfigError

            raise ConfigError(f"there is no Stage {stage}", hint="--stage 1 or --stage 2")
        app_ = open_cli_app()
        day = _day(at, "--at")
        moment = datetime.combine(day, time(23, 59, 59), UTC) if day else app_.runtime.clock.now()
        report = readiness_of(app_, stage, moment)
        if output == "json":
            write(json.dumps(report.as_dict(), indent=2))
        else:
            print_readiness(report, moment, console())
            if any(line.fix.startswith("aims documents add") for line in report.lines):
                console().print(
                    "A document kept outside aims: aims documents add REF --requirement KEY "
                    "--title T --version V --author EMAIL --approver EMAIL --approved-on DAY "
                    "--next-review DAY --location URL [--file PATH], or list it under "
                    "documents: in aims.yaml (docs/readiness.md).",
                    markup=False,
                )
        if not report.ready:
            raise typer.Exit(1)


def print_readiness(report, moment, out) -> None:
    """The readiness report as ``aims readiness`` prints it: a line per requirement, a line per
    clause, and the verdict (the demo prints its own the same way)."""
    from ._output import styled
    from ._output import table as make_table

    table = make_table("clause", "requirement", "status", "reason", "fix")
    for line in report.lines:
        status = f"[{_STATUS_STYLE[line.status]}]{line.status}[/]"
        if not line.required:
            status = f"[dim]{line.status} (stage 2)[/]"
        table.add_row(line.clause, line.title, styled(status), line.reason, line.fix or "-")
    out.print(table)
    clauses = make_table("clause", "status", "requirements under it")
    for line in report.clauses:
        clauses.add_row(
            line.clause, styled(f"[{_STATUS_STYLE[line.status]}]{line.status}[/]"), line.reason
        )
    out.print(clauses)
    counts = report.counts()
    summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    verdict = "ready" if report.ready else "not ready"
    out.print(f"Stage {report.stage} on {moment:%Y-%m-%d}: {verdict} ({summary})", markup=False)


def _run_record(app_, run_id: str):
    """The record a completed run produced, if ``run_id`` names the current one of its kind."""
    from ..documents.derived import produced_records

    with app_.db.connect() as conn:
        records = produced_records(
            conn,
            workflow_ids=app_.workflows.ids(),
            titles={w.spec.id: w.spec.title for w in app_.workflows},
        )
    return next((d for d in records if d.reference == run_id.strip()), None)


def _format(output: str) -> None:
    if output not in ("table", "json"):
        from ..errors import ConfigError

        raise ConfigError(f"unknown format '{output}'", hint="--format table or --format json")


def _day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        from ..errors import ConfigError

        raise ConfigError(
            f"{option} '{text}' is not a day", hint="write it as YYYY-MM-DD, e.g. 2026-03-31"
        ) from None


def _required_day(text: str, option: str) -> date:
    day = _day(text, option)
    assert day is not None
    return day


def _validated(model, data):
    from pydantic import ValidationError

    from ..documents.register import refused

    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise refused(err) from None
