"""The engine step by step: tasks, decisions, records, notifications, spawns, waits, timers,
cancellation, subject changes, stale events, failures, and the persisted state.

Every test drives runs through :class:`conftest.Driver`, which saves and reloads the state after
every event and checks purity, determinism and the evidence chain on the way.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from pydantic import ValidationError

from aims_workflows.engine import (
    SCHEMA_VERSION,
    CancelRun,
    ChildCompleted,
    StartRun,
    SubjectChanged,
    TaskCompleted,
    TaskCreated,
    TaskUpdated,
    TimerTick,
    advance,
    check_answers,
    dump_run,
    load_run,
    new_run,
    parse_event,
)
from aims_workflows.engine.commands import (
    CancelTask,
    CloseApproval,
    CloseTask,
    CreateTask,
    EscalateTask,
    NewFinding,
    Notify,
    RefuseAnswers,
    RemindTask,
    ReportRunEnd,
    RequestApproval,
    SpawnRun,
)
from aims_workflows.errors import EngineError
from conftest import (
    AIMS_OWNER,
    AUDITOR,
    CISO,
    ENGINEER,
    OWNER,
    RISK_OWNER,
    T0,
    Driver,
    ai_system,
    finding,
    fixture_spec,
    organisation,
)

LOW = {"likelihood": 1, "impact": 2}


# -- starting ---------------------------------------------------------------------------------


def test_start_records_the_pinned_spec_and_creates_the_first_task(risk):
    d = Driver(risk, ai_system(), inputs={"reason": "annual"})
    assert d.run.status == "new" and d.run.inputs == {"reason": "annual"}
    t = d.start(trigger="ai_system.changed")
    assert d.kinds(t) == ["run.started", "task.requested"]
    started = t.evidence[0].payload
    assert started["spec_hash"] == risk.content_hash and started["version"] == 1
    assert (
        started["evidences"] == ["6.1.2", "8.2", "A.5.2"]
        and started["trigger"] == "ai_system.changed"
    )
    create = t.commands[0]
    assert (create.kind, create.key) == ("task.create", "run-1/assess/1/task")
    assert create.title == "Assess the risks of Chatbot"
    assert create.description == "Tier high"
    assert create.due_at == "2026-01-19T09:00:00.000000Z"
    assert [f.id for f in create.form] == ["likelihood", "impact", "rationale"]
    assert d.run.status == "running" and d.run.current == "assess" and d.run.started_at == T0
    assert d.run.task.key == "run-1/assess/1/task" and d.run.task.attempt == 1
    assert d.start().ignored == "run already started"


def test_new_run_checks_subject_and_inputs(risk):
    with pytest.raises(EngineError, match="runs on a ai_system, not a organisation"):
        new_run(risk.spec, run_id="r", spec_hash=risk.content_hash, subject=organisation())
    with pytest.raises(EngineError, match="has no input"):
        new_run(
            risk.spec,
            run_id="r",
            spec_hash=risk.content_hash,
            subject=ai_system(),
            inputs={"why": 1},
        )
    run = new_run(risk.spec, run_id="r", spec_hash=risk.content_hash, subject=ai_system())
    assert run.inputs == {"reason": None}


def test_advance_refuses_another_spec_version_and_a_naive_clock(risk, spec_from_text):
    d = Driver(risk, ai_system())
    other = spec_from_text(risk.text.replace("version: 1", "version: 2"))
    with pytest.raises(EngineError, match="pinned to risk-assessment v1"):
        advance(other.spec, d.run, StartRun(), T0)
    with pytest.raises(EngineError, match="timezone-aware"):
        advance(risk.spec, d.run, StartRun(), datetime(2026, 1, 1))


# -- tasks ------------------------------------------------------------------------------------


def test_a_task_refuses_bad_answers_and_accepts_a_retry(risk):
    d = Driver(risk, ai_system())
    d.start()
    d.send(
        "task.created", ENGINEER, step_id="assess", attempt=1, ref="AIMS-7", assignee=ENGINEER.id
    )
    assert d.run.task.ref == "AIMS-7" and d.run.task.assignee == ENGINEER.id
    t = d.complete("assess", answers={"likelihood": 9, "impact": "high"}, ref="AIMS-7")
    assert d.kinds(t) == ["task.answers_refused"]
    assert t.evidence[0].payload["problems"] == [
        "Likelihood: must be at most 5, not 9.",
        "Impact: must be a number, not 'high'.",
        "Rationale: an answer is required.",  # its condition reads the answers that are wrong
    ]
    refuse = t.commands[0]
    assert isinstance(refuse, RefuseAnswers) and refuse.ref == "AIMS-7"
    assert d.run.current == "assess" and d.run.task is not None and "assess" not in d.run.data

    t = d.complete("assess", answers={"likelihood": 4, "impact": 3})
    assert t.evidence[0].payload["problems"] == ["Rationale: an answer is required."]
    assert t.commands[0].key != refuse.key  # each refusal is its own comment

    t = d.complete("assess", answers={"likelihood": 4, "impact": 3, "rationale": "  public  "})
    assert d.kinds(t)[0] == "task.completed"
    assert d.run.data["assess"] == {
        "likelihood": 4,
        "impact": 3,
        "rationale": "public",
        "completed_by": ENGINEER.id,
        "issue": "AIMS-7",
    }
    assert d.run.completed_by == {"assess": ENGINEER.id}
    assert all(timer.step_id != "assess" for timer in d.run.timers)
    # the tracker is told, wherever the completion came from, so it can close its issue
    close = next(c for c in t.commands if c.kind == "task.close")
    assert close.key == f"{d.run.run_id}/assess/1/close"
    assert close == CloseTask(
        key=close.key,
        run_id=d.run.run_id,
        step_id="assess",
        attempt=1,
        ref="AIMS-7",
        task_key=f"{d.run.run_id}/assess/1/task",
        by=ENGINEER.id,
        via=ENGINEER.via,
    )


def test_events_for_another_step_or_attempt_are_ignored(risk):
    d = Driver(risk, ai_system())
    d.start()
    assert (
        d.send("task.completed", ENGINEER, step_id="other", answers=LOW).ignored
        == "no open task other (attempt None)"
    )
    assert (
        d.send("task.completed", ENGINEER, step_id="assess", attempt=2, answers=LOW).ignored
        == "no open task assess (attempt 2)"
    )
    assert d.send("task.created", ENGINEER, step_id="assess", attempt=0, ref="X-1").ignored
    assert d.send("child.completed", child_run_id="nobody").ignored == "not waiting for run nobody"
    assert d.run.events_applied == 1


def test_task_reminders_overdue_and_escalation(risk):
    d = Driver(risk, ai_system())
    d.start()
    d.send("task.created", ENGINEER, step_id="assess", attempt=1, ref="AIMS-1")
    assert d.tick(days=1).ignored == "no timer due"
    t = d.tick(days=2)  # day 3
    assert [(c.kind, c.key) for c in t.commands] == [("task.remind", "run-1/assess.1.reminder.0")]
    [remind] = t.commands
    assert isinstance(remind, RemindTask) and remind.ref == "AIMS-1" and remind.to == ("engineer",)
    t = d.tick(days=30)  # everything else at once, in time order
    assert d.kinds(t) == ["task.reminded", "task.overdue", "task.escalated"]
    assert [c.kind for c in t.commands] == ["task.remind", "task.escalate"]
    assert isinstance(t.commands[1], EscalateTask) and t.commands[1].to == ("aims_owner",)
    assert d.run.task.overdue is True and d.run.timers == []
    t = d.complete("assess", answers=LOW)
    assert t.evidence[0].payload["overdue"] is True


# -- decisions, records, notifications ---------------------------------------------------------


@pytest.mark.parametrize(
    "answers, case, goto",
    [
        (
            {"likelihood": 5, "impact": 5, "rationale": "x"},
            0,
            "board_signoff",
        ),  # both cases true: the first wins
        ({"likelihood": 2, "impact": 3}, 1, "signoff"),
        ({"likelihood": 1, "impact": 5}, None, "accept_note"),
    ],
)
def test_decision_takes_the_first_true_case_else_otherwise(risk, answers, case, goto):
    d = Driver(risk, ai_system())
    d.start()
    t = d.complete("assess", answers=answers)
    taken = next(e for e in t.evidence if e.kind == "decision.taken")
    assert taken.payload["case"] == case and taken.payload["goto"] == goto
    assert d.run.visits.get(goto) == 1


def test_record_computes_fields_and_notify_renders(risk):
    d = Driver(risk, ai_system(risk_tier="limited"))
    d.start()
    t = d.complete("assess", answers={"likelihood": 1, "impact": 5})
    recorded = next(e for e in t.evidence if e.kind == "artefact.recorded")
    assert recorded.payload == {
        "artefact": "risk_score",
        "fields": {"value": 5, "tier": "limited"},
        "subject": "sys-1",
    }
    assert d.run.data["score"] == {"value": 5, "tier": "limited"}
    notify = next(c for c in t.commands if c.kind == "notify")
    assert notify.key == "run-1/accept_note/1/notify"
    assert isinstance(notify, Notify) and notify.to == ("system_owner",)
    assert notify.message == "Low risk (5) accepted for Chatbot"
    assert d.kinds(t)[-2:] == ["notification.sent", "run.completed"]
    assert d.run.status == "completed" and d.run.completed_at == T0 and d.run.current is None


# -- spawn ------------------------------------------------------------------------------------


def test_spawn_for_each_raises_findings_and_waits_for_the_children():
    d = Driver(fixture_spec("internal-audit"), organisation(), run_id="audit-1")
    d.start()
    t = d.complete("audit", AUDITOR, answers={"failed_areas": ["risk", "policy"]})
    starts = [c for c in t.commands if c.kind == "run.start"]
    assert [c.key for c in starts] == ["audit-1/raise/1/spawn/1", "audit-1/raise/1/spawn/2"]
    first, second = starts
    assert isinstance(first, SpawnRun) and isinstance(second, SpawnRun)
    assert first.child_run_id == "audit-1.raise1.1" and first.workflow == "nonconformity"
    assert first.run_id == "audit-1"
    assert first.subject is None and first.parent_run_id == "audit-1"
    assert first.finding == NewFinding(
        id="F-audit-1.raise1.1",
        title="Nonconformity in policy",
        severity="minor",
        clause="10.2",
        description=None,
        source="internal-audit/audit-1",
        system=None,
    )
    assert second.finding is not None
    assert second.finding.title == "Nonconformity in risk" and second.finding.severity == "major"
    spawned = next(e for e in t.evidence if e.kind == "run.spawned")
    assert spawned.payload == {
        "workflow": "nonconformity",
        "runs": ["audit-1.raise1.1", "audit-1.raise1.2"],
        "wait": True,
    }
    assert d.run.current == "raise" and [c.status for c in d.run.children] == ["running", "running"]

    t = d.send("child.completed", child_run_id="audit-1.raise1.2", status="completed")
    assert d.kinds(t) == ["child.finished"] and d.run.status == "running"
    assert (
        d.send("child.completed", child_run_id="audit-1.raise1.2").ignored
        == "not waiting for run audit-1.raise1.2"
    )
    t = d.send("child.completed", child_run_id="audit-1.raise1.1", status="cancelled")
    assert d.kinds(t) == ["child.finished", "artefact.recorded", "run.completed"]
    raised = d.run.data["raise"]
    assert (raised["runs"], raised["count"]) == (["audit-1.raise1.1", "audit-1.raise1.2"], 2)
    # the outcomes in the order the runs were started, not the order they ended in
    assert [(o["run_id"], o["status"]) for o in raised["outcomes"]] == [
        ("audit-1.raise1.1", "cancelled"),
        ("audit-1.raise1.2", "completed"),
    ]
    assert d.run.data["summary"] == {"findings": 2}
    assert d.run.children == []


def test_spawn_over_an_empty_list_moves_on():
    d = Driver(fixture_spec("internal-audit"), organisation())
    d.start()
    t = d.complete("audit", AUDITOR, answers={})
    # an optional field left blank reads as none, so 'audit.failed_areas or []' works
    assert d.run.data["audit"]["failed_areas"] is None
    assert [c.kind for c in t.commands] == ["task.close", "run.completed"]
    assert d.run.data["raise"] == {"runs": [], "count": 0, "outcomes": []}
    assert d.run.data["summary"] == {"findings": 0}


def test_spawn_fire_and_forget_passes_inputs_and_the_subject():
    d = Driver(fixture_spec("change-review"), ai_system(model_type="gpt"))
    t = d.start()
    start, notify = t.commands[:2]
    assert isinstance(start, SpawnRun) and isinstance(notify, Notify)
    assert start.inputs == {"reason": "model changed: gpt"}
    assert start.subject is not None and start.subject.id == "sys-1"
    assert start.parent_run_id is None and start.finding is None
    assert notify.message == "Reassessment started for Chatbot (1 run)"
    assert d.run.status == "completed"


def test_spawn_for_each_that_is_not_a_list_fails_the_run(spec_from_text):
    loaded = spec_from_text("""id: bad-list
