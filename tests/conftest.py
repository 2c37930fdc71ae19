"""Shared fixtures: a real database on each backend, an advanceable clock, people in roles, and
the application wired to the in-memory stand-ins.

PostgreSQL runs when ``AIMS_TEST_POSTGRES_URL`` is set (a server URL such as
``postgresql+psycopg://postgres@127.0.0.1:5432/test``). Each test gets its own schema, selected
with ``search_path`` in the connection options, and the schema is dropped afterwards, so tests
never see each other's rows. Without the variable the PostgreSQL cases are skipped with the
reason shown; with ``AIMS_REQUIRE_POSTGRES=1`` (CI) a missing or unreachable server fails them.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import pytest

from aims_workflows.app import App, open_app, shipped_workflows_dir
from aims_workflows.config import AimsConfig, Settings
from aims_workflows.store import Database
from aims_workflows.testing import (
    InMemoryApprovalChannel,
    InMemoryIssueTracker,
    InMemoryNotifier,
    ManualClock,
)

POSTGRES_ENV = "AIMS_TEST_POSTGRES_URL"
REQUIRE_ENV = "AIMS_REQUIRE_POSTGRES"
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
SHIPPED_WORKFLOWS = shipped_workflows_dir()

# People of the test organisation. Each role has at least one person; the first person of a
# role is the one a task is assigned to.
ROLES: dict[str, list[str]] = {
    "top_management": ["tom@example.com", "tina@example.com"],
    "aims_owner": ["amy@example.com"],
    "risk_owner": ["rita@example.com"],
    "ciso": ["carl@example.com"],
    "engineer": ["eve@example.com", "ed@example.com"],
    "internal_auditor": ["ida@example.com", "ian@example.com"],
    "data_protection_officer": ["dora@example.com"],
    "legal_counsel": ["leo@example.com"],
}


def config_yaml(roles: dict[str, list[str]] = ROLES, organisation: str = "Example Ltd") -> str:
    lines = [f"organisation: {organisation}", "roles:"]
    lines += [f"  {role}: [{', '.join(people)}]" for role, people in roles.items()]
    return "\n".join(lines) + "\n"


# Answers that complete the shipped workflows' tasks.
ANSWERS: dict[str, dict] = {
    "risk.identify": {
        "risk_title": "Biased answers",
        "risk_description": "Training data under-represents some groups",
        "risk_sources": ["bias_fairness", "data_quality"],
        "affected_parties": "customers",
        "likelihood": 2,
        "impact": 3,
        "rating_rationale": "two complaints last year",
    },
    "risk.treat": {
        "treatment": "accept",
        "residual_likelihood": 1,
        "residual_impact": 2,
        "rationale": "low and monitored",
    },
    "impact.context": {
        "intended_use": "answering customer questions",
        "affected_groups": ["customers"],
        "decisions_about_people": False,
        "personal_data": True,
    },
    "impact.impacts": {
        "individual_impacts": "wrong answers",
        "severity": 2,
        "likelihood": 2,
        "reversibility": "reversible",
    },
    "impact.mitigate": {
        "mitigations": "human fallback",
        "user_information": "a banner",
        "monitoring": "weekly sampling",
    },
    "ca.correct": {
        "nonconformity": "Risk register not reviewed",
        "correction": "Reviewed it",
        "corrected_on": "2026-01-06",
    },
    "ca.root_cause": {
        "method": "five_whys",
        "root_cause": "No owner for the review",
        "similar_elsewhere": False,
    },
    "ca.plan": {
        "action": "Name an owner and a calendar",
        "action_owner": "amy@example.com",
        "due_date": "2026-02-01",
        "aims_change": False,
    },
    "ca.implement": {
        "done": "Owner named",
        "evidence_link": "https://example.com/pr/1",
        "implemented_on": "2026-01-20",
    },
    "ca.verify": {"effective": True, "observations": "Reviews held on time"},
    # internal audit: the programme, an area found conforming, an area with a minor nonconformity
    "audit.programme": {
        "audit_reference": "IA-2026-1",
        "scope": "all AI systems",
        "criteria": ["iso42001_clauses_4_to_10"],
        "auditors": "ida: all areas",
        "period_start": "2026-01-10",
        "period_end": "2026-01-31",
    },
    "audit.conforming": {
        "result": "conforming",
        "evidence_sampled": "records",
        "independence": "not_my_own_work",
    },
    "audit.minor": {
        "result": "minor_nonconformity",
        "evidence_sampled": "risk register",
        "finding": "Two risks unreviewed",
        "requirement": "6.1.2",
        "independence": "not_my_own_work",
    },
}


@pytest.fixture
def answers() -> dict[str, dict]:
    return {k: dict(v) for k, v in ANSWERS.items()}


# -- PostgreSQL -------------------------------------------------------------------------------
def _require_postgres() -> bool:
    return os.environ.get(REQUIRE_ENV, "").strip().lower() in ("1", "true", "yes")


def _unavailable(reason: str) -> None:
    if _require_postgres():
        pytest.fail(f"{reason} and {REQUIRE_ENV}=1 requires PostgreSQL", pytrace=False)
    pytest.skip(reason)


def with_search_path(url: str, schema: str) -> str:
    """The server URL with every connection's ``search_path`` set to ``schema``."""
    separator = "&" if "?" in url else "?"
    # the application name lets the fixture find and end connections a test left open
    options = f"-csearch_path={schema} -capplication_name={schema}"
    return f"{url}{separator}options={quote(options, safe='')}"


