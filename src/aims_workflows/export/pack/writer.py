"""The audit pack: one zip an auditor can check offline.

Written from one consistent snapshot of the database into a temporary file next to the target,
renamed into place at the end (see ``_files``). Every file's SHA-256 and size go into
``manifest.json``, written last; the manifest's own hash is returned for the exporter to send to
the auditor separately, so that a changed pack cannot be passed off as the original.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ... import __version__
from ...engine.chain_walk import LINE_FORMAT
from ...engine.evidence import iso
from ...risks import export as risk_export
from .. import records
from .._csv import write_csv
from .._files import atomic_output
from .._snapshot import snapshot
from ..ledger_slice import (
    FIELDS,
    ChainCheck,
    SliceSummary,
    check_chain,
    iter_slice,
    seq_range,
    write_jsonl,
)
from ..period import Period
from . import kpi_rows
from ._zip import PackEntry, PackWriter

__all__ = ["PackResult", "write_audit_pack", "default_pack_name"]

FORMAT = "aims-audit-pack/2"
"""/2: ``evidence/ledger.jsonl`` holds each row as ``chain_walk.row_line`` writes it (/1: as a
JSON object)."""


@dataclass(frozen=True)
class PackResult:
    path: Path
    manifest_sha256: str
    size: int
    chain: ChainCheck
    exported: SliceSummary
    files: list[PackEntry]
    counts: dict[str, int] = field(default_factory=dict)
    soa: dict[str, Any] = field(default_factory=dict)
    sample_seed: str = ""
    checkpoints: int = 0


def default_pack_name(now: datetime) -> str:
    return f"aims-audit-pack-{now:%Y-%m-%d}.zip"


def write_audit_pack(
    app: Any,
    target: Path,
    *,
    period: Period = Period(),
    force: bool = False,
    now: datetime | None = None,
    sample_seed: str | None = None,
) -> PackResult:
    """Write the audit pack for ``period`` to ``target``; the database is only read.

    A broken evidence chain does not stop the export (the auditor must see it): the pack is
    written, marked (``CHAIN-BROKEN.txt``, a red banner in ``index.html``, ``chain.ok: false`` in
    the manifest) and ``result.chain.ok`` is False.

    ``sample_seed``: the seed of the per-control samples (default: drawn from the last exported
    row's hash); ``result.sample_seed`` says which was used.
    """
    now = now or app.runtime.clock.now()
    counts: dict[str, int] = {}
    extra: dict[str, Any] = {"sample_seed": sample_seed}
    with atomic_output(target, force=force) as out, snapshot(app.db) as conn:
        pack = PackWriter(out, now)
        try:
            manifest, chain, exported, coverage = _write(
                app, pack, conn, period, now, counts, extra
            )
        except BaseException:
            pack.abandon()
            raise
        entries = list(pack.entries)
        pack.close()
        out.flush()
        size = out.tell()
    return PackResult(
        Path(target).absolute(),
        manifest.sha256,
        size,
        chain,
        exported,
        entries,
        counts,
        coverage.summary(),
        extra["sample_seed"] or "",
        extra.get("checkpoints", 0),
    )


def _write(
    app: Any,
    pack: PackWriter,
    conn: Any,
    period: Period,
    now: datetime,
    counts: dict[str, int],
    extra: dict[str, Any],
):
    from ...catalog import load_catalog
    from ...kpi import compute_kpis
    from ..soa import build_coverage

    generated = iso(now)
    organisation = app.config.organisation
    chain, exported = _evidence(pack, conn, period, generated, organisation, counts)
    coverage = build_coverage(
        conn,
        catalog=load_catalog(),
        workflows=app.workflows,
        soa=app.config.soa,
        period=period,
        generated_at=generated,
        organisation=organisation,
    )
    kpis = compute_kpis(conn, now, app.config.kpi_targets, context=app.kpi_context())
    _reports(pack, coverage, kpis, generated)
    from .auditor_files import add_kpi_facts

    add_kpi_facts(pack, kpis, chain, generated)
    # oscal/: catalog, profile (the SoA), SSP, assessment plan, assessment results and POA&M
    # (oscal.FILES), only when compliance-trestle is installed
    from ..oscal import pack_documents

    for name, content in pack_documents(
        app, conn, coverage=coverage, chain=chain, period=period, now=now
    ).items():
        pack.add(f"oscal/{name}", content)
    _registers(pack, conn, period, now, counts)
    _workflow_texts(pack, conn, period, counts)
    from .auditor_files import add_auditor_files, add_witness_files

    extra["sample_seed"] = add_auditor_files(pack, conn, period, extra["sample_seed"], counts)
    extra["checkpoints"] = add_witness_files(pack, conn, app)
    pack.add("aims-config.json", _json(_public_config(app.config)))
    pack.add(
        "index.html",
        _render(
            "index.html.j2",
            organisation=organisation,
            generated=generated,
            period=period,
            version=__version__,
            chain=chain,
            exported=exported,
            counts=counts,
            kpis=kpis,
            coverage=coverage,
            summary=coverage.summary(),
            files=list(pack.entries),
            standard=coverage.standard,
        ),
    )
    manifest = pack.add(
        "manifest.json",
        _json(
            {
                "format": FORMAT,
                "generated_at": generated,
                "organisation": organisation,
                "standard": coverage.standard,
                "period": period.as_dict(),
                "tool": {"name": "aims-workflows", "version": __version__},
                "database": {"dialect": app.db.dialect},
                "chain": {
                    "ok": chain.ok,
                    "head_seq": chain.head_seq,
                    "head_hash": chain.head_hash,
                    "first_bad_seq": chain.first_bad_seq,
                    "problem": chain.problem,
                },
                "exported_rows": exported.as_dict(),
                "auditor": {"sample_seed": extra["sample_seed"]},
                "files": [
                    {"path": e.path, "sha256": e.sha256, "bytes": e.bytes} for e in pack.entries
                ],
            }
        ),
    )
    return manifest, chain, exported, coverage


def _evidence(
    pack: PackWriter,
    conn: Any,
    period: Period,
    generated: str,
    organisation: str,
    counts: dict[str, int],
) -> tuple[ChainCheck, SliceSummary]:
    """evidence/: the whole chain verified first (a broken one marks the pack before anything
    else is written), then the period's rows, the verifier and its guide."""
    chain = check_chain(conn, generated)
    if not chain.ok:
        pack.add("CHAIN-BROKEN.txt", _broken_notice(chain))
    bounds = seq_range(conn, period)
    with pack.text("evidence/ledger.jsonl") as ledger_out:
        exported = write_jsonl(ledger_out, iter_slice(conn, *bounds) if bounds else iter(()))
    counts["evidence/ledger.jsonl"] = exported.rows
    pack.add(
        "evidence/verification.json",
        _json(
            {
                "chain": chain.as_dict(),
                "scope": (
                    "the whole ledger in the database, from row 1 to its head, "
                    "recomputed at export time"
                ),
                "period": period.as_dict(),
                "exported": exported.as_dict(),
                "row_format": LINE_FORMAT,
                "row_layout": (
                    "one row per line: the JSON array [" + ", ".join(FIELDS) + "]; the line "
                    'less its last element (,"<hash>") is the canonical JSON the hash covers'
                ),
                "hash": {
                    "algorithm": "sha256",
                    "covers": list(FIELDS[:-1]),
                    "canonical_form": "see VERIFY.md",
                },
            }
        ),
    )
    pack.add("evidence/verify_ledger.py", _template_text("verify_ledger.py"))
    pack.add(
        "evidence/VERIFY.md",
        _render(
            "VERIFY.md.j2",
            chain=chain,
            exported=exported,
            period=period,
            example=_first_row(conn, bounds),
            fields=FIELDS,
            organisation=organisation,
            kpi_rebuilt=list(kpi_rows.REBUILT),
            kpi_not_from_rows=kpi_rows.NOT_FROM_ROWS,
        ),
    )
    return chain, exported


def _reports(pack: PackWriter, coverage: Any, kpis: list[Any], generated: str) -> None:
    from ...kpi import kpis_csv, kpis_json
    from ..soa import render as soa_render

    pack.add("soa.csv", soa_render.soa_csv(coverage))
    pack.add("soa.md", soa_render.soa_markdown(coverage))
    pack.add("soa.json", soa_render.coverage_json(coverage, part="controls"))
    pack.add("clauses.csv", soa_render.clauses_csv(coverage))
    pack.add("clauses.md", soa_render.clauses_markdown(coverage))
    pack.add("kpis.json", kpis_json(kpis, generated) + "\n")
    pack.add("kpis.csv", kpis_csv(kpis))


def _registers(
    pack: PackWriter, conn: Any, period: Period, now: datetime, counts: dict[str, int]
) -> None:
    tables = {
        "inventory.csv": lambda: records.inventory(conn),
        "inventory_history.csv": lambda: records.inventory_history(conn, period),
        "runs.csv": lambda: records.runs(conn, period),
        "approvals.csv": lambda: records.approvals(conn, period),
        "findings.csv": lambda: records.findings(conn, period, now),
        "tasks.csv": lambda: records.tasks(conn, period, now),
        # the risk register as it stands at export time, with its history and treatments
        "risks.csv": lambda: risk_export.register_table(conn, now.date()),
        "risk_treatments.csv": lambda: risk_export.treatments_table(conn, now.date()),
        "risk_history.csv": lambda: risk_export.history_table(conn),
    }
    for name, table in tables.items():
        header, rows = table()  # one query streaming at a time
        with pack.text(name) as out:
            counts[name] = write_csv(out, header, rows)
    pack.add("risks.json", risk_export.register_json(conn, now.date()))


def _workflow_texts(pack: PackWriter, conn: Any, period: Period, counts: dict[str, int]) -> None:
    """workflows/: the exact text of every version a run of the period was pinned to."""
    versions = []
    for v in records.pinned_versions(conn, period):
        path = f"workflows/{_safe(v.workflow_id)}-v{v.version}-{v.content_hash[:12]}.yaml"
        pack.add(path, v.text)
        from .auditor_files import spec_json

        # what the pinned hash covers: the canonical JSON of the validated definition
        canonical = spec_json(v.text, v.source_name)
        pack.add(path.removesuffix(".yaml") + ".spec.json", canonical)
        versions.append(
            [
                v.workflow_id,
                v.version,
                v.content_hash,
                path.removeprefix("workflows/"),
                v.source_name,
                v.registered_at,
                path.removeprefix("workflows/").removesuffix(".yaml") + ".spec.json",
            ]
        )
    with pack.text("workflows/index.csv") as out:
        counts["workflows"] = write_csv(
            out,
            ["workflow", "version", "content_hash", "file", "source", "registered_at", "spec_json"],
            versions,
        )


def _json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)