version: 1
title: T
subject: ai_system
steps:
  - id: many
    kind: spawn
    workflow: other
    for_each: "subject.risk_tier"
""")
    d = Driver(loaded, ai_system())
    t = d.start()
    assert d.run.status == "failed"
    assert d.run.failure == "for_each 'subject.risk_tier' gave str, not a list"
    assert d.kinds(t) == ["run.started", "run.failed"]


# -- wait -------------------------------------------------------------------------------------


def test_wait_then_continue_and_loop_back_until_effective():
    d = Driver(fixture_spec("nonconformity"), finding(), run_id="nc-1", parent_run_id="audit-1")
    d.start()
    assert d.run.task.step_id == "correct"
    t = d.complete("correct", AIMS_OWNER, answers={"action": "retrain the reviewers"})
    assert d.kinds(t) == ["task.completed", "wait.started"]
    assert t.evidence[1].payload == {
        "until": "2026-02-04T09:00:00.000000Z",
        "duration_seconds": 30 * 86400,
    }
    assert [(x.timer_id, x.kind, x.fire_at) for x in d.run.timers] == [
        ("settle.1.wait", "wait", T0 + timedelta(days=30))
    ]
    assert d.run.task is None and d.run.current == "settle"
    assert d.tick(days=29).ignored == "no timer due"
    t = d.tick(days=1)
    assert d.kinds(t) == ["wait.ended", "task.requested"] and d.run.current == "check"
    t = d.complete("check", AUDITOR, answers={"effective": "no"})
    assert d.run.current == "correct" and d.run.task.attempt == 2
    create = t.commands[-1]
    assert isinstance(create, CreateTask) and create.previous_answers is not None
    assert create.previous_answers["action"] == "retrain the reviewers"
    d.complete("correct", AIMS_OWNER, answers={"action": "replace the model"})
    assert d.run.timers[0].timer_id == "settle.2.wait"
    d.tick(days=30)
    t = d.complete("check", AUDITOR, answers={"effective": True})
    assert d.run.status == "completed"
    completed = t.commands[-1]
    assert isinstance(completed, ReportRunEnd) and completed.parent_run_id == "audit-1"


# -- cancel, subject changes, closed runs ------------------------------------------------------


def test_cancel_closes_the_open_work(risk):
    d = Driver(risk, ai_system())
    d.start()
    d.send("task.created", ENGINEER, step_id="assess", attempt=1, ref="AIMS-1")
    t = d.later(days=1).send("run.cancel", AIMS_OWNER, reason="system retired")
    assert [c.kind for c in t.commands] == ["task.cancel", "run.completed"]
    assert t.commands[0] == CancelTask(
        key="run-1/assess/1/cancel",
        run_id="run-1",
        ref="AIMS-1",
        task_key="run-1/assess/1/task",
        reason="system retired",
    )
    assert isinstance(t.commands[1], ReportRunEnd) and t.commands[1].status == "cancelled"
    assert d.kinds(t) == ["run.cancelled"] and t.evidence[0].actor == AIMS_OWNER.id
    assert d.run.status == "cancelled" and d.run.task is None and d.run.timers == []
    # a closed run ignores everything but decisions, which are refused with a reason
    for late in (
        CancelRun(),
        TimerTick(),
        TaskCompleted(step_id="assess", answers=LOW),
        TaskCreated(step_id="assess", attempt=1, ref="AIMS-1"),
        TaskUpdated(step_id="assess", answers=LOW),
        SubjectChanged(name="Chatbot", owner=None),
        StartRun(),
        ChildCompleted(child_run_id="run-1.x1.1"),
    ):
        assert d.send_event(late).ignored == "run is cancelled"


def test_cancel_during_an_approval_closes_the_request(risk):
    d = Driver(risk, ai_system())
    d.start()
    d.complete("assess", answers={"likelihood": 2, "impact": 3})
    approval_id = d.run.approval.approval_id
    t = d.send("run.cancel")
    assert t.commands[0] == CloseApproval(
        key=f"run-1/{approval_id}/close",
        run_id="run-1",
        approval_id=approval_id,
        outcome="cancelled",
        decisions=(),
    )
    assert t.evidence[0].payload == {"reason": "cancelled"}


def test_subject_changed_updates_what_later_steps_see(risk):
    d = Driver(risk, ai_system())
    d.start()
    t = d.send(
        "subject.changed",
        name="Chatbot v2",
        owner="new@example.com",
        attributes={"risk_tier": "limited"},
    )
    assert d.run.subject.name == "Chatbot v2" and d.run.subject.owner == "new@example.com"
    assert d.run.subject.attributes == {"risk_tier": "limited", "model_type": "llm"}
    assert d.run.subject.id == "sys-1" and t.ignored is None
    d.complete("assess", answers={"likelihood": 2, "impact": 3})
    assert d.run.data["score"]["tier"] == "limited"
    request = next(c for c in d.transitions[-1].commands if c.kind == "approval.request")
    assert isinstance(request, RequestApproval)
    assert request.exclude == (ENGINEER.id, "new@example.com")


# -- failures -------------------------------------------------------------------------------


def test_an_expression_that_fails_at_run_time_fails_the_run(spec_from_text):
    loaded = spec_from_text("""id: divides
