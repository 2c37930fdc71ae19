"""Approvals: quorum, segregation of duties, refusals, content binding and rejection.

Every test drives the run through :class:`conftest.Driver`, which saves and reloads the state
after every event and checks purity, determinism and the evidence chain.
"""

from __future__ import annotations

from aims_workflows.engine.commands import (
    CloseApproval,
    InvalidateApproval,
    RefuseDecision,
    RequestApproval,
)
from conftest import (
    BOARD,
    CISO,
    ENGINEER,
    ENGINEER_2,
    OWNER,
    RISK_OWNER,
    STRANGER,
    Actor,
    Driver,
    ai_system,
)

MEDIUM = {"likelihood": 3, "impact": 4, "rationale": "customer facing"}  # score 12 -> signoff
HIGH = {"likelihood": 4, "impact": 4, "rationale": "public"}  # score 16 -> board_signoff
LOW = {"likelihood": 1, "impact": 2}  # score 2 -> accept_note


def at_signoff(risk, answers=MEDIUM, engineer=ENGINEER) -> Driver:
    d = Driver(risk, ai_system())
    d.start()
    d.send(
        "task.created", engineer, step_id="assess", attempt=1, ref="AIMS-1", assignee=engineer.id
    )
    d.complete("assess", engineer, answers)
    return d


def refusal(d: Driver) -> str:
    t = d.transitions[-1]
    assert [e.kind for e in t.evidence] == ["approval.refused"]
    assert [c.kind for c in t.commands] == ["approval.refuse"]
    assert isinstance(t.commands[0], RefuseDecision)
    assert t.commands[0].reason == t.evidence[0].payload["reason"]
    return t.evidence[0].payload["reason"]


def test_request_binds_the_content_and_excludes_people(risk):
    d = at_signoff(risk)
    t = d.transitions[-1]
    assert d.kinds(t) == [
        "task.completed",
        "artefact.recorded",
        "decision.taken",
        "approval.requested",
    ]
    request = t.commands[-1]
    assert isinstance(request, RequestApproval)
    assert request.key == "run-1/run-1.signoff.1.1/request"
    assert request.approval_id == "run-1.signoff.1.1"
    assert request.approvers == ("risk_owner", "ciso") and request.quorum == "any"
    assert request.show == {"Score": 12}
    assert request.issues == ("AIMS-1",)
    assert request.exclude == (ENGINEER.id, OWNER.id)
    assert request.due_at == "2026-01-10T09:00:00.000000Z"
    assert request.content_hash == d.run.approval.content_hash
    assert len(request.content_hash) == 64
    assert d.run.current == "signoff" and d.run.task is None


def test_quorum_any_one_approval_closes_it(risk):
    d = at_signoff(risk)
    t = d.decide(RISK_OWNER, reason="risk accepted with controls", ref="slack-1")
    assert d.kinds(t) == [
        "approval.decided",
        "approval.closed",
        "notification.sent",
        "run.completed",
    ]
    decided = t.evidence[0]
    assert decided.actor == RISK_OWNER.id and decided.via == "slack" and decided.ref == "slack-1"
    assert decided.payload["reason"] == "risk accepted with controls"
    assert t.evidence[1].payload["outcome"] == "approved"
    assert d.run.status == "completed" and d.run.approval is None and d.run.timers == []
    assert d.run.data["signoff"] == {
        "outcome": "approved",
        "decided_by": [RISK_OWNER.id],
        "reasons": ["risk accepted with controls"],
        "content_hash": decided.payload["content_hash"],
    }
    close = t.commands[0]
    assert isinstance(close, CloseApproval) and close.outcome == "approved"


def test_quorum_all_waits_for_every_eligible_person(risk):
    d = at_signoff(risk, HIGH)
    assert d.run.current == "board_signoff"
    eligible = [b.id for b in BOARD] + [OWNER.id]  # the owner is excluded by segregation of duties
    for person in BOARD[:2]:
        t = d.decide(person, eligible=eligible)
        assert d.kinds(t) == ["approval.decided"] and d.run.approval is not None
    t = d.decide(BOARD[2], eligible=eligible)
    assert d.kinds(t)[:2] == ["approval.decided", "approval.closed"]
    assert d.run.data["board_signoff"]["decided_by"] == [b.id for b in BOARD]
    assert d.run.status == "completed"


