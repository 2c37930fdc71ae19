"""``aims try``: the product with a Jira and a Slack you can click, in one process.

:class:`TryStack` starts the Jira sandbox and the Slack sandbox (each with its browser pages),
then the application as ``aims serve`` and ``aims worker`` run it, configured from
:class:`~aims_workflows.config.Settings` exactly as from the environment: the sandboxes' URLs,
the integration's API token, the Jira webhook secret, the Slack bot token and signing secret,
all generated for this session and shown nowhere. It uses its own SQLite database in its own
folder and registers one AI system, which starts a risk assessment: its first task is AIMS-1.

What a person then does in the browser goes through the same paths as with the real services:
the Jira pages edit and transition issues over the sandbox's REST API (signed webhooks reach
``POST /jira/webhook``), the Slack pages send signed interaction requests to ``POST
/slack/events``.
"""

from __future__ import annotations

import logging
import secrets
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..sandbox import BackgroundServer
from ..sandbox.jira import JiraSandbox, sandbox_user
from ..sandbox.jira._webhooks import WebhookDriver
from ..sandbox.slack import SlackSandbox

__all__ = ["Cast", "CAST", "MARKER", "TryStack", "task_screen"]

log = logging.getLogger("aims.try")

WORKFLOW = "ai-risk-assessment"
STARTED_BY_IT = ("ai-risk", "risk-treatment")
"""The workflows the risk assessment starts (further risks, treatment actions): loaded with it."""
PROJECT = "AIMS"
CHANNEL = "aims-approvals"
MARKER = "# Written by `aims try`"
"""The first line of the aims.yaml it writes: how ``aims try`` knows a folder it made."""


@dataclass(frozen=True)
class Cast:
    """Who is who in the trial organisation."""

    engineer: tuple[str, str] = ("erin.engineer@example.com", "Erin Engineer")
    risk_owner: tuple[str, str] = ("sam.owner@example.com", "Sam Owner")
    top_management: tuple[str, str] = ("carla.chief@example.com", "Carla Chief")
    aims_owner: tuple[str, str] = ("ana.admin@example.com", "Ana Admin")
    system_owner: tuple[str, str] = ("olga.product@example.com", "Olga Product")
    system: str = "Support chatbot"

    def people(self) -> list[tuple[str, str]]:
        return [
            self.engineer,
            self.risk_owner,
            self.top_management,
            self.aims_owner,
            self.system_owner,
        ]

    def config_text(self) -> str:
        roles = {
            "engineer": self.engineer,
            "risk_owner": self.risk_owner,
            "top_management": self.top_management,
            "aims_owner": self.aims_owner,
        }
        lines = [
            f"{MARKER} for this session: the trial organisation's people.",
            "organisation: Example Ltd (aims try)",
            "roles:",
        ] + [f"  {role}: [{email}]" for role, (email, _) in roles.items()]
        return "\n".join(lines) + "\n"


CAST = Cast()


def task_screen(properties: dict[str, Any]) -> list[str] | None:
    """The custom fields of an issue aims made, in the order of its form (from the issue
    property aims writes); None for other issues (the page's default)."""
    from ..adapters.jira._tracker import PROPERTY

    task = properties.get(PROPERTY)
    fields = task.get("fields") if isinstance(task, dict) else None
    if not isinstance(fields, dict):
        return None
    return [str(pair[0]) for pair in fields.values() if isinstance(pair, list) and pair]


