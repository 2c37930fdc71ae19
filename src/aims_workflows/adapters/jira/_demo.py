"""The Jira sandbox as a working issue tracker for the demo (and for trying things by hand).

:func:`demo_wiring` starts a loopback Jira sandbox whose users are the people of ``aims.yaml``,
creates the workflows' custom fields in it (as ``aims jira setup`` would), installs the Jira
tracker in the application, and serves the real web app on loopback so that the sandbox's
signed webhooks reach the runtime over HTTP, exactly as from Jira Cloud. Simulated engineers
answer through the sandbox's REST API with :meth:`JiraDemo.answer`.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import _store
from ._client import JiraConnection
from ._fields import jira_value
from ._integration import JiraIntegration
from ._setup import SetupReport, setup_project, workflow_forms

__all__ = ["JiraDemo", "demo_wiring"]


@dataclass
class JiraDemo:
    """A sandbox wired into an application. Close it (or use ``with``) to stop both servers."""

    app: Any
    sandbox: Any
    integration: JiraIntegration
    server: Any
    setup: SetupReport
    delivered: list[Any] = field(default_factory=list)

    @property
    def tracker(self):
        return self.integration.tracker

    def person(self, email: str):
        """A sandbox person acting over REST with their own credentials (close it after use)."""
        return self.sandbox.person(email)

    def issue_of(self, run_id: str, step_id: str) -> str | None:
        """The key of the newest issue made for this step of the run."""
        from sqlalchemy import select

        from ...store.models_jira import JiraIssue

        table = JiraIssue.__table__
        with self.app.db.connect() as conn:
            return conn.scalar(
                select(table.c.issue_key)
                .where(table.c.run_id == run_id, table.c.step_id == step_id)
                .order_by(table.c.attempt.desc())
                .limit(1)
            )

    def answer(
        self, issue_key: str, answers: Mapping[str, Any], *, by: str, complete: bool = True
    ) -> None:
        """``by`` fills in the form fields of the issue and (by default) moves it to Done."""
        with self.app.db.connect() as conn:
            task = _store.find_issue(conn, key=issue_key)
        if task is None:
            raise KeyError(f"{issue_key} is not an issue of the engine")
        kinds = {
            f["id"]: f["schema"].get("custom", "").rsplit(":", 1)[-1]
            for f in self.tracker.jira.fields(what="list fields")
            if f.get("custom")
        }
        values = {}
        for form_id, (jira_id, form_type) in task["fields"].items():
            if form_id in answers:
                values[jira_id] = jira_value(
                    kinds.get(jira_id, "textfield"),
                    form_type,
                    answers[form_id],
                    self.tracker.account_of,
                )
        with self.person(by) as person:
            if values:
                person.fill_in(issue_key, values)
            if complete:
                person.complete(issue_key)

    def sync(self) -> int:
        """Send the sandbox's due webhooks to the web app and apply them; returns deliveries sent."""
        sent = self.sandbox.deliver_webhooks(now=self.app.runtime.clock.now())
        self.delivered += sent
        self.integration.processor.process_pending()
        return len(sent)

    def close(self) -> None:
        self.server.stop()
        self.sandbox.stop()

    def __enter__(self) -> JiraDemo:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def demo_wiring(
    app: Any,
    *,
    names: Mapping[str, str] | None = None,
    project: str = "AIMS",
    observers: tuple = (),
    process_in_background: bool = False,
    people: Iterable[str] = (),
) -> JiraDemo:
    """Wire a started Jira sandbox into ``app`` (an :class:`~aims_workflows.app.App`).

    After this, ``app.pump()`` creates Jira issues in the sandbox; ``demo.answer(key, answers,
    by=email)`` is an engineer filling in and completing one; ``demo.sync()`` delivers the
    webhooks (signed, over loopback HTTP) and applies them in the runtime.
    """
    from ...sandbox._server import BackgroundServer
    from ...sandbox.jira import JiraSandbox, default_users, sandbox_user
    from ...web import create_app

    names = dict(names or {})
    # everyone in a role, plus people who hold no role but get tasks (AI system owners)
    people = sorted({p for role in app.config.roles.values() for p in role} | set(people))
    users = [default_users()[0]] + [
        sandbox_user(p, names.get(p, p.split("@")[0].replace(".", " ").title())) for p in people
    ]
    secret = secrets.token_hex(16)
    # strict: like Jira Cloud, a choice field takes only the options `aims jira setup` created
    sandbox = JiraSandbox(
        project=project,
        users=users,
        webhook_secret=secret,
        strict_options=True,
        clock=lambda: app.runtime.clock.now(),
    )
    sandbox.observers.extend(observers)  # e.g. the tests' OpenAPI validator
    sandbox.start()
    bot = sandbox.service_account
    integration = JiraIntegration(
        JiraConnection(sandbox.url, bot.email, bot.api_token),
        project,
        app.runtime,
        webhook_secret=secret,
    )
    report = setup_project(
        integration.connection, project, "Task", workflow_forms(app.workflows), manage_options=True
    )
    app.jira = integration
    app.dispatcher.ports["task"] = integration.tracker
    server = BackgroundServer(create_app(app, process_in_background=process_in_background)).start()
    sandbox.webhooks.url = server.url + "/jira/webhook"
    return JiraDemo(app, sandbox, integration, server, report)
