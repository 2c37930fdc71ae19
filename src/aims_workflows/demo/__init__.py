"""``aims demo``: three AI systems through the shipped workflows, with simulated people.

It works on a real database (``aims-demo.db`` unless told otherwise) and leaves it behind so the
other commands can explore it. Time is simulated: about ten months pass in well under a minute.
"""

from __future__ import annotations

import itertools
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from ..cli._documents import print_readiness
from ..documents.readiness import readiness_of
from ..engine.evidence import iso
from ..inventory import Inventory
from ..kpi import compute_kpis, kpi_table
from ..runtime import Dispatcher, Runtime
from ..spec.checks import DEFAULT_ROLES
from ..spec.loader import load_workflows
from ..store import Database, ledger, redact_url
from ..testing import ManualClock
from .cast import CONFIG, NAMES, SYSTEMS
from .people import Office, Verdict
from .safety import CONFIG_MARK, DemoTarget, demo_target, prepare

if TYPE_CHECKING:
    from ..app import App

__all__ = ["run_demo"]

_STORY_DAYS = 340
"""How long before today the story begins: the gap analysis, about ten months before a Stage 2
audit, so that every record it needs falls within the twelve months the audit looks back on."""


def _write_config(path: Path) -> None:
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    with path.open("w", encoding="utf-8") as out:
        # the first line is how a later demo knows it may rewrite this file (safety.CONFIG_MARK)
        out.write(
            f"{CONFIG_MARK}: the demo organisation's people, KPI targets and SoA decisions.\n"
        )
        yaml.dump(CONFIG.model_dump(mode="json", exclude={"workflows"}), out)


def _verdicts(workflow: str, step: str, subject: str, round_: int) -> Verdict | None:
    if (workflow, step, subject, round_) == (
        "ai-risk-assessment",
        "accept_top",
        "Credit scoring model",
        1,
    ):
        return Verdict(
            "carla.mendes@example.com",
            "reject",
            "Dropping two features is not enough: add ongoing fairness monitoring before I accept"
            " this residual risk.",
        )
    if (workflow, step) == ("internal-audit", "approve_report"):
        return Verdict("ines.faria@example.com", "approve", "Report complete.")
    return None


def _covering(workflow: str, step: str, subject: str) -> Verdict | None:
    """While Rui is on leave, Ana decides his risk acceptances as his delegate ("Ana for
    Rui" in the ledger and on the Slack card)."""
    if (workflow, step) == ("ai-risk-assessment", "accept_owner"):
        return Verdict(
            "ana.silva@example.com",
            "approve",
            f"For Rui while he is on leave: the residual risk of {subject} is within appetite.",
        )
    return None


def run_demo(
    database: str | None = None,
    *,
    db_file: Path | None = None,
    force: bool = False,
    quiet: bool = False,
) -> None:
    """Play the demo on its own database: ``aims-demo.db`` unless ``database`` (a URL) or
    ``db_file`` names another. ``AIMS_DATABASE_URL`` is never used: it names the real one."""
    from rich.console import Console

    console = Console(highlight=False)
    target = demo_target(database, db_file)
    real = os.environ.get("AIMS_DATABASE_URL")
    if real and real != target.url:
        console.print(
            f"AIMS_DATABASE_URL ({redact_url(real)}) is left alone: the demo writes only to "
            f"{redact_url(target.url)} (--database URL chooses another)",
            markup=False,
        )
    db = prepare(target, force=force)
    _write_config(target.config)
    try:
        started_on, rejected_run = _play(console, db, target.url, quiet, target.config)
    finally:
        db.dispose()
    _explore(console, target, started_on, rejected_run)


def _play(console, db: Database, url: str, quiet: bool, config_path: Path) -> tuple[str, str]:
    """Play the story; the day it began (YYYY-MM-DD) and the run whose risk acceptance top
    management rejected (the one worth a look with ``aims runs show``)."""
    from rich.rule import Rule

    from ..app import App, shipped_workflows_dir
    from ..config import Settings
    from .jira_loopback import JiraLoopback
    from .slack_loopback import SlackLoopback

    real_now = datetime.now(UTC).replace(microsecond=0)
    start = (real_now - timedelta(days=_STORY_DAYS)).replace(hour=9, minute=0, second=0)
    clock = ManualClock(start)
    workflows = load_workflows(
        [shipped_workflows_dir()], roles=set(DEFAULT_ROLES) | CONFIG.role_names()
    )
    counter = itertools.count(1)
    runtime = Runtime(db, workflows, CONFIG, clock, new_id=lambda: f"RUN-{next(counter):03d}")
    people = sorted({p for ps in CONFIG.roles.values() for p in ps} | {s.owner for s in SYSTEMS})

    # The demo composes the application itself (not open_app): its runs are numbered RUN-001...
    # so that the commands it suggests afterwards name real runs.
    with (
        SlackLoopback(people=[(p, NAMES.get(p, p)) for p in people]) as slack,
        JiraLoopback(names=NAMES, people=people) as jira,
    ):
        integration = jira.connect(runtime)
        dispatcher = Dispatcher(
            runtime,
            tracker=integration.tracker,
            approvals=slack.channel,
            notifier=slack.notifier,
        )
        app = App(
            Settings(database_url=url, config=config_path),
            CONFIG,
            db,
            workflows,
            runtime,
            Inventory(runtime),
            dispatcher,
            jira=integration,
        )
        slack.attach(runtime)
        jira.serve(app)
        console.print(
            f"[bold]aims demo[/]: {len(SYSTEMS)} AI systems, {len(workflows)} workflows, "
            f"database {redact_url(url)}; Jira sandbox {integration.connection.url}, "
            f"Slack sandbox {slack.sandbox.url}"
        )
        _story(console, app, jira, slack, clock, start, real_now, quiet, Rule, config_path.parent)
        report = readiness_of(app, 2, clock.now())
    _summary(console, app, clock.now(), url)
    console.print()
    console.print(Rule("[bold]Certification readiness: aims readiness --stage 2", align="left"))
    print_readiness(report, clock.now(), console)
    return start.date().isoformat(), _first_run(db, "ai-risk-assessment", "Credit scoring model")


