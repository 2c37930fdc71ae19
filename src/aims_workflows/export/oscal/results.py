"""The period's OSCAL assessment results: one result with an observation per Annex A control, a
finding per applicable control and per open nonconformity, and the ledger rows behind them.

What the determinations mean (the finding's target status):

==============  ==============  ==========================================================
SoA status      target status   because
==============  ==============  ==========================================================
implemented     satisfied       ledger evidence from runs completed in the period
in progress     not-satisfied   runs are open and none completed in the period
no evidence     not-satisfied   applicable, nothing recorded (a *gap* when no workflow and
                                no implementation note covers it either)
described       not-satisfied   reason "other", marked not determined: the evidence is kept
                                outside aims and an assessor has to examine it (NIST's
                                schema requires a status on every finding)
excluded        no finding      the exclusion and its reason are in the observation
==============  ==============  ==========================================================

An open nonconformity (the findings table) is a not-satisfied finding on the clause it names
(10.2 when it names none); a ledger whose chain does not verify is one on 7.5.3.

Every finding and observation names aims-workflows as its origin (an actor of type ``tool``,
the component in the plan's assessment assets) and carries a ``determination`` property:
``aims-automated`` (aims' own verdict from the ledger), ``aims-not-determined`` (described
controls) or ``recorded-nonconformity`` (raised by people, recorded through aims).

Relevant evidence names ledger rows by ``ledger-seq`` and ``ledger-hash`` (the row's SHA-256 in
the hash chain): one entry per run, its latest row for the control, since the chain anchors
every row before it. The ``href`` points at a back-matter resource for that row, which carries
the same seq and hash.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ...catalog import Catalog
from ..ledger_slice import ChainCheck
from ..period import Period
from ..soa import CoverageReport
from ._controls import control_finding, control_observation
from ._evidence import Nonconformity, RunEvidence
from ._ids import ExportIds, stable_uuid
from ._ledger_rows import LedgerRows
from ._meta import line, metadata, prop, props, when
from ._nonconformities import (
    INTEGRITY_CLAUSE,
    NONCONFORMITY_DEFAULT_CLAUSE,
    broken_chain_finding,
    nonconformity_finding,
    nonconformity_observation,
)
from .plan import CATALOG_FILE, PLAN_FILE, file_resource, plan_uuid, reviewed_controls

RUNS_LISTED = 50
"""Runs listed as relevant evidence per control (newest first); the rest are counted in a remark."""


def build_results(
    m: Any,
    *,
    coverage: CoverageReport,
    catalog: Catalog,
    evidence: dict[str, list[RunEvidence]],
    left_out: dict[str, int],
    nonconformities: list[Nonconformity],
    chain: ChainCheck,
    config: Any,
    period: Period,
    now: datetime,
    first_recorded: str | None,
    workflow_titles: dict[str, str],
    files: dict[str, str],
    catalog_uuid: str,
    ledger_href: str | None = None,
) -> Any:
    """A ``trestle.oscal.assessment_results.AssessmentResults``; building it validates it.

    ``files`` maps the catalog's and the plan's file names to their SHA-256; ``ledger_href`` is
    where the ledger rows can be read (the audit pack's ``evidence/ledger.jsonl``), if anywhere.
    """
    common = m.common
    organisation = line(config.organisation, default="Our organisation")
    ids = ExportIds(organisation, period)
    ledger_uuid = stable_uuid("resource", "ledger", organisation)
    rows = LedgerRows(organisation, ledger_href)

    observations, findings, clauses = [], [], set()
    for row in coverage.controls:
        observation = control_observation(
            m,
            ids,
            row,
            evidence.get(row.id, []),
            left_out.get(row.id, 0),
            rows,
            workflow_titles,
            period,
            now,
        )
        observations.append(observation)
        if row.applicable:
            findings.append(control_finding(m, ids, row, observation.uuid))
    for nc in nonconformities:
        clause = (
            nc.clause
            if nc.clause and catalog.is_known(nc.clause) and not nc.clause.startswith("A.")
            else NONCONFORMITY_DEFAULT_CLAUSE
        )
        observation = nonconformity_observation(m, ids, nc, rows, now)
        observations.append(observation)
        findings.append(nonconformity_finding(m, ids, nc, clause, catalog, observation.uuid))
        clauses.add(clause)
    if not chain.ok:
        findings.append(broken_chain_finding(m, ids, chain, catalog))
        clauses.add(INTEGRITY_CLAUSE)

    summary = coverage.summary()
    start, end = _span(period, now, first_recorded)
    result = m.assessment_results.Result(
        uuid=ids("result"),
        title=f"AIMS evidence: {organisation}, {period.label()}",
        description=(
            f"Determinations made by aims-workflows for {period.label()} from the "
            "hash-chained evidence ledger, the workflows' evidences: declarations and the "
            "Statement of Applicability decisions in aims.yaml. Satisfied: applicable, with "
            "ledger evidence from runs completed in the period. Not satisfied: runs open and "
            "none completed, or no evidence (a gap when no workflow and no implementation "
            "note covers the control). Controls whose implementation is described with "
            "evidence kept outside aims are not-satisfied for the reason 'other' and marked "
            "not determined (determination: aims-not-determined): examine that evidence. "
            "Every finding names aims-workflows as its origin (a tool); the determination "
            "property says whether aims worked it out or recorded what people raised."
        ),
        start=start,
        end=end,
        props=props(
            m,
            [
                ("period-since", period.since),
                ("period-until", period.until),
                ("controls-applicable", summary["applicable"]),
                ("controls-implemented", summary["implemented"]),
                ("gaps", len(summary["gaps"])),
                ("open-nonconformities", len(nonconformities)),
                ("ledger-head-seq", chain.head_seq),
                ("ledger-head-hash", chain.head_hash),
                ("ledger-chain-verified", "true" if chain.ok else "false"),
            ],
        ),
        reviewed_controls=reviewed_controls(m, coverage, clauses=clauses),
        observations=observations,
        findings=findings or None,
    )
    resources = [
        file_resource(
            m,
            uuid=stable_uuid("resource", "catalog", catalog_uuid),
            title=f"{coverage.standard} catalogue",
            href=CATALOG_FILE,
            sha256=files.get(CATALOG_FILE),
            description=(
                "The OSCAL catalog the control ids refer to (A.6.2.4 is a-6.2.4, clause "
                "6.1.2 is clause-6.1.2)."
            ),
        ),
        file_resource(
            m,
            uuid=stable_uuid("resource", "plan", plan_uuid(organisation, period)),
            title="Assessment plan",
            href=PLAN_FILE,
            sha256=files.get(PLAN_FILE),
            description="The plan these results import.",
        ),
        _ledger_resource(m, ledger_uuid, organisation, chain, ledger_href),
    ]
    resources += rows.resources(m)
    return m.assessment_results.AssessmentResults(
        uuid=stable_uuid("assessment-results", *ids.key, chain.head_seq, chain.head_hash),
        metadata=metadata(
            m,
            title=f"ISO/IEC 42001 assessment results: {organisation} ({period.label()})",
            now=now,
            config=config,
        ),
        import_ap=m.assessment_results.ImportAp(href=PLAN_FILE),
        results=[result],
        back_matter=common.BackMatter(resources=resources),
    )


def _span(period: Period, now: datetime, first_recorded: str | None) -> tuple[datetime, datetime]:
    """The result's start and end: the period's,
    bounded by what exists (the first ledger row, now)."""
    start = period.start or (when(first_recorded) if first_recorded else now)
    end = min(period.end, now) if period.end else now
    return start, max(start, end)


def _ledger_resource(
    m: Any, uuid: str, organisation: str, chain: ChainCheck, href: str | None
) -> Any:
    common = m.common
    rlinks = [common.Rlink(href=href, media_type="application/x-ndjson")] if href else None
    return common.Resource(
        uuid=uuid,
        title=f"Evidence ledger of {organisation}",
        description=(
            "The append-only, hash-chained ledger aims-workflows keeps: each row's "
            "SHA-256 covers its fields and the previous row's hash. Every row cited "
            "is a resource of its own in this back-matter, with its ledger-seq and "
            "ledger-hash. `aims export "
            "audit-pack` writes the period's rows to evidence/ledger.jsonl with a "
            "stand-alone verifier; `aims evidence verify` checks the whole chain."
        ),
        props=[
            prop(m, "ledger-head-seq", chain.head_seq),
            prop(m, "ledger-head-hash", chain.head_hash),
            prop(m, "ledger-chain-verified", "true" if chain.ok else "false"),
            prop(m, "ledger-checked-at", chain.checked_at),
        ],
        rlinks=rlinks,
    )
