"""Approvals beyond approve and reject: a request that expires (not a rejection) and goes to an
alternate approver, a decision withdrawn within the step's window, and a delegate who stands in
for a holder in a quorum of ``all`` rather than counting as one more approver.

Every test drives the run through :class:`conftest.Driver` (state saved and reloaded after every
event; purity, determinism and the evidence chain checked)."""

from __future__ import annotations

from aims_workflows.engine.commands import CloseApproval, ReopenApproval, RequestApproval
from aims_workflows.engine.events import Actor
from conftest import CISO, ENGINEER, RISK_OWNER, Driver, ai_system

BASE = """\
id: release
version: 1
title: Release
subject: ai_system
steps:
  - id: assess
    kind: task
    role: engineer
    title: Assess
    form:
      - id: score
        type: number
        label: Score
  - id: signoff
    kind: approval
    approvers: [risk_owner]
    quorum: %(quorum)s
    separation:
      not_assignee_of: [assess]
    due: 2d
    on_reject: assess
%(extra)s"""

EXPIRING = "    expire:\n      after: 1d\n      to: ciso\n"
WITHDRAWABLE = "    withdraw_within: 1h\n"


def at_signoff(spec_from_text, extra: str = "", quorum: str = "any") -> Driver:
    d = Driver(spec_from_text(BASE % {"extra": extra, "quorum": quorum}), ai_system())
    d.start()
    d.send("task.created", ENGINEER, step_id="assess", attempt=1, ref="AIMS-1")
    d.complete("assess", ENGINEER, {"score": 12})
    return d


def refused(d: Driver) -> str:
    t = d.transitions[-1]
    assert d.kinds(t) == ["approval.refused"], d.kinds(t)
    return t.evidence[0].payload["reason"]


# -- expiry ------------------------------------------------------------------------------------
def test_an_undecided_request_expires_and_goes_to_the_alternate_role(spec_from_text):
    d = at_signoff(spec_from_text, EXPIRING)
    first = d.run.approval.approval_id
    # due after 2 days, expiring 1 day later: nothing happens at the due date but "overdue"
    assert d.kinds(d.tick(days=2)) == ["approval.overdue"]
    t = d.tick(days=1)
    assert d.kinds(t) == ["approval.expired", "approval.requested"]
    expired = t.evidence[0].payload
    assert expired["approval_id"] == first and expired["escalated_to"] == "ciso"
    assert expired["approvers"] == ["risk_owner"] and expired["decided"] == []
    assert expired["due_at"] == "2026-01-07T09:00:00.000000Z"
    asked_again = t.evidence[1].payload
    assert asked_again["approvers"] == ["ciso"] and asked_again["escalated_from"] == first
    close, request = t.commands
    assert isinstance(close, CloseApproval) and close.outcome == "expired"
    assert close.approval_id == first and close.escalated_to == "ciso"
    assert isinstance(request, RequestApproval) and request.approvers == ("ciso",)
    assert request.escalated_from == first and request.approval_id != first
    # not a rejection: the run did not go back to the work, and nothing was closed as rejected
    assert d.run.current == "signoff" and not any(e.kind == "approval.closed" for e in d.evidence)


def test_after_the_expiry_only_the_alternate_decides_and_the_old_request_is_closed(
    spec_from_text,
):
    d = at_signoff(spec_from_text, EXPIRING)
    first = d.run.approval.approval_id
    d.tick(days=3)
    second = d.run.approval
    d.send(
        "approval.decided",
        RISK_OWNER,
        approval_id=first,
        decision="approve",
        reason="late",
        closed_note="this request expired at 2026-01-08 09:00 UTC without a decision",
    )
    assert "expired" in refused(d)
    d.decide(RISK_OWNER)
    assert refused(d).startswith("you are not an approver of this step (approvers: ciso)")
    t = d.decide(CISO, reason="accepted as the alternate approver")
    assert d.kinds(t)[:2] == ["approval.decided", "approval.closed"]
    assert t.evidence[1].payload["approval_id"] == second.approval_id
    assert d.run.status == "completed"


