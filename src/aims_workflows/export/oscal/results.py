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
described       none            the evidence is kept outside aims: someone has to examine it
excluded        no finding      the exclusion and its reason are in the observation
==============  ==============  ==========================================================

An open nonconformity (the findings table) is a not-satisfied finding on the clause it names
(10.2 when it names none); a ledger whose chain does not verify is one on 7.5.3.

Relevant evidence names ledger rows by ``ledger-seq`` and ``ledger-hash`` (the row's SHA-256 in
the hash chain): one entry per run, its latest row for the control, since the chain anchors
every row before it. The ``href`` points at the back-matter resource describing the ledger.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ...catalog import Catalog
from ..ledger_slice import ChainCheck
from ..period import Period
from ..soa import Coverage, CoverageReport
from ._evidence import Nonconformity, RunEvidence
from ._ids import objective_id, stable_uuid
from ._meta import line, metadata, prop, props, when
from .plan import CATALOG_FILE, PLAN_FILE, file_resource, plan_uuid, reviewed_controls

__all__ = ["build_results", "DETERMINATION", "RUNS_LISTED"]

RUNS_LISTED = 50
"""Runs listed as relevant evidence per control (newest first); the rest are counted in a remark."""

# SoA status -> (objective state, reason, implementation status); None: not stated
DETERMINATION: dict[str, tuple[str | None, str | None, str | None]] = {
    "implemented": ("satisfied", "pass", "implemented"),
    "in_progress": ("not-satisfied", "other", "partial"),
    "no_evidence": ("not-satisfied", "fail", "planned"),
    "described": (None, None, "implemented"),
}
NONCONFORMITY_DEFAULT_CLAUSE = "10.2"
INTEGRITY_CLAUSE = "7.5.3"


class _Ids:
    """The UUIDs of one export: stable for the same organisation and period."""

    def __init__(self, organisation: str, period: Period) -> None:
        self.key = (organisation, period.since, period.until)

    def __call__(self, *name: object) -> str:
        return stable_uuid(*name, *self.key)


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
    ids = _Ids(organisation, period)
    ledger_uuid = stable_uuid("resource", "ledger", organisation)

    observations, findings, clauses = [], [], set()
    for row in coverage.controls:
        observation = _control_observation(
            m,
            ids,
            row,
            evidence.get(row.id, []),
            left_out.get(row.id, 0),
            ledger_uuid,
            workflow_titles,
            period,
            now,
        )
        observations.append(observation)
        if row.applicable:
            findings.append(_control_finding(m, ids, row, observation.uuid))
    for nc in nonconformities:
        clause = (
            nc.clause
            if nc.clause and catalog.is_known(nc.clause) and not nc.clause.startswith("A.")
            else NONCONFORMITY_DEFAULT_CLAUSE
        )
        observation = _nonconformity_observation(m, ids, nc, ledger_uuid, now)
        observations.append(observation)
        findings.append(_nonconformity_finding(m, ids, nc, clause, catalog, observation.uuid))
        clauses.add(clause)
    if not chain.ok:
        findings.append(_broken_chain_finding(m, ids, chain, catalog))
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
            "evidence kept outside aims carry no determination: examine that evidence."
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


# -- Annex A controls ---------------------------------------------------------------------------
def _control_observation(
    m: Any,
    ids: _Ids,
    row: Coverage,
    runs: list[RunEvidence],
    left_out: int,
    ledger_uuid: str,
    titles: dict[str, str],
    period: Period,
    now: datetime,
) -> Any:
    common = m.common
    evidence = [_run_evidence(m, run, ledger_uuid, titles) for run in runs]
    remarks = None
    if left_out:
        remarks = (
            f"{left_out} more run(s) with evidence for this control in the "
            "period are not listed here; their rows are in the ledger."
        )
    return common.Observation(
        uuid=ids("observation", row.id),
        title=f"{row.id} {row.title}: {row.status_label}",
        description=_describe(row, period),
        props=props(
            m,
            [
                ("label", row.id),
                ("soa-status", row.status),
                ("applicable", "yes" if row.applicable else "no"),
                ("gap", "true" if row.gap else None),
                ("runs-completed", row.runs_completed),
                ("runs-open", row.runs_open),
                ("evidence-rows", row.evidence_rows),
                ("latest-evidence", row.latest_evidence),
            ]
            + [("workflow", w) for w in row.workflows],
        ),
        methods=[common.Methods.EXAMINE],
        types=["control-objective"],
        relevant_evidence=evidence or None,
        collected=now,
        remarks=remarks,
    )


