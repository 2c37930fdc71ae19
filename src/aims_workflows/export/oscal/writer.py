"""``aims export oscal``: the catalogue, the Statement of Applicability as a profile, a system
security plan of the AI management system, an assessment plan, the period's assessment results
and a plan of action and milestones, as NIST OSCAL JSON, for GRC tools and auditors that exchange
control data that way.

Built through compliance-trestle's pydantic models of OSCAL (construction validates every field)
and written with its serialiser, from one consistent snapshot of the database, into a temporary
directory renamed into place at the end. compliance-trestle is the optional extra ``oscal``;
without it the export is an ``ExportError`` that names the install command.

::

    from aims_workflows.export.oscal import write_oscal
    result = write_oscal(app, Path("oscal-2026"), period=parse_period("2026-01-01", "2026-12-31"))
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, select

from ...engine.evidence import iso
from ...errors import ExportError
from .._dirs import atomic_directory, check_directory_target
from .._snapshot import snapshot
from ..ledger_slice import ChainCheck, check_chain
from ..period import Period
from ._trestle import oscal_models
from .plan import (
    CATALOG_FILE,
    PLAN_FILE,
    POAM_FILE,
    PROFILE_FILE,
    RESULTS_FILE,
    SSP_FILE,
)

__all__ = [
    "OscalResult",
    "FILES",
    "write_oscal",
    "build_documents",
    "pack_documents",
    "default_directory_name",
]

FILES = frozenset({CATALOG_FILE, PROFILE_FILE, SSP_FILE, PLAN_FILE, RESULTS_FILE, POAM_FILE})
"""Every file an export writes (and the only ones ``--force`` may replace)."""


@dataclass(frozen=True)
class OscalResult:
    path: Path
    files: dict[str, str]  # file name -> SHA-256
    chain: ChainCheck
    soa: dict[str, Any] = field(default_factory=dict)
    findings: dict[str, int] = field(default_factory=dict)
    oscal_version: str = ""


def default_directory_name(now: datetime) -> str:
    return f"aims-oscal-{now:%Y-%m-%d}"


def write_oscal(
    app: Any,
    target: Path,
    *,
    period: Period = Period(),
    force: bool = False,
    now: datetime | None = None,
) -> OscalResult:
    """Write the OSCAL files (:data:`FILES`) into the directory ``target``; the database is only
    read.

    A broken evidence chain does not stop the export: the results carry a not-satisfied finding
    on clause 7.5.3 and ``result.chain.ok`` is False.
    """
    m = oscal_models()  # first: without compliance-trestle, fail before touching anything
    check_directory_target(target, force=force, owned=FILES)
    now = now or app.runtime.clock.now()
    from pydantic import ValidationError

    with snapshot(app.db) as conn:
        chain = check_chain(conn, iso(now))
        coverage = _coverage(app, conn, period, now)
        try:
            documents, counts = build_documents(
                m, app, conn, coverage=coverage, chain=chain, period=period, now=now
            )
        except ValidationError as err:
            # trestle's models refused a value: nothing is written, and the reason is said plainly
            first = err.errors()[0]
            where = ".".join(str(part) for part in first.get("loc", ()))
            raise ExportError(
                f"the OSCAL files could not be built: {first.get('msg')} at {err.title}.{where}",
                hint="nothing was written; please report this with the message",
            ) from None
    with atomic_directory(target, force=force, owned=FILES) as temp:
        for name, content in documents.items():
            (temp / name).write_bytes(content)
    digests = {name: hashlib.sha256(content).hexdigest() for name, content in documents.items()}
    return OscalResult(
        Path(target).absolute(), digests, chain, coverage.summary(), counts, m.OSCAL_VERSION
    )


def pack_documents(
    app: Any, conn: Connection, *, coverage: Any, chain: ChainCheck, period: Period, now: datetime
) -> dict[str, bytes]:
    """The OSCAL files for the audit pack's ``oscal/`` folder, or none when compliance-trestle is
    not installed (the pack is complete without them)."""
    from ._trestle import available

    if not available():
        return {}
    documents, _ = build_documents(
        oscal_models(),
        app,
        conn,
        coverage=coverage,
        chain=chain,
        period=period,
        now=now,
        ledger_href="../evidence/ledger.jsonl",
    )
    return documents


def build_documents(
    m: Any,
    app: Any,
    conn: Connection,
    *,
    coverage: Any,
    chain: ChainCheck,
    period: Period,
    now: datetime,
    ledger_href: str | None = None,
) -> tuple[dict[str, bytes], dict[str, int]]:
    """File name -> JSON bytes for the six documents, and counts of the results' findings.

    Built in the order they import one another (catalog, profile, SSP, plan, results, POA&M), so
    that each can carry the SHA-256 of the files it points at."""
    from ...catalog import load_catalog
    from ._evidence import citations, evidence_by_control, open_nonconformities
    from ._poam_data import milestones, overdue_plans, overdue_tasks, treatments
    from ._systems import evidence_by_system, systems_in_scope
    from .catalog import build_catalog, catalog_uuid
    from .plan import build_plan
    from .poam import build_poam
    from .profile import build_profile, profile_uuid, selected_ids
    from .results import RUNS_LISTED, build_results
    from .ssp import build_ssp, ssp_uuid

    catalog = load_catalog()
    organisation = _organisation(app.config)
    documents: dict[str, bytes] = {}
    digests: dict[str, str] = {}

    def add(name: str, model: Any) -> None:
        documents[name] = _serialise(model)
        digests[name] = hashlib.sha256(documents[name]).hexdigest()

    add(CATALOG_FILE, build_catalog(m, catalog, now=now))
    cat_uuid = catalog_uuid(catalog)
    add(
        PROFILE_FILE,
        build_profile(
            m,
            coverage=coverage,
            catalog=catalog,
            config=app.config,
            now=now,
            catalog_uuid=cat_uuid,
            catalog_sha256=digests[CATALOG_FILE],
        ),
    )
    cited = citations(conn, app.workflows)
    selected = selected_ids(catalog, coverage)
    add(
        SSP_FILE,
        build_ssp(
            m,
            coverage=coverage,
            config=app.config,
            period=period,
            now=now,
            systems=systems_in_scope(conn),
            evidence=evidence_by_system(conn, period, selected, cited),
            workflows={w.spec.id: (w.spec.title, w.spec.description or "") for w in app.workflows},
            selected=selected,
            profile_uuid=profile_uuid(organisation),
            profile_sha256=digests[PROFILE_FILE],
            ledger_href=ledger_href,
        ),
    )
    add(
        PLAN_FILE,
        build_plan(
            m,
            coverage=coverage,
            config=app.config,
            period=period,
            now=now,
            catalog_uuid=cat_uuid,
            catalog_sha256=digests[CATALOG_FILE],
            ssp_uuid=ssp_uuid(organisation),
            ssp_sha256=digests[SSP_FILE],
        ),
    )
    evidence, left_out = evidence_by_control(
        conn, period, [c.id for c in coverage.controls], cited, limit=RUNS_LISTED
    )
    nonconformities = open_nonconformities(conn, period)
    results = build_results(
        m,
        coverage=coverage,
        catalog=catalog,
        evidence=evidence,
        left_out=left_out,
        nonconformities=nonconformities,
        chain=chain,
        config=app.config,
        period=period,
        now=now,
        first_recorded=_first_recorded(conn),
        workflow_titles=dict(cited.titles),
        files=digests,
        catalog_uuid=cat_uuid,
        ledger_href=ledger_href,
    )
    add(RESULTS_FILE, results)
    cutoff = min(period.end, now) if period.end else now
    late, completed = treatments(conn, period, cutoff)
    # a treatment action's own task is the action: listed once, from the register
    tracked = {t.run_id for t in late}
    tasks = [t for t in overdue_tasks(conn, cited, cutoff) if t.milestone.run_id not in tracked]
    plans = overdue_plans(conn, cutoff)
    add(
        POAM_FILE,
        build_poam(
            m,
            config=app.config,
            period=period,
            now=now,
            cutoff=cutoff,
            nonconformities=nonconformities,
            corrective=milestones(
                conn, [nc.corrective_run for nc in nonconformities if nc.corrective_run], cutoff
            ),
            tasks=tasks,
            plans=plans,
            overdue=late,
            completed=completed,
            ssp_uuid=ssp_uuid(organisation),
            files=digests,
            ledger_href=ledger_href,
        ),
    )
    findings = results.results[0].findings or []
    counts = {
        "satisfied": sum(1 for f in findings if f.target.status.state.value == "satisfied"),
        "not_satisfied": sum(1 for f in findings if f.target.status.state.value == "not-satisfied"),
        "nonconformities": len(nonconformities),
        "poam_items": len(nonconformities) + len(tasks) + len(plans) + len(late),
        "treatments_completed": len(completed),
    }
    return documents, counts


def _organisation(config: Any) -> str:
    from ._meta import line

    return line(config.organisation, default="Our organisation")


def _coverage(app: Any, conn: Connection, period: Period, now: datetime) -> Any:
    from ...catalog import load_catalog
    from ..soa import build_coverage

    return build_coverage(
        conn,
        catalog=load_catalog(),
        workflows=app.workflows,
        soa=app.config.soa,
        period=period,
        generated_at=iso(now),
        organisation=app.config.organisation,
    )


def _first_recorded(conn: Connection) -> str | None:
    from ...store.models import Evidence

    e = Evidence.__table__
    return conn.scalar(
        select(e.c.recorded_at).where(e.c.seq == select(func.min(e.c.seq)).scalar_subquery())
    )


def _serialise(model: Any) -> bytes:
    # trestle's own serialiser: the wrapping top-level key, OSCAL's aliases, its date format
    return model.oscal_serialize_json_bytes(pretty=True) + b"\n"