version: 1
title: Divides
subject: ai_system
steps:
  - id: ask
    kind: task
    role: engineer
    title: t
    form: [{id: n, type: number, label: N}]
  - id: ratio
    kind: record
    artefact: ratio
    fields:
      value: "10 / ask.n"
""")
    d = Driver(loaded, ai_system())
    d.start()
    d.send("task.created", ENGINEER, step_id="ask", attempt=1, ref="AIMS-3")
    t = d.complete("ask", answers={"n": 0})
    assert d.kinds(t) == ["task.completed", "run.failed"]
    assert t.evidence[1].payload == {
        "reason": "'10 / ask.n' failed: division by zero",
        "step": "ratio",
    }
    assert [c.kind for c in t.commands] == ["task.close", "notify"]
    assert isinstance(t.commands[1], Notify) and t.commands[1].to == ("aims_owner",)
    assert d.run.status == "failed" and d.run.failure == "'10 / ask.n' failed: division by zero"
    assert d.run.timers == []
    assert d.tick(days=100).ignored == "run is failed"


def test_a_value_that_cannot_be_evidence_fails_the_run(spec_from_text):
    loaded = spec_from_text("""id: odd-value
version: 1
title: T
subject: ai_system
steps:
  - id: rec
    kind: record
    artefact: x
    fields:
      r: "range(3)"
