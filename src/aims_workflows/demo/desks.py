"""Where the simulated people work: Jira issues (through the Jira sandbox) and Slack approval
messages (through the Slack sandbox), each reached over loopback HTTP exactly as from the real
services. The Office only sees these two small interfaces."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from ..engine.evidence_kinds import (
    AnyEvidence,
    ApprovalRefused,
    EvidencePayload,
    TaskAnswersRefused,
    TaskCompleted,
    parse_evidence,
)
from ..store import ledger
from ..store import runs as run_store
from ..store.models import StepRecord

__all__ = ["OpenTask", "JiraDesk", "SlackDesk", "latest_evidence"]


@dataclass(frozen=True)
class OpenTask:
    run_id: str
    step_id: str
    attempt: int
    ref: str
    assignee: str
    form: list[dict[str, Any]]
    title: str  # as rendered into the Jira issue's summary


def latest_evidence(
    runtime, run_id: str, step_id: str, kinds: tuple[type[EvidencePayload], ...]
) -> AnyEvidence | None:
    """The payload of the newest ledger row of one of these kinds for a step, as its model."""
    names = {model.KIND for model in kinds}
    with runtime.db.connect() as conn:
        rows = [
            r
            for r in ledger.iter_rows(conn, run_id=run_id)
            if r.step_id == step_id and r.kind in names
        ]
    return parse_evidence(rows[-1].kind, rows[-1].payload) if rows else None


class JiraDesk:
    """Engineers' side: open tasks are Jira issues; completing one fills in its fields and moves
    it to Done through the sandbox's REST API, then the signed webhook reaches the web app."""

    def __init__(self, runtime, jira) -> None:
        self.rt, self.jira = runtime, jira

    def open_tasks(self) -> list[OpenTask]:
        table = StepRecord.__table__
        with self.rt.db.connect() as conn:
            rows = conn.execute(
                select(table)
                .where(table.c.status == "open", table.c.external_ref.is_not(None))
                .order_by(table.c.id)
            ).all()
            tasks = []
            for row in rows:
                run, _ = run_store.load(conn, row.run_id)
                step = self.rt.specs.by_hash(conn, run.spec_hash).step(row.step_id)
                tasks.append(
                    OpenTask(
                        row.run_id,
                        row.step_id,
                        row.attempt,
                        row.external_ref,
                        row.assignee,
                        [f.model_dump(mode="json") for f in step.form],
                        row.title,
                    )
                )
        return tasks

    def confirm(self, person: str, issue: str, code: str) -> None:
        """``person`` confirms a step-up: a comment on the issue under their own Jira account
        (the signed ``comment_created`` webhook reaches the web app)."""
        with self.jira.person(person) as someone:
            someone.comment(issue, f"{code} (confirming my acceptance in Slack)")
        self.jira.sync()

    def complete(self, task: OpenTask, answers: dict[str, Any]) -> AnyEvidence | None:
        """Answer and close the issue; returns the engine's verdict (completed or refused)."""
        self.jira.answer(task.ref, answers, by=task.assignee)
        self.jira.sync()
        return latest_evidence(
            self.rt, task.run_id, task.step_id, (TaskCompleted, TaskAnswersRefused)
        )


class SlackDesk:
    """Approvers' side: requests are Slack messages; deciding is a click on Approve or Reject and
    a reason typed into the modal."""

    def __init__(self, runtime, slack) -> None:
        self.rt, self.slack = runtime, slack

    def open_approvals(self):
        return self.slack.open_approvals()

    def decide(
        self, person: str, approval_id: str, decision: str, reason: str
    ) -> tuple[str, list[str]]:
        """(how it was sent, what the person was told). Someone with no message in Slack (not
        asked, e.g. ruled out by segregation of duties) tries through the command line instead."""
        try:
            decided = self.slack.decide(person, approval_id, decision, reason)
            return "slack", decided.notices
        except LookupError:
            outcome = self.rt.decide(
                approval_id, person=person, decision=decision, reason=reason, via="cli"
            )
            refused = [
                ApprovalRefused.model_validate(e.payload).reason
                for e in outcome.transition.evidence
                if e.kind == ApprovalRefused.KIND
            ]
            return "cli", refused
