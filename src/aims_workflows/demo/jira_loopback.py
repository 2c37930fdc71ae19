"""The Jira sandbox as a working issue tracker for the demo, the tests and trying things by hand.

:class:`JiraLoopback` starts a loopback Jira sandbox whose users are the people of ``aims.yaml``
and hands the application a real :class:`~aims_workflows.adapters.jira.JiraIntegration` on it;
:meth:`JiraLoopback.serve` then creates the workflows' custom fields (as ``aims jira setup``
would) and serves the real web app on loopback, so that the sandbox's signed webhooks reach the
runtime over HTTP, exactly as from Jira Cloud. Simulated engineers answer through the sandbox's
REST API with :meth:`JiraLoopback.answer`::

    jira = JiraLoopback(observers=(recorder,))
    app = open_app(settings, clock=clock, jira=jira.connect)
    with jira.serve(app):
        app.pump()                                   # issues are created in the sandbox
        jira.answer(jira.issue_of(run_id, "assess"), {"impact": 3}, by="eng@example.com")
        jira.sync()                                  # the webhooks reach the web app
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from typing import Any

from ..adapters.jira import (
    JiraConnection,
    JiraIntegration,
    JiraIssueTracker,
    SetupReport,
    jira_value,
    setup_project,
    workflow_forms,
)
from ..sandbox import BackgroundServer
from ..sandbox.jira import JiraSandbox, JiraSandboxPerson, default_users, sandbox_user

__all__ = ["JiraLoopback"]


class JiraLoopback:
    """A Jira sandbox on 127.0.0.1 wired into an application as its Jira.

    Two steps, because the integration needs the runtime and the web app needs the application:
    pass :meth:`connect` to ``open_app(jira=...)``, then call :meth:`serve` with the application.
    Close it (or use ``with``) to stop both servers.
    """

    def __init__(
        self,
        *,
        names: Mapping[str, str] | None = None,
        people: Iterable[str] = (),
        project: str = "AIMS",
        observers: Iterable[Any] = (),
        process_in_background: bool = False,
    ) -> None:
        """``people`` are sandbox users beyond those in a role (e.g. AI system owners); ``names``
        their display names; ``observers`` see every exchange (e.g. the tests' OpenAPI check)."""
        self.names = dict(names or {})
        self.people = set(people)
        self.project = project
        self.observers = tuple(observers)
        self.process_in_background = process_in_background
        self.app: Any = None
        self.sandbox: JiraSandbox | None = None
        self.integration: JiraIntegration | None = None
        self.server: BackgroundServer | None = None
        self.setup: SetupReport | None = None
        self.delivered: list[Any] = []

    # -- wiring -----------------------------------------------------------------------------
    def connect(self, runtime: Any) -> JiraIntegration:
        """Start the sandbox for ``runtime``'s people and clock; the integration on it."""
        if self.integration is not None:
            raise RuntimeError("this JiraLoopback is already connected to a runtime")
        # everyone in a role, plus people who hold no role but get tasks (AI system owners)
        people = sorted({p for role in runtime.config.roles.values() for p in role} | self.people)
        users = [default_users()[0]] + [sandbox_user(p, self._name(p)) for p in people]
        secret = secrets.token_hex(16)
        # strict: like Jira Cloud, a choice field takes only the options `aims jira setup` created
        self.sandbox = JiraSandbox(
            project=self.project,
            users=users,
            webhook_secret=secret,
            strict_options=True,
            clock=lambda: runtime.clock.now(),
        )
        self.sandbox.observers.extend(self.observers)
        self.sandbox.start()
        bot = self.sandbox.service_account
        self.integration = JiraIntegration(
            JiraConnection(self.sandbox.url, bot.email, bot.api_token),
            self.project,
            runtime,
            webhook_secret=secret,
        )
        return self.integration

    def serve(self, app: Any, *, webhooks: bool = True) -> JiraLoopback:
        """Create the custom fields of ``app``'s workflows and serve its web app for webhooks;
        without ``webhooks``, Jira sends none and nothing is served: aims learns of changes
        only by polling (a site with no public URL)."""
        from ..web import create_app

        sandbox, integration = self._connected()
        if app.jira is not integration:
            raise RuntimeError("open the application with jira=loopback.connect before serve()")
        self.app = app
        self.setup = setup_project(
            integration.connection,
            self.project,
            "Task",
            workflow_forms(app.workflows),
            manage_options=True,
        )
        if not webhooks:
            sandbox.webhooks.url = None
            return self
        web = create_app(app, process_in_background=self.process_in_background)
        self.server = BackgroundServer(web).start()
        sandbox.webhooks.url = self.server.url + "/jira/webhook"
        return self

    def _name(self, email: str) -> str:
        return self.names.get(email, email.split("@")[0].replace(".", " ").title())

    def _connected(self) -> tuple[JiraSandbox, JiraIntegration]:
        if self.sandbox is None or self.integration is None:
            raise RuntimeError("pass loopback.connect to open_app(jira=...) first")
        return self.sandbox, self.integration

    # -- people -----------------------------------------------------------------------------
    @property
    def tracker(self) -> JiraIssueTracker:
        return self._connected()[1].tracker

    def person(self, email: str) -> JiraSandboxPerson:
        """A sandbox person acting over REST with their own credentials (close it after use)."""
        return self._connected()[0].person(email)

    def issue_of(self, run_id: str, step_id: str) -> str | None:
        """The key of the newest issue made for this step of the run."""
        row = self._issue_row(
            lambda table: (table.c.run_id == run_id, table.c.step_id == step_id),
        )
        return row.issue_key if row is not None else None

    def answer(
        self, issue_key: str, answers: Mapping[str, Any], *, by: str, complete: bool = True
    ) -> None:
        """``by`` fills in the form fields of the issue and (by default) moves it to Done."""
        row = self._issue_row(lambda table: (table.c.issue_key == issue_key,))
        if row is None:
            raise KeyError(f"{issue_key} is not an issue of the engine")
        tracker = self.tracker
        kinds = {
            f["id"]: f["schema"].get("custom", "").rsplit(":", 1)[-1]
            for f in tracker.jira.fields(what="list fields")
            if f.get("custom")
        }
        values = {}
        for form_id, (jira_id, form_type) in row.fields.items():
            if form_id in answers:
                values[jira_id] = jira_value(
                    kinds.get(jira_id, "textfield"),
                    form_type,
                    answers[form_id],
                    tracker.account_of,
                )
        with self.person(by) as person:
            if values:
                person.fill_in(issue_key, values)
            if complete:
                person.complete(issue_key)

    def _issue_row(self, where: Any) -> Any:
        """The newest row of the engine's issue table matching ``where(table)``."""
        from sqlalchemy import select

        from ..store.models_jira import JiraIssue

        table = JiraIssue.__table__
        with self._connected()[1].runtime.db.connect() as conn:
            return conn.execute(
                select(table).where(*where(table)).order_by(table.c.attempt.desc()).limit(1)
            ).first()

    def sync(self) -> int:
        """Send the sandbox's due webhooks to the web app and apply them; the number sent."""
        sandbox, integration = self._connected()
        sent = sandbox.deliver_webhooks(now=integration.runtime.clock.now())
        self.delivered += sent
        integration.processor.process_pending()
        return len(sent)

    # -- lifecycle --------------------------------------------------------------------------
    def close(self) -> None:
        if self.server is not None:
            self.server.stop()
        if self.sandbox is not None:
            self.sandbox.stop()

    def __enter__(self) -> JiraLoopback:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