""")
    d = Driver(loaded, ai_system())
    d.start()
    assert d.run.status == "failed" and d.run.failure.startswith(
        "record 'rec': cannot put range in evidence"
    )


def test_a_template_that_fails_fails_the_run(spec_from_text):
    loaded = spec_from_text("""id: tmpl
version: 1
title: T
subject: ai_system
steps:
  - id: tell
    kind: notify
    to: [aims_owner]
    message: "{{ subject.name ~ (1 / 0) }}"
""")
    d = Driver(loaded, ai_system())
    t = d.start()
    assert d.run.status == "failed" and "division by zero" in d.run.failure
    assert [c.kind for c in t.commands] == ["notify"] and t.commands[0].key == "run-1/failed/0"


def test_a_loop_of_automatic_steps_is_stopped(spec_from_text):
    loaded = spec_from_text("""id: spins
version: 1
title: T
subject: ai_system
steps:
  - id: again
    kind: decision
    cases:
      - when: "subject.risk_tier == 'never'"
        goto: end
    otherwise: again
""")
    d = Driver(loaded, ai_system())
    d.start()
    assert d.run.status == "failed" and "more than 500 automatic steps" in d.run.failure


# -- persisted state -----------------------------------------------------------------------


def test_load_run_refuses_an_unknown_schema_version(risk):
    d = Driver(risk, ai_system())
    d.start()
    stored = json.loads(dump_run(d.run))
    assert stored["schema_version"] == SCHEMA_VERSION
    stored["schema_version"] = SCHEMA_VERSION + 1
    with pytest.raises(EngineError) as caught:
        load_run(json.dumps(stored))
    assert str(caught.value) == (
        f"run run-1 has state schema_version {SCHEMA_VERSION + 1}; this version of aims-workflows "
        f"reads versions up to {SCHEMA_VERSION} "
        "(upgrade aims-workflows to the release that stored it or a later one)"
    )


def test_next_wake_at_is_the_earliest_timer(risk):
    d = Driver(risk, ai_system())
    assert d.run.next_wake_at is None
    d.start()
    assert d.run.next_wake_at == T0 + timedelta(days=3)


def test_advance_never_mutates_its_input(risk):
    d = Driver(risk, ai_system())
    d.start()
    run = d.run
    snapshot = run.model_copy(deep=True)
    completed = TaskCompleted(actor=ENGINEER, step_id="assess", attempt=1, answers=LOW)
    t = advance(risk.spec, run, completed, T0)
    assert run == snapshot and t.run != run and t.run.status == "completed"
    t = advance(risk.spec, run, CancelRun(), T0)
    assert run == snapshot and run.status == "running"


def test_a_decision_by_an_approver_in_two_roles_is_one_decision(risk):
    d = Driver(risk, ai_system())
    d.start()
    d.complete("assess", answers={"likelihood": 2, "impact": 3})
    both = CISO.__class__(CISO.id, "slack", ("ciso", "risk_owner"))
    t = d.decide(both)
    assert d.run.data["signoff"]["decided_by"] == [CISO.id] and d.run.status == "completed"
    assert t.evidence[0].payload["checks"] == [
        "approver_role",
        "segregation_of_duties",
        "content_hash",
        "single_decision",
        "reason",
    ]


def test_a_failing_approval_leaves_no_half_open_request(spec_from_text):
    loaded = spec_from_text("""id: show-fails
