"""``aims publish soa | review-pack | audit-summary``: documents as Confluence pages.

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
        short_help="Publish the SoA, the review pack or an audit summary to Confluence.",
    )
    def publish(
        document: DocumentChoice = typer.Argument(
            ..., metavar="DOCUMENT", help="soa, review-pack or audit-summary"
        ),
        overwrite: bool = typer.Option(
            False,
            "--overwrite",
            help="replace the page even if someone edited it in Confluence since the last publish",
        ),
    ) -> None:
        """Create or update the document's page in Confluence (AIMS_CONFLUENCE_URL, _EMAIL,
        _API_TOKEN, _SPACE; under the page AIMS_CONFLUENCE_PARENT, created if missing).

        The version comment names the ledger head the document was built from; the page id and
        version are recorded in the ledger. Exits 1, changing nothing, when the page was edited
        in Confluence since aims last published it (unless --overwrite)."""
        _publish(document.value, overwrite)


def _settings_or_fail() -> tuple[Any, str, str, str, str]:
    from ..config import Settings
    from ..errors import ConfigError

    settings = Settings()
    wanted = {
        "AIMS_CONFLUENCE_URL": settings.confluence_url,
        "AIMS_CONFLUENCE_EMAIL": settings.confluence_email,
        "AIMS_CONFLUENCE_API_TOKEN": settings.confluence_api_token,
        "AIMS_CONFLUENCE_SPACE": settings.confluence_space,
    }
    missing = [name for name, value in wanted.items() if not value]
    if missing:
        raise ConfigError(
            f"Confluence is not configured: {', '.join(missing)} not set",
            hint=(
                "set them to the site (https://example.atlassian.net/wiki), the publishing "
                "account's e-mail and API token, and the key of the space to publish into"
            ),
        )
    token = settings.confluence_api_token
    assert token is not None and settings.confluence_url and settings.confluence_email
    assert settings.confluence_space
    return (
        settings,
        settings.confluence_url,
        settings.confluence_email,
        token.get_secret_value(),
        settings.confluence_space,
    )


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


def _last_publication(conn: Any, key: str, space: str) -> Any:
    from ..adapters.confluence import LastPublication
    from ..engine.evidence_kinds import DocumentPublished, parse_evidence
    from ..store import ledger

    last = None
    for row in ledger.iter_rows(conn, kind=DocumentPublished.KIND):
        payload = parse_evidence(row.kind, row.payload)
        assert isinstance(payload, DocumentPublished)
        if payload.document == key and payload.space == space:
            last = LastPublication(payload.page_id, payload.version)
    return last


def _publish(key: str, overwrite: bool) -> None:
    from rich.markup import escape

    from ..adapters.confluence import open_client, publish_page
    from ..engine.evidence_kinds import DocumentPublished
    from ..export._snapshot import snapshot
    from ..runtime import CLI
    from ..store import ledger
    from ._context import open_cli_app
    from ._output import ok

    settings, url, email, token, space = _settings_or_fail()
    app_ = open_cli_app()
    now = app_.runtime.clock.now()
    with snapshot(app_.db) as conn:
        head_seq, head_hash = ledger.head(conn)
        document = _build(key, app_, conn, now)
        last = _last_publication(conn, key, space)
    result = publish_page(
        open_client(url, email, token),
        space_key=space,
        parent_title=settings.confluence_parent,
        title=document.title,
        body=document.body,
        message=f"built from ledger head #{head_seq} {head_hash[:16]}",
        last=last,
        overwrite=overwrite,
    )
    changed = last is None or (last.page_id, last.version) != (result.page_id, result.version)
    if changed:
        with app_.db.begin() as conn:
            app_.runtime.record(
                conn,
                DocumentPublished(
                    document=key,
                    action=result.action,
                    space=space,
                    page_id=result.page_id,
                    title=result.title,
                    version=result.version,
                    url=result.url,
                    sha256=document.sha256,
                    ledger_head_seq=head_seq,
                    ledger_head_hash=head_hash,
                ),
                now,
                actor=CLI,
                ref=f"confluence:{result.page_id}",
            )
    ok(
        f"{result.action} {escape(result.title)!s} (version {result.version}, "
        f"ledger head #{head_seq}): {escape(result.url)}"
    )
