"""Scenarios across both integrations at once: tasks are Jira issues, sign-offs are Slack
messages, and both reach the engine through the real web app on loopback.

The Jira side is the Jira sandbox driven by the real ``jira`` client (engineers answer through
its REST API, signed webhooks reach ``POST /jira/webhook``); the Slack side is the Slack sandbox
whose people click buttons and fill in modals, sending signed requests to ``POST /slack/events``
of the same web app, where the real Bolt app handles them. Every Jira exchange is held to
Atlassian's OpenAPI description and every Slack Web API answer to Slack's. Each scenario runs
on SQLite and on PostgreSQL; time is the injected clock.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, select
from starlette.middleware import Middleware

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "contract"))
from jira_fixtures import SpecRecorder, jira_openapi, jira_spec_dict  # noqa: E402,F401
from slack_fixtures import SpecCheckMiddleware, SpecRecord, slack_spec  # noqa: E402
from slack_messages import buttons, text_of  # noqa: E402

from aims_workflows.adapters.slack import APPROVE  # noqa: E402
from aims_workflows.app import open_app, shipped_workflows_dir  # noqa: E402
from aims_workflows.config import Settings  # noqa: E402
from aims_workflows.demo.jira_loopback import JiraLoopback  # noqa: E402
from aims_workflows.demo.slack_loopback import SlackLoopback  # noqa: E402
from aims_workflows.inventory import AISystemRecord  # noqa: E402
from aims_workflows.store import ledger  # noqa: E402
from aims_workflows.store.models import Approval, Finding, OutboxItem, RiskRegisterEntry  # noqa: E402
from aims_workflows.store.models_jira import JiraIssue  # noqa: E402
from aims_workflows.testing import ManualClock  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:Unsupported scheme type:UserWarning")

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SIGNING_SECRET = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
SYSTEM = "Support chatbot"
OWNER = "olga@example.com"
ENGINEER = "eve@example.com"
RISK_OWNER = "rita@example.com"
AIMS_OWNER = "amy@example.com"
TOM, TINA = "tom@example.com", "tina@example.com"
ROLES = {
    "top_management": [TOM, TINA],
    "aims_owner": [AIMS_OWNER],
    "risk_owner": [RISK_OWNER],
    "engineer": [ENGINEER],
}

# likelihood 4 x impact 4 = 16, a high inherent risk: top management accepts it (two approvers)
IDENTIFY = {
    "risk_title": "Chatbot quotes outdated card fees",
    "risk_description": "Retrieval misses the latest fee table, so customers act on wrong figures.",
    "risk_sources": ["data_quality", "model_behaviour"],
    "affected_parties": "retail customers",
    "likelihood": 4,
    "impact": 4,
    "rating_rationale": "two incidents last quarter",
}
ACCEPT_AS_IS = {
    "treatment": "accept",
    "residual_likelihood": 4,
    "residual_impact": 4,
    "rationale": "The fee table changes rarely",
}
MITIGATE = {
    "treatment": "mitigate",
    "treatment_plan": "Nightly sync of the fee table; answers about fees cite it",
    "action_owner": ENGINEER,
    "target_date": "2026-04-15",
    "residual_likelihood": 2,
    "residual_impact": 4,
    "rationale": "The sync removes the stale source",
}


# -- the world ---------------------------------------------------------------------------------
@dataclass
class World:
    app: Any
    clock: ManualClock
    jira: Any  # demo.jira_loopback.JiraLoopback
    slack: SlackLoopback
    web_url: str

    @property
    def rt(self):
        return self.app.runtime

    @property
    def people(self):
        return self.slack.sandbox

    @property
    def slack_requests(self) -> list:
        """Every request the Slack sandbox sent to the app (clicks, modal submissions)."""
        return list(self.slack.sandbox.deliveries)

    def settle(self) -> None:
        """What the service does between people's actions: apply Jira's webhooks and the Slack
        app's finished work, then carry out the outbox; until nothing is left."""
        for _ in range(10):
            self.slack.wait()
            delivered = self.jira.sync()
            report = self.app.pump(schedules=False)
            self.slack.wait()
            if not delivered and not report.done:
                return
        raise AssertionError("the integrations did not settle")

    # -- reading what happened -------------------------------------------------------------
    def evidence(self, run_id: str, kind: str | None = None) -> list[dict[str, Any]]:
        with self.app.db.connect() as conn:
            return [
                {**dataclasses.asdict(r), "payload": json.loads(r.payload)}
                for r in ledger.iter_rows(conn, run_id=run_id)
                if kind is None or r.kind == kind
            ]

    def approvals(self, run_id: str) -> list[dict[str, Any]]:
        table = Approval.__table__
        with self.app.db.connect() as conn:
            return [
                dict(r._mapping)
                for r in conn.execute(
                    select(table)
                    .where(table.c.run_id == run_id)
                    .order_by(table.c.requested_at, table.c.approval_id)
                )
            ]

    def open_approval(self, run_id: str) -> dict[str, Any]:
        [row] = [a for a in self.approvals(run_id) if a["status"] == "open"]
        return row

    def run(self, run_id: str) -> tuple[str, str | None]:
        from aims_workflows.store import runs

        with self.app.db.connect() as conn:
            run, _ = runs.load(conn, run_id)
        return run.status, run.current

    def issues(self, run_id: str, step_id: str) -> list[dict[str, Any]]:
        table = JiraIssue.__table__
        with self.app.db.connect() as conn:
            return [
                dict(r._mapping)
                for r in conn.execute(
                    select(table)
                    .where(table.c.run_id == run_id, table.c.step_id == step_id)
                    .order_by(table.c.attempt)
                )
            ]

    def issue(self, key: str) -> dict[str, Any]:
        return self.jira.sandbox.issue_json(key)

    def field(self, key: str, form_id: str) -> Any:
        """The Jira value of a form field on the issue (through the engine's field mapping)."""
        [row] = [r for r in self._mapping_rows() if r["issue_key"] == key]
        return self.issue(key)["fields"].get(row["fields"][form_id][0])

    def _mapping_rows(self) -> list[dict[str, Any]]:
        with self.app.db.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(JiraIssue.__table__))]

    def attachment(self, key: str, filename: str) -> dict[str, Any]:
        """An attachment of the issue, downloaded over HTTP as a Jira user would."""
        [found] = [a for a in self.issue(key)["fields"]["attachment"] if a["filename"] == filename]
        bot = self.jira.sandbox.service_account
        answer = httpx.get(
            found["content"], auth=(bot.email, bot.api_token), follow_redirects=True, timeout=10
        )
        answer.raise_for_status()
        return json.loads(answer.content)

    def verify_ledger(self):
        with self.app.db.connect() as conn:
            return ledger.verify(conn)


