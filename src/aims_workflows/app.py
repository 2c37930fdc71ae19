"""Composition root: settings -> database, configuration, workflows, runtime, dispatcher."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from .config import AimsConfig, Settings, load_config
from .errors import ConfigError
from .ports import ApprovalChannel, Clock, IssueTracker, Notifier, SystemClock
from .runtime import Dispatcher, Inventory, Runtime
from .spec.checks import DEFAULT_ROLES
from .spec.loader import WorkflowSet, load_workflows
from .store import Database

__all__ = ["App", "open_app", "shipped_workflows_dir", "workflow_paths"]


def shipped_workflows_dir() -> Path:
    """The workflows that come with the package, read as package data.

    They live in ``workflows/`` at the top of the repository, where people and CI read them;
    ``aims_workflows/workflows`` is a link to that folder, so an editable install reads the
    files being edited and a built wheel carries copies of them.
    """
    folder = resources.files(__package__ or "aims_workflows") / "workflows"
    # a package imported from a zip has no folder to hand to the loader
    if not isinstance(folder, Path) or not folder.is_dir():
        raise ConfigError(
            f"the shipped workflows are not a folder on disk ({folder})",
            hint="install aims-workflows from its wheel, or set AIMS_WORKFLOWS to a folder of "
            "workflow files",
        )
    return folder.resolve()


def workflow_paths(settings: Settings, config: AimsConfig) -> list[Path]:
    if settings.workflows is not None:
        return [settings.workflows]
    base = settings.config.parent
    paths = [(base / p) if not Path(p).is_absolute() else Path(p) for p in config.workflows]
    existing = [p for p in paths if p.exists()]
    return existing or [shipped_workflows_dir()]


@dataclass
class App:
    settings: Settings
    config: AimsConfig
    db: Database
    workflows: WorkflowSet
    runtime: Runtime
    inventory: Inventory
    dispatcher: Dispatcher
    jira: Any = (
        None  # adapters.jira.JiraIntegration when AIMS_JIRA_URL is set (or wired by the demo)
    )
    slack: Any = None  # adapters.slack.SlackIntegration when AIMS_SLACK_BOT_TOKEN is set

    def pump(self, *, schedules: bool = True):
        """Carry out what is due: schedules, timers, stored Jira deliveries and the Jira poll,
        then the outbox.

        One-off commands pass ``schedules=False``: recurring workflows are started by the worker,
        not as a side effect of, say, registering an AI system.
        """
        if schedules:
            self.runtime.run_schedules()
        self.runtime.tick()
        if self.jira is not None:
            self.jira.pump()
        return self.dispatcher.pump()


def open_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    tracker: IssueTracker | None = None,
    approvals: ApprovalChannel | None = None,
    notifier: Notifier | None = None,
    require_db: bool = True,
) -> App:
    from .adapters.local import LocalApprovalChannel, LocalIssueTracker, LogNotifier

    settings = settings or Settings()
    config = load_config(settings.config)
    db = Database(settings.database_url)
    if require_db:
        db.require_ready()
    workflows = load_workflows(
        workflow_paths(settings, config), roles=set(DEFAULT_ROLES) | config.role_names()
    )
    runtime = Runtime(db, workflows, config, clock or SystemClock())
    jira = None
    if tracker is None and settings.jira_url:
        from .adapters.jira import JiraIntegration

        jira = JiraIntegration.from_settings(settings, runtime)
        tracker = jira.tracker
    slack = None
    if approvals is None and settings.slack_bot_token:
        from .adapters.slack import SlackIntegration

        slack = SlackIntegration.from_settings(settings, runtime)
        approvals, notifier = slack.channel, notifier or slack.notifier
    dispatcher = Dispatcher(
        runtime,
        tracker=tracker or LocalIssueTracker(),
        approvals=approvals or LocalApprovalChannel(),
        notifier=notifier or LogNotifier(),
    )
    if slack is not None:
        slack.follow_with(dispatcher.pump)
    return App(
        settings, config, db, workflows, runtime, Inventory(runtime), dispatcher, jira, slack
    )
