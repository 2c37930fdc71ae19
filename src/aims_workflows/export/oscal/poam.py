"""The plan of action and milestones: what is open at the end of the period and how it is to be
closed. One POA&M item per open nonconformity (its corrective action's tasks are the milestones)
and per overdue risk treatment (a treatment action of the risk register open past its target
date, an overdue treatment task of another run, or an untracked treatment plan past its target
date with no newer assessment of the risk), each with a risk whose remediation holds the
milestones as tasks of type ``milestone``; and one per treatment action of the register
completed in the period, its risk closed and its milestone dated on the completion. The ledger
rows cited are back-matter resources with their seq and SHA-256.

OSCAL requires at least one POA&M item: with nothing open, the one item says so (``poam-kind:
none-open``) and names no risk.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from ..period import Period
from ._evidence import Nonconformity
from ._ids import ExportIds, stable_uuid
from ._ledger_rows import LedgerRows
from ._meta import line, metadata, props, sentence, tool_assets, tool_origins, when
from ._poam_data import Milestone, OverduePlan, OverdueTask, Treatment
from .plan import RESULTS_FILE, SSP_FILE, file_resource

__all__ = ["build_poam"]


def build_poam(
    m: Any,
    *,
    config: Any,
    period: Period,
    now: datetime,
    cutoff: datetime,
    nonconformities: list[Nonconformity],
    corrective: Mapping[str, list[Milestone]],
    tasks: list[OverdueTask],
    plans: list[OverduePlan],
    ssp_uuid: str,
    overdue: Sequence[Treatment] = (),
    completed: Sequence[Treatment] = (),
    files: Mapping[str, str],
    ledger_href: str | None = None,
) -> Any:
    """A ``trestle.oscal.poam.PlanOfActionAndMilestones``; building it validates it.

    ``corrective`` maps a corrective-action run to its tasks; ``files`` the SSP's and the
    assessment results' file names to their SHA-256."""
    common = m.common
    organisation = line(config.organisation, default="Our organisation")
    ids = ExportIds(organisation, period)
    rows = LedgerRows(organisation, ledger_href)
    items: list[Any] = []
    risks: list[Any] = []
    for nc in nonconformities:
        steps = corrective.get(nc.corrective_run or "", [])
        risk = _nonconformity_risk(m, ids, nc, steps, cutoff)
        risks.append(risk)
        links = _evidence_links(
            common,
            rows,
            nc.raised_seq,
            nc.raised_hash,
            f"finding.raised {line(nc.id)}",
            "the row that raised it",
        )
        # the same nonconformity's finding in the results of the period (same UUID scheme)
        links.append(
            common.Link(
                href=f"{RESULTS_FILE}#{ids('finding', 'nonconformity', nc.id)}",
                rel="related",
                text="its finding in the assessment results",
            )
        )
        items.append(
            _item(
                m,
                ids("poam-item", "nonconformity", nc.id),
                title=f"Nonconformity {line(nc.id)}: {line(nc.title)}",
                description=risk.description,
                pairs=[
                    ("poam-kind", "nonconformity"),
                    ("finding-id", nc.id),
                    ("severity", nc.severity),
                    ("clause", nc.clause),
                    ("system", nc.system),
                    ("corrective-action-run", nc.corrective_run),
                ],
                risk=risk.uuid,
                links=links,
            )
        )
    for treatment in [*overdue, *completed]:
        risk = _treatment_risk(m, ids, treatment, cutoff)
        risks.append(risk)
        links = _evidence_links(
            common,
            rows,
            treatment.seq,
            treatment.digest,
            f"the latest of run {treatment.run_id}",
            "the run's latest row",
        )
        done = treatment.completed_at is not None
        items.append(
            _item(
                m,
                ids("poam-item", "treatment", treatment.run_id),
                title=(
                    f"Risk treatment {'completed' if done else 'overdue'}: "
                    f"{line(treatment.risk_id or '-')} {line(treatment.risk)} "
                    f"({line(treatment.system)})"
                ),
                description=risk.description,
                pairs=[
                    ("poam-kind", "completed-treatment" if done else "overdue-treatment"),
                    ("risk-id", treatment.risk_id),
                    ("run-id", treatment.run_id),
                    ("system", treatment.system),
                    ("treatment", treatment.treatment),
                    ("target-date", treatment.due.isoformat()),
                    ("outcome", treatment.outcome),
                    (
                        "completed-at",
                        treatment.completed_at.isoformat() if treatment.completed_at else None,
                    ),
                ],
                risk=risk.uuid,
                links=links,
            )
        )
    for task in tasks:
        risk = _task_risk(m, ids, task, cutoff)
        risks.append(risk)
        links = _evidence_links(
            common,
            rows,
            task.last_seq,
            task.last_hash,
            f"the latest of run {task.milestone.run_id}",
            "the run's latest row",
        )
        items.append(
            _item(
                m,
                ids("poam-item", "task", task.milestone.run_id, task.milestone.step_id),
                title=f"Overdue risk treatment: {line(task.milestone.title)}",
                description=risk.description,
                pairs=[
                    ("poam-kind", "overdue-treatment-task"),
                    ("run-id", task.milestone.run_id),
                    ("workflow", task.workflow),
                    ("step", task.milestone.step_id),
                    ("system", task.subject),
                ],
                risk=risk.uuid,
                links=links,
            )
        )
    for plan in plans:
        risk = _plan_risk(m, ids, plan)
        risks.append(risk)
        links = _evidence_links(
            common,
            rows,
            plan.seq,
            plan.digest,
            f"risk register entry of run {plan.run_id}",
            "the register entry",
        )
        items.append(
            _item(
                m,
                ids("poam-item", "plan", plan.run_id),
                title=f"Overdue risk treatment plan: {line(plan.risk)} ({line(plan.system)})",
                description=risk.description,
                pairs=[
                    ("poam-kind", "overdue-treatment-plan"),
                    ("run-id", plan.run_id),
                    ("system", plan.system),
                    ("treatment", plan.treatment),
                    ("target-date", plan.target.isoformat()),
                ],
                risk=risk.uuid,
                links=links,
            )
        )
    if not items:  # nothing open and nothing completed: say so
        items.append(
            _item(
                m,
                ids("poam-item", "none-open"),
                title="No open items",
                description=(
                    f"At {cutoff.date().isoformat()} no nonconformity was open and no risk "
                    "treatment was overdue in the records aims keeps. OSCAL requires at least "
                    "one POA&M item: this one says there is nothing to remediate."
                ),
                pairs=[("poam-kind", "none-open")],
                risk=None,
                links=[],
            )
        )
    resources = [
        file_resource(
            m,
            uuid=stable_uuid("resource", "ssp", ssp_uuid),
            title="System security plan of the AI management system",
            href=SSP_FILE,
            sha256=files.get(SSP_FILE),
            description="The SSP this POA&M imports.",
        ),
        file_resource(
            m,
            uuid=stable_uuid("resource", "results", *ids.key),
            title="Assessment results",
            href=RESULTS_FILE,
            sha256=files.get(RESULTS_FILE),
            description="The results of the same period, whose findings include the open items.",
        ),
    ]
    resources += rows.resources(m)
    return m.poam.PlanOfActionAndMilestones(
        uuid=ids("poam"),
        metadata=metadata(
            m,
            title=f"ISO/IEC 42001 plan of action and milestones: {organisation} ({period.label()})",
            now=now,
            config=config,
            remarks=(
                f"Open at {cutoff.date().isoformat()}: {len(nonconformities)} nonconformity(ies), "
                f"{len(overdue)} overdue risk treatment action(s) of the register, {len(tasks)} "
                f"other overdue risk-treatment task(s), {len(plans)} untracked risk treatment "
                f"plan(s) past their target date; {len(completed)} treatment action(s) "
                "completed in the period. An untracked plan (recorded before treatments were "
                "tracked) is listed until a newer assessment of the risk."
            ),
        ),
        import_ssp=common.ImportSsp(href=SSP_FILE),
        local_definitions=m.poam.LocalDefinitions(assessment_assets=tool_assets(m)),
        risks=risks or None,
        poam_items=items,
        back_matter=common.BackMatter(resources=resources),
    )