def risk_assessment_world(tmp_path: Path) -> tuple[Path, Path]:
    """The workflows folder (the risk assessment and the runs it starts) and aims.yaml of a test
    organisation that uses the risk assessment alone."""
    folder = tmp_path / "workflows"
    folder.mkdir()
    for name in ("ai-risk-assessment", "ai-risk", "risk-treatment"):
        shutil.copy(shipped_workflows_dir() / f"{name}.yaml", folder)
    return folder, write_config(tmp_path)


def write_config(tmp_path: Path) -> Path:
    """aims.yaml with the organisation's people in their roles."""
    config = tmp_path / "aims.yaml"
    config.write_text(
        "organisation: Example Bank\nroles:\n"
        + "".join(f"  {role}: [{', '.join(p)}]\n" for role, p in ROLES.items()),
        encoding="utf-8",
    )
    return config


def copies_of(world: World, person: str, approval_id: str) -> list:
    return [m for m in world.people.messages(person) if approval_id in json.dumps(m.blocks)]


@contextmanager
def jira_and_slack(
    db_url: str, tmp_path: Path, recorder: SpecRecorder, *workflows: str
) -> Iterator[World]:
    folder = tmp_path / "workflows"
    folder.mkdir()
    # the risk assessment starts an ai-risk run per further risk and a risk-treatment run per plan
    spawned = {"ai-risk", "risk-treatment"} if "ai-risk-assessment" in workflows else set()
    for name in sorted(set(workflows) | spawned):
        shutil.copy(shipped_workflows_dir() / f"{name}.yaml", folder)
    config = write_config(tmp_path)
    clock = ManualClock(T0)
    record = SpecRecord()
    people = sorted({p for ps in ROLES.values() for p in ps} | {OWNER})
    middleware = [
        Middleware(
            SpecCheckMiddleware, spec=slack_spec(), failures=record.failures, checked=record.checked
        )
    ]
    with SlackLoopback(
        people=people, signing_secret=SIGNING_SECRET, middleware=middleware
    ) as slack:
        jira = JiraLoopback(observers=(recorder,), people=people)
        app = open_app(
            Settings(database_url=db_url, config=config, workflows=folder),
            clock=clock,
            jira=jira.connect,
            # The Slack app is served by the service's own web app, next to the Jira webhook.
            slack=slack.attach,
        )
        jira.serve(app)
        slack.sandbox.app_url = jira.server.url + "/slack/events"
        world = World(app, clock, jira, slack, jira.server.url)
        try:
            yield world
        finally:
            slack.wait()
            jira.close()
            app.db.dispose()
        # Both integrations reached the one web app, signed, and were accepted.
        assert jira.delivered and {d.state for d in jira.delivered} == {"delivered"}
        assert all(d.outcomes[-1].startswith("2") for d in jira.delivered)
        assert world.slack_requests and all(
            d.url == world.web_url + "/slack/events" and d.ok for d in world.slack_requests
        )
    assert record.checked, "no Slack Web API call was made"
    assert not record.failures, "Slack answers that do not match the spec:\n" + "\n".join(
        record.failures
    )
    assert recorder.exchanges, "no request reached the Jira sandbox"
    assert not recorder.errors, "Jira exchanges that do not match the spec:\n" + "\n".join(
        recorder.errors
    )


