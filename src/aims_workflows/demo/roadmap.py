"""The chapters of the demo that build the management system around the AI systems: gap
analysis, scope, policy, objectives, roles, training, the documented processes, suppliers, data,
intended use, the Statement of Applicability, an incident and the audit programme.

Each chapter starts its runs as a person of the demo organisation would (``aims start``, ``aims
audit programme --submit``, ``aims documents add``) and lets the office work them through Jira
and Slack. A workflow that is not in use is skipped with a line saying so, so the demo also
plays against a set of workflows without it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .cast import NAMES
from .library import LIBRARY, SOA_DOCUMENT, register_library
from .people import Office

__all__ = ["Roadmap"]


@dataclass
class Roadmap:
    app: Any
    office: Office
    say: Callable[[str], None]
    actor: Callable[[str], Any]
    config_dir: Path

    @property
    def runtime(self):
        return self.app.runtime

    def has(self, workflow: str) -> bool:
        return workflow in set(self.app.workflows.ids())

    def begin(
        self,
        workflow: str,
        person: str,
        *,
        system: str | None = None,
        inputs: dict[str, Any] | None = None,
        variant: str | None = None,
        again: bool = False,
    ) -> str:
        """Start a run as ``person`` does with ``aims start``; its id."""
        run_id = self.runtime.start(
            workflow, system=system, inputs=inputs, actor=self.actor(person), again=again
        ).run.run_id
        if variant:
            self.office.variants[run_id] = variant
        return run_id

    def skipped(self, workflow: str) -> None:
        self.say(f"[yellow]{workflow} is not among the workflows in use: this step is skipped[/]")

    # -- chapters ------------------------------------------------------------------------------
    def gap_analysis(self) -> None:
        run = self.begin("gap-analysis", "ana.silva@example.com")
        self.say(
            f"Ana starts the gap analysis GA-2026-1 ({run}): clause by clause and control by "
            "control, what is in place, partial or missing, and who owns each gap"
        )
        self.office.work()

    def scope(self) -> None:
        run = self.begin("aims-scope", "ana.silva@example.com")
        self.say(
            f"Ana writes the context, interested parties and boundaries ({run}); two of top "
            "management approve"
        )
        self.office.work()

    def policy(self) -> None:
        run = self.begin("ai-policy", "ana.silva@example.com")
        self.say(
            f"Ana drafts AI policy 1.0 ({run}); Hugo (CISO) checks it against the other policies; "
            "after approval every AIMS role holder acknowledges it in Slack"
        )
        self.office.work()

    def objectives(self) -> None:
        for variant, what in (
            ("objective:impact", "impact assessment coverage 100%"),
            ("objective:risk", "risk assessment coverage 100%"),
            (
                "objective:nonconformities",
                "corrective action in place within 30 days of a nonconformity",
            ),
        ):
            run = self.begin("ai-objectives", "ana.silva@example.com", variant=variant, again=True)
            self.say(f"objective ({run}): {what}, measured by `aims kpi`")
        self.office.work()

    def roles(self) -> None:
        for variant, who in (
            ("role:risk_owner", "Rui as risk owner"),
            ("role:internal_auditor", "Inês as internal auditor (a gap: no ISO/IEC 42001 yet)"),
            ("role:data_protection_officer", "Dora as data protection officer"),
        ):
            run = self.begin(
                "roles-and-competence", "ana.silva@example.com", variant=variant, again=True
            )
            self.say(f"role assignment ({run}): {who}")
        self.office.work()

    def training(self) -> None:
        run = self.begin("training", "ana.silva@example.com", variant="course:engineers")
        self.say(
            f"Ana assigns the responsible-AI course to the engineers ({run}); each learner "
            "completes their own training record in Jira"
        )
        self.office.work()

    def library(self) -> None:
        refs = register_library(
            self.runtime,
            self.app.config,
            self.config_dir,
            LIBRARY,
            self.actor("ana.silva@example.com"),
        )
        self.say(
            f"Ana enters the risk, treatment and impact methods kept on the wiki in the "
            f"register: `aims documents add` {', '.join(refs)} (approved, reviewed yearly)"
        )

    def suppliers_data_and_use(self) -> None:
        starts = (
            ("supplier-review", "Support chatbot", "olga.nunes@example.com", "the LLM provider"),
            ("supplier-review", "Credit scoring model", "marco.dias@example.com", "the bureau"),
            ("data-quality", "Credit scoring model", "marco.dias@example.com", "training data"),
            ("intended-use", "Credit scoring model", "marco.dias@example.com", "oversight"),
            ("intended-use", "CV screening assistant", "priya.rao@example.com", "oversight"),
        )
        for workflow, system, person, what in starts:
            if not self.has(workflow):
                self.skipped(workflow)
                continue
            run = self.begin(workflow, person, system=system)
            self.say(f"{NAMES[person]} starts {workflow} of {system} ({what}): {run}")
        self.office.work()

    def soa(self) -> None:
        if not self.has("soa-review"):
            self.skipped("soa-review")
            refs = register_library(
                self.runtime,
                self.app.config,
                self.config_dir,
                (SOA_DOCUMENT,),
                self.actor("ana.silva@example.com"),
            )
            self.say(f"the SoA kept on the wiki instead: `aims documents add` {refs[0]}")
            return
        run = self.begin("soa-review", "ana.silva@example.com")
        self.say(
            f"Ana drafts SoA 2.0 ({run}): each of the 38 controls justified by the risk "
            "treatment or requirement that chose it; top management approves"
        )
        self.office.work()

    def incident(self) -> None:
        if not self.has("ai-incident"):
            self.skipped("ai-incident")
            return
        run = self.begin("ai-incident", "eva.lopes@example.com", system="Support chatbot")
        self.say(
            f"a customer complaint: the chatbot quotes last year's overdraft fee. Eva reports "
            f"the incident ({run}); triage, containment, communication, root cause"
        )
        self.office.work()

    def audit_programme(self) -> str | None:
        """Submit the programme for the cycle as ``aims audit programme --submit`` does; the
        programme's reference once approved."""
        from ..audit.approved import approved_programme, schedule_json
        from ..cli._audit import _programme, coverage_text, plan_text

        programme = _programme(self.app, None, None)
        if not programme.coverage.complete:
            self.say(f"[red]the audit programme misses {', '.join(programme.coverage.missing)}[/]")
            return None
        run = self.begin(
            "audit-programme",
            "ines.faria@example.com",
            inputs={
                "schedule": schedule_json(programme),
                "plan": plan_text(programme),
                "cycle_start": f"{programme.cycle_start:%Y-%m-%d}",
                "cycle_years": programme.years,
                "coverage": coverage_text(programme),
            },
        )
        self.say(
            f"Inês submits the audit programme ({run}, `aims audit programme --submit`): "
            f"{coverage_text(programme)} over {programme.years} years"
        )
        self.office.work()
        with self.runtime.db.connect() as conn:
            approved = approved_programme(conn)
        return approved.reference if approved else None

    def internal_audit(self) -> str:
        """Start the audit of this period from the approved programme (``aims audit start``)."""
        from ..audit.approved import approved_programme
        from ..audit.inputs import due_inputs

        with self.runtime.db.connect() as conn:
            approved = approved_programme(conn)
        day = self.runtime.clock.now().date()
        areas = approved.due(day) if approved else []
        inputs, planned = None, ""
        if approved and areas:
            inputs = due_inputs(approved, day)
            planned = f" with the {len(areas)} area(s) programme {approved.reference} plans"
        run = self.begin("internal-audit", "ines.faria@example.com", inputs=inputs)
        self.say(f"Inês starts the internal audit ({run}){planned}")
        self.office.work()
        return run
