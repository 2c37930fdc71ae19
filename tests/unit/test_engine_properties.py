"""Properties of ``advance`` over random event sequences on the fixture workflows.

Events are drawn from every kind, some aimed at what the run is waiting for (the open task,
the current approval with its hash, a running child) and some implausible (wrong step, junk
data, strangers), while time only moves forward. After every event the driver checks purity,
determinism, the JSON round trip and the evidence chain; here we also check the state is
coherent. Finally, tampering with any one chained row is detected.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from aims_workflows.engine import verify_chain
from aims_workflows.errors import EngineError
from aims_workflows.spec.model import ApprovalStep, SpawnStep, TaskStep, WaitStep
from conftest import (
    AIMS_OWNER,
    AUDITOR,
    BOARD,
    CISO,
    ENGINEER,
    ENGINEER_2,
    OWNER,
    RISK_OWNER,
    STRANGER,
    Driver,
    ai_system,
    finding,
    fixture_spec,
    organisation,
)

PEOPLE = [ENGINEER, ENGINEER_2, RISK_OWNER, CISO, OWNER, AUDITOR, AIMS_OWNER, STRANGER, *BOARD]
WORKFLOWS = {
    "risk-assessment": ai_system,
    "internal-audit": organisation,
    "nonconformity": finding,
}
KINDS = (
    ["task.completed"] * 4
    + ["approval.decided"] * 4
    + ["timer.tick"] * 3
    + ["task.created", "task.updated"] * 2
    + ["child.completed"] * 2
    + ["subject.changed", "run.start", "run.cancel"]
)
JUNK = st.one_of(
    st.none(),
    st.integers(-5, 10),
    st.text(max_size=8),
    st.booleans(),
    st.lists(st.integers(), max_size=2),
    st.floats(allow_nan=True),
)


def answer_for(field):
    plausible = {
        "number": st.integers(0, 6),
        "choice": st.sampled_from(field.choices or ("x",)),
        "multi_choice": st.lists(st.sampled_from(field.choices or ("x",)), max_size=3),
        "bool": st.sampled_from([True, False, "yes", "no"]),
        "text": st.sampled_from(["because", "  ", "x" * 3]),
    }.get(field.type, st.text(max_size=5))
    return st.one_of(plausible, plausible, JUNK)


def draw_answers(data, step):
    if not isinstance(step, TaskStep) or data.draw(st.integers(0, 9)) == 0:
        return data.draw(st.one_of(JUNK, st.dictionaries(st.text(max_size=4), JUNK, max_size=2)))
    answers = {}
    for field in step.form:
        if data.draw(st.integers(0, 5)):
            answers[field.id] = data.draw(answer_for(field))
    return answers


def draw_event(data, d: Driver):
    """(kind, actor, fields) for the next event, mostly aimed at what the run waits for."""
    spec, run = d.spec, d.run
    kind = data.draw(st.sampled_from(KINDS))
    actor = data.draw(st.sampled_from(PEOPLE))
    aimed = data.draw(st.integers(0, 4)) > 0
    step_ids = [s.id for s in spec.steps] + ["nope"]
    if kind in ("task.completed", "task.created", "task.updated"):
        if aimed and run.task is not None:
            step_id, attempt = run.task.step_id, run.task.attempt
        elif aimed and kind == "task.updated" and run.data:
            step_id, attempt = data.draw(st.sampled_from(sorted(run.data))), None
        else:
            step_id = data.draw(st.sampled_from(step_ids))
            attempt = data.draw(st.one_of(st.none(), st.integers(0, 3)))
        step = spec.step(step_id) if step_id in {s.id for s in spec.steps} else None
        fields = {
            "step_id": step_id,
            "attempt": attempt,
            "ref": data.draw(st.sampled_from([None, "AIMS-1", "AIMS-2"])),
        }
        if kind == "task.updated":
            del fields["attempt"]  # an edit is about the answers kept, not a visit
        if kind == "task.created":
            fields["assignee"] = data.draw(
                st.one_of(st.sampled_from([p.id for p in PEOPLE]), st.none(), JUNK)
            )
        else:
            fields["answers"] = draw_answers(data, step)
        return kind, actor, fields
    if kind == "approval.decided":
        approval = run.approval
        fields = {
            "approval_id": approval.approval_id
            if aimed and approval
            else data.draw(st.one_of(JUNK, st.just("run-1.signoff.1.1"))),
            "content_hash": approval.content_hash if aimed and approval else data.draw(JUNK),
            "decision": data.draw(st.sampled_from(["approve", "approve", "reject", "maybe"])),
            "reason": data.draw(st.sampled_from(["ok", "risk understood", "", "  ", None])),
            "ref": data.draw(st.sampled_from([None, "slack-1"])),
        }
        if data.draw(st.booleans()):
            fields["eligible"] = data.draw(
                st.one_of(st.lists(st.sampled_from([p.id for p in PEOPLE]), max_size=4), JUNK)
            )
        return kind, actor, fields
    if kind == "child.completed":
        running = [c.run_id for c in run.children]
        run_id = (
            data.draw(st.sampled_from(running))
            if aimed and running
            else data.draw(st.one_of(JUNK, st.just("x")))
        )
        status = data.draw(
            st.sampled_from(["completed", "completed", "cancelled", "failed", "exploded", None])
        )
        return kind, None, {"child_run_id": run_id, "status": status}
    if kind == "subject.changed":
        if aimed:
            fields = {
                "name": run.subject.name,
                "owner": run.subject.owner,
                "attributes": {
                    "risk_tier": data.draw(st.sampled_from(["high", "limited", "minimal"]))
                },
            }
            if data.draw(st.booleans()):
                fields["owner"] = data.draw(st.sampled_from([p.id for p in PEOPLE]))
        else:
            fields = {
                "name": data.draw(JUNK),
                "owner": data.draw(JUNK),
                "attributes": data.draw(JUNK),
            }
        return kind, None, fields
    if kind == "run.cancel":
        return kind, actor, {"reason": data.draw(st.one_of(st.none(), st.text(max_size=10)))}
    return kind, None, {}


def check_coherent(d: Driver) -> None:
    run, spec = d.run, d.spec
    if not run.is_open:
        assert run.task is None and run.approval is None and run.timers == []
        if run.status == "completed":
            assert run.current is None and run.children == []
        assert (run.completed_at is not None) == (run.status != "failed")
        assert (run.failure is not None) == (run.status == "failed")
        return
    if run.status == "new":
        assert (
            run.current is None and run.task is None and run.approval is None and run.timers == []
        )
        return
    step = spec.step(run.current)
    assert all(t.step_id == run.current for t in run.timers), "timers only for the current step"
    assert len({t.timer_id for t in run.timers}) == len(run.timers)
    if isinstance(step, TaskStep):
        assert (
            run.task is not None
            and run.task.step_id == step.id
            and run.task.attempt == run.visits[step.id]
        )
        assert run.approval is None and run.children == []
        assert {t.kind for t in run.timers} <= {"reminder", "due", "escalate"}
    elif isinstance(step, ApprovalStep):
        assert run.approval is not None and run.approval.step_id == step.id and run.task is None
        assert {t.kind for t in run.timers} <= {"reminder", "due", "escalate"}
    elif isinstance(step, WaitStep):
        assert (
            [t.kind for t in run.timers] == ["wait"] and run.task is None and run.approval is None
        )
    elif isinstance(step, SpawnStep):
        assert run.children and any(c.status == "running" for c in run.children)
        assert run.task is None and run.approval is None and run.timers == []
    else:
        raise AssertionError(f"an open run cannot rest on a {type(step).__name__}")


def play(data, name: str) -> Driver:
    d = Driver(fixture_spec(name), WORKFLOWS[name]())
    d.start()
    check_coherent(d)
    for _ in range(data.draw(st.integers(1, 25))):
        kind, actor, fields = draw_event(data, d)
        d.later(hours=data.draw(st.sampled_from([0, 0, 1, 30, 24 * 3, 24 * 31])))
        try:
            d.send(kind, actor, **fields)
        except ValidationError:
            continue  # junk is refused where the event is made: the engine never sees it
        except EngineError:
            # an event the run cannot accept is refused whole; the driver kept the old state
            continue
        check_coherent(d)
        if kind == "timer.tick":
            assert all(t.fire_at > d.now for t in d.run.timers), "a due timer survived a tick"
    return d


_settings = settings(
    max_examples=int(__import__("os").environ.get("PROP_N", "70")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@_settings
@given(st.data(), st.sampled_from(sorted(WORKFLOWS)))
def test_random_histories_keep_the_state_valid_and_the_chain_verifying(data, name):
    d = play(data, name)
    assert verify_chain(d.rows) is None
    assert [r.seq for r in d.rows] == list(range(1, len(d.rows) + 1))


@_settings
@given(st.data(), st.sampled_from(sorted(WORKFLOWS)))
def test_tampering_with_any_single_row_is_detected(data, name):
    d = play(data, name)
    rows = list(d.rows)
    assert len(rows) >= 2  # run.started and what the first step did
    i = data.draw(st.integers(0, len(rows) - 1))

    edited = list(rows)
    row = rows[i]
    edited[i] = dataclasses.replace(
        row, payload=row.payload.replace("}", ',"x":1}', 1) if row.payload != "{}" else '{"x":1}'
    )
    assert verify_chain(edited) == row.seq

    resigned = list(
        rows
    )  # an edit whose own hash is recomputed still breaks the next link or the seq
    j = data.draw(st.integers(0, len(rows) - 2))
    resigned[j] = dataclasses.replace(rows[j], actor="mallory@example.com")
    assert verify_chain(resigned) == rows[j].seq

    deleted = rows[:i] + rows[i + 1 :]
    if (
        i < len(rows) - 1
    ):  # dropping the newest row leaves a valid shorter chain: the ledger's head anchors it
        assert verify_chain(deleted) == rows[i + 1].seq

    a, b = sorted(
        data.draw(st.lists(st.integers(0, len(rows) - 1), min_size=2, max_size=2, unique=True))
    )
    swapped = list(rows)
    swapped[a], swapped[b] = swapped[b], swapped[a]
    assert verify_chain(swapped) == rows[b].seq


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_evidence_chained_in_pieces_equals_chained_at_once(data):
    from aims_workflows.engine import GENESIS_HASH, chain

    d = play(data, "risk-assessment")
    records = d.evidence
    cut = data.draw(st.integers(0, len(records)))
    now = d.now + timedelta(seconds=1)
    whole = chain(records, start_seq=1, prev_hash=GENESIS_HASH, recorded_at=now)
    first = chain(records[:cut], start_seq=1, prev_hash=GENESIS_HASH, recorded_at=now)
    rest = chain(
        records[cut:],
        start_seq=cut + 1,
        prev_hash=first[-1].hash if first else GENESIS_HASH,
        recorded_at=now,
    )
    assert first + rest == whole