@pytest.fixture
def recorder(jira_openapi) -> SpecRecorder:  # noqa: F811
    return SpecRecorder(jira_openapi)


def start_risk_assessment(world: World) -> str:
    _, started = world.app.inventory.add(
        AISystemRecord(
            name=SYSTEM,
            owner=OWNER,
            risk_tier="limited",
            deployment_scale="public",
            lifecycle_stage="deployed",
        )
    )
    [run_id] = started
    world.settle()
    return run_id


def assessed_and_treated(world: World, treatment: dict[str, Any]) -> tuple[str, str, str]:
    """A risk assessment whose two tasks were done in Jira: (run, identify issue, treat issue)."""
    run_id = start_risk_assessment(world)
    identify = world.jira.issue_of(run_id, "identify")
    world.jira.answer(identify, IDENTIFY, by=ENGINEER)
    world.settle()
    treat = world.jira.issue_of(run_id, "treat")
    assert treat and treat != identify
    world.jira.answer(treat, treatment, by=RISK_OWNER)
    world.settle()
    return run_id, identify, treat


# -- 1. answers edited in Jira while the approval is open in Slack ------------------------------
def test_answers_edited_in_jira_after_completion_replace_the_open_slack_approval(
    db_url, database, tmp_path, recorder
):
    with jira_and_slack(db_url, tmp_path, recorder, "ai-risk-assessment") as world:
        run_id, identify, treat = assessed_and_treated(world, MITIGATE)
        assert world.run(run_id) == ("running", "accept_top")
        old = world.open_approval(run_id)
        for person in (TOM, TINA):
            [card] = copies_of(world, person, old["approval_id"])
            assert buttons(card) == [APPROVE, "aims_reject"]
            assert "16 (high)" in text_of(card) and f"{identify}, {treat}" in text_of(card)
            assert old["content_hash"][:12] in text_of(card)
        # Tom opens the request and starts reading it ...
        tom = world.people.person(TOM)
        assert tom.click(world.slack.message_for(TOM, old["approval_id"]), APPROVE).ok
        world.slack.wait()
        modal = world.people.modal(TOM)
        assert modal is not None and old["content_hash"][:12] in json.dumps(modal.blocks)

        # ... while Eve raises the likelihood on her Done issue in Jira (4 -> 5).
        assert world.issue(identify)["fields"]["status"]["statusCategory"]["key"] == "done"
        world.jira.answer(identify, {"likelihood": 5}, by=ENGINEER, complete=False)
        assert world.field(identify, "likelihood") == 5
        world.settle()

        [changed] = world.evidence(run_id, "task.answers_changed")
        assert (changed["actor"], changed["via"], changed["step_id"], changed["ref"]) == (
            ENGINEER,
            "jira",
            "identify",
            identify,
        )
        assert (
            changed["payload"]["before"]["likelihood"],
            changed["payload"]["after"]["likelihood"],
        ) == (4, 5)
        evaluations = [
            e["payload"]["fields"]
            for e in world.evidence(run_id, "artefact.recorded")
            if e["step_id"] == "evaluate"
        ]
        assert evaluations == [{"score": 16, "level": "high"}, {"score": 20, "level": "high"}]
        [invalidated] = world.evidence(run_id, "approval.invalidated")
        new = world.open_approval(run_id)
        assert (
            new["approval_id"] != old["approval_id"] and new["content_hash"] != old["content_hash"]
        )
        assert invalidated["payload"] == {
            "approval_id": old["approval_id"],
            "old_hash": old["content_hash"],
            "new_hash": new["content_hash"],
            "reason": "answers of 'identify' changed",
        }
        assert {a["approval_id"]: a["status"] for a in world.approvals(run_id)} == {
            old["approval_id"]: "invalidated",
            new["approval_id"]: "open",
        }
        # every copy of the old request says it was replaced and has no buttons; a fresh one is live
        for person in (TOM, TINA):
            [stale] = copies_of(world, person, old["approval_id"])
            assert (
                buttons(stale) == []
                and "Replaced" in text_of(stale)
                and "answers of 'identify' changed" in text_of(stale)
            )
            [fresh] = world.slack.pending(person)
            assert (fresh.approval_id, fresh.content_hash) == (
                new["approval_id"],
                new["content_hash"],
            )
            card = world.slack.message_for(person, new["approval_id"])
            assert "20 (high)" in text_of(card) and new["content_hash"][:12] in text_of(card)
        # the old issue was not reopened or recreated: the change is an edit of the Done issue
        assert [i["issue_key"] for i in world.issues(run_id, "identify")] == [identify]

        # Tom submits his decision on the old request: refused, told so, recorded as refused.
        assert tom.submit(modal, {"reason_text": "A score of 16 is acceptable"}).ok
        world.settle()
        [refused] = world.evidence(run_id, "approval.refused")
        assert (refused["actor"], refused["via"], refused["payload"]["approval_id"]) == (
            TOM,
            "slack",
            old["approval_id"],
        )
        notice = world.people.ephemerals(TOM)[-1].text
        assert "not recorded" in notice and "replaced by a newer request" in notice
        assert world.evidence(run_id, "approval.decided") == []
        assert world.run(run_id) == ("running", "accept_top")

        # Tina approves what is there now; the run completes on the new content.
        assert world.slack.approve(
            TINA, new["approval_id"], "Accepted: the nightly sync addresses the cause"
        ).ok
        world.settle()
        # the new score of 20 is above the step-up threshold: Tina confirms in Jira
        [asked] = world.evidence(run_id, "approval.step_up_requested")
        assert asked["actor"] == TINA
        with world.jira.person(TINA) as tina:
            tina.comment(asked["payload"]["issues"][0], asked["payload"]["code"])
        world.settle()
        assert world.run(run_id) == ("completed", None)
        [decided] = world.evidence(run_id, "approval.decided")
        assert (decided["actor"], decided["payload"]["content_hash"]) == (TINA, new["content_hash"])
        for person in (TOM, TINA):
            last, *notices = copies_of(world, person, new["approval_id"])
            assert buttons(last) == [] and "Approved" in text_of(last)
            # Tina was also told her approval waited for its confirmation in Jira
            told = ["does not count yet" in text_of(n) for n in notices]
            assert told == ([True] if person == TINA else [])
        table = RiskRegisterEntry.__table__
        with world.app.db.connect() as conn:
            entry = conn.execute(select(table).where(table.c.run_id == run_id)).one()
        assert (entry.likelihood, entry.score, entry.residual_score) == (5, 20, 8)
        assert world.verify_ledger().ok


