"""Publishing documents to Confluence and recording each publication in the ledger.

:func:`publish_document` is what ``aims publish`` and the worker share: find the page aims last
published for the document (from the ledger), create or update it (never over a person's edit
unless told to), then append a ``document.published`` row when the page changed. Publishing
the same content again changes nothing; different content makes a new version of the same page.

:func:`publish_review_records` is the worker's part (``App.pump``), when Confluence is
configured: each management review run's input pack and minutes become pages once they are
recorded, and again (a new version of the same page) when a correction re-records them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .config import Settings
from .engine import Actor
from .errors import AimsError, ConfigError

if TYPE_CHECKING:
    from .adapters.confluence import Published
    from .app import App
    from .export.confluence import Document

__all__ = [
    "ConfluenceTarget",
    "confluence_target",
    "require_confluence",
    "publish_document",
    "publish_review_records",
]

log = logging.getLogger("aims.publish")
PUBLISHER = Actor("aims", "publisher")


@dataclass(frozen=True)
class ConfluenceTarget:
    url: str
    email: str
    token: str
    space: str
    parent: str

    def __repr__(self) -> str:  # the token never reaches a log line or a traceback
        return f"ConfluenceTarget({self.url!r}, space={self.space!r})"


_NAMES = {
    "AIMS_CONFLUENCE_URL": "confluence_url",
    "AIMS_CONFLUENCE_EMAIL": "confluence_email",
    "AIMS_CONFLUENCE_API_TOKEN": "confluence_api_token",
    "AIMS_CONFLUENCE_SPACE": "confluence_space",
}


def confluence_target(settings: Settings) -> ConfluenceTarget | None:
    """Where to publish, or None when Confluence is not (completely) configured."""
    if any(not getattr(settings, field) for field in _NAMES.values()):
        return None
    token = settings.confluence_api_token
    assert token is not None and settings.confluence_url and settings.confluence_email
    assert settings.confluence_space
    return ConfluenceTarget(
        settings.confluence_url,
        settings.confluence_email,
        token.get_secret_value(),
        settings.confluence_space,
        settings.confluence_parent,
    )


def require_confluence(settings: Settings) -> ConfluenceTarget:
    target = confluence_target(settings)
    if target is None:
        missing = [name for name, field in _NAMES.items() if not getattr(settings, field)]
        raise ConfigError(
            f"Confluence is not configured: {', '.join(missing)} not set",
            hint=(
                "set them to the site (https://example.atlassian.net/wiki), the publishing "
                "account's e-mail and API token, and the key of the space to publish into"
            ),
        )
    return target


def _last_publication(conn: Any, key: str, space: str) -> Any:
    from .adapters.confluence import LastPublication
    from .engine.evidence_kinds import DocumentPublished, parse_evidence
    from .store import ledger

    last = None
    for row in ledger.iter_rows(conn, kind=DocumentPublished.KIND):
        payload = parse_evidence(row.kind, row.payload)
        assert isinstance(payload, DocumentPublished)
        if payload.document == key and payload.space == space:
            last = LastPublication(payload.page_id, payload.version)
    return last


def publish_document(
    app: App,
    target: ConfluenceTarget,
    document: Document,
    head: tuple[int, str],
    *,
    overwrite: bool = False,
    actor: Any = None,
    note: str = "",
) -> Published:
    """Create or update ``document``'s page; record it when the page changed.

    ``head`` is the ledger head the document was built from (named in the version comment and
    the ledger row); ``note`` is added to the version comment (which run it came from)."""
    from .adapters.confluence import open_client, publish_page
    from .engine.evidence_kinds import DocumentPublished
    from .runtime import CLI

    with app.db.connect() as conn:
        last = _last_publication(conn, document.key, target.space)
    head_seq, head_hash = head
    message = f"built from ledger head #{head_seq} {head_hash[:16]}" + (f"; {note}" if note else "")
    result = publish_page(
        open_client(target.url, target.email, target.token),
        space_key=target.space,
        parent_title=target.parent,
        title=document.title,
        body=document.body,
        message=message,
        last=last,
        overwrite=overwrite,
    )
    changed = last is None or (last.page_id, last.version) != (result.page_id, result.version)
    if changed:
        now = app.runtime.clock.now()
        with app.db.begin() as conn:
            app.runtime.record(
                conn,
                DocumentPublished(
                    document=document.key,
                    action=result.action,
                    space=target.space,
                    page_id=result.page_id,
                    title=result.title,
                    version=result.version,
                    url=result.url,
                    sha256=document.sha256,
                    ledger_head_seq=head_seq,
                    ledger_head_hash=head_hash,
                ),
                now,
                actor=actor or CLI,
                ref=f"confluence:{result.page_id}",
            )
    return result


def _published_heads(conn: Any, space: str) -> dict[str, int]:
    """For each document key, the latest ledger head a publication of it was built from."""
    from .engine.evidence_kinds import DocumentPublished, parse_evidence
    from .store import ledger

    heads: dict[str, int] = {}
    for row in ledger.iter_rows(conn, kind=DocumentPublished.KIND):
        payload = parse_evidence(row.kind, row.payload)
        assert isinstance(payload, DocumentPublished)
        if payload.space == space:
            heads[payload.document] = max(heads.get(payload.document, 0), payload.ledger_head_seq)
    return heads


def publish_review_records(app: App, target: ConfluenceTarget | None = None) -> list[str]:
    """Publish every management review record (input pack, minutes) not yet on its page in
    its latest recorded form. Returns what it published; a failure is logged and tried again
    on the next pass (a page edited by hand is reported each time, never overwritten)."""
    from .engine.evidence_kinds import ArtefactRecorded, parse_evidence
    from .export.confluence.records import REVIEW_ARTEFACTS, review_record_document
    from .store import ledger

    target = target or confluence_target(app.settings)
    if target is None:
        return []
    # Rows up to app.review_records_seen were handled by an earlier pass of this process: a
    # worker's pass reads only what is new, not every record of a large ledger each time.
    with app.db.connect() as conn:
        latest: dict[str, tuple[Any, ArtefactRecorded]] = {}
        seen = app.review_records_seen
        for row in ledger.iter_rows(conn, kind=ArtefactRecorded.KIND, after=seen):
            seen = row.seq
            payload = parse_evidence(row.kind, row.payload)
            assert isinstance(payload, ArtefactRecorded)
            if payload.artefact in REVIEW_ARTEFACTS and row.run_id:
                latest[f"{REVIEW_ARTEFACTS[payload.artefact][0]}/{row.run_id}"] = (row, payload)
        published = _published_heads(conn, target.space) if latest else {}
    done: list[str] = []
    failed: list[int] = []
    for key, (row, payload) in sorted(latest.items()):
        if published.get(key, 0) >= row.seq:
            continue  # this record, or a later one, is on its page already
        document = review_record_document(
            payload.artefact,
            row.run_id,
            payload.fields,
            app.config.organisation,
            str(row.effective_at)[:19],
        )
        try:
            result = publish_document(
                app,
                target,
                document,
                (row.seq, row.hash),
                actor=PUBLISHER,
                note=f"run {row.run_id}",
            )
        except AimsError as err:
            log.warning("could not publish %s to Confluence: %s", document.title, err)
            failed.append(row.seq)
            continue
        done.append(f"{result.action} {result.title} (version {result.version})")
    # what failed is read again next pass (a vendor outage, a page edited by hand)
    app.review_records_seen = min(failed) - 1 if failed else seen
    return done