def test_quorum_all_one_rejection_is_enough_to_reject(risk):
    d = at_signoff(risk, HIGH)
    eligible = [b.id for b in BOARD]
    d.decide(BOARD[0], eligible=eligible)
    t = d.decide(BOARD[1], "reject", "impact understated", eligible=eligible)
    assert t.evidence[1].payload["outcome"] == "rejected"
    assert d.run.current == "assess" and d.run.task.attempt == 2


def test_quorum_n(spec_from_text):
    loaded = spec_from_text("""id: two-of-three
version: 1
title: Two of three
subject: ai_system
steps:
  - id: ok
    kind: approval
    approvers: [risk_owner, ciso, top_management]
    quorum: 2
    on_reject: end
""")
    d = Driver(loaded, ai_system())
    d.start()
    t = d.decide(RISK_OWNER)
    assert d.kinds(t) == ["approval.decided"] and d.run.status == "running"
    t = d.decide(RISK_OWNER, reason="again")
    assert refusal(d) == "you have already decided on this request"
    t = d.decide(CISO)
    assert d.kinds(t) == ["approval.decided", "approval.closed", "run.completed"]
    assert d.run.data["ok"]["decided_by"] == [RISK_OWNER.id, CISO.id]


def test_segregation_of_duties_the_task_assignee(risk):
    # someone who completed the assessment and also holds an approver role may not approve it
    both = Actor("eve@example.com", "slack", ("engineer", "risk_owner"))
    d = at_signoff(risk, engineer=Actor(both.id, "jira", ("engineer",)))
    d.decide(both)
    assert refusal(d) == "you completed 'assess', so you may not approve it (segregation of duties)"
    assert d.run.approval.decisions == []


def test_segregation_of_duties_the_subject_owner(risk):
    d = at_signoff(risk)
    d.decide(OWNER)
    assert (
        refusal(d)
        == "you own this AI system, so you may not approve its assessment (segregation of duties)"
    )


def test_segregation_of_duties_a_forbidden_role(risk):
    d = at_signoff(risk)
    d.decide(Actor("x@example.com", "slack", ("risk_owner", "engineer")))
    assert refusal(d) == "people with the role engineer may not approve this step"


def test_a_stranger_is_refused(risk):
    d = at_signoff(risk)
    d.decide(STRANGER)
    assert refusal(d) == "you are not an approver of this step (approvers: risk_owner, ciso)"
    d.decide(ENGINEER_2)
    assert refusal(d) == "you are not an approver of this step (approvers: risk_owner, ciso)"
    assert d.run.approval.decisions == [] and d.run.current == "signoff"


def test_a_reason_is_required(risk):
    d = at_signoff(risk)
    for blank in ("", "   ", None):
        d.decide(RISK_OWNER, reason=blank)
        assert refusal(d) == "a reason is required"
    d.decide(RISK_OWNER, "maybe")
    assert refusal(d) == "the decision must be approve or reject"
    assert d.run.approval.decisions == []
    d.decide(RISK_OWNER, reason="fine")
    assert d.run.status == "completed"


def test_a_stale_content_hash_is_refused(risk):
    d = at_signoff(risk)
    d.decide(RISK_OWNER, content_hash="0" * 64)
    assert (
        refusal(d)
        == "the content changed since this request was sent; a fresh request has been sent"
    )


def test_changed_answers_invalidate_the_request_and_send_a_fresh_one(risk):
    d = at_signoff(risk)
    old = d.run.approval
    t = d.later(hours=1).send(
        "task.updated",
        ENGINEER,
        step_id="assess",
        ref="AIMS-1",
        answers={"likelihood": 2, "impact": 4, "rationale": "customer facing"},
    )
    # the score recorded from the old answers is recorded again, and the route taken again,
    # before the fresh request
    assert d.kinds(t) == [
        "task.answers_changed",
        "artefact.recorded",
        "approval.invalidated",
        "decision.taken",
        "approval.requested",
    ]
    assert d.command_kinds(t) == ["approval.invalidate", "approval.request"]
    invalidated = t.evidence[2].payload
    new = d.run.approval
    assert (
        invalidated["old_hash"] == old.content_hash and invalidated["new_hash"] == new.content_hash
    )
    assert new.content_hash != old.content_hash
    assert new.approval_id == "run-1.signoff.1.2" and new.round == 2
    assert isinstance(t.commands[0], InvalidateApproval)
    assert t.commands[0].approval_id == old.approval_id
    assert (
        d.run.data["assess"]["likelihood"] == 2
        and d.run.data["assess"]["completed_by"] == ENGINEER.id
    )

    # a decision on the old request, with its old hash, is refused
    d.send(
        "approval.decided",
        RISK_OWNER,
        approval_id=old.approval_id,
        content_hash=old.content_hash,
        decision="approve",
        reason="ok",
    )
    assert refusal(d) == "this approval is closed or was replaced by a newer request"
    assert d.transitions[-1].evidence[0].step_id == "signoff"
    t = d.decide(CISO)
    assert d.run.data["signoff"]["content_hash"] == new.content_hash
    assert d.run.status == "completed"