# -- 2. a rejection in Slack sends the work back to Jira ---------------------------------------
def test_a_slack_rejection_reworks_the_task_in_a_new_jira_issue_with_the_answers_filled_in(
    db_url, database, tmp_path, recorder
):
    with jira_and_slack(db_url, tmp_path, recorder, "ai-risk-assessment") as world:
        run_id, identify, treat = assessed_and_treated(world, ACCEPT_AS_IS)
        first = world.open_approval(run_id)
        assert "16 (high)" in text_of(world.slack.message_for(TINA, first["approval_id"]))
        rejected = world.slack.reject(
            TOM, first["approval_id"], "Not as it is: fix the fee table's freshness first"
        )
        assert rejected.ok and rejected.notices == []
        world.settle()

        assert world.run(run_id) == ("running", "treat")
        for person in (TOM, TINA):
            [card] = copies_of(world, person, first["approval_id"])
            assert buttons(card) == [] and "Rejected" in text_of(card)
            assert "fix the fee table's freshness first" in text_of(card)
        assert world.slack.pending(TINA) == []

        # The rework is a new issue (attempt 2), assigned to the risk owner, with the answers
        # given the first time filled in; the first issue stays Done.
        rows = world.issues(run_id, "treat")
        assert [(r["issue_key"], r["attempt"]) for r in rows] == [
            (treat, 1),
            (rows[-1]["issue_key"], 2),
        ]
        rework = rows[-1]["issue_key"]
        assert rework == world.jira.issue_of(run_id, "treat") and rework not in (treat, identify)
        assert world.issue(treat)["fields"]["status"]["statusCategory"]["key"] == "done"
        fields = world.issue(rework)["fields"]
        assert fields["status"]["statusCategory"]["key"] == "new"
        assert fields["assignee"]["emailAddress"] == RISK_OWNER
        assert "Your earlier answers are filled in" in json.dumps(fields["description"])
        assert (
            world.field(rework, "residual_likelihood") == 4
            and world.field(rework, "residual_impact") == 4
        )
        assert world.field(rework, "treatment") == world.field(treat, "treatment") is not None
        assert world.field(rework, "rationale") == world.field(treat, "rationale") is not None
        issued = [
            e["payload"] for e in world.evidence(run_id, "task.issued") if e["step_id"] == "treat"
        ]
        assert issued == [
            {"assignee": RISK_OWNER, "attempt": 1, "ref": treat},
            {"assignee": RISK_OWNER, "attempt": 2, "ref": rework},
        ]

        # Rita changes the treatment in the new issue and completes it.
        world.jira.answer(rework, MITIGATE, by=RISK_OWNER)
        world.settle()
        second = world.open_approval(run_id)
        assert (
            second["approval_id"] != first["approval_id"]
            and second["content_hash"] != first["content_hash"]
        )
        card = world.slack.message_for(TINA, second["approval_id"])
        assert (
            "mitigate" in text_of(card)
            and "8 (medium)" in text_of(card)
            and rework in text_of(card)
        )
        assert world.slack.approve(
            TINA, second["approval_id"], "The plan brings the residual risk within appetite"
        ).ok
        world.settle()

        assert world.run(run_id) == ("completed", None)
        decided = world.evidence(run_id, "approval.decided")
        assert [
            (e["actor"], e["payload"]["decision"], e["payload"]["content_hash"]) for e in decided
        ] == [(TOM, "reject", first["content_hash"]), (TINA, "approve", second["content_hash"])]
        report = world.verify_ledger()
        assert report.ok and report.rows == report.head_seq
        # Each completed visit's evidence is attached to its own issue, as the ledger holds it.
        for key, step, attempt in (
            (identify, "identify", 1),
            (treat, "treat", 1),
            (rework, "treat", 2),
        ):
            names = [a["filename"] for a in world.issue(key)["fields"]["attachment"]]
            assert names == [f"aims-evidence-{step}-{attempt}.json"], key
        attached = world.attachment(rework, "aims-evidence-treat-2.json")
        assert (attached["run_id"], attached["issue"], attached["attempt"]) == (run_id, rework, 2)
        completed = [r for r in attached["records"] if r["kind"] == "task.completed"]
        assert [r["payload"]["answers"]["treatment"] for r in completed] == ["mitigate"]
        chain = {e["seq"]: e["hash"] for e in world.evidence(run_id)}
        assert all(chain[r["seq"]] == r["hash"] for r in attached["records"])