@pytest.fixture(scope="session")
def pg_admin():
    """An autocommit engine on the PostgreSQL test server (creates and drops schemas)."""
    url = os.environ.get(POSTGRES_ENV, "").strip()
    if not url:
        _unavailable(
            f"PostgreSQL tests need {POSTGRES_ENV} (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)"
        )
    from sqlalchemy import create_engine, text

    engine = create_engine(url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as err:  # noqa: BLE001 - any failure to reach the server is reported the same way
        engine.dispose()
        _unavailable(f"PostgreSQL at {POSTGRES_ENV} is not reachable ({err.__class__.__name__})")
    yield engine
    engine.dispose()


@pytest.fixture
def pg_url(pg_admin):
    """A URL on a fresh, empty schema of the PostgreSQL test server; dropped afterwards."""
    from sqlalchemy import text

    schema = f"aims_t_{uuid.uuid4().hex[:12]}"
    with pg_admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    yield with_search_path(pg_admin.url.render_as_string(hide_password=False), schema)
    with pg_admin.connect() as conn:
        # end anything a test left connected to the schema before dropping it
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE pid <> pg_backend_pid() AND application_name = :name"
            ),
            {"name": schema},
        )
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'aims.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request) -> str:
    """An empty database, once on a SQLite file and once on PostgreSQL."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("pg_url")


@pytest.fixture
def database(db_url: str):
    """A migrated database on each backend."""
    db = Database(db_url)
    db.upgrade()
    yield db
    db.dispose()


# -- loading the shipped workflows once -----------------------------------------------------------
@pytest.fixture(scope="session", autouse=True)
def _workflow_cache():
    """Parse each distinct set of workflow files once per session. Loading is a pure function of
    the files' bytes and the role names, so the cache is keyed on exactly those: a test that
    edits a workflow file gets a fresh parse."""
    import aims_workflows.app as app_module

    real = app_module.load_workflows
    cache: dict = {}

    def cached(paths, *args, roles=None, **kwargs):
        files = []
        for path in paths:
            path = Path(path)
            members = sorted(path.rglob("*")) if path.is_dir() else [path]
            files += [(str(f), f.read_bytes()) for f in members if f.is_file()]
        key = (tuple(files), frozenset(roles or ()), args, tuple(sorted(kwargs.items())))
        if key not in cache:
            cache[key] = real(paths, *args, roles=roles, **kwargs)
        return cache[key]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(app_module, "load_workflows", cached)
        yield


# -- time, people, stand-ins, the app -----------------------------------------------------------
@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def roles() -> dict[str, list[str]]:
    return {role: list(people) for role, people in ROLES.items()}


@pytest.fixture
def aims_config() -> AimsConfig:
    return AimsConfig(organisation="Example Ltd", roles=ROLES)


@pytest.fixture
def tracker() -> InMemoryIssueTracker:
    return InMemoryIssueTracker()


@pytest.fixture
def approvals() -> InMemoryApprovalChannel:
    return InMemoryApprovalChannel()


@pytest.fixture
def notifier() -> InMemoryNotifier:
    return InMemoryNotifier()


@dataclass
class Harness:
    """The app and the stand-ins it talks to, for tests that drive whole runs."""

    app: App
    clock: ManualClock
    tracker: InMemoryIssueTracker
    approvals: InMemoryApprovalChannel
    notifier: InMemoryNotifier
    config_path: Path

    @property
    def rt(self):
        return self.app.runtime

    @property
    def db(self) -> Database:
        return self.app.db

    def pump(self):
        return self.app.dispatcher.pump()

    # -- driving runs the way people would ---------------------------------------------------
    def open_task(self, step_id: str, run_id: str | None = None):
        found = [
            t
            for t in self.tracker.open_tasks()
            if t.step_id == step_id and (run_id is None or t.run_id == run_id)
        ]
        assert found, (
            f"no open task for step '{step_id}'; open: "
            f"{[(t.run_id, t.step_id) for t in self.tracker.open_tasks()]}"
        )
        return found[-1]

    def complete(
        self, step_id: str, answers: dict, *, run_id: str | None = None, person: str | None = None
    ):
        """Complete the open stand-in task of ``step_id`` as its assignee (in Jira), then pump."""
        task = self.open_task(step_id, run_id)
        outcome = self.rt.complete_task(
            task.run_id,
            step_id,
            answers,
            person=person or task.assignee,
            via="jira",
            attempt=task.attempt,
            ref=task.ref,
        )
        if any(e.kind == "task.completed" for e in outcome.transition.evidence):
            self.tracker.mark_done(task.ref)
        self.pump()
        return outcome

    def pending_approval(self, run_id: str | None = None):
        found = [a for a in self.approvals.pending() if run_id is None or a.run_id == run_id]
        assert found, "no pending approval"
        return found[-1]

    def decide(
        self,
        person: str,
        decision: str = "approve",
        reason: str = "reviewed, acceptable",
        *,
        run_id: str | None = None,
    ):
        request = self.pending_approval(run_id)
        outcome = self.rt.decide(
            request.approval_id,
            person=person,
            decision=decision,
            reason=reason,
            content_hash=request.content_hash,
            via="slack",
        )
        self.pump()
        return outcome

    # the four areas the tests' internal audits check, as an approved programme plans them
    AUDIT_AREAS = {
        "check_governance": {"area": "Governance and leadership", "covers": ["4", "5", "A.2"]},
        "check_risk": {"area": "Risk and impact", "covers": ["6.1", "8.2", "A.5"]},
        "check_lifecycle": {"area": "AI system lifecycle and data", "covers": ["A.6", "A.7"]},
        "check_monitoring": {"area": "Monitoring, measurement and improvement", "covers": ["9.1"]},
    }

    def start_audit(self, *, again: bool = False) -> str:
        """Start an internal audit of the four test areas (as `aims audit start` passes them)."""
        transition = self.rt.start(
            "internal-audit",
            inputs={
                "programme_reference": "AP-TEST",
                "programme_areas": [dict(a, period="Y1 Q1") for a in self.AUDIT_AREAS.values()],
            },
            again=again,
        )
        return transition.run.run_id

    def audit_areas(self, audit: str, answers: dict[str, dict], **results: dict) -> None:
        """Complete an internal audit's area checks (one internal-audit-area run each, in the
        programme's order): conforming unless ``results`` names the answers of an area
        (``check_risk=answers["audit.minor"]``)."""
        open_checks = sorted(
            (t.run_id for t in self.tracker.open_tasks() if t.step_id == "check"),
            key=lambda run_id: int(run_id.rsplit(".", 1)[1]),
        )
        checks = [r for r in open_checks if r.startswith(f"{audit}.check_areas")]
        assert len(checks) == len(self.AUDIT_AREAS), f"open area checks: {checks}"
        for area, run_id in zip(self.AUDIT_AREAS, checks, strict=True):
            self.complete("check", results.get(area, answers["audit.conforming"]), run_id=run_id)

    def close_corrective_action(self, run: str, answers: dict[str, dict]) -> None:
        """Take a corrective action through correction, root cause, plan (approved by amy),
        implementation, the 30-day wait and an effective verification two days later."""
        for step in ("correct", "root_cause", "plan"):
            self.complete(step, answers["ca." + step], run_id=run)
        self.decide("amy@example.com", run_id=run)
        self.complete("implement", answers["ca.implement"], run_id=run)
        self.clock.advance(days=30)
        self.rt.tick()
        self.pump()
        self.clock.advance(days=2)
        self.complete("verify", answers["ca.verify"], run_id=run)

    def run_row(self, run_id: str):
        from sqlalchemy import select

        from aims_workflows.store.models import Run

        with self.db.connect() as conn:
            return conn.execute(select(Run.__table__).where(Run.__table__.c.id == run_id)).one()

    def kinds(self, run_id: str | None = None) -> list[str]:
        from aims_workflows.store import ledger

        with self.db.connect() as conn:
            return [r.kind for r in ledger.iter_rows(conn, run_id=run_id)]

    def verify(self):
        from aims_workflows.store import ledger

        with self.db.connect() as conn:
            return ledger.verify(conn)

    def count(self, table: str, where: str = "") -> int:
        from sqlalchemy import text

        with self.db.connect() as conn:
            return conn.execute(text(f"SELECT count(*) FROM {table} {where}")).scalar()

    def add_system(self, name: str = "Chatbot", **fields):
        from aims_workflows.inventory import AISystemRecord

        record = AISystemRecord(name=name, owner=fields.pop("owner", "olga@example.com"), **fields)
        row, started = self.app.inventory.add(record)
        self.pump()
        return row, started


def make_harness(
    db_url: str,
    directory: Path,
    clock: ManualClock,
    *,
    workflows: Path = SHIPPED_WORKFLOWS,
    roles: dict[str, list[str]] = ROLES,
    tracker=None,
    approvals=None,
    notifier=None,
    more_config: str = "",
) -> Harness:
    """``more_config``: aims.yaml lines after the roles (segregation, KPI targets ...)."""
    config_path = directory / "aims.yaml"
    config_path.write_text(config_yaml(roles) + more_config, encoding="utf-8")
    tracker = tracker or InMemoryIssueTracker()
    approvals = approvals or InMemoryApprovalChannel()
    notifier = notifier or InMemoryNotifier()
    settings = Settings(database_url=db_url, config=config_path, workflows=workflows)
    app = open_app(settings, clock=clock, tracker=tracker, approvals=approvals, notifier=notifier)
    return Harness(app, clock, tracker, approvals, notifier, config_path)


@pytest.fixture(name="make_harness")
def make_harness_fixture():
    """``make_harness(db_url, directory, clock, workflows=..., roles=...)`` for tests that need
    a second app on the same database or other workflows and people."""
    return make_harness


@pytest.fixture
def harness(database: Database, db_url: str, tmp_path: Path, clock, tracker, approvals, notifier):
    """The app on a migrated database (each backend), the shipped workflows and the stand-ins."""
    h = make_harness(
        db_url, tmp_path, clock, tracker=tracker, approvals=approvals, notifier=notifier
    )
    yield h
    h.app.db.dispose()


@pytest.fixture
def app(harness: Harness) -> App:
    return harness.app
