"""``aims doctor`` against the loopback Jira, Slack and Confluence (their real clients over
HTTP) and a real database: a good installation passes, and each broken one is named with its
fix and exit 1."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from aims_workflows.doctor._slack import NEEDED_SCOPES
from aims_workflows.sandbox.confluence import ConfluenceSandbox
from aims_workflows.sandbox.jira import JiraSandbox
from aims_workflows.sandbox.slack import SlackSandbox
from conftest import cli_environment, run_aims

pytestmark = pytest.mark.filterwarnings("ignore:Unsupported scheme type:UserWarning")

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def installation(monkeypatch, capsys, tmp_path):
    """``aims init`` in a fresh directory, with Jira (fields set up), Slack and Confluence
    sandboxes configured; yields (run, jira, slack, confluence, env)."""
    monkeypatch.chdir(tmp_path)
    cli_environment(monkeypatch)
    for name in (
        "AIMS_CONFIG",
        "AIMS_JIRA_PROJECT",
        "AIMS_JIRA_ISSUE_TYPE",
        "AIMS_JIRA_NONCONFORMITY_TYPE",
        "AIMS_JIRA_PROPOSAL_TYPE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AIMS_DATABASE_URL", f"sqlite:///{tmp_path / 'aims.db'}")
    run = lambda *args: run_aims(capsys, *args)  # noqa: E731
    assert run("init").code == 0
    with (
        JiraSandbox() as jira,
        SlackSandbox() as slack,
        ConfluenceSandbox(read_only=["carla@example.com"]) as confluence,
    ):
        email, token = jira.credentials()
        c_email, c_token = confluence.credentials()
        env = {
            "AIMS_JIRA_URL": jira.url,
            "AIMS_JIRA_EMAIL": email,
            "AIMS_JIRA_API_TOKEN": token,
            "AIMS_JIRA_WEBHOOK_SECRET": "whsec-doctor",
            "AIMS_JIRA_TOKEN_EXPIRES": (datetime.now(UTC) + timedelta(days=200)).date().isoformat(),
            "AIMS_SLACK_BOT_TOKEN": slack.bot_token,
            "AIMS_SLACK_SIGNING_SECRET": slack.signing_secret,
            "AIMS_SLACK_API_URL": slack.api_url,
            "AIMS_SLACK_CHANNEL": "#aims-approvals",
            "AIMS_CONFLUENCE_URL": confluence.url,
            "AIMS_CONFLUENCE_EMAIL": c_email,
            "AIMS_CONFLUENCE_API_TOKEN": c_token,
            "AIMS_CONFLUENCE_SPACE": "AIMS",
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        assert run("jira", "setup").code == 0
        yield run, jira, slack, confluence


def _line(out: str, area: str, name: str) -> str:
    for line in out.splitlines():
        parts = line.split()
        if len(parts) > 2 and parts[1] == area and line.split(None, 2)[2].startswith(name):
            return line
    raise AssertionError(f"no {area} {name} line in:\n{out}")


def test_a_good_installation_passes_every_check(installation):
    run, *_ = installation
    result = run("doctor")
    assert result.code == 0, result.out
    checks = [line for line in result.out.splitlines() if line[:4] in ("ok  ", "warn", "FAIL")]
    assert len(checks) == 17, result.out
    assert [line for line in checks if not line.startswith("ok")] == []
    assert "#aims-approvals (C" in _line(result.out, "slack", "channel")
    assert "17 checks: 0 failed" in result.out
    assert "whsec-doctor" not in result.out and "cf-token" not in result.out


def test_each_broken_installation_is_named_with_its_fix(installation, monkeypatch, tmp_path):
    run, jira, slack, confluence = installation
    jira.deny_permission(jira.service_account.email, "CREATE_ATTACHMENTS", "TRANSITION_ISSUES")
    monkeypatch.setenv(
        "AIMS_JIRA_TOKEN_EXPIRES", (datetime.now(UTC) + timedelta(days=9)).date().isoformat()
    )
    monkeypatch.delenv("AIMS_JIRA_WEBHOOK_SECRET")
    monkeypatch.delenv("AIMS_SLACK_SIGNING_SECRET")
    monkeypatch.setenv("AIMS_CONFLUENCE_EMAIL", "carla@example.com")
    monkeypatch.setenv("AIMS_CONFLUENCE_API_TOKEN", confluence.credentials("carla@example.com")[1])
    result = run("doctor")
    assert result.code == 1
    out = result.out
    permissions = _line(out, "jira", "permissions")
    assert permissions.startswith("FAIL")
    assert "TRANSITION_ISSUES" in permissions and "CREATE_ATTACHMENTS" in permissions
    assert "CREATE_ISSUES" not in permissions
    assert _line(out, "jira", "token expiry").startswith("warn") and "9 days left" in out
    assert _line(out, "jira", "webhook secret").startswith("FAIL")
    monkeypatch.setenv("AIMS_JIRA_MODE", "poll")
    polled = _line(run("doctor").out, "jira", "webhook secret")
    assert polled.startswith("ok") and "polled every 60 s" in polled
    monkeypatch.delenv("AIMS_JIRA_MODE")
    assert _line(out, "slack", "signing secret").startswith("FAIL")
    assert _line(out, "confluence", "writable").startswith("FAIL")
    assert "permission to add pages" in out
    assert _line(out, "jira", "credentials").startswith("ok")
    assert "4 failed" in out, out


def test_wrong_credentials_unknown_project_and_space_missing_fields(installation, monkeypatch):
    run, jira, slack, confluence = installation
    monkeypatch.setenv("AIMS_JIRA_API_TOKEN", "revoked-token-0000")
    monkeypatch.setenv("AIMS_SLACK_BOT_TOKEN", "xoxb-0000-revoked")
    monkeypatch.setenv("AIMS_CONFLUENCE_SPACE", "NOPE")
    result = run("doctor")
    assert result.code == 1
    assert _line(result.out, "jira", "credentials").startswith("FAIL")
    assert "revoked-token-0000" not in result.all and "xoxb-0000-revoked" not in result.all
    assert _line(result.out, "slack", "token").startswith("FAIL")
    assert "invalid_auth" in result.out
    assert _line(result.out, "confluence", "space").startswith("FAIL")

    monkeypatch.setenv("AIMS_JIRA_API_TOKEN", jira.credentials()[1])
    monkeypatch.setenv("AIMS_JIRA_PROJECT", "NOPE")
    assert _line(run("doctor").out, "jira", "project").startswith("FAIL")

    # a fresh site where `aims jira setup` never ran: the forms' fields are missing
    monkeypatch.delenv("AIMS_JIRA_PROJECT")
    with JiraSandbox() as bare:
        monkeypatch.setenv("AIMS_JIRA_URL", bare.url)
        monkeypatch.setenv("AIMS_JIRA_API_TOKEN", bare.credentials()[1])
        fields = _line(run("doctor").out, "jira", "fields")
        # the fields exist but an administrator took one off the project's create screen
        with jira.state.lock:
            project = jira.state.project("AIMS")
            screen = jira.state.screens.screen_for(project.id, "10001", "create")
            assert screen is not None
            taken = next(f for f in screen.tabs[0].fields if f.startswith("customfield_"))
            screen.tabs[0].fields.remove(taken)
        monkeypatch.setenv("AIMS_JIRA_URL", jira.url)
        monkeypatch.setenv("AIMS_JIRA_API_TOKEN", jira.credentials()[1])
        off = _line(run("doctor").out, "jira", "fields")
    assert fields.startswith("FAIL") and "form fields missing" in fields
    assert off.startswith("FAIL") and "not on the create screen of AIMS" in off and taken in off


def test_issue_type_names_the_project_lacks_are_named_with_the_ones_it_has(
    installation, monkeypatch
):
    run, jira, *_ = installation
    monkeypatch.setenv("AIMS_JIRA_NONCONFORMITY_TYPE", "Incident")
    doctor = run("doctor")
    assert doctor.code == 1
    line = _line(doctor.out, "jira", "issue types")
    assert line.startswith("FAIL")
    assert "no issue type 'Incident' for nonconformities" in line
    assert "it has AI system proposal, Bug, Nonconformity, Story, Task" in line
    assert "AIMS_JIRA_NONCONFORMITY_TYPE" in line
    types_before = dict(jira.state.issue_types)
    setup = run("jira", "setup")
    assert setup.code == 1 and "no issue type 'Incident'" in setup.all
    assert "nothing was changed" in setup.all and jira.state.issue_types == types_before

    # a site that reports nonconformities as Bugs and proposals as Stories
    monkeypatch.setenv("AIMS_JIRA_NONCONFORMITY_TYPE", "Bug")
    monkeypatch.setenv("AIMS_JIRA_PROPOSAL_TYPE", "Story")
    assert run("jira", "setup").code == 0
    assert jira.state.issue_types == types_before  # nothing made for names it has
    named = run("doctor")
    named_line = _line(named.out, "jira", "issue types")
    assert named_line.startswith("ok") and named_line.endswith("Bug, Story")


def test_expired_token_clock_skew_and_missing_scopes(installation, monkeypatch):
    run, jira, slack, confluence = installation
    monkeypatch.setenv("AIMS_JIRA_TOKEN_EXPIRES", "2020-01-01")
    jira.state.clock = lambda: datetime.now(UTC) + timedelta(minutes=7)
    slack.workspace.scopes = {"chat:write", "commands"}  # the app installed with too few
    result = run("doctor")
    assert result.code == 1
    assert "expired on 2020-01-01" in _line(result.out, "jira", "token expiry")
    skew = _line(result.out, "clock", "skew against Jira")
    assert skew.startswith("FAIL") and "NTP" in result.out
    scopes = _line(result.out, "slack", "scopes")
    assert scopes.startswith("FAIL") and "im:write" in scopes and "users:read.email" in scopes


def test_a_private_channel_without_groups_history_is_named(installation, monkeypatch):
    run, jira, slack, confluence = installation
    slack.workspace.add_channel("board-approvals", private=True)
    monkeypatch.setenv("AIMS_SLACK_CHANNEL", "#board-approvals")
    assert _line(run("doctor").out, "slack", "channel").startswith("ok")
    slack.workspace.scopes.discard("groups:history")
    result = run("doctor")
    assert result.code == 1
    channel = _line(result.out, "slack", "channel")
    assert channel.startswith("FAIL") and "private channel" in channel
    assert "lacks groups:history" in channel and "add groups:history" in result.out
    monkeypatch.setenv("AIMS_SLACK_CHANNEL", "#aims-approvals")  # public: channels:history
    assert _line(run("doctor").out, "slack", "channel").startswith("ok")


def test_a_channel_the_app_cannot_list_is_said_so(installation, monkeypatch):
    run, jira, slack, confluence = installation
    slack.workspace.scopes -= {"channels:read", "groups:read"}
    channel = _line(run("doctor").out, "slack", "channel")
    assert channel.startswith("warn") and "needs channels:read" in channel
    slack.workspace.scopes |= {"channels:read", "groups:read"}
    monkeypatch.setenv("AIMS_SLACK_CHANNEL", "#nowhere")
    channel = _line(run("doctor").out, "slack", "channel")
    assert channel.startswith("FAIL") and "/invite @aims" in run("doctor").out


def test_database_unreachable_or_not_migrated(installation, monkeypatch, tmp_path):
    run, *_ = installation
    monkeypatch.setenv("AIMS_DATABASE_URL", f"sqlite:///{tmp_path / 'never-initialised.db'}")
    result = run("doctor")
    assert result.code == 1
    migrated = _line(result.out, "database", "migrated")
    assert migrated.startswith("FAIL") and "aims init" in result.out

    monkeypatch.setenv("AIMS_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    result = run("doctor")
    assert result.code == 1 and _line(result.out, "database", "reachable").startswith("FAIL")


def test_the_scopes_checked_are_the_manifests():
    manifest = yaml.safe_load((ROOT / "integrations/slack/manifest.yaml").read_text())
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == NEEDED_SCOPES


def test_a_separate_api_url_carries_the_rest_calls(installation, monkeypatch):
    """Scoped tokens call the API gateway; AIMS_JIRA_URL stays the site people browse."""
    run, jira, *_ = installation
    monkeypatch.setenv("AIMS_JIRA_URL", "https://example.atlassian.net")
    monkeypatch.setenv("AIMS_JIRA_API_URL", jira.url)
    result = run("doctor")
    assert _line(result.out, "jira", "credentials").startswith("ok"), result.out
    assert _line(result.out, "jira", "fields").startswith("ok")


def test_a_malformed_gateway_url_is_refused_with_the_form_it_needs(monkeypatch):
    from aims_workflows.config import Settings

    monkeypatch.setenv("AIMS_JIRA_API_URL", "https://api.atlassian.com/ex/jira/not-a-cloud-id")
    with pytest.raises(ValueError, match=r"ex/jira/\{cloudId\}"):
        Settings()
    monkeypatch.setenv(
        "AIMS_JIRA_API_URL",
        "https://api.atlassian.com/ex/jira/1324a887-45db-1bf4-1e99-ef0ff456d421/",
    )
    assert Settings().jira_api_url == (
        "https://api.atlassian.com/ex/jira/1324a887-45db-1bf4-1e99-ef0ff456d421"
    )


def test_an_invalid_setting_names_the_variable_not_its_value(installation, monkeypatch):
    run, *_ = installation
    monkeypatch.setenv("AIMS_JIRA_TOKEN_EXPIRES", "next-tuesday-s3cr3t")
    result = run("doctor")
    assert result.code == 1
    assert "invalid setting: AIMS_JIRA_TOKEN_EXPIRES" in result.err
    assert "next-tuesday-s3cr3t" not in result.all