# -- 3. Jira down while a Slack approval completes --------------------------------------------
def raise_finding(world: World) -> str:
    with world.app.db.begin() as conn:
        conn.execute(
            insert(Finding.__table__).values(
                id="F-7",
                title="Risk register not reviewed for two quarters",
                severity="minor",
                source="internal_audit",
                status="open",
                raised_at=world.clock.now(),
            )
        )
    return world.rt.start("corrective-action", finding="F-7").run.run_id


CORRECTIVE = {
    "correct": {
        "nonconformity": "Risk register not reviewed since Q3",
        "correction": "Reviewed it on 3 March",
        "corrected_on": "2026-03-03",
    },
    "root_cause": {
        "method": "five_whys",
        "root_cause": "Nobody owns the quarterly review",
        "similar_elsewhere": False,
    },
    "plan": {
        "action": "Name a register owner and put the review in the AIMS calendar",
        "action_owner": AIMS_OWNER,
        "due_date": "2026-04-01",
        "aims_change": False,
    },
    "implement": {
        "done": "Owner named; calendar entry created",
        "evidence_link": "https://example.com/aims/calendar",
        "implemented_on": "2026-03-20",
    },
}


def outbox_row(world: World, kind: str, step_id: str) -> dict[str, Any]:
    table = OutboxItem.__table__
    with world.app.db.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(table).where(table.c.kind == kind))]
    [row] = [r for r in rows if json.loads(r["payload"]).get("step_id") == step_id]
    return row