def _first_run(db: Database, workflow: str, subject: str) -> str:
    from sqlalchemy import select

    from ..store.models import Run

    runs = Run.__table__
    with db.connect() as conn:
        return str(
            conn.scalar(
                select(runs.c.id)
                .where(runs.c.workflow_id == workflow, runs.c.subject_name == subject)
                .order_by(runs.c.started_at)
                .limit(1)
            )
        )


def _story(
    console,
    app,
    jira,
    slack,
    clock: ManualClock,
    start: datetime,
    real_now: datetime,
    quiet: bool,
    Rule,
    config_dir: Path,
) -> None:
    from .desks import JiraDesk, SlackDesk
    from .operations import HELD_ACTION
    from .roadmap import Roadmap

    runtime, inventory = app.runtime, app.inventory

    def say(text: str) -> None:
        if not quiet:
            console.print(f"[dim]day {(clock.now() - start).days:>3}[/]  {text}")

    chapters = itertools.count(1)

    def chapter(title: str) -> None:
        if not quiet:
            console.print(Rule(f"[bold]{next(chapters)}. {title}", align="left"))

    # Left undone: the CV screening owner's impact mitigation until the incident chapter (it
    # is done late, after its escalation); for good, the credit scoring retraining (a risk
    # treatment, past its target date) and one action of the management review.
    held = {("ai-impact-assessment", "mitigate", "CV screening assistant")}
    never_done = {("risk-treatment", "carry_out", "Credit scoring model")}

    def hold(wf: str, step: str, subject: str, inputs: dict) -> bool:
        return (
            (wf, step, subject) in held | never_done
            or (wf, step) == ("review-action", "carry_out")
            and inputs.get("action") == HELD_ACTION
        )

    def pump_integrations() -> None:
        jira.sync()
        slack.wait()

    office = Office(
        runtime,
        app.dispatcher,
        JiraDesk(runtime, jira),
        SlackDesk(runtime, slack),
        clock,
        say,
        pump_integrations=pump_integrations,
        hold=hold,
        verdicts=lambda wf, step, subject, round_: (
            _covering(wf, step, subject) if leave else _verdicts(wf, step, subject, round_)
        ),
    )
    leave: list[str] = []  # Rui's leave: his risk acceptances go to his delegate
    roadmap = Roadmap(app, office, say, _actor, config_dir)

    chapter("Gap analysis: where Example Bank stands against ISO/IEC 42001")
    roadmap.gap_analysis()

    chapter("Scope of the AI management system")
    clock.advance(days=3)
    roadmap.scope()

    chapter("AI policy, acknowledged by every role holder")
    clock.advance(days=2)
    roadmap.policy()

    chapter("AI objectives, each measured by a KPI")
    clock.advance(days=2)
    roadmap.objectives()

    chapter("Roles and competence")
    roadmap.roles()

    chapter("Training and awareness")
    roadmap.training()

    chapter("Risk and impact methods, kept in the policy library")
    roadmap.library()

    chapter("The AI system inventory")
    clock.advance(days=2)
    for record in SYSTEMS:
        row, started = inventory.add(record)
        say(
            f"registered [bold]{row['name']}[/] ({row['risk_tier']} risk, owner"
            f" {NAMES[row['owner']]}): started {', '.join(started)}"
        )
        clock.advance(hours=1)

    chapter("Risk and impact assessments: tasks in Jira, sign-offs in Slack")
    office.work()

    chapter("A material change re-opens the assessments")
    clock.advance(days=6)
    rui, ana = "rui.costa@example.com", "ana.silva@example.com"
    delegation = runtime.people.delegate(
        rui, ana, "risk_owner", clock.now() + timedelta(days=28), "Rui on leave for four weeks",
        by=_actor(rui),
    )  # fmt: skip
    leave.append(rui)
    say(
        f"Rui goes on leave: `aims delegate --from {rui} --to {ana} --role risk_owner "
        f"--until {delegation.until:%Y-%m-%d}` (recorded as delegation.granted)"
    )
    changes, started = inventory.set(
        "Support chatbot",
        {"data_sources": "help-centre articles, product terms, customer chat history"},
        actor=_actor("olga.nunes@example.com"),
    )
    say(
        "Olga changed the chatbot's data sources: now it learns from chat history;"
        f" started {', '.join(started) or 'nothing'}"
    )
    office.work()
    leave.clear()

    chapter("Suppliers, data quality and intended use")
    clock.advance(days=3)
    roadmap.suppliers_data_and_use()

    chapter("Statement of Applicability")
    clock.advance(days=2)
    roadmap.soa()

    chapter("An AI incident")
    clock.advance(days=4)
    roadmap.incident()
    held.clear()
    office.work()
    say(
        "the CV screening owner finally completes the impact mitigation, late and after its"
        " escalation"
    )

    chapter("The internal audit programme")
    clock.advance(days=2)
    roadmap.audit_programme()

    chapter("Internal audit finds a nonconformity")
    clock.advance(days=5)
    roadmap.internal_audit()

    chapter("Corrective action, with an effectiveness check 30 days later")
    clock.advance(days=31)
    say("30 days pass; the effectiveness checks fall due")
    office.work()

    chapter("Management review")
    clock.advance(days=7)
    review = runtime.start("management-review", actor=_actor("ana.silva@example.com")).run.run_id
    say(f"Ana started the management review ({review})")
    office.work()

    chapter("Today")
    if clock.now() > real_now:
        say(f"[red]the story ran {(clock.now() - real_now).days} day(s) past today[/]")
    clock.set(max(clock.now(), real_now))
    office.pump()
    say(
        f'one action of the management review ("{HELD_ACTION}") is still open: overdue and'
        " escalated"
    )
    say(
        "the credit scoring retraining (a risk treatment) is past its target date:"
        " `aims risks list --overdue`; the register: `aims risks list`"
    )
    issues = len(jira.sandbox.state.issues) if hasattr(jira.sandbox, "state") else 0
    messages = sum(
        len(slack.sandbox.messages(p))
        for p in sorted({p for ps in CONFIG.roles.values() for p in ps})
    )
    say(f"Jira holds {issues} issues; approvers received {messages} Slack messages")


