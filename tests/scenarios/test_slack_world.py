"""The Slack world for scenario and reliability tests: a migrated SQLite database, the app on
an advanceable clock with a small release workflow, the Slack sandbox (every Web API answer
checked against Slack's spec) and the real Slack app on loopback.

Other test modules import :func:`slack_world`; the tests here check the world itself.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from starlette.middleware import Middleware

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "contract"))
from slack_fixtures import SpecCheckMiddleware, SpecRecord, slack_spec  # noqa: E402

from aims_workflows.app import App, open_app  # noqa: E402
from aims_workflows.config import Settings  # noqa: E402
from aims_workflows.demo.slack_loopback import SlackLoopback  # noqa: E402
from aims_workflows.inventory import AISystemRecord  # noqa: E402
from aims_workflows.store import Database  # noqa: E402
from aims_workflows.testing import InMemoryIssueTracker, ManualClock  # noqa: E402

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
SIGNING_SECRET = "5c1e2d3f4a5b6c7d8e9f0a1b2c3d4e5f"
SYSTEM = "Support chatbot"
OWNER = "olga@example.com"
STRANGER = "sam@example.com"

ROLES: dict[str, list[str]] = {
    "top_management": ["tom@example.com", "tina@example.com"],
    "aims_owner": ["amy@example.com"],
    "risk_owner": ["rita@example.com"],
    "engineer": ["eve@example.com", "ed@example.com"],
}

WORKFLOW = """\
id: model-release
version: 1
title: Model release
subject: ai_system
trigger:
  manual: true
steps:
  - id: prepare
    kind: task
    role: engineer
    title: "Prepare the release of {{ subject.name }}"
    form:
      - id: summary
        type: text
        label: What changes
      - id: risk_score
        type: number
        label: Risk score
  - id: sign_off
    kind: approval
    title: "Release {{ subject.name }}"
    approvers: [%(approvers)s]
    quorum: %(quorum)s
    channel: %(channel)s
    show:
      Summary: prepare.summary
      Risk score: prepare.risk_score
    separation:
      not_assignee_of: [prepare]
    due: 3d
    reminders: [1d]
    escalate:
      after: 1d
      to: aims_owner
    on_reject: prepare
%(sign_off_extra)s"""


def config_yaml(roles: dict[str, list[str]]) -> str:
    lines = ["organisation: Example Ltd", "roles:"]
    lines += [f"  {role}: [{', '.join(people)}]" for role, people in roles.items()]
    return "\n".join(lines) + "\n"


@dataclass
class World:
    app: App
    clock: ManualClock
    slack: SlackLoopback
    tracker: InMemoryIssueTracker
    spec: SpecRecord

    @property
    def rt(self):
        return self.app.runtime

    @property
    def sandbox(self):
        return self.slack.sandbox

    def pump(self):
        """Carry out the outbox (posts, updates, ephemerals) after the app's work is done."""
        self.slack.wait()
        report = self.app.dispatcher.pump()
        self.slack.wait()
        return report

    def start_release(
        self, *, by: str = "eve@example.com", summary: str = "New retrieval index", risk: int = 6
    ) -> str:
        run_id = self.rt.start("model-release", system=SYSTEM).run.run_id
        self.pump()
        self.complete(run_id, by=by, summary=summary, risk=risk)
        return run_id

    def complete(
        self,
        run_id: str,
        *,
        by: str = "eve@example.com",
        summary: str = "New retrieval index",
        risk: int = 6,
    ) -> None:
        task = [t for t in self.tracker.open_tasks() if t.run_id == run_id][-1]
        self.rt.complete_task(
            run_id,
            "prepare",
            {"summary": summary, "risk_score": risk},
            person=by,
            via="jira",
            attempt=task.attempt,
            ref=task.ref,
        )
        self.tracker.mark_done(task.ref)
        self.pump()

    def approval(self, run_id: str) -> dict[str, Any] | None:
        """The open approval row of a run."""
        from sqlalchemy import select

        from aims_workflows.store.models import Approval

        table = Approval.__table__
        with self.rt.db.connect() as conn:
            row = conn.execute(
                select(table).where(table.c.run_id == run_id, table.c.status == "open")
            ).first()
        return dict(row._mapping) if row else None

    def evidence(self, kind: str, run_id: str | None = None) -> list[dict[str, Any]]:
        import json

        from sqlalchemy import select

        from aims_workflows.store.models import Evidence

        table = Evidence.__table__
        query = select(table).where(table.c.kind == kind).order_by(table.c.seq)
        if run_id:
            query = query.where(table.c.run_id == run_id)
        with self.rt.db.connect() as conn:
            return [
                {**dict(r._mapping), "payload": json.loads(r.payload)} for r in conn.execute(query)
            ]

    def run_status(self, run_id: str) -> tuple[str, str | None]:
        from aims_workflows.store import runs as run_store

        with self.rt.db.connect() as conn:
            run, _ = run_store.load(conn, run_id)
        return run.status, run.current


