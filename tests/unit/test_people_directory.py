"""The directory of people on a real database (SQLite file and PostgreSQL): aims.yaml's roles as
grants in the ledger, links and delegations with who made them, refusals recorded with nothing
else written, and the runtime identifying actors through it (task authorisation, segregation of
duties on directory ids, conflicting roles, a delegate's decision, CLI claims)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import text

from aims_workflows.engine import Actor
from aims_workflows.errors import ConfigError, NotFound
from aims_workflows.runtime import AccountMatch, DirectoryRefusal
from aims_workflows.store import ledger

CLI_ANA = Actor("amy@example.com", "cli", handle="amy")


def rows(h, kind: str) -> list[dict]:
    with h.db.connect() as conn:
        return [
            {"actor": r.actor, "via": r.via, **json.loads(r.payload)}
            for r in ledger.iter_rows(conn)
            if r.kind == kind
        ]


def table_counts(h) -> dict[str, int]:
    with h.db.connect() as conn:
        return {
            t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar()
            for t in ("people", "role_grants", "delegations", "evidence")
        }


# -- aims.yaml -> grants -------------------------------------------------------------------------
def test_aims_yaml_roles_are_granted_once_in_the_ledger_and_revoked_when_removed(
    harness, make_harness, db_url, tmp_path, clock
):
    grants = rows(harness, "role.granted")
    assert {(g["person_id"], g["role"]) for g in grants} >= {
        ("rita@example.com", "risk_owner"),
        ("eve@example.com", "engineer"),
    }
    assert {(g["actor"], g["via"], g["source"]) for g in grants} == {
        ("aims.yaml", "config", "aims.yaml")
    }
    # a second process on the same database grants nothing again
    again = make_harness(db_url, tmp_path, clock)
    assert len(rows(again, "role.granted")) == len(grants)
    # rita leaves the risk owner role in aims.yaml: the grant is revoked, with its date
    clock.advance(days=3)
    roles = {"risk_owner": ["rex@example.com"], "engineer": ["eve@example.com"]}
    changed = make_harness(db_url, tmp_path, clock, roles=roles)
    revoked = {(r["person_id"], r["role"]) for r in rows(changed, "role.revoked")}
    assert ("rita@example.com", "risk_owner") in revoked
    assert changed.rt.people.show("rita@example.com").roles == ()
    rex = changed.rt.people.show("rex@example.com")
    assert rex.roles == ("risk_owner",)
    history = changed.rt.people.show("rita@example.com").history
    assert any("risk_owner: from" in line and " to " in line for line in history)
    assert changed.verify().ok


def test_conflicting_roles_are_reported_and_a_decision_breaking_one_is_refused(
    database, make_harness, db_url, tmp_path, clock
):
    roles = {
        "risk_owner": ["rita@example.com"],
        "internal_auditor": ["rita@example.com"],
        "engineer": ["eve@example.com"],
    }
    h = make_harness(db_url, tmp_path, clock, roles=roles)
    h.config_path.write_text(
        h.config_path.read_text()
        + "segregation:\n  conflicting_roles: [[risk_owner, internal_auditor]]\n"
    )
    h = make_harness_from(h, db_url, clock)
    [rita] = [p for p in h.rt.people.everyone() if p.person_id == "rita@example.com"]
    assert rita.conflicts == (("risk_owner", "internal_auditor"),)
    run_id = risk_run(h)
    h.complete("identify", ANSWERS_IDENTIFY, run_id=run_id)
    h.complete("treat", ANSWERS_TREAT, run_id=run_id)
    outcome = h.decide("rita@example.com", run_id=run_id)
    [refused] = [e for e in outcome.transition.evidence if e.kind == "approval.refused"]
    assert "hold both risk_owner and internal_auditor" in refused.payload["reason"]


def risk_run(h) -> str:
    _, started = h.add_system("Chatbot")
    (run_id,) = [r for r in started if h.run_row(r).workflow_id == "ai-risk-assessment"]
    return run_id


def make_harness_from(h, db_url, clock):
    """A new app over the same database with the aims.yaml written to ``h.config_path``."""
    from aims_workflows.app import open_app
    from aims_workflows.config import Settings

    settings = Settings(
        database_url=db_url, config=h.config_path, workflows=h.app.settings.workflows
    )
    app = open_app(
        settings, clock=clock, tracker=h.tracker, approvals=h.approvals, notifier=h.notifier
    )
    return type(h)(app, clock, h.tracker, h.approvals, h.notifier, h.config_path)


ANSWERS_IDENTIFY = {
    "risk_title": "Biased answers",
    "risk_description": "Training data under-represents some groups",
    "risk_sources": ["bias_fairness"],
    "affected_parties": "customers",
    "likelihood": 2,
    "impact": 3,
    "rating_rationale": "seen once",
}
ANSWERS_TREAT = {
    "treatment": "accept",
    "residual_likelihood": 2,
    "residual_impact": 3,
    "rationale": "low and known",
}


def test_an_unknown_conflicting_role_is_a_configuration_error(tmp_path):
    from aims_workflows.config import load_config

    path = tmp_path / "aims.yaml"
    path.write_text("segregation:\n  conflicting_roles: [[risk_owner, risk_wizard]]\n")
    with pytest.raises(ConfigError, match="'risk_wizard', a role aims.yaml does not define"):
        load_config(path)


# -- links ---------------------------------------------------------------------------------------
def test_a_link_by_hand_is_a_ledger_row_naming_who_made_it(harness):
    person = harness.rt.people.link("eve@example.com", "jira", "712020:eve", by=CLI_ANA)
    assert person.jira_account_id == "712020:eve"
    [linked] = [r for r in rows(harness, "person.linked") if r["account"] == "jira"]
    assert (linked["actor"], linked["person_id"], linked["value"], linked["method"]) == (
        "amy@example.com",
        "eve@example.com",
        "712020:eve",
        "by hand",
    )


@pytest.mark.parametrize(
    ("name", "account", "value", "says"),
    [
        ("nobody@example.com", "jira", "712020:x", "nobody called 'nobody@example.com'"),
        ("eve@example.com", "github", "eve", "'github' is not an account aims links"),
        ("ed@example.com", "jira", "712020:eve", "linked to eve@example.com already"),
    ],
)
def test_a_bad_link_is_refused_recorded_and_writes_nothing_else(
    harness, name, account, value, says
):
    harness.rt.people.link("eve@example.com", "jira", "712020:eve", by=CLI_ANA)
    before = table_counts(harness)
    with pytest.raises(DirectoryRefusal, match=says):
        harness.rt.people.link(name, account, value, by=CLI_ANA)
    after = table_counts(harness)
    assert after == {**before, "evidence": before["evidence"] + 1}
    [refused] = rows(harness, "directory.refused")
    assert refused["action"] == "link" and says in refused["reason"]
    assert refused["asked"] == {"person": name, "account": account, "value": value}


def test_sync_matches_report_who_a_tool_has_not_got(harness):
    report = harness.rt.people.record_matches(
        "slack",
        [AccountMatch("eve@example.com", "U0EVE"), AccountMatch("ed@example.com", None)],
        by=CLI_ANA,
        method="slack users.list",
    )
    assert report.linked == ["eve@example.com slack U0EVE"]
    assert report.unmatched == {"slack": ["ed@example.com"]}
    # a repeat links nothing again
    again = harness.rt.people.record_matches(
        "slack", [AccountMatch("eve@example.com", "U0EVE")], by=CLI_ANA, method="slack users.list"
    )
    assert again.linked == [] and again.unmatched == {}


def test_show_of_an_unknown_person_says_so(harness):
    with pytest.raises(NotFound, match="nobody called 'evan@example.com'"):
        harness.rt.people.show("evan@example.com")


# -- identifying actors --------------------------------------------------------------------------
def test_a_jira_account_is_resolved_through_the_directory_even_with_its_email_hidden(harness):
    harness.rt.people.link("eve@example.com", "jira", "712020:eve", by=CLI_ANA)
    run_id = risk_run(harness)
    task = harness.open_task("identify", run_id)
    # Jira hid the e-mail: the webhook names the accountId only
    outcome = harness.rt.complete_task(
        run_id, "identify", ANSWERS_IDENTIFY, person="jira:712020:eve", via="jira",
        attempt=task.attempt, ref=task.ref,
    )  # fmt: skip
    [done] = [e for e in outcome.transition.evidence if e.kind == "task.completed"]
    assert (done.actor, done.payload["by"], done.payload["assurance"]) == (
        "eve@example.com",
        "eve@example.com",
        "verified by jira",
    )


def test_handle_without_link_is_refused_with_a_recorded_reason(harness):
    run_id = risk_run(harness)
    task = harness.open_task("identify", run_id)
    outcome = harness.rt.complete_task(
        run_id, "identify", ANSWERS_IDENTIFY, person="jira:712020:who", via="jira",
        attempt=task.attempt, ref=task.ref,
    )  # fmt: skip
    [refused] = [e for e in outcome.transition.evidence if e.kind == "task.refused"]
    assert refused.actor == "jira:712020:who"
    assert "not in the directory of people" in refused.payload["reason"]
    assert outcome.transition.run.current == "identify"


@pytest.mark.parametrize(
    ("person", "via"),
    [("stranger@elsewhere.org", "cli"), ("tom@example.com", "cli"), ("carl@example.com", "jira")],
)
def test_only_the_assignee_a_role_holder_or_a_delegate_completes_a_task(harness, person, via):
    run_id = risk_run(harness)
    task = harness.open_task("identify", run_id)
    outcome = harness.rt.complete_task(
        run_id, "identify", ANSWERS_IDENTIFY, person=person, via=via, attempt=task.attempt
    )
    kinds = [e.kind for e in outcome.transition.evidence]
    assert kinds == ["task.refused"]
    assert outcome.transition.run.current == "identify"
    # the task's role holder may
    ed = harness.rt.complete_task(
        run_id, "identify", ANSWERS_IDENTIFY, person="ed@example.com", via="jira",
        attempt=task.attempt,
    )  # fmt: skip
    assert "task.completed" in [e.kind for e in ed.transition.evidence]


def test_a_cli_claim_is_recorded_as_claimed_with_the_os_user(harness):
    run_id = risk_run(harness)
    outcome = harness.rt.complete_task(
        run_id, "identify", ANSWERS_IDENTIFY, person="eve@example.com"
    )
    [done] = [e for e in outcome.transition.evidence if e.kind == "task.completed"]
    assert done.via == "cli" and done.payload["assurance"].startswith("claimed (os user ")


def test_cli_decisions_forbid_refuses_tasks_from_the_cli(harness):
    harness.rt.cli_decisions_allowed = False
    run_id = risk_run(harness)
    outcome = harness.rt.complete_task(
        run_id, "identify", ANSWERS_IDENTIFY, person="eve@example.com"
    )
    [refused] = [e for e in outcome.transition.evidence if e.kind == "task.refused"]
    assert "not decided from the CLI here (cli_decisions: forbid" in refused.payload["reason"]


# -- delegation ----------------------------------------------------------------------------------
def low_risk_waiting_for_rita(h) -> str:
    run_id = risk_run(h)
    h.complete("identify", ANSWERS_IDENTIFY, run_id=run_id)
    h.complete("treat", ANSWERS_TREAT, run_id=run_id)
    return run_id


def test_a_delegates_decision_reads_b_for_a(harness, clock):
    until = clock.now() + timedelta(days=7)
    made = harness.rt.people.delegate(
        "rita@example.com", "amy@example.com", "risk_owner", until, "holiday", by=CLI_ANA
    )
    assert (made.from_person, made.to_person) == ("rita@example.com", "amy@example.com")
    [granted] = rows(harness, "delegation.granted")
    assert (granted["actor"], granted["reason"]) == ("amy@example.com", "holiday")
    run_id = low_risk_waiting_for_rita(harness)
    # the request reaches the delegate too
    assert "amy@example.com" in harness.pending_approval(run_id).people
    outcome = harness.decide("amy@example.com", run_id=run_id)
    [decided] = [e for e in outcome.transition.evidence if e.kind == "approval.decided"]
    assert (decided.payload["person"], decided.payload["on_behalf_of"]) == (
        "amy@example.com",
        "rita@example.com",
    )
    assert outcome.transition.run.data["accept_owner"]["outcome"] == "approved"
    # the first decision wins: Rita, deciding after, is told who decided and when
    late = harness.rt.decide(
        decided.payload["approval_id"], person="rita@example.com", decision="reject",
        reason="too late", via="slack",
    )  # fmt: skip
    [refused] = [e for e in late.transition.evidence if e.kind == "approval.refused"]
    assert refused.payload["reason"].startswith(
        "this request was already approved by amy@example.com for rita@example.com at "
    )


def test_a_delegation_never_lifts_segregation_of_duties(harness, clock):
    # eve completes the risk identification, then is delegated the risk owner's decision
    harness.rt.people.delegate(
        "rita@example.com", "eve@example.com", "risk_owner", clock.now() + timedelta(days=7),
        "covering", by=CLI_ANA,
    )  # fmt: skip
    run_id = low_risk_waiting_for_rita(harness)
    outcome = harness.decide("eve@example.com", run_id=run_id)
    [refused] = [e for e in outcome.transition.evidence if e.kind == "approval.refused"]
    assert "you completed 'identify'" in refused.payload["reason"]


def test_an_expired_delegation_gives_nothing(harness, clock):
    harness.rt.people.delegate(
        "rita@example.com", "amy@example.com", "risk_owner", clock.now() + timedelta(days=1),
        "one day", by=CLI_ANA,
    )  # fmt: skip
    clock.advance(days=2)
    run_id = low_risk_waiting_for_rita(harness)
    outcome = harness.decide("amy@example.com", run_id=run_id)
    [refused] = [e for e in outcome.transition.evidence if e.kind == "approval.refused"]
    assert "not an approver" in refused.payload["reason"]


@pytest.mark.parametrize(
    ("giver", "taker", "role", "days", "reason", "says"),
    [
        (
            "rita@example.com",
            "rita@example.com",
            "risk_owner",
            3,
            "x",
            "cannot delegate to themselves",
        ),
        ("rita@example.com", "nobody@example.com", "risk_owner", 3, "x", "nobody called"),
        (
            "rita@example.com",
            "amy@example.com",
            "risk_wizard",
            3,
            "x",
            "'risk_wizard' is not a role",
        ),
        ("rita@example.com", "amy@example.com", "risk_owner", -1, "x", "which has passed"),
        ("rita@example.com", "amy@example.com", "risk_owner", 3, " ", "needs a reason"),
        ("amy@example.com", "eve@example.com", "risk_owner", 3, "x", "does not hold risk_owner"),
    ],
)
def test_bad_delegations_are_refused_recorded_and_write_nothing_else(
    harness, clock, giver, taker, role, days, reason, says
):
    harness.rt.people.delegate(
        "rita@example.com", "amy@example.com", "risk_owner", clock.now() + timedelta(days=3),
        "first", by=CLI_ANA,
    )  # fmt: skip
    before = table_counts(harness)
    with pytest.raises(DirectoryRefusal, match=says):
        harness.rt.people.delegate(
            giver, taker, role, clock.now() + timedelta(days=days), reason, by=CLI_ANA
        )
    assert table_counts(harness) == {**before, "evidence": before["evidence"] + 1}
    [refused] = rows(harness, "directory.refused")
    assert refused["action"] == "delegate" and says in refused["reason"]
