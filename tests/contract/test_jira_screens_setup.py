"""``aims jira setup`` on a bare project, against the sandbox's screens: every form field ends
on the project's create, edit and view screens with a context of the project's own, the
webhook is registered with its secret, and a second run changes nothing. A pre-filled task
issue is refused until then (Jira's 400 for a field not on the screen). Every exchange is held
to Atlassian's OpenAPI description (the admin webhook API aside, which it does not describe)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from jira_fixtures import (  # noqa: F401  (fixtures; tests/contract is on sys.path)
    jira_clock,
    jira_openapi,
    jira_receiver,
    jira_receiver_server,
    jira_sandbox,
    jira_spec_dict,
    jira_spec_recorder,
)
from test_jira_adapter import ENGINEER, FORM, Clock, app, create_command  # noqa: F401

from aims_workflows.adapters.jira import JiraConnection, JiraIssueTracker, setup_project
from aims_workflows.adapters.jira._webhook_setup import WebhookPlan
from aims_workflows.errors import ConfigError, PermanentError
from aims_workflows.sandbox.jira import API, JiraSandbox
from aims_workflows.store.jira_issues import JiraIssueRecords

HOOK = "https://aims.example.com/jira/webhook"


def _conn(sandbox: JiraSandbox) -> JiraConnection:
    return JiraConnection(sandbox.url, *sandbox.credentials())


def _snapshot(sandbox: JiraSandbox) -> tuple:
    with sandbox.state.lock:
        return (
            sorted(sandbox.state.fields),
            sorted(
                (c.id, tuple(c.project_ids), len(c.options))
                for c in sandbox.state.contexts.values()
            ),
            {op: sorted(sandbox.screen_fields(op)) for op in ("create", "edit", "view")},
            len(sandbox.state.admin_webhooks),
        )


def test_bare_project_gets_fields_on_screens_project_contexts_and_the_webhook(jira_sandbox):
    conn = _conn(jira_sandbox)
    plan = WebhookPlan(HOOK, "AIMS", "whsec-for-aims")
    first = setup_project(conn, "AIMS", "Task", [FORM], webhook=plan)
    assert first.ok, first.problems
    ids = set(first.fields.values())
    assert len(ids) == len(FORM)
    for operation in ("create", "edit", "view"):
        assert ids <= jira_sandbox.screen_fields(operation), operation
    # scoped to the project: no context of a new field covers other projects
    project_id = jira_sandbox.state.project("AIMS").id
    for field_id in ids:
        contexts = jira_sandbox.state.contexts_of(field_id)
        assert contexts and all(c.project_ids == [project_id] for c in contexts)
    # Jira's own metadata agrees: createmeta, and editmeta of an issue made with the fields
    auth = jira_sandbox.credentials()
    meta = httpx.get(f"{jira_sandbox.url}{API}/issue/createmeta/AIMS/issuetypes/10001", auth=auth)
    assert ids <= {f["fieldId"] for f in meta.json()["fields"]}
    assert any("createmeta offers every form field" in line for line in first.done)
    [hook] = jira_sandbox.state.admin_webhooks
    assert hook["url"] == HOOK and hook["secret"] == "whsec-for-aims"
    assert "jira:issue_updated" in hook["events"]
    assert hook["filters"] == {"issue-related-events-section": "project = AIMS AND labels = aims"}
    listed = httpx.get(f"{jira_sandbox.url}/rest/webhooks/1.0/webhook", auth=auth).json()
    assert listed and "secret" not in listed[0]  # never echoed back

    before = _snapshot(jira_sandbox)
    second = setup_project(conn, "AIMS", "Task", [FORM], webhook=plan)
    assert second.ok and second.changed == []
    assert second.fields == first.fields
    assert _snapshot(jira_sandbox) == before
    assert any("already registered" in line for line in second.done)


def test_a_prefilled_task_is_refused_until_setup_puts_its_fields_on_the_screens(
    jira_sandbox, app, jira_clock
):
    conn = _conn(jira_sandbox)
    # the fields exist (made by an admin over REST) but sit on no screen, as on a real site
    for spec in FORM:
        if spec["id"] == "risk_title":
            conn.call(
                "POST",
                "field",
                what="make a field",
                json={
                    "name": "Risk title",
                    "type": "com.atlassian.jira.plugin.system.customfieldtypes:textfield",
                    "searcherKey": "com.atlassian.jira.plugin.system.customfieldtypes:textsearcher",
                },
            )
    setup_project(conn, "AIMS", "Task", [FORM], dry_run=True)  # a dry run changes nothing
    with jira_sandbox.state.lock:
        made = {f.name: f.id for f in jira_sandbox.state.fields.values() if f.custom}
    for field in FORM:
        if field["label"] not in made:
            kind = {"text": "textarea", "number": "float", "choice": "select"}.get(
                field["type"], None
            )
            if field["id"] != "risk_title" and kind:
                made[field["label"]] = jira_sandbox.add_custom_field(
                    field["label"], kind, on_screens=False
                )
    tracker = JiraIssueTracker(
        conn, "AIMS", store=JiraIssueRecords(app.db, Clock(jira_clock)), clock=Clock(jira_clock)
    )
    small = FORM[:3]
    previous = {"risk_title": "Drift", "risk_description": "Line", "likelihood": 3}
    with pytest.raises(PermanentError, match="not on the appropriate screen"):
        tracker.perform(create_command(form=small, previous_answers=previous, attempt=2))
    assert not jira_sandbox.state.issues
    report = setup_project(conn, "AIMS", "Task", [small])
    assert report.ok, report.problems
    assert any("fields on the create screen" in line for line in report.changed)
    key = tracker.perform(create_command(run_id="R2", form=small, previous_answers=previous))["ref"]
    fields = jira_sandbox.issue_json(key)["fields"]
    assert fields[made["Risk title"]] == "Drift" and fields[made["Likelihood"]] == 3
    editmeta = httpx.get(
        f"{jira_sandbox.url}{API}/issue/{key}/editmeta", auth=jira_sandbox.credentials()
    ).json()["fields"]
    assert {made["Risk title"], made["Likelihood"]} <= set(editmeta)
    # with an issue in the project, a repeat run checks editmeta too, and changes nothing
    again = setup_project(conn, "AIMS", "Task", [small])
    assert again.ok and not again.changed
    assert any(line == f"editmeta of {key} offers every form field" for line in again.done)


def test_no_admin_no_project_and_no_webhook_url_say_what_to_do(jira_sandbox):
    conn = _conn(jira_sandbox)
    before = _snapshot(jira_sandbox)
    with pytest.raises(ConfigError, match="cannot use Jira project NOPE"):
        setup_project(conn, "NOPE", "Task", [FORM])
    jira_sandbox.revoke_admin(jira_sandbox.service_account.email)
    with pytest.raises(ConfigError, match="'Administer Jira' global permission") as err:
        setup_project(conn, "AIMS", "Task", [FORM], webhook=WebhookPlan(HOOK, "AIMS", "s"))
    assert "nothing was changed" in err.value.message and "Global permissions" in err.value.hint
    assert _snapshot(jira_sandbox) == before
    with jira_sandbox.state.lock:
        jira_sandbox.state.admins.add(jira_sandbox.service_account.account_id)
    report = setup_project(
        conn, "AIMS", "Task", [FORM], webhook=WebhookPlan(None, "AIMS", "whsec-never-printed")
    )
    manual = "\n".join(report.manual)
    assert "<the address of aims serve>/jira/webhook" in manual
    assert "jira:issue_created" in manual and "project = AIMS AND labels = aims" in manual
    assert "AIMS_JIRA_WEBHOOK_SECRET" in manual and "whsec-never-printed" not in manual
    assert not jira_sandbox.state.admin_webhooks


@pytest.fixture
def odd_site(jira_clock, jira_spec_recorder) -> Iterator[JiraSandbox]:  # noqa: F811
    """A site with its own four priorities and a Done transition that wants a resolution."""
    sandbox = JiraSandbox(clock=jira_clock, priorities=["P1", "P2", "P3", "P4"], done_screen=True)
    sandbox.observers.append(jira_spec_recorder)
    with sandbox:
        yield sandbox
    assert not jira_spec_recorder.errors, "\n".join(jira_spec_recorder.errors)


def test_site_priorities_and_a_done_screen_that_wants_a_resolution(odd_site, app, jira_clock):
    conn = _conn(odd_site)
    assert setup_project(conn, "AIMS", "Task", [FORM], manage_options=False).ok
    tracker = JiraIssueTracker(
        conn, "AIMS", store=JiraIssueRecords(app.db, Clock(jira_clock)), clock=Clock(jira_clock)
    )
    key = tracker.perform(create_command())["ref"]  # priority "high" on a P1..P4 site
    assert odd_site.issue_json(key)["fields"]["priority"]["name"] == "P2"
    auth = odd_site.credentials()
    moves = httpx.get(
        f"{odd_site.url}{API}/issue/{key}/transitions",
        params={"expand": "transitions.fields"},
        auth=auth,
    ).json()["transitions"]
    assert all(not t["hasScreen"] for t in moves)  # To Do -> In Progress has none
    httpx.post(
        f"{odd_site.url}{API}/issue/{key}/transitions", json={"transition": {"id": "21"}}, auth=auth
    ).raise_for_status()
    bare = httpx.post(
        f"{odd_site.url}{API}/issue/{key}/transitions", json={"transition": {"id": "31"}}, auth=auth
    )
    assert bare.status_code == 400 and bare.json()["errors"] == {
        "resolution": "Resolution is required."
    }
    tracker.perform(_cancel(key))  # cancelling walks the issue to Done
    fields = odd_site.issue_json(key)["fields"]
    assert fields["status"]["name"] == "Done" and fields["resolution"]["name"] == "Done"


def _cancel(key: str):
    from aims_workflows.engine.commands import CancelTask

    return CancelTask(
        key="R1/identify/1/cancel",
        run_id="R1",
        ref=key,
        task_key="R1/identify/1/task",
        reason="the run was withdrawn",
    )


def test_a_global_context_takes_no_projects_and_a_context_can_be_deleted(jira_sandbox):
    conn = _conn(jira_sandbox)
    field_id = conn.call(
        "POST",
        "field",
        what="make a field",
        json={
            "name": "Scoped later",
            "type": "com.atlassian.jira.plugin.system.customfieldtypes:textfield",
            "searcherKey": "com.atlassian.jira.plugin.system.customfieldtypes:textsearcher",
        },
    )["id"]
    [global_context] = jira_sandbox.state.contexts_of(field_id)
    auth = jira_sandbox.credentials()
    base = f"{jira_sandbox.url}{API}/field/{field_id}/context"
    refused = httpx.put(
        f"{base}/{global_context.id}/project", json={"projectIds": ["10000"]}, auth=auth
    )
    assert refused.status_code == 400
    assert httpx.delete(f"{base}/{global_context.id}", auth=auth).status_code == 204
    assert jira_sandbox.state.contexts_of(field_id) == []
    assert httpx.delete(f"{base}/{global_context.id}", auth=auth).status_code == 404


@pytest.fixture
def own_done_screen(jira_clock, jira_spec_recorder) -> Iterator[JiraSandbox]:  # noqa: F811
    """A site whose admin gave the project's Done transition a copy of the Resolve Issue
    Screen of its own."""
    sandbox = JiraSandbox(clock=jira_clock, done_screen="own")
    sandbox.observers.append(jira_spec_recorder)
    with sandbox:
        yield sandbox
    assert not jira_spec_recorder.errors, "\n".join(jira_spec_recorder.errors)


def test_jiras_shared_resolve_screen_is_left_alone_and_the_admin_told_how_to_copy_it(odd_site):
    """The Done transition shows Jira's own Resolve Issue Screen, which every project on the
    default workflows shares: setup adds nothing to it and says what the admin does instead."""
    conn = _conn(odd_site)
    before = set(odd_site.state.screens.screens["2"].field_ids)
    report = setup_project(conn, "AIMS", "Task", [FORM], manage_options=False)
    assert report.ok, report.problems
    assert odd_site.state.screens.screens["2"].field_ids == before
    [step] = report.manual
    assert "'Done' transition of workflow 'Software Simplified Workflow'" in step
    assert "'Resolve Issue Screen' (2), which is Jira's own screen" in step
    assert "copy 'Resolve Issue Screen' as 'AIMS: Resolve Issue Screen'" in step
    assert "set the screen of the 'Done' transition to 'AIMS: Resolve Issue Screen'" in step
    assert "copy 'Software Simplified Workflow'" not in step  # no other project uses it
    # the create, edit and view screens still get every field
    ids = set(report.fields.values())
    assert all(ids <= odd_site.screen_fields(op) for op in ("create", "edit", "view"))
    again = setup_project(conn, "AIMS", "Task", [FORM], manage_options=False)
    assert again.changed == [] and again.manual == report.manual


def test_a_workflow_other_projects_use_is_named_and_its_copy_asked_for(own_done_screen):
    """The project's own copy of the screen, but on a workflow another project uses too: the
    transition would show the fields in that project as well."""
    sandbox = own_done_screen
    with sandbox.state.lock:
        sandbox.state.add_project("OPS", "Operations", sandbox.users[0].account_id)
    screen_id = sandbox.state.screens.transition_screens["31"]
    report = setup_project(_conn(sandbox), "AIMS", "Task", [FORM], manage_options=False)
    assert report.ok, report.problems
    assert not set(report.fields.values()) & sandbox.state.screens.screens[screen_id].field_ids
    [step] = report.manual
    assert "shown by a workflow other projects use too (OPS)" in step
    assert (
        "copy 'Software Simplified Workflow' as 'AIMS: Software Simplified Workflow', and make "
        "project AIMS use the copy" in step
    )
    assert "edit workflow 'AIMS: Software Simplified Workflow'" in step


def test_a_workflow_whose_projects_jira_will_not_list_is_taken_as_shared(own_done_screen):
    sandbox = own_done_screen
    sandbox.faults.fail(404, times=1, path="/projectUsages$")
    screen_id = sandbox.state.screens.transition_screens["31"]
    report = setup_project(_conn(sandbox), "AIMS", "Task", [FORM], manage_options=False)
    assert report.ok, report.problems
    assert not set(report.fields.values()) & sandbox.state.screens.screens[screen_id].field_ids
    [step] = report.manual
    assert "aims could not read which projects use the workflow" in step


def test_form_fields_go_on_the_projects_own_done_screen_once(own_done_screen):
    """The Done transition shows a screen of the project's own: setup puts the form fields on
    it, so an engineer can answer while moving the issue to Done (a transition may set only
    its screen's fields)."""
    odd_site = own_done_screen
    conn = _conn(odd_site)
    first = setup_project(conn, "AIMS", "Task", [FORM], manage_options=False)
    assert first.ok, first.problems
    assert first.manual == []
    ids = set(first.fields.values())
    resolve = odd_site.state.screens.screens[odd_site.state.screens.transition_screens["31"]]
    assert resolve.name == "AIMS: Resolve Issue Screen"
    assert ids <= resolve.field_ids
    assert any("'Done' transition" in line for line in first.changed)
    again = setup_project(conn, "AIMS", "Task", [FORM], manage_options=False)
    assert again.changed == []
    assert any("transition screens" in line for line in again.done)

    auth = odd_site.credentials()
    key = conn.create_issue(
        {"project": {"key": "AIMS"}, "issuetype": {"name": "Task"}, "summary": "s"}, what="make"
    )["key"]
    httpx.post(
        f"{odd_site.url}{API}/issue/{key}/transitions", json={"transition": {"id": "21"}}, auth=auth
    ).raise_for_status()
    title_field = first.fields["Risk title"]
    moves = httpx.get(
        f"{odd_site.url}{API}/issue/{key}/transitions",
        params={"expand": "transitions.fields"},
        auth=auth,
    ).json()["transitions"]
    done = next(t for t in moves if t["id"] == "31")
    assert title_field in done["fields"]
    answered = httpx.post(
        f"{odd_site.url}{API}/issue/{key}/transitions",
        json={
            "transition": {"id": "31"},
            "fields": {"resolution": {"name": "Done"}, title_field: "Prompt injection"},
        },
        auth=auth,
    )
    assert answered.status_code == 204, answered.text
    assert odd_site.issue_json(key)["fields"][title_field] == "Prompt injection"


def test_an_account_that_may_not_read_workflows_still_gets_its_screens(jira_sandbox):
    conn = _conn(jira_sandbox)
    jira_sandbox.faults.fail(403, times=1, path="/workflowscheme/project")
    report = setup_project(conn, "AIMS", "Task", [FORM], manage_options=False)
    assert report.ok, report.problems
    assert any("transition screens of AIMS were not checked" in line for line in report.done)
