"""Group commit: queued events applied in one transaction with a savepoint each. An event that
fails rolls back alone and the others commit; a run's later events wait behind its failed one,
so each run's order is kept."""

from __future__ import annotations

import pytest

from aims_workflows.engine import Actor, TaskCompleted
from aims_workflows.errors import NotFound
from aims_workflows.runtime import Delivery, HeldBack, Queued
from aims_workflows.runtime import core as core_module

ANALYST = Actor("eve@example.com", "jira", ("engineer",))
RISK_OWNER = Actor("rita@example.com", "jira", ("risk_owner",))


def _started(h, n: int) -> list[str]:
    h.add_system("Chatbot", in_scope=False)
    runs = [
        h.rt.start("ai-risk-assessment", system="Chatbot", again=True).run.run_id for _ in range(n)
    ]
    h.pump()
    return runs


def _identify(answers) -> TaskCompleted:
    return TaskCompleted(actor=ANALYST, step_id="identify", answers=answers["risk.identify"])


def test_a_failing_event_rolls_back_alone_and_holds_back_its_run(harness, answers, monkeypatch):
    h = harness
    ok_run, bad_run, other = _started(h, 3)
    real = core_module.Runtime._commit_transition
    failing = _identify(answers)

    def fails_once(self, conn, spec, transition, lock_version, now, *tail):
        if transition.run.run_id == bad_run:  # fails while storing, inside the transaction
            raise RuntimeError("projection bug")
        return real(self, conn, spec, transition, lock_version, now, *tail)

    monkeypatch.setattr(core_module.Runtime, "_commit_transition", fails_once)
    before = {r: h.kinds(r) for r in (ok_run, bad_run, other)}
    results = h.rt.receive_batch(
        [
            Queued(_identify(answers), run_id=ok_run),
            Queued(failing, run_id=bad_run),
            Queued(_identify(answers), run_id="R-MISSING"),
            Queued(_identify(answers), run_id=bad_run),  # after its run's failed event
            Queued(_identify(answers), run_id=other),
        ]
    )
    assert isinstance(results[1], RuntimeError)
    assert isinstance(results[2], NotFound)
    assert isinstance(results[3], HeldBack)
    applied = [results[0], results[4]]
    assert all(r.transition and r.transition.ignored is None for r in applied)
    assert "task.completed" in h.kinds(ok_run) and "task.completed" in h.kinds(other)
    assert h.kinds(bad_run) == before[bad_run]  # nothing of the failed or held event
    assert h.verify().ok
    monkeypatch.undo()
    retried = h.rt.receive_batch([Queued(_identify(answers), run_id=bad_run)])
    assert retried[0].transition and "task.completed" in h.kinds(bad_run)


def test_a_repeated_delivery_in_a_batch_is_applied_once(harness, answers):
    h = harness
    [run] = _started(h, 1)
    delivery = Delivery("jira", "delivery-1", "{}")
    results = h.rt.receive_batch(
        [
            Queued(_identify(answers), run_id=run, delivery=delivery),
            Queued(_identify(answers), run_id=run, delivery=delivery),
        ]
    )
    assert not results[0].duplicate and results[1].duplicate
    assert h.kinds(run).count("task.completed") == 1


@pytest.mark.parametrize("size", [1, 7])
def test_order_within_a_run_is_kept_across_a_batch(harness, answers, size):
    h = harness
    [run] = _started(h, 1)
    # the treatment is the risk owner's to decide (tasks are completed only by their role)
    treat = TaskCompleted(actor=RISK_OWNER, step_id="treat", answers=answers["risk.treat"])
    events = [Queued(_identify(answers), run_id=run), Queued(treat, run_id=run)]
    for start in range(0, len(events), size):
        h.rt.receive_batch(events[start : start + size])
        h.pump()
    kinds = h.kinds(run)
    completed = [k for k in kinds if k == "task.completed"]
    assert len(completed) == 2


def test_each_task_close_names_its_own_events_ledger_rows(harness, answers):
    """Group commit appends the batch's evidence at its end, in one go: each event's rows stay
    together, in the order of the events, and a ``task.close`` names exactly its event's."""
    import json

    from sqlalchemy import text

    from aims_workflows.store import ledger

    h = harness
    runs = _started(h, 3)
    results = h.rt.receive_batch([Queued(_identify(answers), run_id=r) for r in runs])
    assert all(r.transition and r.transition.ignored is None for r in results)
    with h.db.connect() as conn:
        closes = conn.execute(
            text("SELECT run_id, payload FROM outbox WHERE kind = 'task.close' ORDER BY id")
        ).all()
        by_seq = {row.seq: row for row in ledger.iter_rows(conn)}
    sealed = {run: json.loads(payload)["evidence_seqs"] for run, payload in closes}
    assert set(sealed) == set(runs)
    previous_last = 0
    for run in runs:  # in the order of the events
        first, last = sealed[run]
        assert first > previous_last
        assert {by_seq[s].run_id for s in range(first, last + 1)} == {run}
        assert "task.completed" in {by_seq[s].kind for s in range(first, last + 1)}
        previous_last = last
    assert h.verify().ok