def test_an_unchanged_or_invalid_update_is_ignored(risk):
    d = at_signoff(risk)
    t = d.send("task.updated", ENGINEER, step_id="assess", answers=dict(MEDIUM))
    assert t.ignored == "answers unchanged"
    t = d.send(
        "task.updated",
        ENGINEER,
        step_id="assess",
        answers={"likelihood": 9, "impact": 4, "rationale": "x"},
    )
    assert t.ignored == "Likelihood: must be at most 5, not 9."
    t = d.send("task.updated", ENGINEER, step_id="signoff", answers={})
    assert t.ignored == "step signoff has no answers to change"


def test_an_update_that_does_not_touch_the_approved_content_keeps_the_request(spec_from_text):
    loaded = spec_from_text("""id: partial
version: 1
title: Partial
subject: ai_system
steps:
  - id: one
    kind: task
    role: engineer
    title: t
    form: [{id: a, type: text, label: A}]
  - id: two
    kind: task
    role: engineer
    title: t
    form: [{id: b, type: text, label: B}]
  - id: ok
    kind: approval
    approvers: [risk_owner]
    approves: [two]
    on_reject: end
""")
    d = Driver(loaded, ai_system())
    d.start()
    d.complete("one", answers={"a": "x"})
    d.complete("two", answers={"b": "y"})
    before = d.run.approval
    t = d.send("task.updated", ENGINEER, step_id="one", answers={"a": "changed"})
    assert d.kinds(t) == ["task.answers_changed"] and d.run.approval == before


def test_rejection_sends_the_work_back_and_a_new_request_follows(risk):
    d = at_signoff(risk)
    first = d.run.approval
    t = d.later(days=1).decide(CISO, "reject", "impact is understated")
    assert d.kinds(t) == ["approval.decided", "approval.closed", "task.requested"]
    assert d.command_kinds(t) == ["approval.close", "notify", "task.create"]
    assert t.evidence[1].payload["outcome"] == "rejected"
    assert t.evidence[1].payload["latency_seconds"] == 86400
    # the engineer who did the work hears the outcome, who decided and why
    told = t.commands[1]
    assert told.people == (ENGINEER.id,) and told.to == ()
    assert "was rejected" in told.message and "impact is understated" in told.message
    assert "carl@example.com rejected" in told.message
    rework = t.commands[2]
    assert rework.attempt == 2 and rework.previous_answers["likelihood"] == 3
    assert d.run.data["signoff"]["outcome"] == "rejected"

    # the old request is closed; a late approval of it is refused
    d.send(
        "approval.decided",
        RISK_OWNER,
        approval_id=first.approval_id,
        content_hash=first.content_hash,
        decision="approve",
        reason="late",
    )
    assert refusal(d) == "this approval is closed or was replaced by a newer request"

    # a late Jira event for attempt 1 is ignored
    t = d.send("task.completed", ENGINEER, step_id="assess", attempt=1, answers=MEDIUM)
    assert t.ignored == "no open task assess (attempt 1)"

    t = d.complete("assess", answers={"likelihood": 4, "impact": 3, "rationale": "reassessed"})
    assert d.run.approval.approval_id == "run-1.signoff.2.1"
    assert d.run.approval.content_hash != first.content_hash
    d.decide(CISO, reason="now right")
    assert d.run.status == "completed"
    assert d.run.visits == {"assess": 2, "score": 2, "route": 2, "signoff": 2, "done_note": 1}


def test_decisions_on_a_closed_run_are_refused_not_applied(risk):
    d = at_signoff(risk, LOW)
    assert d.run.status == "completed"
    d.send(
        "approval.decided",
        RISK_OWNER,
        approval_id="run-1.signoff.1.1",
        content_hash="x",
        decision="approve",
        reason="r",
    )
    assert refusal(d) == "this approval is closed or was replaced by a newer request"
    assert d.run.status == "completed"


