"""End to end through the ``aims`` command: ``aims sandbox jira`` serves the people of aims.yaml,
``aims jira setup`` creates the custom fields and their options in it (and changes nothing the
second time), and ``aims systems add`` creates the task issue, assigned to the person of
aims.yaml. Every exchange with the sandbox is held to Atlassian's OpenAPI description."""

from __future__ import annotations

import re
import threading
from typing import Any

import httpx
import pytest
from jira_fixtures import SpecRecorder, jira_openapi, jira_spec_dict  # noqa: F401  (fixtures)

from aims_workflows.cli import main
from aims_workflows.config import load_config
from aims_workflows.sandbox.jira import API, JiraSandbox
from aims_workflows.sandbox.jira import _run as sandbox_run

pytestmark = pytest.mark.filterwarnings("ignore:Unsupported scheme type:UserWarning")

OWNER = "engineer@example.com"


class _Served:
    """What the test learns from ``aims sandbox jira`` running in a thread."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.sandbox: JiraSandbox | None = None
        self.ready = threading.Event()
        self.stop = threading.Event()
        self.error: BaseException | None = None


@pytest.fixture
def served(monkeypatch, tmp_path, jira_openapi) -> Any:  # noqa: F811
    """``aims init`` in a fresh directory, then ``aims sandbox jira`` (default people: the new
    aims.yaml) on a free port in a thread, stopped at the end."""
    monkeypatch.chdir(tmp_path)
    for name in (
        "AIMS_CONFIG",
        "AIMS_WORKFLOWS",
        "AIMS_JIRA_URL",
        "AIMS_JIRA_EMAIL",
        "AIMS_JIRA_API_TOKEN",
        "AIMS_JIRA_PROJECT",
        "AIMS_JIRA_ISSUE_TYPE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AIMS_DATABASE_URL", f"sqlite:///{tmp_path / 'aims.db'}")
    main(["init"])

    state = _Served()
    recorder = SpecRecorder(jira_openapi)
    real_run = sandbox_run.run_jira_sandbox

    class RecordedSandbox(JiraSandbox):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.observers.append(recorder)
            state.sandbox = self

    def run(**kwargs: Any) -> None:
        echo = kwargs.pop("echo")

        def record(line: str) -> None:
            state.lines.append(line)
            echo(line)
            if line.startswith("Point aims at it"):
                state.ready.set()

        real_run(**kwargs, echo=record, stop=state.stop)

    monkeypatch.setattr(sandbox_run, "JiraSandbox", RecordedSandbox)
    monkeypatch.setattr("aims_workflows.sandbox.jira.run_jira_sandbox", run)

    def serve() -> None:
        try:
            main(["sandbox", "jira", "--port", "0"])
        except BaseException as err:  # noqa: BLE001  (reported by the test)
            state.error = err
            state.ready.set()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert state.ready.wait(20), "the sandbox did not start"
    assert state.error is None, state.error
    yield state
    state.stop.set()
    thread.join(10)
    assert recorder.exchanges, "no request reached the sandbox"
    assert not recorder.errors, "\n".join(recorder.errors)


def _env(line: str) -> dict[str, str]:
    return dict(re.findall(r"(AIMS_JIRA_\w+)=(\S+)", line))


def _setup(capsys) -> str:
    capsys.readouterr()
    main(["jira", "setup"])  # exits (SystemExit) only on failure
    return capsys.readouterr().out


def test_setup_then_a_task_assigned_from_aims_yaml(served, monkeypatch, capsys, tmp_path):
    config = load_config(tmp_path / "aims.yaml")
    people = sorted({p for role in config.roles.values() for p in role})
    sandbox = served.sandbox
    assert sandbox is not None
    # the site's users: the integration's account, then the people of aims.yaml with tokens
    assert [u.email for u in sandbox.users] == ["aims-bot@example.com"] + people
    listed = [line for line in served.lines if line.strip().startswith("user ")]
    assert len(listed) == len(people) + 1
    assert all(re.search(r"<\S+@\S+> api token ATATT-\S+$", line) for line in listed)
    assert not any("Erin Engineer" in line or "Sam Owner" in line for line in served.lines)

    env = _env(next(line for line in served.lines if line.startswith("Point aims at it")))
    assert env["AIMS_JIRA_URL"] == sandbox.url
    assert env["AIMS_JIRA_EMAIL"] == "aims-bot@example.com"
    # the webhook secret is named too (generated when none was given): `aims serve` needs it
    assert env["AIMS_JIRA_WEBHOOK_SECRET"] == sandbox.webhooks.secret
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    first = _setup(capsys)
    assert "created '" in first and "added options" in first
    # without --webhook-url, what an administrator enters by hand
    assert "JQL filter: project = AIMS AND labels = aims" in first
    assert "nothing to change" not in first
    auth = (env["AIMS_JIRA_EMAIL"], env["AIMS_JIRA_API_TOKEN"])
    fields = {
        f["name"]: f
        for f in httpx.get(f"{sandbox.url}{API}/field", auth=auth, timeout=60).json()
        if f["custom"]
    }
    treatment = fields["Treatment"]["id"]
    assert [v for values in sandbox.field_options(treatment).values() for v in values] == [
        "accept",
        "mitigate",
        "transfer",
        "avoid",
    ]
    choice_fields = [
        f["id"]
        for f in fields.values()
        if f["schema"].get("custom", "").endswith(("select", "multiselect"))
    ]
    assert choice_fields and all(any(sandbox.field_options(fid).values()) for fid in choice_fields)

    before = (
        {fid: sandbox.field_options(fid) for fid in sandbox.state.fields},
        len(sandbox.state.contexts),
    )
    second = _setup(capsys)
    assert "created '" not in second and "added options" not in second and "mapped '" in second
    assert "nothing to change" in second
    assert (
        {fid: sandbox.field_options(fid) for fid in sandbox.state.fields},
        len(sandbox.state.contexts),
    ) == before

    def issues() -> list[dict[str, Any]]:
        return httpx.get(
            f"{sandbox.url}{API}/search/jql",
            auth=auth,
            params={"jql": "project = AIMS", "fields": "summary,assignee"},
            timeout=60,  # the sandbox shares a loaded machine: httpx's default is 5 s
        ).json()["issues"]

    capsys.readouterr()
    main(["systems", "add", "Churn model", "--owner", OWNER])
    # the command queues the work and answers: it does not wait on Jira behind the user's back
    added = capsys.readouterr().out
    assert issues() == [], "the CLI called Jira itself"
    assert "queued: `aims worker` carries them out" in added
    main(["worker", "--once"])
    found = issues()
    assert found, "no task issue was created"
    for issue in found:
        assignee = issue["fields"]["assignee"]
        assert assignee is not None, issue["fields"]["summary"]
        # Jira hides the e-mail of people who keep it private: the accountId is theirs
        accounts = {sandbox.user(p).account_id: p for p in people}
        assert assignee["accountId"] in accounts
        shown = assignee.get("emailAddress")
        assert shown in (None, accounts[assignee["accountId"]])
        assert (shown is None) == (not sandbox.user(accounts[assignee["accountId"]]).email_visible)
    assert any("Risk assessment" in issue["fields"]["summary"] for issue in found)


def test_people_option_names_the_users(monkeypatch, tmp_path):
    """``--people FILE`` wins over AIMS_CONFIG; with no people the sandbox keeps its defaults."""
    team = tmp_path / "team.yaml"
    team.write_text(
        "roles:\n  engineer: [ada.lovelace@example.com]\n  risk_owner: [grace@example.com]\n"
    )
    monkeypatch.setenv("AIMS_CONFIG", str(tmp_path / "missing.yaml"))
    seen: list[list[str]] = []

    def fake_run(**kwargs: Any) -> None:
        users = kwargs.get("users")
        seen.append([f"{u.display_name} <{u.email}>" for u in users] if users else [])

    monkeypatch.setattr("aims_workflows.sandbox.jira.run_jira_sandbox", fake_run)
    main(["sandbox", "jira", "--people", str(team)])
    main(["sandbox", "jira"])
    assert seen == [
        [
            "AIMS Automation <aims-bot@example.com>",
            "Ada Lovelace <ada.lovelace@example.com>",
            "Grace <grace@example.com>",
        ],
        [],
    ]
