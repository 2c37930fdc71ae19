"""``aims people list | show | link | sync``, ``aims delegate`` and the identity checks of the
task and approval commands, through the real CLI on a SQLite file: clear messages, exit code 1
and a recorded refusal for bad input."""

from __future__ import annotations

import json
import re

import pytest

# every test starts from `aims init` with the test organisation's people in aims.yaml
pytestmark = pytest.mark.usefixtures("ready")


def evidence(aims, kind: str) -> list[dict]:
    listed = aims("evidence", "list", "--json", "--kind", kind, "--limit", "1000")
    assert listed.code == 0, listed
    return [json.loads(line) for line in listed.out.splitlines() if line.strip()]


def test_people_list_and_show_come_from_aims_yaml(aims):
    listed = aims("people", "list")
    assert listed.code == 0, listed
    assert "rita@example.com" in listed.out and "risk_owner" in listed.out
    shown = aims("people", "show", "rita@example.com")
    assert (
        shown.code == 0 and "risk_owner: from" in shown.out and "granted by aims.yaml" in shown.out
    )
    missing = aims("people", "show", "rito@example.com")
    assert missing.code == 1 and "nobody called 'rito@example.com'" in missing.err


def test_link_records_who_linked_and_refuses_bad_input(aims):
    done = aims("people", "link", "eve@example.com", "slack", "U0EVE", "--as", "amy@example.com")
    assert done.code == 0 and "linked slack U0EVE to eve@example.com" in done.out
    assert "U0EVE" in aims("people", "show", "eve@example.com").out
    taken = aims("people", "link", "ed@example.com", "slack", "U0EVE", "--as", "amy@example.com")
    assert taken.code == 1 and "linked to eve@example.com already" in taken.err
    unknown = aims("people", "link", "zed@example.com", "jira", "712020:z")
    assert unknown.code == 1 and "nobody called 'zed@example.com'" in unknown.err
    [refused, other] = evidence(aims, "directory.refused")
    assert refused["payload"]["action"] == "link"
    [linked] = [e for e in evidence(aims, "person.linked") if e["payload"]["account"] == "slack"]
    assert linked["actor"] == "amy@example.com" and linked["via"] == "cli"


def test_delegate_and_its_bad_input(aims):
    made = aims(
        "delegate", "--from", "rita@example.com", "--to", "amy@example.com", "--role",
        "risk_owner", "--until", "2099-01-31", "--reason", "parental leave", "--as",
        "amy@example.com",
    )  # fmt: skip
    assert made.code == 0, made
    assert "amy@example.com may act for rita@example.com as risk_owner until 2099-02-01" in made.out
    for args, says in [
        (("--to", "rita@example.com"), "cannot delegate to themselves"),
        (("--until", "31/01/2099"), "is not a date: write --until as YYYY-MM-DD"),
        (("--until", "2001-01-01"), "which has passed"),
        (("--role", "risk_wizard"), "'risk_wizard' is not a role aims.yaml defines"),
        (("--from", "amy@example.com", "--to", "eve@example.com"), "does not hold risk_owner"),
    ]:
        options = {"--from": "rita@example.com", "--to": "amy@example.com",
                   "--role": "risk_owner", "--until": "2099-01-31", "--reason": "x"}  # fmt: skip
        options.update(dict(zip(args[::2], args[1::2], strict=True)))
        result = aims("delegate", *[p for kv in options.items() for p in kv])
        assert result.code == 1 and says in result.err, (args, result)
    assert len(evidence(aims, "delegation.granted")) == 1
    assert len(evidence(aims, "directory.refused")) == 5


def test_validate_and_people_list_report_conflicting_roles(aims, tmp_path):
    path = tmp_path / "aims.yaml"
    path.write_text(
        path.read_text().replace("internal_auditor: [", "internal_auditor: [rita@example.com, ")
        + "segregation:\n  conflicting_roles: [[risk_owner, internal_auditor]]\n"
    )
    listed = aims("people", "list")
    assert listed.code == 0
    assert "rita@example.com holds both risk_owner and internal_auditor" in re.sub(
        r"\s+", " ", listed.err
    )
    from aims_workflows.app import shipped_workflows_dir

    checked = aims("validate", str(shipped_workflows_dir()))
    assert checked.code == 1
    assert "rita@example.com holds both risk_owner and internal_auditor" in re.sub(
        r"\s+", " ", checked.err
    )


def test_a_stranger_cannot_complete_a_task_from_the_cli(aims):
    aims("systems", "add", "Chatbot", "--owner", "olga@example.com", "--set", "in_scope=no")
    started = aims("start", "ai-risk-assessment", "--system", "Chatbot")
    run_id = re.search(r"started run (\S+)", started.out).group(1)
    refused = aims(
        "tasks", "complete", run_id, "identify", "--as", "stranger@elsewhere.org",
        "--answer", "likelihood=2",
    )  # fmt: skip
    assert refused.code == 1
    assert "not in the directory of people" in re.sub(r"\s+", " ", refused.err)
    [row] = evidence(aims, "task.refused")
    assert row["actor"] == "stranger@elsewhere.org" and row["via"] == "cli"


def test_cli_decisions_forbid_in_aims_yaml_refuses_cli_decisions(aims, tmp_path):
    path = tmp_path / "aims.yaml"
    path.write_text(path.read_text() + "cli_decisions: forbid\n")
    aims("systems", "add", "Chatbot", "--owner", "olga@example.com", "--set", "in_scope=no")
    started = aims("start", "ai-risk-assessment", "--system", "Chatbot")
    run_id = re.search(r"started run (\S+)", started.out).group(1)
    refused = aims(
        "tasks",
        "complete",
        run_id,
        "identify",
        "--as",
        "eve@example.com",
        "--answer",
        "risk_title=Stale fee table",
    )
    assert refused.code == 1 and "cli_decisions: forbid" in re.sub(r"\s+", " ", refused.err)


def test_inventory_changes_name_their_person_and_the_os_user(aims):
    added = aims(
        "systems", "add", "Chatbot", "--owner", "olga@example.com", "--as", "amy@example.com"
    )
    assert added.code == 0, added
    changed = aims("systems", "set", "Chatbot", "risk_tier=high")  # no --as: the OS user
    assert changed.code == 0, changed
    [registered] = evidence(aims, "ai_system.registered")
    assert (registered["actor"], registered["via"]) == ("amy@example.com", "cli")
    assert registered["payload"]["assurance"].startswith("claimed (os user ")
    [change] = evidence(aims, "ai_system.changed")
    os_user = change["payload"]["assurance"].removeprefix("claimed (os user ").rstrip(")")
    assert change["actor"] == os_user and os_user