def test_approval_reminders_due_and_escalation(risk):
    d = at_signoff(risk)
    assert [t.timer_id for t in d.run.timers] == [
        "signoff.1.reminder.0",
        "signoff.1.due",
        "signoff.1.escalate",
    ]
    t = d.tick(days=2)
    assert d.command_kinds(t) == ["approval.remind"] and d.kinds(t) == ["approval.reminded"]
    assert t.commands[0].approval_id == "run-1.signoff.1.1"
    assert t.commands[0].to == ("risk_owner", "ciso")
    t = d.tick(days=3)
    assert d.kinds(t) == ["approval.overdue"] and t.commands == []
    t = d.tick(days=1)
    assert d.command_kinds(t) == ["approval.escalate"]
    assert t.commands[0].to == ("top_management",)
    assert d.run.timers == []
    assert d.tick(days=30).ignored == "no timer due"


def test_reminders_of_a_fresh_request_get_fresh_keys(risk):
    d = at_signoff(risk)
    first = d.tick(days=2).commands[0].key
    d.send(
        "task.updated",
        ENGINEER,
        step_id="assess",
        answers={"likelihood": 2, "impact": 4, "rationale": "x"},
    )
    second = d.tick(days=2).commands
    assert [c.kind for c in second] == ["approval.remind"]
    # the outbox never carries out a key twice: a reminder
    # of the new request must not reuse the old key
    assert second[0].key != first


def test_a_fresh_request_after_changed_answers_shows_recomputed_records(risk):
    d = at_signoff(risk)  # likelihood 3 x impact 4: score 12
    d.send(
        "task.updated",
        ENGINEER,
        step_id="assess",
        answers={"likelihood": 2, "impact": 4, "rationale": "x"},
    )
    # the approver is asked to approve answers scoring 8, so the record they approve must say 8
    assert d.run.data["score"]["value"] == 8
    assert d.transitions[-1].commands[-1].show == {"Score": 8}


def test_answers_changed_after_an_approval_are_flagged_to_the_aims_owner(spec_from_text):
    loaded = spec_from_text("""id: flag
version: 1
title: Flag
subject: ai_system
steps:
  - id: one
    kind: task
    role: engineer
    title: t
    form: [{id: a, type: text, label: A}]
  - id: ok
    kind: approval
    approvers: [risk_owner]
    on_reject: one
  - id: two
    kind: task
    role: engineer
    title: t
""")
    d = Driver(loaded, ai_system())
    d.start()
    d.complete("one", answers={"a": "x"})
    d.decide(RISK_OWNER)
    assert d.run.current == "two"
    t = d.send("task.updated", ENGINEER, step_id="one", answers={"a": "changed"})
    assert t.evidence[0].payload["approvals_no_longer_covering"] == ["ok"]
    assert [c.kind for c in t.commands] == ["notify"]
    assert t.commands[0].to == ("aims_owner",)


def test_a_rejection_or_an_open_request_is_not_flagged_as_an_approval(risk):
    d = at_signoff(risk)
    d.decide(CISO, "reject", "no")
    d.complete("assess", answers=MEDIUM)
    # signoff rejected round one and has a fresh request open: the edit re-requests, nothing else
    t = d.send(
        "task.updated", ENGINEER, step_id="assess", answers={**MEDIUM, "rationale": "more detail"}
    )
    assert t.evidence[0].payload["approvals_no_longer_covering"] == []
    assert [c.kind for c in t.commands] == ["approval.invalidate", "approval.request"]


def test_edited_answers_that_raise_the_score_route_to_the_higher_approver(risk):
    d = at_signoff(risk)  # 3 x 4 = 12: the risk owner or the CISO signs off
    old = d.run.approval
    assert old.step_id == "signoff"
    t = d.later(hours=1).send(
        "task.updated",
        ENGINEER,
        step_id="assess",
        answers={"likelihood": 4, "impact": 4, "rationale": "worse"},
    )
    assert d.run.data["score"]["value"] == 16
    taken = [e.payload for e in t.evidence if e.kind == "decision.taken"]
    assert taken and taken[-1]["goto"] == "board_signoff"
    assert d.run.approval.step_id == "board_signoff" and d.run.approval.round == 1
    assert [c.kind for c in t.commands] == ["approval.invalidate", "approval.request"]
    assert t.commands[1].approvers == ("top_management",)
    # the old request can no longer be decided
    d.send(
        "approval.decided",
        RISK_OWNER,
        approval_id=old.approval_id,
        content_hash=old.content_hash,
        decision="approve",
        reason="ok",
    )
    assert refusal(d) == "this approval is closed or was replaced by a newer request"