def _actor(person: str):
    from ..engine import Actor

    return Actor(person, "cli", CONFIG.roles_of(person))


def _summary(console, app: App, now: datetime, url: str) -> None:
    from sqlalchemy import func, select

    from ..store.models import Approval, Finding, Run, StepRecord

    with app.db.connect() as conn:
        runs: dict[str, int] = dict(
            conn.execute(
                select(Run.__table__.c.status, func.count()).group_by(Run.__table__.c.status)
            ).all()
        )
        tasks = conn.scalar(select(func.count()).select_from(StepRecord.__table__))
        approvals = conn.scalar(select(func.count()).select_from(Approval.__table__))
        findings = conn.scalar(select(func.count()).select_from(Finding.__table__))
        kpis = compute_kpis(conn, now, CONFIG.kpi_targets, context=app.kpi_context())
        report = ledger.verify(conn)
    console.print()
    console.print(
        "[bold]Runs[/]: "
        + ", ".join(f"{n} {s}" for s, n in sorted(runs.items()))
        + f"; {tasks} tasks, {approvals} approval requests, {findings} finding(s)"
    )
    console.print(kpi_table(kpis, title=f"AIMS KPIs on {iso(now)[:10]}"))
    if report.ok:
        console.print(
            f"[green]✓ evidence chain verified[/]: {report.rows} rows,"
            " each SHA-256 linked to the one before"
        )
    else:
        console.print(
            f"[red]✗ evidence chain broken at row {report.first_bad_seq}[/]: {report.problem}"
        )


def _aims_command() -> str:
    """How to call ``aims`` from here: plain ``aims`` when it is on PATH, else its path."""
    import shutil
    import sys

    beside = Path(sys.executable).parent / "aims"
    found = shutil.which("aims")
    if found and Path(found).resolve() == beside.resolve():
        return "aims"
    try:
        return str(beside.relative_to(Path.cwd()))
    except ValueError:
        return str(beside)


def _explore(console, target: DemoTarget, since: str, rejected_run: str) -> None:
    import shlex

    aims = _aims_command()
    console.print("\n[bold]Explore what happened[/] (the database stays):")
    console.print(
        f"  export AIMS_DATABASE_URL={shlex.quote(target.url)}"
        f" AIMS_CONFIG={shlex.quote(str(target.config))}",
        markup=False,
        soft_wrap=True,
    )
    for command in (
        "runs list",
        f"runs show {rejected_run}   # a risk acceptance rejected, then reworked",
        "readiness --stage 2",
        "documents list",
        "evidence list --limit 20",
        "evidence verify",
        "kpi --format json",
        "findings list",
        "risks list",
        "risks show RISK-1",
        "tasks list",
        "approvals list",
        "export soa",
        f"export review-pack --since {since}   # the whole story",
        "export audit-pack --out aims-demo-audit-pack.zip",
        "serve   # then open http://127.0.0.1:8000/dashboard",
    ):
        console.print(f"  {aims} {command}", markup=False, soft_wrap=True)