def _evidence_links(
    common: Any, rows: LedgerRows, seq: int | None, digest: str | None, cited: str, text: str
) -> list[Any]:
    """A link to the ledger row an item rests on, cited in the back matter, when it is known."""
    if seq is None or digest is None:
        return []
    return [common.Link(href=rows.cite(seq, digest, cited), rel="evidence", text=text)]


def _item(
    m: Any,
    uuid: str,
    *,
    title: str,
    description: str,
    pairs: list[tuple[str, Any]],
    risk: str | None,
    links: list[Any],
) -> Any:
    common = m.common
    return m.poam.PoamItem(
        uuid=uuid,
        title=title,
        description=description,
        props=props(m, pairs),
        links=links or None,
        origins=[m.poam.Origination(actors=tool_origins(m)[0].actors)],
        related_risks=[common.AssociatedRisk(risk_uuid=risk)] if risk else None,
    )


def _milestone_task(m: Any, ids: ExportIds, key: tuple[Any, ...], step: Milestone) -> Any:
    common = m.common
    state = (
        f"done on {step.done.date().isoformat()}"
        if step.done
        else ("open, due " + step.due.date().isoformat() if step.due else "open, no due date")
    )
    return common.Task(
        uuid=ids("milestone", *key, step.run_id, step.step_id, step.attempt),
        type="milestone",
        title=line(step.title),
        description=sentence(
            f"Task {step.step_id} of run {step.run_id} for the {step.role} role"
            + (f" ({step.assignee})" if step.assignee else "")
            + f": {state}"
        ),
        props=props(
            m,
            [
                ("milestone-state", "done" if step.done else "open"),
                ("done-at", step.done.isoformat() if step.done else None),
            ],
        ),
        timing=common.TimingOnDate(on_date=common.OnDate(date=step.due)) if step.due else None,
    )