def test_the_alternates_request_does_not_expire_again(spec_from_text):
    d = at_signoff(spec_from_text, EXPIRING)
    d.tick(days=3)
    d.tick(days=30)
    assert [e.kind for e in d.evidence].count("approval.expired") == 1
    assert d.run.approval is not None and d.run.approval.approvers == ["ciso"]


def test_expire_needs_a_due_date_and_an_alternate(spec_from_text):
    import pytest

    from aims_workflows.errors import SpecError

    no_due = (BASE % {"extra": EXPIRING, "quorum": "any"}).replace("    due: 2d\n", "")
    with pytest.raises(SpecError, match="'expire' needs 'due'"):
        spec_from_text(no_due)
    no_alternate = BASE % {"extra": "    expire:\n      after: 1d\n", "quorum": "any"}
    with pytest.raises(SpecError, match="set 'expire.to' or 'escalate.to'"):
        spec_from_text(no_alternate)
    # escalate.to is the alternate when expire.to is not given
    escalating = BASE % {
        "extra": "    escalate:\n      after: 1d\n      to: ciso\n    expire: {}\n",
        "quorum": "any",
    }
    d = Driver(spec_from_text(escalating), ai_system())
    assert d.spec.step("signoff").alternate == "ciso"


# -- withdraw window ---------------------------------------------------------------------------
def test_a_decision_takes_effect_only_after_the_withdraw_window(spec_from_text):
    d = at_signoff(spec_from_text, WITHDRAWABLE)
    t = d.decide(RISK_OWNER, reason="acceptable")
    assert d.kinds(t) == ["approval.decided"] and d.run.current == "signoff"
    assert [x.kind for x in d.run.timers if x.kind == "settle"] == ["settle"]
    assert d.send("timer.tick").ignored  # nothing due yet
    d.later(minutes=59)
    assert d.send("timer.tick").ignored
    t = d.tick(minutes=1)
    assert d.kinds(t)[0] == "approval.closed" and d.run.status == "completed"


def test_a_withdrawal_is_appended_and_reopens_the_request(spec_from_text):
    d = at_signoff(spec_from_text, WITHDRAWABLE)
    approval_id = d.run.approval.approval_id
    d.decide(RISK_OWNER, reason="acceptable")
    d.later(minutes=30)
    t = d.decide(RISK_OWNER, decision="withdraw", reason="I misread the score")
    assert d.kinds(t) == ["approval.withdrawn"]
    withdrawn = t.evidence[0].payload
    assert withdrawn == {
        "approval_id": approval_id,
        "person": RISK_OWNER.id,
        "decision": "approve",
        "decided_at": "2026-01-05T09:00:00.000000Z",
        "reason": "I misread the score",
    }
    [reopen] = t.commands
    assert isinstance(reopen, ReopenApproval) and reopen.person == RISK_OWNER.id
    # both rows stay in the chain; the request is open, with no decision and nothing to settle
    assert [e.kind for e in d.evidence].count("approval.decided") == 1
    assert d.run.approval.decisions == [] and not any(x.kind == "settle" for x in d.run.timers)
    assert d.tick(hours=2).ignored
    # the approver decides again, and that decision gets its own window
    t = d.decide(RISK_OWNER, decision="reject", reason="the score is too high after all")
    assert d.kinds(t) == ["approval.decided"]
    t = d.tick(hours=1)
    assert d.kinds(t)[0] == "approval.closed" and t.evidence[0].payload["outcome"] == "rejected"
    assert d.run.current == "assess"


def test_withdrawing_after_the_window_or_without_a_decision_is_refused(spec_from_text):
    d = at_signoff(spec_from_text, "    withdraw_within: 1h\n", quorum="2")
    d.decide(RISK_OWNER, decision="withdraw", reason="changed my mind")
    assert refused(d) == "you have no decision on this request to withdraw"
    d.decide(RISK_OWNER, reason="fine")
    d.later(minutes=61)
    d.decide(RISK_OWNER, decision="withdraw", reason="changed my mind")
    assert refused(d) == (
        "your decision of 2026-01-05T09:00:00.000000Z could be withdrawn until "
        "2026-01-05T10:00:00.000000Z (1h after it); it stands"
    )
    d.decide(RISK_OWNER, decision="withdraw", reason="  ")
    assert "could be withdrawn until" in refused(d)  # the window is checked before the reason