def _public_config(config: Any) -> dict[str, Any]:
    """What ``aims.yaml`` says that an auditor needs: nothing in it is secret (secrets live in
    the environment, as SecretStr settings, and are never read here)."""
    return {
        "organisation": config.organisation,
        "roles": config.roles,
        "kpi_targets": config.kpi_targets.model_dump(),
        "soa": config.soa.model_dump(),
    }


def _first_row(conn: Any, bounds: tuple[int, int] | None) -> dict[str, Any] | None:
    """The first exported row and its canonical form, as a worked example in VERIFY.md."""
    if bounds is None:
        return None
    from ...engine.evidence import canonical_json

    row = dict(zip(FIELDS, next(iter_slice(conn, bounds[0], bounds[0])), strict=True))
    body = canonical_json([row[name] for name in FIELDS[:-1]])
    # a code fence longer than any run of backticks in the text, so the text cannot end it
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    return {"row": row, "canonical": body, "fence": "`" * max(3, longest + 1)}


def _broken_notice(chain: ChainCheck) -> str:
    return (
        "THE EVIDENCE CHAIN DID NOT VERIFY WHEN THIS PACK WAS EXPORTED\n\n"
        f"First broken row: {chain.first_bad_seq}\n"
        f"Reason: {chain.problem}\n"
        f"Rows checked: {chain.rows_checked}; the ledger head says row {chain.head_seq}.\n"
        f"Checked at: {chain.checked_at}\n\n"
        "The ledger rows are exported as they are stored, so the damage can be examined.\n"
        "Do not rely on this pack's evidence until the cause is explained.\n"
    )


def _template_text(name: str) -> str:
    from importlib.resources import files

    return files(__package__).joinpath("templates", name).read_text(encoding="utf-8")


def _render(name: str, **context: Any) -> str:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    # HTML is autoescaped (ledger text, system names and reasons come from people); Markdown is not
    env = Environment(
        loader=PackageLoader("aims_workflows.export.pack", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default=False),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["day"] = lambda moment: (moment or "")[:10]
    env.filters["size"] = _human_size
    return env.get_template(name).render(**context)


def _human_size(count: int) -> str:
    size = float(count)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{count} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{count} bytes"