class TryStack:
    """Everything ``aims try`` runs, started and stopped together.

    ``folder`` holds the database, ``aims.yaml`` and the workflow; ``port`` is the Jira
    sandbox's (the URL a person opens first; 0: any free port); ``worker_interval`` the seconds
    between the worker's passes.
    """

    def __init__(
        self,
        folder: Path,
        *,
        port: int = 0,
        worker_interval: float = 1.0,
        cast: Cast = CAST,
    ) -> None:
        self.folder = folder
        self.port = port
        self.worker_interval = worker_interval
        self.cast = cast
        self.database_url = f"sqlite:///{folder / 'aims-try.db'}"
        self.jira: JiraSandbox | None = None
        self.slack: SlackSandbox | None = None
        self.app: Any = None
        self.web: BackgroundServer | None = None
        self.run_id: str | None = None
        self._driver: WebhookDriver | None = None
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None
        self.worker_errors: list[str] = []

    # -- starting --------------------------------------------------------------------------
    def _files(self) -> tuple[Path, Path]:
        from ..app import shipped_workflows_dir

        self.folder.mkdir(parents=True, exist_ok=True)
        config = self.folder / "aims.yaml"
        config.write_text(self.cast.config_text(), encoding="utf-8")
        workflows = self.folder / "workflows"
        workflows.mkdir(exist_ok=True)
        for name in (WORKFLOW, *STARTED_BY_IT):
            shutil.copy(shipped_workflows_dir() / f"{name}.yaml", workflows)
        return config, workflows

    def start(self) -> TryStack:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        from ..store import Database

        config, workflows = self._files()
        db = Database(self.database_url)
        db.upgrade()
        db.dispose()

        webhook_secret = secrets.token_hex(24)
        people = self.cast.people()
        bot = sandbox_user("aims-bot@example.com", "AIMS Automation", _token())
        users = [bot] + [sandbox_user(email, name, _token()) for email, name in people]
        self.jira = JiraSandbox(
            project=PROJECT,
            users=users,
            webhook_secret=webhook_secret,
            strict_options=True,
            port=self.port,
        ).start()
        self.slack = SlackSandbox(
            users=people,
            channels=[CHANNEL],
            signing_secret=secrets.token_hex(16),
            bot_token="xoxb-" + secrets.token_hex(20),
        ).start()
        settings = self._settings(config, workflows, bot.api_token, webhook_secret)
        self._open(settings)

    def _settings(self, config: Path, workflows: Path, api_token: str, webhook_secret: str):
        from pydantic import SecretStr

        from ..config import Settings

        assert self.jira is not None and self.slack is not None
        # Every setting is given, so nothing in the environment (a real AIMS_DATABASE_URL or
        # Jira site) reaches this session.
        return Settings(
            database_url=self.database_url,
            config=config,
            workflows=workflows,
            jira_url=self.jira.url,
            jira_email=self.jira.service_account.email,
            jira_api_token=SecretStr(api_token),
            jira_project=PROJECT,
            jira_issue_type="Task",
            jira_webhook_secret=SecretStr(webhook_secret),
            slack_bot_token=SecretStr(self.slack.bot_token),
            slack_signing_secret=SecretStr(self.slack.signing_secret),
            slack_channel=f"#{CHANNEL}",
            slack_api_url=self.slack.api_url,
            dashboard_token=None,
        )

    def _open(self, settings: Any) -> None:
        from ..adapters.jira import setup_project, workflow_forms
        from ..app import integrations_from_settings, open_app
        from ..inventory import AISystemRecord
        from ..web import create_app

        jira, slack = self.jira, self.slack
        assert jira is not None and slack is not None
        found = integrations_from_settings(settings)
        self.app = app = open_app(settings, jira=found.jira, slack=found.slack)
        # as `aims jira setup` does: the custom fields of the workflow's forms, with options
        report = setup_project(
            app.jira.connection,
            PROJECT,
            "Task",
            workflow_forms(app.workflows),
            manage_options=True,
        )
        if not report.ok:
            raise RuntimeError("setting up the Jira sandbox failed: " + "; ".join(report.problems))
        # as `aims serve` does, on a free loopback port
        self.web = BackgroundServer(create_app(app, process_in_background=True)).start()
        jira.webhooks.url = self.web.url + "/jira/webhook"
        slack.app_url = self.web.url + "/slack/events"
        self._driver = WebhookDriver(jira.webhooks, interval=0.25).start()
        self._pages()
        owner_email = self.cast.system_owner[0]
        _, started = app.inventory.add(
            AISystemRecord(
                name=self.cast.system,
                owner=owner_email,
                business_purpose="Answers customers' questions about their accounts",
                model_type="hosted large language model with retrieval",
                risk_tier="limited",
                deployment_scale="public",
                lifecycle_stage="deployed",
                in_scope=True,
            )
        )
        self.run_id = started[0] if started else None
        app.pump(schedules=False)  # AIMS-1 is there before anyone looks
        # as `aims worker` does, in a thread: timers, stored deliveries, the outbox
        self._worker = threading.Thread(target=self._work, name="aims-try-worker", daemon=True)
        self._worker.start()

    def _pages(self) -> None:
        jira, slack, web = self.jira, self.slack, self.web
        assert jira is not None and slack is not None and web is not None
        dashboard = web.url + "/dashboard"
        jira.browser.screen = task_screen
        jira.browser.links = [("Slack", slack.url + "/"), ("Dashboard", dashboard)]
        slack.browser.links = [("Jira", jira.url + "/"), ("Dashboard", dashboard)]
        integration = self.app.slack
        # the Slack app does its work after acknowledging: wait for it, so the page that
        # follows a click shows the modal the click opened
        slack.browser.settle = lambda: integration.wait_idle(10)

    def _work(self) -> None:
        while not self._stop.wait(self.worker_interval):
            try:
                self.app.pump(schedules=False)
            except Exception as err:  # noqa: BLE001 - the worker goes on, as `aims worker` would
                self.worker_errors.append(f"{type(err).__name__}: {err}")
                log.warning("worker pass failed: %s", type(err).__name__)

    # -- reading -----------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """The one URL to open: the Jira board (the Slack pages are linked from it)."""
        assert self.jira is not None, "start() first"
        return self.jira.url + "/"

    def script(self) -> list[str]:
        """What to do, step by step, for a first risk review."""
        assert self.jira is not None and self.slack is not None
        engineer, owner, top = (
            self.cast.engineer[1],
            self.cast.risk_owner[1],
            self.cast.top_management[1],
        )
        return [
            f"1. Jira: choose '{engineer}' at the top right, open AIMS-1, fill in the risk, "
            "set Status to Done and Save.",
            f"2. Jira: choose '{owner}', open AIMS-2 (it appears within seconds), choose a "
            "treatment, set Status to Done and Save.",
            f"3. Slack (link at the top): pick {owner}, press Approve in the message from aims, "
            "give a reason and Submit.",
            f"   (a likelihood x impact of 15 or more, or a residual of 10 or more, goes to "
            f"{top} instead)",
            "4. The Dashboard link shows the completed run; the evidence ledger holds the "
            "answers and the decision.",
        ]

    # -- stopping ----------------------------------------------------------------------------
    def stop(self) -> None:
        """Stop everything, newest first; safe to call twice and after a failed start."""
        self._stop.set()
        steps: list[Callable[[], Any]] = []
        worker = self._worker
        if worker is not None:
            steps.append(lambda: worker.join(30))
        if self._driver is not None:
            steps.append(self._driver.stop)
        if self.web is not None:
            web = self.web
            steps.append(web.stop)
            inbox = getattr(web.app.state, "inbox_worker", None)
            if inbox is not None:
                steps.append(inbox.stop)
        if self.app is not None and self.app.slack is not None:
            steps.append(self.app.slack.close)
        for sandbox in (self.slack, self.jira):
            if sandbox is not None:
                steps.append(sandbox.stop)
        if self.app is not None:
            steps.append(self.app.db.dispose)
        for step in steps:
            try:
                step()
            except Exception:  # noqa: BLE001 - stopping goes on with the rest
                log.warning("stopping a part of aims try failed", exc_info=True)
        # what was read stays readable (the sandboxes' state, the database file)
        self._driver = self._worker = self.web = None
        self.app = None

    def __enter__(self) -> TryStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _token() -> str:
    """An API token shaped like Atlassian's, random for each session."""
    return "ATATT3x" + secrets.token_urlsafe(24)