@contextmanager
def slack_world(
    tmp_path: Path,
    *,
    approvers: str = "top_management",
    quorum: str = "any",
    channel: str = "direct",
    roles: dict[str, list[str]] = ROLES,
    slack_people: list[str] | None = None,
    sign_off_extra: str = "",
    **sandbox: Any,
) -> Iterator[World]:
    workflows = tmp_path / "workflows"
    workflows.mkdir(exist_ok=True)
    (workflows / "model-release.yaml").write_text(
        WORKFLOW
        % {
            "approvers": approvers,
            "quorum": quorum,
            "channel": channel,
            "sign_off_extra": sign_off_extra,
        },
        encoding="utf-8",
    )
    config = tmp_path / "aims.yaml"
    config.write_text(config_yaml(roles), encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'aims.db'}"
    Database(url).upgrade()
    people = (
        slack_people
        if slack_people is not None
        else sorted({p for ps in roles.values() for p in ps} | {OWNER, STRANGER})
    )
    record = SpecRecord()
    clock = ManualClock(T0)
    tracker = InMemoryIssueTracker()
    middleware = [
        Middleware(
            SpecCheckMiddleware, spec=slack_spec(), failures=record.failures, checked=record.checked
        )
    ]
    with SlackLoopback(
        people=people, signing_secret=SIGNING_SECRET, middleware=middleware, **sandbox
    ) as slack:
        app = open_app(
            Settings(database_url=url, config=config, workflows=workflows),
            clock=clock,
            tracker=tracker,
            approvals=slack.channel,
            notifier=slack.notifier,
        )
        slack.attach(app.runtime)
        app.inventory.add(
            AISystemRecord(
                name=SYSTEM, owner=OWNER, business_purpose="Answers customers", risk_tier="limited"
            )
        )
        try:
            yield World(app, clock, slack, tracker, record)
        finally:
            slack.wait()
            app.db.dispose()
    assert not record.failures, "Slack answers that do not match the spec:\n" + "\n".join(
        record.failures
    )


def test_world_posts_a_request_to_each_approver(tmp_path: Path) -> None:
    with slack_world(tmp_path) as world:
        run_id = world.start_release()
        approval = world.approval(run_id)
        assert approval is not None
        for person in ROLES["top_management"]:
            assert [p.approval_id for p in world.slack.pending(person)] == [approval["approval_id"]]
        assert world.slack.pending("eve@example.com") == []


def test_loopback_lists_open_approvals_for_scripts_playing_approvers(tmp_path: Path) -> None:
    with slack_world(tmp_path, quorum="all") as world:
        run_id = world.start_release()
        [request] = world.slack.open_approvals()
        assert request.run_id == run_id and set(request.people) == set(ROLES["top_management"])
        assert world.slack.approve("tom@example.com", request.approval_id, "Approved").ok
        assert world.slack.open_approvals("tom@example.com") == []
        assert [r.approval_id for r in world.slack.open_approvals("tina@example.com")] == [
            request.approval_id
        ]
        decided = world.slack.reject("tina@example.com", request.approval_id, "Not yet")
        assert decided.ok and decided.notices == []
        world.pump()
        assert world.slack.open_approvals() == [] and world.run_status(run_id) == (
            "running",
            "prepare",
        )