def _describe(row: Coverage, period: Period) -> str:
    parts = []
    if row.applicable:
        parts.append(
            _sentence(f"Applicable. Why: {row.justification}")
            if row.justification
            else "Applicable."
        )
    else:
        parts.append(
            _sentence(f"Excluded from the Statement of Applicability. Why: {row.justification}")
        )
    if row.implementation:
        parts.append(_sentence(f"Implementation: {row.implementation}"))
    parts.append(
        f"Workflows that evidence it: {row.workflows_text()}."
        if row.workflows
        else "No workflow names this control in its evidences."
    )
    latest = f", the latest on {row.latest_evidence[:10]}" if row.latest_evidence else ""
    parts.append(
        f"In the period ({period.label()}): {row.runs_completed} run(s) completed, "
        f"{row.runs_open} open; {row.evidence_rows} ledger row(s){latest}."
    )
    parts.append(f"Status: {row.status_label}.")
    if row.gap:
        parts.append("GAP: applicable, with no workflow and no implementation described.")
    parts += [_sentence(note[:1].upper() + note[1:]) for note in row.notes]
    return " ".join(parts)


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


def _run_evidence(m: Any, run: RunEvidence, ledger_uuid: str, titles: dict[str, str]) -> Any:
    title = titles.get(run.workflow, run.workflow)
    span = (
        f"#{run.first_seq}"
        if run.first_seq == run.last_seq
        else f"#{run.first_seq} to #{run.last_seq}"
    )
    return m.common.RelevantEvidence(
        href=f"#{ledger_uuid}",
        description=(
            f"Run {run.run_id} of {run.workflow} v{run.version} ({line(title)}) "
            f"on {line(run.subject)}: {run.rows} ledger row(s) for this "
            f"control, {span}. Row #{run.last_seq}, the latest, has the SHA-256 "
            "in ledger-hash; the hash chain ties every earlier row to it."
        ),
        props=props(
            m,
            [
                ("run-id", run.run_id),
                ("workflow", f"{run.workflow} v{run.version}"),
                ("ledger-rows", run.rows),
                ("ledger-first-seq", run.first_seq),
                ("ledger-seq", run.last_seq),
                ("ledger-hash", run.last_hash),
                ("latest-evidence", run.latest),
            ],
        ),
    )


def _control_finding(m: Any, ids: _Ids, row: Coverage, observation_uuid: str) -> Any:
    common = m.common
    state, reason, implementation = DETERMINATION[row.status]
    status = common.ObjectiveStatus(state=state, reason=reason) if state else None
    verdict = {"satisfied": "satisfied", "not-satisfied": "not satisfied", None: "not determined"}[
        state
    ]
    gap = " (gap)" if row.gap else ""
    return common.Finding(
        uuid=ids("finding", row.id),
        title=f"{row.id} {row.title}: {verdict}{gap}",
        description=_sentence(
            row.status_label[:1].upper()
            + row.status_label[1:]
            + (": a gap, no workflow and no implementation described" if row.gap else "")
        ),
        props=props(
            m, [("label", row.id), ("soa-status", row.status), ("gap", "true" if row.gap else None)]
        ),
        target=common.FindingTarget(
            type=common.FindingTargetTypeValidValues.objective_id,
            target_id=objective_id(row.id),
            title=f"{row.id} {row.title}",
            status=status,
            implementation_status=common.ImplementationStatus(state=implementation)
            if implementation
            else None,
            remarks=None if state else "The evidence is kept outside aims: examine it to decide.",
        ),
        related_observations=[common.RelatedObservation(observation_uuid=observation_uuid)],
    )