def test_withdrawing_needs_a_reason_and_a_window_on_the_step(spec_from_text):
    d = at_signoff(spec_from_text, WITHDRAWABLE)
    d.decide(RISK_OWNER, reason="fine")
    d.decide(RISK_OWNER, decision="withdraw", reason=" ")
    assert refused(d) == "a reason is required to withdraw a decision"
    plain = at_signoff(spec_from_text, "", quorum="2")
    plain.decide(RISK_OWNER, reason="fine")
    plain.decide(RISK_OWNER, decision="withdraw", reason="oops")
    assert refused(plain) == (
        "decisions on 'signoff' cannot be withdrawn: the workflow sets no withdraw_within "
        "on this step"
    )


def test_a_closed_request_cannot_be_withdrawn(spec_from_text):
    d = at_signoff(spec_from_text, WITHDRAWABLE)
    approval_id = d.run.approval.approval_id
    d.decide(RISK_OWNER, reason="fine")
    d.tick(hours=1)
    d.send(
        "approval.decided",
        RISK_OWNER,
        approval_id=approval_id,
        decision="withdraw",
        reason="oops",
        closed_note="this request was already approved by rita; your decision was not recorded",
    )
    assert refused(d) == (
        "this request was already approved by rita; the workflow has acted on it, so a "
        "decision on it can no longer be withdrawn"
    )


def test_a_decision_in_its_window_at_the_expiry_is_not_expired_unless_withdrawn(spec_from_text):
    d = at_signoff(spec_from_text, EXPIRING + WITHDRAWABLE)
    d.later(days=3, minutes=-30)
    d.decide(RISK_OWNER, reason="just in time")
    t = d.tick(minutes=30)  # the expiry is due, the decision's window is not over
    assert "approval.expired" not in d.kinds(t)
    t = d.tick(minutes=30)
    assert d.kinds(t)[0] == "approval.closed" and d.run.status == "completed"

    w = at_signoff(spec_from_text, EXPIRING + WITHDRAWABLE)
    w.later(days=3, minutes=-30)
    w.decide(RISK_OWNER, reason="just in time")
    w.tick(minutes=40)
    w.decide(RISK_OWNER, decision="withdraw", reason="on second thoughts")
    t = w.tick(minutes=30)
    assert w.kinds(t) == ["approval.expired", "approval.requested"]


# -- a delegate in a quorum of 'all' -------------------------------------------------------------
ROSA = Actor("rosa@example.com", "slack", ("risk_owner",))
RITA = RISK_OWNER
DAN = Actor("dan@example.com", "slack", (), acts_for=(("rosa@example.com", "risk_owner"),))


def test_a_delegate_fills_the_holders_place_in_a_quorum_of_all(spec_from_text):
    d = at_signoff(spec_from_text, quorum="all")
    holders = [RITA.id, ROSA.id]  # the runtime names the holders, not their delegates
    t = d.decide(DAN, reason="for Rosa, who is away", eligible=holders)
    assert d.kinds(t) == ["approval.decided"]
    assert t.evidence[0].payload["on_behalf_of"] == ROSA.id
    d.decide(ROSA, reason="me too", eligible=holders)
    assert refused(d) == ("dan@example.com already decided on this request for you (a delegation)")
    t = d.decide(RITA, reason="agreed", eligible=holders)
    assert d.kinds(t)[:2] == ["approval.decided", "approval.closed"]
    assert d.run.status == "completed"


def test_a_delegate_is_not_one_more_approver_when_the_holder_has_not_decided(spec_from_text):
    d = at_signoff(spec_from_text, quorum="all")
    holders = [RITA.id, ROSA.id]
    d.decide(RITA, reason="fine", eligible=holders)
    t = d.decide(DAN, reason="for Rosa", eligible=holders)
    assert d.kinds(t)[:2] == ["approval.decided", "approval.closed"]
    # with three decisions needed by count, two places are still two
    n = at_signoff(spec_from_text, quorum="3")
    n.decide(ROSA, reason="fine", eligible=holders)
    n.decide(RITA, reason="fine", eligible=holders)
    n.decide(DAN, reason="for Rosa", eligible=holders)
    assert "already decided" in refused(n)


