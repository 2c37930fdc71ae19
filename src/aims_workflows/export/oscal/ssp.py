"""A system security plan for the AI management system: what the AIMS is, which AI systems are in
its scope, and how each control the profile selects is implemented, drawn from the workflows whose
``evidences:`` name it and from the ledger rows their runs wrote in the period.

Components: the AIMS itself (``this-system``) and every AI system in scope of the inventory (type
``system``). Each implemented requirement has a by-component statement for the AIMS (the SoA
decision, the implementation note, the workflows that evidence the control, the period's runs)
and one for every AI system whose runs evidenced the control in the period (which workflows, how
many runs completed and open, the latest ledger row, cited by seq and hash in the back-matter).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ..period import Period
from ..soa import Coverage, CoverageReport
from ._controls import DETERMINATION
from ._ids import oscal_id, stable_uuid
from ._ledger_rows import LedgerRows
from ._meta import line, metadata, props, sentence
from ._systems import AiSystem, SystemEvidence
from .plan import PROFILE_FILE, file_resource

__all__ = ["build_ssp", "ssp_uuid", "aims_component_uuid", "system_component_uuid"]


def ssp_uuid(organisation: str) -> str:
    return stable_uuid("system-security-plan", organisation)


def aims_component_uuid(organisation: str) -> str:
    return stable_uuid("component", "aims", organisation)


def system_component_uuid(organisation: str, system_id: str) -> str:
    return stable_uuid("component", "ai-system", organisation, system_id)


def build_ssp(
    m: Any,
    *,
    coverage: CoverageReport,
    config: Any,
    period: Period,
    now: datetime,
    systems: list[AiSystem],
    evidence: Mapping[str, Mapping[str, SystemEvidence]],
    workflows: Mapping[str, tuple[str, str]],
    selected: list[str],
    profile_uuid: str,
    profile_sha256: str,
    ledger_href: str | None = None,
) -> Any:
    """A ``trestle.oscal.ssp.SystemSecurityPlan``; building it validates it.

    ``evidence`` maps a control (or clause) id to AI system id -> its evidence in the period;
    ``workflows`` maps a workflow id to its title and description; ``selected`` are the ids the
    profile selects, each an implemented requirement here.
    """
    common, ssp = m.common, m.ssp
    organisation = line(config.organisation, default="Our organisation")
    rows = LedgerRows(organisation, ledger_href)
    aims = aims_component_uuid(organisation)
    components = [
        common.SystemComponent(
            uuid=aims,
            type="this-system",
            title=f"AI management system of {organisation}",
            description=(
                "The AIMS: the roles and Statement of Applicability decisions in aims.yaml, the "
                "workflows in force (each run as Jira tasks and Slack approvals) and the "
                "hash-chained evidence ledger every run writes to."
            ),
            status=common.Status(state="operational"),
        )
    ] + [_system_component(m, organisation, s) for s in systems]
    by_id = {s.id: s for s in systems}
    rows_by_id = {row.id: row for row in [*coverage.clauses, *coverage.controls]}
    requirements = [
        _requirement(
            m, organisation, rows_by_id[i], aims, evidence.get(i, {}), by_id, workflows, rows
        )
        for i in selected
    ]
    in_scope = ", ".join(s.name for s in systems) or "none registered yet"
    resources = [
        file_resource(
            m,
            uuid=stable_uuid("resource", "profile", profile_uuid),
            title="Statement of Applicability (OSCAL profile)",
            href=PROFILE_FILE,
            sha256=profile_sha256,
            description="The profile this plan imports: the controls that apply.",
        )
    ]
    resources += rows.resources(m)
    return ssp.SystemSecurityPlan(
        uuid=ssp_uuid(organisation),
        metadata=metadata(
            m,
            title=f"AI management system security plan: {organisation} ({period.label()})",
            now=now,
            config=config,
        ),
        import_profile=ssp.ImportProfile(href=PROFILE_FILE),
        system_characteristics=ssp.SystemCharacteristics(
            system_ids=[
                common.SystemId(
                    identifier_type="https://ietf.org/rfc/rfc4122", id=ssp_uuid(organisation)
                )
            ],
            system_name=f"AI management system of {organisation}",
            system_name_short="AIMS",
            description=(
                f"The AI management system (ISO/IEC 42001) of {organisation}, run with "
                f"aims-workflows. AI systems in scope: {in_scope}. Statements below are drawn "
                f"from the workflows that evidence each control and their runs in "
                f"{period.label()}."
            ),
            props=props(m, [("ai-systems-in-scope", len(systems))]),
            system_information=ssp.SystemInformation(
                information_types=[
                    ssp.InformationType(
                        uuid=stable_uuid("information-type", "aims-records", organisation),
                        title="AIMS documented information",
                        description=(
                            "The records ISO/IEC 42001 clause 7.5 asks for: the AI system "
                            "inventory, risk and impact assessments, approvals with their "
                            "reasons, audit findings and corrective actions, management "
                            "reviews, kept as rows of the evidence ledger."
                        ),
                    )
                ]
            ),
            status=ssp.Status1(state="operational"),
            authorization_boundary=ssp.AuthorizationBoundary(
                description=(
                    "The scope of the AIMS: the organisation named in aims.yaml and the AI "
                    f"systems in scope of its inventory ({in_scope}). Systems marked out of "
                    "scope in the inventory are outside it."
                )
            ),
        ),
        system_implementation=ssp.SystemImplementation(
            users=_users(m, config) or None,
            components=components,
        ),
        control_implementation=ssp.ControlImplementation(
            description=(
                "One implemented requirement per requirement clause and per applicable Annex A "
                "control (the profile's selection). The AIMS component's statement gives the "
                "SoA decision and the workflows that evidence the control; each AI system's "
                "statement gives its runs in the period, with the latest ledger row cited by seq "
                "and SHA-256 in the back-matter."
            ),
            implemented_requirements=requirements,
        ),
        back_matter=common.BackMatter(resources=resources),
    )


def _system_component(m: Any, organisation: str, system: AiSystem) -> Any:
    common = m.common
    return common.SystemComponent(
        uuid=system_component_uuid(organisation, system.id),
        type="system",
        title=line(system.name),
        description=sentence(system.purpose) if system.purpose.strip() else "An AI system.",
        props=props(
            m,
            [
                ("inventory-id", system.id),
                ("owner", system.owner),
                ("model-type", system.model_type),
                ("lifecycle-stage", system.lifecycle_stage),
                ("risk-tier", system.risk_tier),
            ],
        ),
        status=common.Status(
            state=_STATE.get(system.lifecycle_stage, "other"),
            remarks=f"Inventory lifecycle stage: {system.lifecycle_stage or 'not recorded'}.",
        ),
    )


# inventory lifecycle stage -> OSCAL component state (operational, under-development, disposition)
_STATE = {
    "inception": "under-development",
    "design": "under-development",
    "development": "under-development",
    "validation": "under-development",
    "deployed": "operational",
    "monitoring": "operational",
    "retired": "disposition",
}


def _users(m: Any, config: Any) -> list[Any]:
    from ._meta import ROLE_TITLES

    return [
        m.common.SystemUser(
            uuid=stable_uuid("user", role),
            title=ROLE_TITLES.get(role, role.replace("_", " ").capitalize()),
            role_ids=[role],
        )
        for role in config.roles
    ]


def _requirement(
    m: Any,
    organisation: str,
    row: Coverage,
    aims: str,
    evidence: Mapping[str, SystemEvidence],
    systems: Mapping[str, AiSystem],
    workflows: Mapping[str, tuple[str, str]],
    rows: LedgerRows,
) -> Any:
    common, ssp = m.common, m.ssp
    _, _, implementation, _ = DETERMINATION.get(row.status, (None, None, "planned", None))
    by_components = [
        ssp.ByComponent(
            component_uuid=aims,
            uuid=stable_uuid("by-component", organisation, row.id, "aims"),
            description=_aims_statement(row, workflows),
            props=props(m, [("soa-status", row.status), ("gap", "true" if row.gap else None)]),
            implementation_status=common.ImplementationStatus(state=implementation),
        )
    ]
    for system_id, found in sorted(evidence.items(), key=lambda item: _name(systems, item[0])):
        if system_id not in systems:
            continue  # out of scope (or gone from the inventory) today: not a component
        href = rows.cite(found.last_seq, found.last_hash, f"the latest for {row.id}")
        by_components.append(
            ssp.ByComponent(
                component_uuid=system_component_uuid(organisation, system_id),
                uuid=stable_uuid("by-component", organisation, row.id, system_id),
                description=_system_statement(row, systems[system_id], found, workflows),
                props=props(
                    m,
                    [
                        ("runs-completed", len(found.completed)),
                        ("runs-open", len(found.open)),
                        ("evidence-rows", found.rows),
                        ("ledger-seq", found.last_seq),
                        ("ledger-hash", found.last_hash),
                    ],
                ),
                links=[
                    common.Link(href=href, rel="evidence", text=f"ledger row #{found.last_seq}")
                ],
                implementation_status=common.ImplementationStatus(
                    state="implemented" if found.completed else "partial"
                ),
            )
        )
    return ssp.ImplementedRequirement(
        uuid=stable_uuid("implemented-requirement", organisation, row.id),
        control_id=oscal_id(row.id),
        props=props(m, [("label", row.id)]),
        by_components=by_components,
    )


def _name(systems: Mapping[str, AiSystem], system_id: str) -> str:
    found = systems.get(system_id)
    return found.name if found else system_id


def _aims_statement(row: Coverage, workflows: Mapping[str, tuple[str, str]]) -> str:
    parts = []
    if row.justification.strip():
        parts.append(sentence(f"Applicable. Why: {row.justification.strip()}"))
    if row.implementation.strip():
        parts.append(sentence(f"Implementation: {row.implementation.strip()}"))
    if row.workflows:
        parts.append(f"Evidenced by the workflows: {row.workflows_text()}.")
        for workflow in row.workflows:
            title, description = workflows.get(workflow, (workflow, ""))
            text = f"{line(title)} ({workflow})"
            if description.strip():
                text += f": {line(description)}"
            parts.append(sentence(text))
    else:
        parts.append("No workflow names it in its evidences.")
    parts.append(
        f"In the period: {row.runs_completed} run(s) completed, {row.runs_open} open, "
        f"{row.evidence_rows} ledger row(s). Status: {row.status_label}."
    )
    return " ".join(parts)


def _system_statement(
    row: Coverage,
    system: AiSystem,
    found: SystemEvidence,
    workflows: Mapping[str, tuple[str, str]],
) -> str:
    names = "; ".join(
        f"{line(workflows.get(w, (w, ''))[0])} ({w})" for w in sorted(found.workflows)
    )
    return (
        f"For {line(system.name)}, {row.id} is carried out by {names}: "
        f"{len(found.completed)} run(s) completed and {len(found.open)} open in the period, "
        f"{found.rows} ledger row(s); the latest is row #{found.last_seq}."
    )