def _nonconformity_risk(
    m: Any, ids: ExportIds, nc: Nonconformity, steps: list[Milestone], cutoff: datetime
) -> Any:
    common = m.common
    open_steps = [s for s in steps if s.done is None]
    dues = [s.due for s in open_steps if s.due]
    text = (
        f"Nonconformity ({line(nc.severity)}) raised by {line(nc.source)} on "
        f"{when(nc.raised_at).date().isoformat()}"
        + (f" about {line(nc.system)}" if nc.system else "")
        + (f", against clause {nc.clause}" if nc.clause else "")
        + f"; open at {cutoff.date().isoformat()}."
    )
    if nc.description and nc.description.strip():
        text += " " + sentence(nc.description.strip())
    remediation = common.Response(
        uuid=ids("remediation", "nonconformity", nc.id),
        lifecycle="planned",
        title=f"Corrective action {nc.corrective_run}"
        if nc.corrective_run
        else "Corrective action",
        description=(
            f"The corrective-action run {nc.corrective_run}: its tasks are the milestones "
            f"({len(steps) - len(open_steps)} of {len(steps)} done at the cut-off)."
            if nc.corrective_run
            else "No corrective-action run was started for it."
        ),
        origins=tool_origins(m),
        tasks=[_milestone_task(m, ids, ("nc", nc.id), s) for s in steps] or None,
    )
    return common.Risk(
        uuid=ids("risk", "nonconformity", nc.id),
        title=f"Open nonconformity {line(nc.id)}: {line(nc.title)}",
        description=text,
        statement=(
            "A requirement of ISO/IEC 42001 is not met until the corrective action removes "
            "the cause (clause 10.2)."
        ),
        status="remediating" if open_steps else "open",
        origins=tool_origins(m),
        deadline=max(dues) if dues else None,
        remediations=[remediation],
    )


def _task_risk(m: Any, ids: ExportIds, task: OverdueTask, cutoff: datetime) -> Any:
    common = m.common
    step = task.milestone
    due = step.due.date().isoformat() if step.due else "-"
    return common.Risk(
        uuid=ids("risk", "task", step.run_id, step.step_id),
        title=f"Overdue risk treatment task: {line(step.title)}",
        description=(
            f"Task {step.step_id} of run {step.run_id} ({task.workflow}) on "
            f"{line(task.subject)}, for the {step.role} role"
            + (f" ({step.assignee})" if step.assignee else "")
            + f", was due on {due} and still open at {cutoff.date().isoformat()}."
        ),
        statement=(
            "A risk is not treated (clauses 6.1.3, 8.3) while the treatment decision is overdue."
        ),
        status="open",
        origins=tool_origins(m),
        deadline=step.due,
        remediations=[
            common.Response(
                uuid=ids("remediation", "task", step.run_id, step.step_id),
                lifecycle="planned",
                title="Complete the treatment task",
                description="The task's due date is the milestone.",
                tasks=[_milestone_task(m, ids, ("task",), step)],
            )
        ],
    )


