"""The nonconformity part of the assessment results: an observation and a not-satisfied
finding per open nonconformity, and one on clause 7.5.3 when the ledger's chain does not verify."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ...catalog import Catalog
from ..ledger_slice import ChainCheck
from ._controls import AUTOMATED
from ._evidence import Nonconformity
from ._ids import ExportIds, objective_id
from ._ledger_rows import LedgerRows
from ._meta import line, props, sentence, tool_origins, when

__all__ = [
    "RECORDED",
    "INTEGRITY_CLAUSE",
    "NONCONFORMITY_DEFAULT_CLAUSE",
    "broken_chain_finding",
    "nonconformity_finding",
    "nonconformity_observation",
]


RECORDED = "recorded-nonconformity"
"""``determination`` of a nonconformity: raised by people (an internal audit's findings step),
recorded through aims; aims did not judge it."""

NONCONFORMITY_DEFAULT_CLAUSE = "10.2"
INTEGRITY_CLAUSE = "7.5.3"


# -- nonconformities and the chain ----------------------------------------------------------------
def nonconformity_observation(
    m: Any, ids: ExportIds, nc: Nonconformity, rows: LedgerRows, now: datetime
) -> Any:
    common = m.common
    evidence = None
    if nc.raised_seq is not None and nc.raised_hash is not None:
        evidence = [
            common.RelevantEvidence(
                href=rows.cite(nc.raised_seq, nc.raised_hash, f"finding.raised {line(nc.id)}"),
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
        origins=tool_origins(m),
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
        text.append(sentence(nc.description))
    text.append(
        f"Corrective action run {nc.corrective_run}: not completed at the end of the period."
        if nc.corrective_run
        else "No corrective action run."
    )
    return " ".join(text)


def nonconformity_finding(
    m: Any, ids: ExportIds, nc: Nonconformity, clause: str, catalog: Catalog, observation_uuid: str
) -> Any:
    common = m.common
    entry = catalog.get(clause)
    return common.Finding(
        uuid=ids("finding", "nonconformity", nc.id),
        title=f"Open nonconformity {line(nc.id)}: {line(nc.title)}",
        description=_describe_nonconformity(nc),
        props=props(
            m,
            [
                ("finding-id", nc.id),
                ("severity", nc.severity),
                ("label", clause),
                ("determination", RECORDED),
            ],
        ),
        origins=tool_origins(m),
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
        remarks=(
            f"Raised by {line(nc.source)} and recorded through aims-workflows (the origins "
            "actor): the people of that run judged it, not aims."
        ),
    )


def broken_chain_finding(m: Any, ids: ExportIds, chain: ChainCheck, catalog: Catalog) -> Any:
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
            m,
            [
                ("ledger-first-bad-seq", chain.first_bad_seq),
                ("label", INTEGRITY_CLAUSE),
                ("determination", AUTOMATED),
            ],
        ),
        origins=tool_origins(m),
        target=common.FindingTarget(
            type=common.FindingTargetTypeValidValues.objective_id,
            target_id=objective_id(INTEGRITY_CLAUSE),
            title=entry.label,
            status=common.ObjectiveStatus(state="not-satisfied", reason="fail"),
        ),
    )
