"""The OSCAL assessment plan, and the pieces the plan and the results share.

OSCAL's assessment results import a plan (``import-ap``), and a plan imports a system security
plan (``import-ssp``): here the SSP of the AI management system written beside it
(``system-security-plan.json``, its SHA-256 in the plan's back-matter). The plan states what is
reviewed (the applicable Annex A controls, the excluded ones left out), of what (every component
of the SSP: the AIMS and the AI systems in scope), how (one activity: examining the evidence
ledger, the runs and the SoA decisions) and with what (aims-workflows, the assessment asset whose
component the results' findings name as their origin).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from ..period import Period
from ..soa import CoverageReport
from ._ids import oscal_id, stable_uuid
from ._meta import line, metadata, props, tool_assets

__all__ = [
    "build_plan",
    "plan_uuid",
    "reviewed_controls",
    "file_resource",
    "CATALOG_FILE",
    "PROFILE_FILE",
    "SSP_FILE",
    "PLAN_FILE",
    "RESULTS_FILE",
    "POAM_FILE",
]

CATALOG_FILE = "catalog.json"
PROFILE_FILE = "profile.json"
SSP_FILE = "system-security-plan.json"
PLAN_FILE = "assessment-plan.json"
RESULTS_FILE = "assessment-results.json"
POAM_FILE = "plan-of-action-and-milestones.json"


def plan_uuid(organisation: str, period: Period) -> str:
    return stable_uuid("assessment-plan", organisation, period.since, period.until)


def reviewed_controls(m: Any, coverage: CoverageReport, *, clauses: Iterable[str] = ()) -> Any:
    """The applicable Annex A controls (the excluded ones listed as excluded), and any clauses
    that findings are about."""
    common = m.common
    included = [
        common.SelectControlById(control_id=oscal_id(c.id))
        for c in coverage.controls
        if c.applicable
    ]
    excluded = [
        common.SelectControlById(control_id=oscal_id(c.id))
        for c in coverage.controls
        if not c.applicable
    ]
    description = (
        "Annex A controls applicable in the Statement of Applicability (aims.yaml soa:); "
        "excluded ones are listed as excluded."
    )
    if included:
        selections = [
            common.ControlSelections(
                description=description,
                include_controls=included,
                exclude_controls=excluded or None,
            )
        ]
    else:
        # every control excluded: OSCAL wants a non-empty include list, so include all and
        # exclude each
        selections = [
            common.ControlSelectionsAll(
                description=description, include_all=common.IncludeAll(), exclude_controls=excluded
            )
        ]
    clause_ids = sorted(set(clauses), key=_clause_order)
    if clause_ids:
        selections.append(
            common.ControlSelections(
                description="Requirement clauses named by the findings of these results.",
                include_controls=[
                    common.SelectControlById(control_id=oscal_id(c)) for c in clause_ids
                ],
            )
        )
    return common.ReviewedControls(control_selections=selections)


def _clause_order(clause: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else 0 for p in clause.split("."))


def file_resource(
    m: Any, *, uuid: str, title: str, href: str, sha256: str | None, description: str
) -> Any:
    """A back-matter resource for a file written beside this one, with its SHA-256 when known."""
    common = m.common
    hashes = [common.Hash(algorithm=common.Algorithm.SHA_256, value=sha256)] if sha256 else None
    return common.Resource(
        uuid=uuid,
        title=title,
        description=description,
        rlinks=[common.Rlink(href=href, media_type="application/json", hashes=hashes)],
    )


def build_plan(
    m: Any,
    *,
    coverage: CoverageReport,
    config: Any,
    period: Period,
    now: datetime,
    catalog_uuid: str,
    catalog_sha256: str,
    ssp_uuid: str,
    ssp_sha256: str,
) -> Any:
    """A ``trestle.oscal.assessment_plan.AssessmentPlan``; building it validates it."""
    common = m.common
    organisation = line(config.organisation, default="Our organisation")
    catalog_resource = file_resource(
        m,
        uuid=stable_uuid("resource", "catalog", catalog_uuid),
        title=f"{coverage.standard} catalogue",
        href=CATALOG_FILE,
        sha256=catalog_sha256,
        description=(
            "The catalogue whose controls are reviewed (OSCAL ids: A.6.2.4 is a-6.2.4, "
            "clause 6.1.2 is clause-6.1.2)."
        ),
    )
    ssp_resource = file_resource(
        m,
        uuid=stable_uuid("resource", "ssp", ssp_uuid),
        title=f"System security plan of the AI management system of {organisation}",
        href=SSP_FILE,
        sha256=ssp_sha256,
        description="The SSP this plan imports: the AIMS, the AI systems in scope, statements.",
    )
    activity = common.Activity(
        uuid=stable_uuid("activity", "examine-ledger"),
        title="Examine the evidence ledger",
        description=(
            "For each Annex A control, read the Statement of Applicability decision, the "
            "workflows whose evidences: name the control, their runs completed and open in "
            "the period, and the hash-chained ledger rows those runs wrote; verify the chain."
        ),
        props=props(m, [("method", "EXAMINE")]),
    )
    return m.assessment_plan.AssessmentPlan(
        uuid=plan_uuid(organisation, period),
        metadata=metadata(
            m,
            title=f"ISO/IEC 42001 assessment plan: {organisation} ({period.label()})",
            now=now,
            config=config,
        ),
        import_ssp=common.ImportSsp(href=SSP_FILE),
        local_definitions=m.assessment_plan.LocalDefinitions(activities=[activity]),
        reviewed_controls=reviewed_controls(m, coverage),
        assessment_subjects=[
            common.AssessmentSubjectAll(
                type="component",
                description="Every component of the SSP: the AIMS and the AI systems in scope.",
                include_all=common.IncludeAll(),
            )
        ],
        assessment_assets=tool_assets(m),
        back_matter=common.BackMatter(resources=[ssp_resource, catalog_resource]),
    )
