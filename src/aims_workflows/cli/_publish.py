"""``aims publish soa | review-pack | audit-summary | policy | documents``: documents as
Confluence pages.

Each publish creates or updates one page under a parent page in the configured space, with a
version comment naming the ledger head it was built from, and records the page id and version
in the ledger. A page edited by hand since aims last published it is reported, not overwritten.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import typer

__all__ = ["register"]


class DocumentChoice(StrEnum):
    soa = "soa"
    review_pack = "review-pack"
    audit_summary = "audit-summary"
    policy = "policy"
    documents = "documents"


def register(app: typer.Typer) -> None:
    from ._jira import sandbox_app

    @sandbox_app.command(
        "confluence", short_help="A loopback Confluence site (REST API v2) until Ctrl-C."
    )
    def sandbox_confluence(
        port: int = typer.Option(0, "--port", help="port to listen on (0: any free port)"),
        space: str = typer.Option("AIMS", "--space", help="key of the space it holds"),
    ) -> None:
        """Run a loopback Confluence Cloud site with one space until Ctrl-C, and print the
        AIMS_CONFLUENCE_* settings that point `aims publish` at it."""
        from ..sandbox.confluence import run_confluence_sandbox

        run_confluence_sandbox(port=port, space=space)

    @app.command(
        "publish",
        short_help="Publish the SoA, review pack, audit summary, AI policy or register to "
        "Confluence.",
    )
    def publish(
        document: DocumentChoice = typer.Argument(
            ...,
            metavar="DOCUMENT",
            help="soa, review-pack, audit-summary, policy (the AI policy from the register of "
            "documented information) or documents (the register itself)",
        ),
        overwrite: bool = typer.Option(
            False,
            "--overwrite",
            help="replace the page even if someone edited it in Confluence since the last publish",
        ),
        reference: str | None = typer.Option(
            None,
            "--reference",
            help="policy: the register entry to publish, when it holds more than one policy",
        ),
    ) -> None:
        """Create or update the document's page in Confluence (AIMS_CONFLUENCE_URL, _EMAIL,
        _API_TOKEN, _SPACE; under the page AIMS_CONFLUENCE_PARENT, created if missing).

        The version comment names the ledger head the document was built from; the page id and
        version are recorded in the ledger. Exits 1, changing nothing, when the page was edited
        in Confluence since aims last published it (unless --overwrite)."""
        _publish(document.value, overwrite, reference)


def _build(key: str, app_: Any, conn: Any, now: Any) -> Any:
    from ..catalog import load_catalog
    from ..engine.evidence import iso
    from ..export.confluence import audit_summary_document, review_pack_document, soa_document
    from ..export.period import Period
    from ..export.soa import build_coverage
    from ..store import ledger

    if key == "review-pack":
        from ..export.review import choose_period, gather_review

        period = choose_period(conn, None, None, now)
        pack = gather_review(app_, conn, period, now=now, verify=True, risk_threshold=10.0)
        return review_pack_document(pack)
    report = build_coverage(
        conn,
        catalog=load_catalog(),
        workflows=app_.workflows,
        soa=app_.config.soa,
        period=Period(),
        generated_at=iso(now),
        organisation=app_.config.organisation,
    )
    if key == "soa":
        return soa_document(report)
    return audit_summary_document(report, ledger.verify(conn), ledger.head(conn))


def _policy(app_: Any, conn: Any, reference: str | None) -> Any:
    """The AI policy's register entry (the one named, or the only one), readable and intact."""
    from ..documents.register import read_register
    from ..errors import ConfigError
    from ..export.confluence.records import POLICY_REQUIREMENT, policy_document, readable_content

    entries = read_register(conn, app_.config, app_.settings.config.parent)
    if reference is not None:
        chosen = [e for e in entries if e.reference.lower() == reference.strip().lower()]
        if not chosen:
            raise ConfigError(
                f"no document '{reference}' in the register",
                hint="`aims documents list` shows the register",
            )
    else:
        chosen = [e for e in entries if e.snapshot.requirement == POLICY_REQUIREMENT]
        if not chosen:
            raise ConfigError(
                "the register holds no AI policy (clause 5.2)",
                hint="enter it with `aims documents add REF --requirement policy --title ... "
                "--file policy.md` (or declare it under documents: in aims.yaml)",
            )
        if len(chosen) > 1:
            raise ConfigError(
                "the register holds more than one AI policy: "
                + ", ".join(e.reference for e in chosen),
                hint="name the one to publish with --reference",
            )
    entry = chosen[0]
    if entry.problem:
        raise ConfigError(
            f"{entry.reference} cannot be published: {entry.problem}",
            hint=f"record the new version with `aims documents review {entry.reference}`, "
            "then publish again",
        )
    try:
        content = readable_content(entry)
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(
            f"{entry.reference}: its file {entry.snapshot.file} cannot be read as text ({err})",
            hint="register a Markdown, text or HTML file, or give only its location",
        ) from None
    return policy_document(entry, content, app_.config.organisation)


def _publish(key: str, overwrite: bool, reference: str | None = None) -> None:
    from rich.markup import escape

    from ..config import Settings
    from ..export._snapshot import snapshot
    from ..publishing import publish_document, require_confluence
    from ..store import ledger
    from ._context import open_cli_app
    from ._output import ok

    target = require_confluence(Settings())
    app_ = open_cli_app()
    now = app_.runtime.clock.now()
    with snapshot(app_.db) as conn:
        head = ledger.head(conn)
        if key == "policy":
            document = _policy(app_, conn, reference)
        elif key == "documents":
            from ..documents.register import read_register
            from ..export.confluence.records import register_document

            entries = read_register(conn, app_.config, app_.settings.config.parent)
            document = register_document(entries, app_.config.organisation)
        else:
            document = _build(key, app_, conn, now)
    result = publish_document(app_, target, document, head, overwrite=overwrite)
    ok(
        f"{result.action} {escape(result.title)!s} (version {result.version}, "
        f"ledger head #{head[0]}): {escape(result.url)}"
    )