# -- nonconformities and the chain ----------------------------------------------------------------
def _nonconformity_observation(
    m: Any, ids: _Ids, nc: Nonconformity, ledger_uuid: str, now: datetime
) -> Any:
    common = m.common
    evidence = None
    if nc.raised_seq is not None:
        evidence = [
            common.RelevantEvidence(
                href=f"#{ledger_uuid}",
                description=f"The ledger row that raised {line(nc.id)} (finding.raised).",
                props=props(m, [("ledger-seq", nc.raised_seq), ("ledger-hash", nc.raised_hash)]),
            )
        ]
    return common.Observation(
        uuid=ids("observation", "nonconformity", nc.id),
        title=f"Nonconformity {line(nc.id)}: {line(nc.title)}",
        description=_describe_nonconformity(nc),
        props=props(
            m,
            [
                ("finding-id", nc.id),
                ("severity", nc.severity),
                ("source", nc.source),
                ("clause", nc.clause),
                ("system", nc.system),
                ("raised-at", when(nc.raised_at).isoformat()),
                ("corrective-action-run", nc.corrective_run),
            ],
        ),
        methods=[common.Methods.EXAMINE],
        types=["finding"],
        relevant_evidence=evidence,
        collected=now,
    )


def _describe_nonconformity(nc: Nonconformity) -> str:
    text = [
        f"Nonconformity ({line(nc.severity)}) raised by {line(nc.source)} on "
        f"{when(nc.raised_at).date().isoformat()}"
        + (f" about {nc.system}" if nc.system else "")
        + (f", against clause {nc.clause}" if nc.clause else "")
        + "."
    ]
    if nc.description and nc.description.strip():
        text.append(_sentence(nc.description))
    text.append(
        f"Corrective action run {nc.corrective_run}: not completed at the end of the period."
        if nc.corrective_run
        else "No corrective action run."
    )
    return " ".join(text)


def _nonconformity_finding(
    m: Any, ids: _Ids, nc: Nonconformity, clause: str, catalog: Catalog, observation_uuid: str
) -> Any:
    common = m.common
    entry = catalog.get(clause)
    return common.Finding(
        uuid=ids("finding", "nonconformity", nc.id),
        title=f"Open nonconformity {line(nc.id)}: {line(nc.title)}",
        description=_describe_nonconformity(nc),
        props=props(m, [("finding-id", nc.id), ("severity", nc.severity), ("label", clause)]),
        target=common.FindingTarget(
            type=common.FindingTargetTypeValidValues.objective_id,
            target_id=objective_id(clause),
            title=entry.label,
            status=common.ObjectiveStatus(state="not-satisfied", reason="fail"),
            remarks=None
            if clause == nc.clause
            else f"The nonconformity names no known clause: recorded under {clause}.",
        ),
        related_observations=[common.RelatedObservation(observation_uuid=observation_uuid)],
    )


def _broken_chain_finding(m: Any, ids: _Ids, chain: ChainCheck, catalog: Catalog) -> Any:
    common = m.common
    entry = catalog.get(INTEGRITY_CLAUSE)
    return common.Finding(
        uuid=ids("finding", "ledger-chain"),
        title="The evidence ledger's hash chain does not verify",
        description=(
            "Recomputing the chain from row 1 failed at row "
            f"{chain.first_bad_seq}: {chain.problem}. {chain.rows_checked} row(s) "
            f"checked at {chain.checked_at}. Evidence hashes in these results are "
            "as stored; do not rely on them until the cause is explained."
        ),
        props=props(
            m, [("ledger-first-bad-seq", chain.first_bad_seq), ("label", INTEGRITY_CLAUSE)]
        ),
        target=common.FindingTarget(
            type=common.FindingTargetTypeValidValues.objective_id,
            target_id=objective_id(INTEGRITY_CLAUSE),
            title=entry.label,
            status=common.ObjectiveStatus(state="not-satisfied", reason="fail"),
        ),
    )


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
            "SHA-256 covers its fields and the previous row's hash. Relevant "
            "evidence names rows by ledger-seq and ledger-hash. `aims export "
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
