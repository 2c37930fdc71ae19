"""Composition root: settings -> database, configuration, workflows, runtime, dispatcher."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import SHIPPED, AimsConfig, Settings, load_config
from .errors import ConfigError, DatabaseUnavailable
from .inventory import Inventory
from .ports import ApprovalChannel, Clock, IssueTracker, Notifier, SystemClock
from .runtime import Dispatcher, Runtime
from .runtime.role_assignments import RoleAssignments
from .spec.checks import DEFAULT_ROLES
from .spec.loader import WorkflowSet, load_workflows
from .spec.problems import did_you_mean
from .store import Database

if TYPE_CHECKING:
    from .adapters.jira import JiraIntegration
    from .adapters.slack import SlackIntegration

__all__ = [
    "App",
    "Integrations",
    "JiraConnector",
    "SlackConnector",
    "integrations_from_settings",
    "open_app",
    "shipped_workflows_dir",
    "workflow_paths",
]


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
    """The workflow folders in use: ``AIMS_WORKFLOWS``, else what aims.yaml's ``workflows``
    says: ``shipped`` (the package's own) or folders relative to aims.yaml. A folder that does
    not exist is an error, never a silent fall back to other workflows."""
    if settings.workflows is not None:
        paths = [settings.workflows]
        source = "AIMS_WORKFLOWS"
    elif config.workflows == SHIPPED:
        return [shipped_workflows_dir()]
    else:
        base = settings.config.parent
        paths = [(base / p) if not Path(p).is_absolute() else Path(p) for p in config.workflows]
        source = f"'workflows' in {settings.config}"
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise ConfigError(
            f"workflow folder {', '.join(missing)} does not exist (from {source})",
            hint="write `workflows: shipped` in aims.yaml to use the workflows that come with "
            "aims-workflows, or `aims init --copy-workflows` to copy them out for editing",
        )
    return paths


def check_schedules(config: AimsConfig, workflows: WorkflowSet) -> None:
    """Each workflow named under ``schedules`` in aims.yaml is a loaded one with a schedule."""
    for workflow_id in config.schedules:
        if workflow_id in workflows:
            if workflows.get(workflow_id).spec.trigger.schedule is None:
                raise ConfigError(
                    f"aims.yaml: schedules.{workflow_id}: workflow '{workflow_id}' has no "
                    "schedule (trigger.schedule), so it has no first due date",
                    hint="remove it from 'schedules'",
                )
        elif not any(b.workflow_id == workflow_id for b in workflows.broken):
            near = did_you_mean(workflow_id, workflows.ids())
            raise ConfigError(
                f"aims.yaml: schedules.{workflow_id}: no workflow '{workflow_id}'"
                + (f" ({near})" if near else ""),
                hint="see `aims workflows` for the workflows in use",
            )


@dataclass
class App:
    settings: Settings
    config: AimsConfig
    db: Database
    workflows: WorkflowSet
    runtime: Runtime
    inventory: Inventory
    dispatcher: Dispatcher
    jira: Any = None  # adapters.jira.JiraIntegration, when open_app was given one
    slack: Any = None  # adapters.slack.SlackIntegration, when open_app was given one
    witness: Any = None  # adapters.witness.WitnessPoster: where checkpoints are posted
    witness_key: Any = None  # runtime.witness.WitnessKey, loaded at the first checkpoint
    review_records_seen: int = 0  # ledger rows looked at for Confluence publishing (pump)

    def pump(self, *, schedules: bool = True):
        """Carry out what is due: schedules, timers, stored Jira and Slack deliveries and the
        Jira poll, then the outbox.

        One-off commands pass ``schedules=False``: recurring workflows are started by the worker,
        not as a side effect of, say, registering an AI system.
        """
        if schedules:
            self.runtime.run_schedules()
            self.checkpoint_if_due()
        self.runtime.tick()
        if self.jira is not None:
            self.jira.pump()
        if self.slack is not None:
            self.slack.pump()
        report = self.dispatcher.pump()
        if schedules:
            self.publish_review_records()
        return report

    def kpi_context(self) -> Any:
        """What the KPIs need beyond the database: the workflows (which controls each evidences)
        and the approved SoA (which controls apply)."""
        from .kpi.queries import KpiContext

        return KpiContext(self.workflows, self.config.soa)

    def publish_review_records(self) -> list[str]:
        """With Confluence configured, each management review's input pack and minutes on a
        page of their own once recorded (updated in place when re-recorded); else nothing."""
        from .publishing import publish_review_records

        return publish_review_records(self)

    @property
    def local_only(self) -> bool:
        """True when no outside system is connected: Jira and Slack are the database itself."""
        from .adapters.local import LocalApprovalChannel, LocalIssueTracker, LogNotifier

        ports = self.dispatcher.ports
        return (
            self.jira is None
            and self.slack is None
            and isinstance(ports["task"], LocalIssueTracker)
            and isinstance(ports["approval"], LocalApprovalChannel)
            and isinstance(ports["notify"], LogNotifier)
        )

    def after_command(self):
        """What a one-off command (`aims start`, `aims tasks complete`, `aims systems import`)
        does with the work it queued. Without Jira and Slack it is carried out here at once:
        nothing leaves the process, so nothing is slow or done behind anyone's back. With them
        it stays queued for `aims worker`, which carries it out with its claims and retries:
        the command answers without waiting on a vendor. Returns the dispatch report, or None
        when the work was left queued."""
        if self.local_only:
            return self.pump(schedules=False)
        return None

    def queued(self) -> int:
        """Commands waiting in the outbox (due now or later)."""
        from .store import outbox

        with self.db.connect() as conn:
            return outbox.waiting(conn)

    def checkpoint_if_due(self) -> Any:
        """A signed checkpoint of the ledger head when one is due (``witness.every``), queued
        for every configured witness. Without witnesses configured, nothing."""
        from .witness_schedule import checkpoint_if_due

        return checkpoint_if_due(self)


JiraConnector = Callable[[Runtime], "JiraIntegration"]
"""Builds the Jira integration once the runtime it feeds exists (``JiraIntegration.from_settings``
bound to settings, or a loopback sandbox's ``connect``)."""

SlackConnector = Callable[[Runtime], "SlackIntegration"]
"""Builds the Slack integration once the runtime it feeds exists."""


@dataclass(frozen=True)
class Integrations:
    """The outside systems an application is to use; ``None`` means the local stand-in."""

    jira: JiraConnector | None = None
    slack: SlackConnector | None = None


def integrations_from_settings(settings: Settings) -> Integrations:
    """Jira when ``AIMS_JIRA_URL`` is set, Slack when ``AIMS_SLACK_BOT_TOKEN`` is set.

    >>> found = integrations_from_settings(settings)                      # doctest: +SKIP
    >>> app = open_app(settings, jira=found.jira, slack=found.slack)      # doctest: +SKIP
    """
    jira: JiraConnector | None = None
    slack: SlackConnector | None = None
    if settings.jira_url:
        from .adapters.jira import JiraIntegration

        def jira(runtime: Runtime) -> JiraIntegration:
            return JiraIntegration.from_settings(settings, runtime)

    if settings.slack_bot_token:
        from .adapters.slack import SlackIntegration

        def slack(runtime: Runtime) -> SlackIntegration:
            return SlackIntegration.from_settings(settings, runtime)

    return Integrations(jira=jira, slack=slack)


def open_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    jira: JiraConnector | None = None,
    slack: SlackConnector | None = None,
    tracker: IssueTracker | None = None,
    approvals: ApprovalChannel | None = None,
    notifier: Notifier | None = None,
    require_db: bool = True,
) -> App:
    """Open the database, load the configuration and workflows, and wire the ports.

    The integrations are the caller's choice, never looked up here: ``jira`` and ``slack``
    build the Jira and Slack integrations from the runtime (see
    :func:`integrations_from_settings`), ``tracker``, ``approvals`` and ``notifier`` are plain
    ports (in-memory fakes in tests). Whatever is not given is the local stand-in.
    """
    from .adapters.local import LocalApprovalChannel, LocalIssueTracker, LogNotifier

    if jira is not None and tracker is not None:
        raise ConfigError(
            "open_app was given both a Jira integration and an issue tracker",
            hint="pass jira= or tracker=, not both",
        )
    if slack is not None and (approvals is not None or notifier is not None):
        raise ConfigError(
            "open_app was given both a Slack integration and Slack's ports",
            hint="pass slack=, or approvals= and notifier=, not both",
        )
    settings = settings or Settings()
    db = Database(settings.database_url)
    if require_db:
        db.require_ready()  # first: "run aims init" is the fix for a fresh directory
    config = load_config(settings.config, required=settings.config_required)
    # leniently: a broken file is left out and named (app.workflows.broken), the rest work
    workflows = load_workflows(
        workflow_paths(settings, config),
        roles=set(DEFAULT_ROLES) | config.role_names(),
        lenient=True,
    )
    check_schedules(config, workflows)
    runtime = Runtime(db, workflows, config, clock or SystemClock())
    if config.cli_decisions is None:
        # production: once people work in Jira or Slack, a CLI claim is not how they decide
        runtime.cli_decisions_allowed = not (settings.jira_url or settings.slack_bot_token)
    if require_db:
        try:
            runtime.people.prepare()  # aims.yaml's roles in the directory before any work
        except DatabaseUnavailable:
            # a lock held elsewhere: every unit of work prepares first, so the sync happens with
            # the first one, which the worker retries with back-off, instead of failing to start
            pass
    jira_integration = jira(runtime) if jira is not None else None
    slack_integration = slack(runtime) if slack is not None else None
    if jira_integration is not None:
        tracker = jira_integration.tracker
    if slack_integration is not None:
        approvals, notifier = slack_integration.channel, slack_integration.notifier
    from .witness_schedule import witness_poster

    poster = witness_poster(settings, config, jira_integration, slack_integration)
    dispatcher = Dispatcher(
        runtime,
        tracker=tracker or LocalIssueTracker(),
        approvals=approvals or LocalApprovalChannel(),
        notifier=notifier or LogNotifier(),
        witness=poster,
    )
    RoleAssignments(runtime)  # an approved role assignment reaches the directory
    # The web process only stores and answers: the outcome of a Slack decision reaches the
    # messages through `aims worker`'s outbox pass, not through a dispatch in `aims serve`.
    return App(
        settings,
        config,
        db,
        workflows,
        runtime,
        Inventory(runtime),
        dispatcher,
        jira_integration,
        slack_integration,
        poster,
    )