version: 1
title: T
subject: ai_system
steps:
  - id: ask
    kind: task
    role: engineer
    title: t
    form: [{id: n, type: number, label: N}]
  - id: ok
    kind: approval
    approvers: [risk_owner]
    show:
      Ratio: "10 / ask.n"
    due: 1d
    on_reject: end
""")
    d = Driver(loaded, ai_system())
    d.start()
    t = d.complete("ask", answers={"n": 0})
    assert (
        d.run.status == "failed"
        and d.run.approval is None
        and d.run.task is None
        and d.run.timers == []
    )
    assert "approval.request" not in [c.kind for c in t.commands]
    d.decide(RISK_OWNER)
    assert d.kinds() == ["approval.refused"]


@pytest.mark.parametrize(
    "fields, where",
    [
        (
            {"kind": "task.created", "step_id": "assess", "attempt": 1, "assignee": ["x"]},
            "assignee",
        ),
        (
            {"kind": "subject.changed", "name": "n", "owner": None, "attributes": ["r"]},
            "attributes",
        ),
        ({"kind": "subject.changed", "name": None, "owner": None}, "name"),
        ({"kind": "subject.changed", "name": "Chatbot"}, "owner"),
        ({"kind": "task.completed", "step_id": "assess", "answers": ["likelihood", 3]}, "answers"),
        ({"kind": "child.completed", "child_run_id": "a.b1.1", "status": "exploded"}, "status"),
        ({"kind": "approval.decided", "approval_id": 7, "decision": "approve"}, "approval_id"),
        ({"kind": "timer.tick", "step_id": "assess"}, "step_id"),
        ({"kind": "task.finished", "step_id": "assess"}, "kind"),
    ],
)
def test_malformed_events_are_refused_where_they_are_made(fields, where):
    with pytest.raises(ValidationError) as refused:
        parse_event(fields)
    assert where in str(refused.value)


def test_a_mapping_that_is_not_answers_is_still_refused_by_the_form_check(risk):
    d = Driver(risk, ai_system())
    d.start()
    clean, problems = check_answers(
        risk.spec.step("assess").form, ["likelihood", 3], step_id="assess", context={}
    )
    assert clean == {} and problems == ["the answers must be named fields, not list."]


def test_subject_changes_are_evidence(risk):
    d = Driver(risk, ai_system())
    d.start()
    t = d.send(
        "subject.changed", AIMS_OWNER, ref="inventory-42", name="Chatbot", owner="new@example.com"
    )
    assert d.kinds(t) == ["subject.changed"]
    record = t.evidence[0]
    assert record.actor == AIMS_OWNER.id and record.ref == "inventory-42"
    assert (
        record.payload["before"]["owner"] == OWNER.id
        and record.payload["after"]["owner"] == "new@example.com"
    )