# -- step-up -------------------------------------------------------------------------------------
STEP_UP = '    step_up:\n      when: "assess.score > 15"\n      confirm_in: jira\n'
RITA_IN_JIRA = Actor(RISK_OWNER.id, "jira", ("risk_owner",), assurance="verified by jira")


def high_risk(spec_from_text, score: int = 20, extra: str = "") -> Driver:
    d = Driver(spec_from_text(BASE % {"extra": STEP_UP + extra, "quorum": "any"}), ai_system())
    d.start()
    d.send("task.created", ENGINEER, step_id="assess", attempt=1, ref="AIMS-1")
    d.complete("assess", ENGINEER, {"score": score})
    return d


def test_an_approval_above_the_threshold_waits_for_the_same_person_in_jira(spec_from_text):
    from aims_workflows.engine.commands import AskStepUp, Notify

    d = high_risk(spec_from_text)
    request = d.transitions[-1].commands[-1]
    assert isinstance(request, RequestApproval) and request.step_up
    assert request.step_up_rule == (
        "assess.score > 15 (assess.score = 20): above the threshold: an approval needs a "
        "confirmation in Jira"
    )
    assert d.transitions[-1].evidence[-1].payload["step_up"] == "assess.score > 15"
    approval_id = d.run.approval.approval_id
    t = d.decide(RISK_OWNER, reason="residual risk accepted", ref="slack:view:V1")
    assert d.kinds(t) == ["approval.step_up_requested"]
    asked = t.evidence[0].payload
    assert asked["person"] == RISK_OWNER.id and asked["issues"] == ["AIMS-1"]
    assert asked["code"] == f"aims confirm {approval_id}"
    ask, notice = t.commands
    assert isinstance(ask, AskStepUp) and ask.issues == ("AIMS-1",)
    assert isinstance(notice, Notify) and notice.people == (RISK_OWNER.id,)
    assert f"aims confirm {approval_id}" in notice.message
    assert d.run.current == "signoff"

    # a second click is told to confirm; someone else in Jira, or a "confirmation" through
    # Slack, does not count
    d.decide(RISK_OWNER, reason="again")
    assert "counts once you confirm it in Jira" in refused(d)
    d.decide(RISK_OWNER, decision="confirm", reason="aims confirm")
    assert refused(d).startswith("a step-up is confirmed in Jira under your own account")
    ciso_in_jira = Actor(CISO.id, "jira", ("ciso",), assurance="verified by jira")
    d.decide(ciso_in_jira, decision="confirm", reason="aims confirm")
    assert "only the person who approved in Slack can confirm it" in refused(d)

    t = d.decide(RITA_IN_JIRA, decision="confirm", reason="comment", ref="AIMS-1#comment-7")
    assert d.kinds(t)[:2] == ["approval.decided", "approval.closed"]
    decided = t.evidence[0]
    assert decided.via == "jira" and decided.payload["reason"] == "residual risk accepted"
    assert decided.payload["assurance"].startswith(
        "stepped up: verified by jira (AIMS-1#comment-7)"
    )
    assert "slack:view:V1" in decided.payload["assurance"]
    assert d.run.status == "completed"


def test_below_the_threshold_and_rejections_count_at_once(spec_from_text):
    low = high_risk(spec_from_text, score=10)
    assert not low.run.approval.step_up
    assert low.transitions[-1].commands[-1].step_up_rule == (
        "assess.score > 15 (assess.score = 10): below the threshold: no confirmation needed"
    )
    t = low.decide(RISK_OWNER, reason="fine")
    assert low.kinds(t)[:2] == ["approval.decided", "approval.closed"]
    high = high_risk(spec_from_text)
    t = high.decide(RISK_OWNER, decision="reject", reason="too risky")
    assert high.kinds(t)[:2] == ["approval.decided", "approval.closed"]
    assert high.run.current == "assess"


def test_step_up_condition_is_checked_like_any_expression(spec_from_text):
    import pytest

    from aims_workflows.errors import SpecError

    bad = (BASE % {"extra": STEP_UP, "quorum": "any"}).replace("assess.score", "assess.scor")
    with pytest.raises(SpecError, match="step_up"):
        spec_from_text(bad)