def _treatment_risk(m: Any, ids: ExportIds, treatment: Treatment, cutoff: datetime) -> Any:
    """An overdue treatment action (open, its deadline the target date) or a completed one
    (closed, its milestone dated on the completion)."""
    common = m.common
    t = treatment
    done = t.completed_at
    due = datetime.combine(t.due, datetime.min.time(), tzinfo=cutoff.tzinfo)
    plan_text = sentence(t.plan.strip()) if t.plan.strip() else "No plan text recorded."
    state = (
        f"completed on {done.date().isoformat()} ({line(t.outcome or '')})"
        if done
        else f"still open at {cutoff.date().isoformat()}"
    )
    milestone = common.Task(
        uuid=ids("milestone", "treatment", t.run_id),
        type="milestone",
        title="Treatment completed",
        description=sentence(
            f"Task carry_out of run {t.run_id} for {line(t.action_owner)}, due on "
            f"{t.due.isoformat()}: {state}"
        ),
        props=props(
            m,
            [
                ("milestone-state", "done" if done else "open"),
                ("done-at", done.isoformat() if done else None),
            ],
        ),
        timing=common.TimingOnDate(on_date=common.OnDate(date=done or due)),
    )
    return common.Risk(
        uuid=ids("risk", "treatment", t.run_id),
        title=f"Risk {line(t.risk_id or '-')}: {line(t.risk)}",
        description=(
            f"Risk {line(t.risk_id or '-')} '{line(t.risk)}' of {line(t.system)} in the risk "
            f"register: treatment {line(t.treatment)} by {line(t.action_owner)}, target date "
            f"{t.due.isoformat()}, {state}. {plan_text}"
        ),
        statement=(
            "The residual risk accepted assumes the treatment is carried out (clauses 6.1.3, 8.3)."
        ),
        status="closed" if done else "open",
        origins=tool_origins(m),
        deadline=None if done else due,
        remediations=[
            common.Response(
                uuid=ids("remediation", "treatment", t.run_id),
                lifecycle="completed" if done else "planned",
                title=f"Treatment action ({line(t.treatment)})",
                description=plan_text,
                props=props(m, [("action-owner", t.action_owner)]),
                tasks=[milestone],
            )
        ],
    )


def _plan_risk(m: Any, ids: ExportIds, plan: OverduePlan) -> Any:
    common = m.common
    target = datetime.combine(
        plan.target, datetime.min.time(), tzinfo=when(plan.recorded_at).tzinfo
    )
    plan_text = sentence(plan.plan.strip()) if plan.plan.strip() else "No plan text recorded."
    return common.Risk(
        uuid=ids("risk", "plan", plan.run_id),
        title=f"Risk treatment plan past its target date: {line(plan.risk)}",
        description=(
            f"Risk '{line(plan.risk)}' of {line(plan.system)}, entered in the risk register on "
            f"{plan.recorded_at.date().isoformat()} by run {plan.run_id}: treatment "
            f"{line(plan.treatment)}, plan to be completed by {plan.target.isoformat()}. "
            f"{plan_text} aims records no completion of treatment plans: confirm with "
            + (line(plan.owner) if plan.owner else "the plan's owner")
            + " whether it was carried out."
        ),
        statement="The residual risk accepted assumes the treatment plan is carried out.",
        status="open",
        origins=tool_origins(m),
        deadline=target,
        remediations=[
            common.Response(
                uuid=ids("remediation", "plan", plan.run_id),
                lifecycle="planned",
                title=f"Treatment plan ({line(plan.treatment)})",
                description=plan_text,
                props=props(m, [("residual-score", plan.residual_score), ("owner", plan.owner)]),
                tasks=[
                    common.Task(
                        uuid=ids("milestone", "plan", plan.run_id),
                        type="milestone",
                        title="Plan completed",
                        description=f"The target date the risk owner set: {plan.target}.",
                        timing=common.TimingOnDate(on_date=common.OnDate(date=target)),
                    )
                ],
            )
        ],
    )
