"""What a process keeps of the directory of people (runtime/directory.py): kept while the
directory's version token stays the same, on a real database (SQLite file and PostgreSQL). A
change by another process is seen by the next event, a change rolled back is never kept, a
delegation ends on time without any change, and a change between an event's snapshot and its
write makes the unit of work start again with the new picture."""

from __future__ import annotations

from datetime import timedelta

import pytest
from test_people_directory import (
    ANSWERS_IDENTIFY,
    CLI_ANA,
    low_risk_waiting_for_rita,
    make_harness_from,
    risk_run,
)

from aims_workflows.engine import Actor
from aims_workflows.store import people as store

EVE_JIRA = Actor("eve@example.com", "jira", handle="712020:eve")


def identify(h, actor: Actor) -> Actor:
    with h.db.connect() as conn:
        return h.rt.people.identify(conn, actor, h.clock.now(), link=False)


def token(h) -> str:
    with h.db.connect() as conn:
        return store.version(conn)


def test_every_change_of_the_directory_gets_a_new_token(harness):
    seen = [token(harness)]
    now = harness.clock.now()
    with harness.db.begin() as conn:
        changes = [
            lambda: store.add_person(conn, "zoe@example.com", "Zoe", "zoe@example.com", now),
            lambda: store.set_account(conn, "zoe@example.com", "jira", "712020:zoe"),
            lambda: store.set_display_name(conn, "zoe@example.com", "Zoe Z"),
            lambda: store.grant(conn, "zoe@example.com", "engineer", now, "test"),
            lambda: store.add_delegation(
                conn,
                from_person="rita@example.com",
                to_person="zoe@example.com",
                role="risk_owner",
                now=now,
                until=now + timedelta(days=1),
                reason="x",
                by="t",
            ),  # fmt: skip
        ]
        for change in changes:
            change()
            seen.append(store.version(conn))
        [grant] = [g for g in store.open_grants(conn, "zoe@example.com")]
        store.revoke(conn, grant.id, now, "test")
        seen.append(store.version(conn))
    assert len(set(seen)) == len(seen) == 7


def test_a_role_granted_by_another_process_is_seen_by_the_next_identification(
    harness, db_url, clock
):
    before = identify(harness, EVE_JIRA)
    assert "internal_auditor" not in before.roles
    other = make_harness_from(harness, db_url, clock)
    with other.db.begin() as conn:
        store.grant(conn, "eve@example.com", "internal_auditor", clock.now(), "test")
    assert "internal_auditor" in identify(harness, EVE_JIRA).roles
    other.app.db.dispose()


def test_a_change_rolled_back_is_never_kept(harness):
    class Abandon(Exception):
        pass

    with pytest.raises(Abandon), harness.db.begin() as conn:
        store.grant(conn, "eve@example.com", "internal_auditor", harness.clock.now(), "test")
        inside = harness.rt.people.identify(conn, EVE_JIRA, harness.clock.now(), link=False)
        assert "internal_auditor" in inside.roles  # the transaction sees its own change
        raise Abandon
    assert "internal_auditor" not in identify(harness, EVE_JIRA).roles


def test_a_delegation_ends_on_time_with_nothing_changed_in_the_directory(harness, clock):
    until = clock.now() + timedelta(days=1)
    harness.rt.people.delegate(
        "rita@example.com", "amy@example.com", "risk_owner", until, "one day", by=CLI_ANA
    )
    amy = Actor("amy@example.com", "slack", handle=None)
    assert identify(harness, amy).acts_for == (("rita@example.com", "risk_owner"),)
    assert "amy@example.com" in harness.rt.people.delegates_in("risk_owner", ["rita@example.com"])
    kept = token(harness)
    clock.advance(days=2)
    assert identify(harness, amy).acts_for == ()
    assert harness.rt.people.delegates_in("risk_owner", ["rita@example.com"]) == []
    assert token(harness) == kept


def test_a_delegation_made_elsewhere_reaches_the_next_approval(harness, db_url, clock):
    run_id = low_risk_waiting_for_rita(harness)
    # this process has identified people and read delegations for the request already
    assert "amy@example.com" not in harness.rt.people.delegates_in(
        "risk_owner", ["rita@example.com"]
    )
    other = make_harness_from(harness, db_url, clock)
    other.rt.people.delegate(
        "rita@example.com", "amy@example.com", "risk_owner", clock.now() + timedelta(days=3),
        "holiday", by=CLI_ANA,
    )  # fmt: skip
    outcome = harness.decide("amy@example.com", run_id=run_id)
    [decided] = [e for e in outcome.transition.evidence if e.kind == "approval.decided"]
    assert decided.payload["on_behalf_of"] == "rita@example.com"
    other.app.db.dispose()


def test_a_role_revoked_between_snapshot_and_write_is_applied_with_the_new_picture(
    harness, db_url, clock
):
    """The engine runs on a snapshot before the write transaction; when the directory changes
    in between, the unit of work starts again and the event is judged by who the person is
    now (here: no longer an engineer, so the task is refused)."""
    run_id = risk_run(harness)
    task = harness.open_task("identify", run_id)
    other = make_harness_from(harness, db_url, clock)
    prepare = harness.rt._prepare
    calls = []

    def prepare_then_revoke(*args, **kwargs):
        prepared = prepare(*args, **kwargs)
        if not calls:  # another process revokes Ed's role right after the first snapshot
            with other.db.begin() as conn:
                [grant] = [
                    g for g in store.open_grants(conn, "ed@example.com") if g.role == "engineer"
                ]
                store.revoke(conn, grant.id, clock.now(), "test")
        calls.append(prepared)
        return prepared

    harness.rt._prepare = prepare_then_revoke  # type: ignore[method-assign]
    outcome = harness.rt.complete_task(
        run_id, "identify", ANSWERS_IDENTIFY, person="ed@example.com", via="jira",
        attempt=task.attempt,
    )  # fmt: skip
    assert len(calls) == 2  # the first snapshot was dropped
    assert [e.kind for e in outcome.transition.evidence] == ["task.refused"]
    other.app.db.dispose()