def test_jira_down_while_a_slack_approval_completes_the_next_issue_lands_once_when_it_is_back(
    db_url, database, tmp_path, recorder
):
    with jira_and_slack(db_url, tmp_path, recorder, "corrective-action") as world:
        run_id = raise_finding(world)
        world.settle()
        for step in ("correct", "root_cause", "plan"):
            key = world.jira.issue_of(run_id, step)
            assert key, step
            world.jira.answer(key, CORRECTIVE[step], by=ENGINEER)
            world.settle()
        assert world.run(run_id) == ("running", "approve_plan")
        request = world.open_approval(run_id)
        assert [p.approval_id for p in world.slack.pending(AIMS_OWNER)] == [request["approval_id"]]

        # Jira goes down: every call answers 503 with Retry-After: 120.
        world.jira.sandbox.faults.unavailable(times=10_000, retry_after=120)
        issues_before = len(world.jira.sandbox.state.issues)
        assert world.slack.approve(
            AIMS_OWNER, request["approval_id"], "The plan removes the root cause"
        ).ok
        world.settle()
        decided_at = world.clock.now()

        # Slack is unaffected: the decision is recorded and every copy shows it.
        assert world.run(run_id) == ("running", "implement")
        [card] = copies_of(world, AIMS_OWNER, request["approval_id"])
        assert buttons(card) == [] and "Approved" in text_of(card)
        # The implementation task waits in the outbox, due again when Jira said to come back.
        create = outbox_row(world, "task.create", "implement")
        assert (create["status"], create["attempts"]) == ("pending", 1)
        assert "503" in create["last_error"]
        assert create["next_attempt_at"].replace(tzinfo=UTC) == decided_at + timedelta(seconds=120)
        assert len(world.jira.sandbox.state.issues) == issues_before
        assert world.jira.issue_of(run_id, "implement") is None

        # Not due yet: nothing is tried.
        world.clock.advance(seconds=119)
        world.settle()
        assert outbox_row(world, "task.create", "implement")["attempts"] == 1
        # Due, Jira still down: tried once more, Retry-After honoured again.
        world.clock.advance(seconds=1)
        world.settle()
        create = outbox_row(world, "task.create", "implement")
        assert (create["status"], create["attempts"]) == ("pending", 2)
        assert create["next_attempt_at"].replace(tzinfo=UTC) == world.clock.now() + timedelta(
            seconds=120
        )

        # Jira comes back, but stumbles once right after the issue is made (the task's entity
        # property cannot be written): the retry finds the issue by its label, not a second one.
        world.jira.sandbox.faults.clear()
        world.jira.sandbox.faults.unavailable(
            times=1, retry_after=30, path=r"/properties/", method="PUT"
        )
        world.clock.advance(seconds=120)
        world.settle()
        create = outbox_row(world, "task.create", "implement")
        assert (create["status"], create["attempts"]) == ("pending", 3)
        assert len(world.jira.sandbox.state.issues) == issues_before + 1
        world.clock.advance(seconds=30)
        world.settle()
        create = outbox_row(world, "task.create", "implement")
        assert (create["status"], create["attempts"]) == ("done", 4)

        [row] = world.issues(run_id, "implement")
        key = row["issue_key"]
        assert len(world.jira.sandbox.state.issues) == issues_before + 1
        made = [
            issue["key"]
            for issue in map(world.issue, list(world.jira.sandbox.state.issues))
            if issue["fields"]["summary"].startswith("Implement corrective action")
        ]
        assert made == [key]
        issued = [e for e in world.evidence(run_id, "task.issued") if e["step_id"] == "implement"]
        assert [e["payload"]["ref"] for e in issued] == [key]
        assert world.evidence(run_id, "command.dead") == []

        # The engineer completes it in Jira; the run moves on to the 30-day wait.
        world.jira.answer(key, CORRECTIVE["implement"], by=ENGINEER)
        world.settle()
        assert world.run(run_id) == ("running", "settle")
        assert [a["filename"] for a in world.issue(key)["fields"]["attachment"]] == [
            "aims-evidence-implement-1.json"
        ]
        assert world.verify_ledger().ok
