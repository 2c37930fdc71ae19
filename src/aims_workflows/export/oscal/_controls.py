"""The Annex A part of the assessment results: one observation per control (what the
Statement of Applicability says and the runs that evidence it) and one finding per applicable
control."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..period import Period
from ..soa import Coverage
from ._evidence import RunEvidence
from ._ids import ExportIds, objective_id
from ._ledger_rows import LedgerRows
from ._meta import line, props, sentence, tool_origins

__all__ = [
    "DETERMINATION",
    "AUTOMATED",
    "NOT_DETERMINED",
    "control_observation",
    "control_finding",
]

AUTOMATED = "aims-automated"
"""``determination`` of a finding aims worked out itself from the ledger and the SoA."""
NOT_DETERMINED = "aims-not-determined"
"""``determination`` of a finding aims could not work out: the evidence is kept elsewhere."""

# SoA status -> (objective state, reason, implementation status, determination).
# NIST's schema requires a status on every finding target, and its state is satisfied or
# not-satisfied: a control whose evidence aims does not hold is not-satisfied for the reason
# "other" (not shown to be met), marked not determined, until an assessor examines it.
DETERMINATION: dict[str, tuple[str, str, str, str]] = {
    "implemented": ("satisfied", "pass", "implemented", AUTOMATED),
    "in_progress": ("not-satisfied", "other", "partial", AUTOMATED),
    "no_evidence": ("not-satisfied", "fail", "planned", AUTOMATED),
    "described": ("not-satisfied", "other", "implemented", NOT_DETERMINED),
    # a parent clause with evidence for some sub-clauses only
    "partial": ("not-satisfied", "other", "partial", AUTOMATED),
}


# -- Annex A controls ---------------------------------------------------------------------------
def control_observation(
    m: Any,
    ids: ExportIds,
    row: Coverage,
    runs: list[RunEvidence],
    left_out: int,
    rows: LedgerRows,
    titles: dict[str, str],
    period: Period,
    now: datetime,
) -> Any:
    common = m.common
    evidence = [_run_evidence(m, run, rows, titles) for run in runs]
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
        origins=tool_origins(m),
        relevant_evidence=evidence or None,
        collected=now,
        remarks=remarks,
    )


def _describe(row: Coverage, period: Period) -> str:
    parts = []
    if row.applicable:
        parts.append(
            sentence(f"Applicable. Why: {row.justification}")
            if row.justification
            else "Applicable."
        )
    else:
        parts.append(
            sentence(f"Excluded from the Statement of Applicability. Why: {row.justification}")
        )
    if row.implementation:
        parts.append(sentence(f"Implementation: {row.implementation}"))
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
    parts += [sentence(note[:1].upper() + note[1:]) for note in row.notes]
    return " ".join(parts)


def _run_evidence(m: Any, run: RunEvidence, rows: LedgerRows, titles: dict[str, str]) -> Any:
    title = titles.get(run.workflow, run.workflow)
    span = (
        f"#{run.first_seq}"
        if run.first_seq == run.last_seq
        else f"#{run.first_seq} to #{run.last_seq}"
    )
    return m.common.RelevantEvidence(
        href=rows.cite(run.last_seq, run.last_hash, f"the latest row of run {run.run_id}"),
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


def control_finding(m: Any, ids: ExportIds, row: Coverage, observation_uuid: str) -> Any:
    common = m.common
    state, reason, implementation, determination = DETERMINATION[row.status]
    verdict = (
        "not determined"
        if determination == NOT_DETERMINED
        else {"satisfied": "satisfied", "not-satisfied": "not satisfied"}[state]
    )
    gap = " (gap)" if row.gap else ""
    return common.Finding(
        uuid=ids("finding", row.id),
        title=f"{row.id} {row.title}: {verdict}{gap}",
        description=sentence(
            row.status_label[:1].upper()
            + row.status_label[1:]
            + (": a gap, no workflow and no implementation described" if row.gap else "")
        ),
        props=props(
            m,
            [
                ("label", row.id),
                ("soa-status", row.status),
                ("gap", "true" if row.gap else None),
                ("determination", determination),
            ],
        ),
        origins=tool_origins(m),
        target=common.FindingTarget(
            type=common.FindingTargetTypeValidValues.objective_id,
            target_id=objective_id(row.id),
            title=f"{row.id} {row.title}",
            status=common.ObjectiveStatus(
                state=state,
                reason=reason,
                remarks=(
                    "Not determined by aims: the implementation is described and its evidence "
                    "is kept outside aims. An assessor has to examine it; until then the "
                    "objective is not shown to be satisfied."
                    if determination == NOT_DETERMINED
                    else None
                ),
            ),
            implementation_status=common.ImplementationStatus(state=implementation),
        ),
        related_observations=[common.RelatedObservation(observation_uuid=observation_uuid)],
        remarks=_WHO,
    )


_WHO = (
    "Determined by aims-workflows (the origins actor, a tool) from the evidence ledger and the "
    "Statement of Applicability: not an assessor's conclusion."
)
