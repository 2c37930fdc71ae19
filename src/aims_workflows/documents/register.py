"""The register of documented information: what ``aims documents add`` and ``review`` wrote to
the ledger, over what ``aims.yaml`` declares.

The ledger is the register's only store: every entry and review is a row
(``document.registered``, ``document.reviewed``), so its history is hash-chained with the rest
of the evidence. A reference declared in ``aims.yaml`` and never entered is listed from there;
once entered or reviewed through aims, the ledger's latest row is the document.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import ValidationError
from sqlalchemy import Connection, select

from ..config import AimsConfig
from ..engine import evidence_kinds as ev
from ..errors import ConfigError, NotFound
from ..runtime.core import CLI, Runtime
from ..store import ledger
from ..store.models import Evidence
from .model import REFERENCE_PATTERN, DocumentFields, file_sha256
from .requirements import requirement

__all__ = ["Document", "DocumentRegister", "HistoryEntry", "read_register", "refused"]

KINDS = (ev.DocumentRegistered.KIND, ev.DocumentReviewed.KIND)


@dataclass(frozen=True)
class HistoryEntry:
    seq: int
    kind: str
    at: str
    actor: str
    version: str
    notes: str = ""


@dataclass(frozen=True)
class Document:
    """One register entry as it stands now."""

    snapshot: ev.DocumentSnapshot
    origin: Literal["register", "aims.yaml", "runs"]
    history: tuple[HistoryEntry, ...] = ()
    problem: str | None = None
    """Why the entry cannot be relied on (its file changed or cannot be read), or None."""
    file_path: Path | None = field(default=None, compare=False)

    @property
    def reference(self) -> str:
        return self.snapshot.reference

    def as_dict(self) -> dict[str, object]:
        return {
            **self.snapshot.model_dump(mode="json"),
            "origin": self.origin,
            "problem": self.problem,
            "history": [h.__dict__ for h in self.history],
        }


def read_register(conn: Connection, config: AimsConfig, config_dir: Path) -> list[Document]:
    """Every document, entered ones first by reference, then those only in ``aims.yaml``."""
    e = Evidence.__table__
    rows = conn.execute(
        select(e.c.seq, e.c.kind, e.c.effective_at, e.c.actor, e.c.payload)
        .where(e.c.kind.in_(KINDS))
        .order_by(e.c.seq)
    ).all()
    latest: dict[str, ev.DocumentSnapshot] = {}
    history: dict[str, list[HistoryEntry]] = {}
    for seq, kind, at, actor, payload in rows:
        parsed = ev.parse_evidence(kind, json.loads(payload))
        assert isinstance(parsed, ev.DocumentRegistered | ev.DocumentReviewed)
        snap = parsed.document
        latest[snap.reference] = snap
        notes = ""
        if isinstance(parsed, ev.DocumentReviewed):
            notes = f"{parsed.outcome}" + (f": {parsed.notes}" if parsed.notes else "")
        history.setdefault(snap.reference, []).append(
            HistoryEntry(seq, kind, at, actor, snap.version, notes)
        )
    documents = [
        _checked(latest[ref], "register", tuple(history[ref]), config_dir) for ref in sorted(latest)
    ]
    for reference in sorted(config.documents):
        if reference in latest:
            continue
        declared = config.documents[reference]
        snap = snapshot_of(reference, declared, sha256=declared.sha256)
        documents.append(_checked(snap, "aims.yaml", (), config_dir))
    return documents


def _checked(
    snap: ev.DocumentSnapshot, origin: Literal["register", "aims.yaml"], history, base: Path
) -> Document:
    """The entry, with a problem when its file no longer matches what was approved."""
    problem = None
    path = None
    if snap.file:
        path = Path(snap.file) if Path(snap.file).is_absolute() else base / snap.file
        try:
            now = file_sha256(path)
        except OSError as err:
            problem = f"its file {snap.file} cannot be read ({err.strerror or err})"
        else:
            if snap.sha256 is None:
                snap = snap.model_copy(update={"sha256": now})
            elif now != snap.sha256:
                problem = (
                    f"its file {snap.file} changed since version {snap.version} was recorded "
                    f"(SHA-256 {now[:12]}…, recorded {snap.sha256[:12]}…)"
                )
    return Document(snap, origin, history, problem, path)


def snapshot_of(
    reference: str, fields: DocumentFields, *, sha256: str | None
) -> ev.DocumentSnapshot:
    req = requirement(fields.requirement)
    return ev.DocumentSnapshot(
        reference=reference,
        requirement=req.key,
        clause=req.clause,
        title=fields.title,
        version=fields.version,
        author=fields.author,
        approver=fields.approver,
        approved_on=fields.approved_on.isoformat() if fields.approved_on else None,
        next_review=fields.next_review.isoformat() if fields.next_review else None,
        location=fields.location,
        file=fields.file,
        sha256=sha256,
    )


class DocumentRegister:
    """``aims documents add | review``: each one ledger row, in one transaction."""

    def __init__(self, runtime: Runtime, config: AimsConfig, config_dir: Path) -> None:
        self.rt = runtime
        self.config = config
        self.config_dir = config_dir

    def list(self) -> list[Document]:
        with self.rt.db.connect() as conn:
            return read_register(conn, self.config, self.config_dir)

    def get(self, reference: str) -> Document:
        documents = self.list()
        for document in documents:
            if document.reference.lower() == reference.strip().lower():
                return document
        from difflib import get_close_matches

        close = get_close_matches(reference, [d.reference for d in documents], n=1, cutoff=0.6)
        raise NotFound(
            f"no document '{reference}' in the register",
            hint=(f"did you mean '{close[0]}'? " if close else "")
            + "`aims documents list` shows the register; `aims documents add` enters one",
        )

    def add(
        self, reference: str, fields: DocumentFields, *, actor=CLI, today: date
    ) -> ev.DocumentSnapshot:
        if not REFERENCE_PATTERN.match(reference):
            raise ConfigError(
                f"'{reference}' is not a document reference",
                hint="use letters, digits and . _ / - (at most 100), such as AIMS-POL-001",
            )
        _not_in_future(fields, today)
        sha = self._hash(fields)
        snap = snapshot_of(reference, fields, sha256=sha)
        now = self.rt.clock.now()
        with self.rt.db.begin() as conn:
            ledger.head(conn, lock=True)  # two adds of one reference: the second sees the first
            existing = {
                d.reference.lower(): d for d in read_register(conn, self.config, self.config_dir)
            }
            found = existing.get(reference.lower())
            if found is not None and found.origin == "register":
                raise ConfigError(
                    f"document {found.reference} is in the register already "
                    f"(version {found.snapshot.version})",
                    hint=f"record a new version or a review with `aims documents review "
                    f"{found.reference}`",
                )
            self.rt.record(
                conn,
                ev.DocumentRegistered(document=snap),
                now,
                actor=actor,
                ref=f"document:{reference}",
            )
        return snap

    def review(
        self,
        reference: str,
        *,
        approver: str,
        approved_on: date,
        next_review: date,
        version: str | None = None,
        notes: str = "",
        location: str | None = None,
        file: str | None = None,
        actor=CLI,
        today: date,
    ) -> ev.DocumentReviewed:
        current = self.get(reference)
        snap = current.snapshot
        changes: dict[str, object] = {
            "approver": approver,
            "approved_on": approved_on,
            "next_review": next_review,
        }
        if version is not None:
            changes["version"] = version
            if version != snap.version:
                changes["sha256"] = None  # a new version: its file is hashed afresh
        if location is not None:
            changes["location"] = location
        if file is not None:
            changes["file"] = file
            changes["sha256"] = None
        base = {
            "requirement": snap.requirement,
            "title": snap.title,
            "version": snap.version,
            "author": snap.author,
            "location": snap.location,
            "file": snap.file,
            "sha256": snap.sha256,
        }
        try:
            fields = DocumentFields.model_validate({**base, **changes})
        except ValidationError as err:
            raise refused(err) from None
        _not_in_future(fields, today)
        revised = fields.version != snap.version
        if current.problem and "changed since" in current.problem and not revised and file is None:
            raise ConfigError(
                f"document {snap.reference}: {current.problem}",
                hint="a changed document is a new version: pass --version (and --file if it moved)",
            )
        sha = (
            self._hash(fields)
            if (file is not None or revised or snap.sha256 is None)
            else snap.sha256
        )
        new = snapshot_of(snap.reference, fields, sha256=sha)
        evidence = ev.DocumentReviewed(
            reference=snap.reference,
            outcome="revised" if revised else "confirmed",
            previous_version=snap.version,
            notes=notes,
            document=new,
        )
        with self.rt.db.begin() as conn:
            self.rt.record(
                conn, evidence, self.rt.clock.now(), actor=actor, ref=f"document:{snap.reference}"
            )
        return evidence

    def _hash(self, fields: DocumentFields) -> str | None:
        if fields.file is None:
            return fields.sha256
        path = Path(fields.file)
        path = path if path.is_absolute() else self.config_dir / path
        try:
            found = file_sha256(path)
        except OSError as err:
            raise ConfigError(
                f"cannot read the document's file {fields.file}: {err.strerror or err}",
                hint="give a readable file (relative paths are read from the folder of "
                "aims.yaml), or leave --file out and give --location",
            ) from None
        if fields.sha256 and fields.sha256 != found:
            raise ConfigError(
                f"the file {fields.file} has SHA-256 {found}, not the {fields.sha256} given",
                hint="check that this is the approved file, or leave --sha256 out",
            )
        return found


def _not_in_future(fields: DocumentFields, today: date) -> None:
    if fields.approved_on and fields.approved_on > today:
        raise ConfigError(
            f"the approval day {fields.approved_on} is after today ({today})",
            hint="record the approval once it is given",
        )


def refused(err: ValidationError) -> ConfigError:
    """A refused document as one message naming each field and what is wrong with it."""
    lines = []
    for problem in err.errors():
        where = ".".join(str(p) for p in problem["loc"])
        lines.append((f"{where}: " if where else "") + problem["msg"].removeprefix("Value error, "))
    return ConfigError(
        "the document was not recorded: " + "; ".join(lines),
        hint="`aims documents add --help` lists the fields",
    )
