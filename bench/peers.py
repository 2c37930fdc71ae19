"""Peer implementations of the benchmark workload, on two Python workflow libraries.

The workload is the same five-step approval for every contender:

    1. create            start the instance
    2. complete_task     a person's answers (likelihood, impact)
    3. request_approval  ask a named approver
    4. approve           approver + reason
    5. record            write the artefact (score = likelihood * impact)

after which the instance is complete.  Each step is an incoming *event*, handled
the way a stateless service handles one: open a transaction, load the instance's
persisted state from SQLite, apply the event, save the state back, commit.
Events are interleaved round-robin (event k for every instance, then event k+1),
so no instance is ever kept in memory between two of its events.

SQLite: one file in ``workdir``, WAL, synchronous=NORMAL, one transaction
(BEGIN IMMEDIATE ... COMMIT) per event.

Timed: the events only.  Not timed: creating the database, parsing the BPMN
file and building the serializer (a service does those once at start-up), and
the final correctness check.

Contenders here:
  * SpiffWorkflow 3.x: ``five_step_approval.bpmn`` (five user tasks), state
    saved with its own ``BpmnWorkflowSerializer`` as JSON.
  * transitions: a ``Machine`` over created -> task_done -> approval_requested
    -> approved -> recorded, rebuilt from the stored state on every event, the
    instance data in a JSON column.

Run ``python bench/peers.py`` for a quick look at n=200.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BPMN_PATH = Path(__file__).with_name("five_step_approval.bpmn")
BPMN_PROCESS_ID = "five_step_approval"

# Fixed payload of each event, identical for every instance and every
# contender (the "create" event also carries the instance number).
EVENTS: tuple[tuple[str, dict[str, Any]], ...] = (
    (
        "create",
        {
            "title": "Impact assessment: credit scoring model v3",
            "owner": "risk-office@example.org",
            "control": "ISO/IEC 42001 A.5.2",
        },
    ),
    (
        "complete_task",
        {
            "likelihood": 3,
            "impact": 4,
            "answered_by": "analyst@example.org",
        },
    ),
    (
        "request_approval",
        {
            "requested_by": "analyst@example.org",
            "approver": "ciso@example.org",
        },
    ),
    (
        "approve",
        {
            "approver": "ciso@example.org",
            "reason": "Residual risk within the documented appetite",
        },
    ),
    (
        "record",
        {
            "recorded_by": "aims-service",
        },
    ),
)
EVENT_NAMES = tuple(name for name, _ in EVENTS)
EXPECTED_SCORE = EVENTS[1][1]["likelihood"] * EVENTS[1][1]["impact"]


def _event_payload(event: str, payload: dict[str, Any], instance_id: int) -> dict[str, Any]:
    data = dict(payload)
    if event == "create":
        data["instance"] = instance_id
    return data


def _artefact(data: dict[str, Any]) -> dict[str, Any]:
    """The 'record' step's output, computed the same way for every contender."""
    return {
        "kind": "risk_assessment",
        "score": data["likelihood"] * data["impact"],
        "approved_by": data["approver"],
    }


def _open_db(path: Path) -> sqlite3.Connection:
    if path.exists():
        path.unlink()
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            side.unlink()
    # isolation_level=None: transactions are opened and closed explicitly below,
    # so that load + save of one event share one transaction.
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


# --------------------------------------------------------------------------
# SpiffWorkflow
# --------------------------------------------------------------------------


def run_spiffworkflow(n: int, workdir: Path) -> float:
    """Run the workload on SpiffWorkflow; return the seconds spent on the events.

    Caveats (fair-use notes):
      * The file is plain BPMN 2.0, so it is parsed with the generic
        ``BpmnParser`` and saved with the default ``BpmnWorkflowSerializer``
        configuration; the Spiff-extension flavour (``SpiffBpmnParser`` +
        ``SPIFF_CONFIG``) does the same work here with a slightly richer task
        spec.
      * ``serialize_json`` embeds the process spec in every saved state (about
        8 kB per instance for this process).  That is the library's documented
        default; applications that store specs separately need a custom
        serializer set-up, which we do not attempt.
      * Event 1 creates the workflow *and* completes the "create" user task, so
        SpiffWorkflow completes five tasks per instance where transitions
        fires four triggers (its first event only sets the initial state).
    """
    from SpiffWorkflow import TaskState
    from SpiffWorkflow.bpmn import BpmnWorkflow
    from SpiffWorkflow.bpmn.parser import BpmnParser
    from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer

    parser = BpmnParser()
    parser.add_bpmn_file(str(BPMN_PATH))
    spec = parser.get_spec(BPMN_PROCESS_ID)
    subprocess_specs = parser.get_subprocess_specs(BPMN_PROCESS_ID)
    serializer = BpmnWorkflowSerializer()

    conn = _open_db(Path(workdir) / "peer_spiffworkflow.db")
    conn.execute("CREATE TABLE instances (id INTEGER PRIMARY KEY, state TEXT NOT NULL)")

    def complete_ready_task(workflow: BpmnWorkflow, event: str, data: dict[str, Any]) -> None:
        task = workflow.get_next_task(state=TaskState.READY, manual=True)
        if task is None or task.task_spec.bpmn_id != event:
            found = None if task is None else task.task_spec.bpmn_id
            raise RuntimeError(f"event {event!r} does not apply: ready user task is {found!r}")
        if event == "record":
            data = {**data, "artefact": _artefact({**task.data, **data})}
        task.data.update(data)
        task.run()
        workflow.do_engine_steps()

    ids = range(1, n + 1)
    started = time.perf_counter()
    for event, payload in EVENTS:
        for instance_id in ids:
            data = _event_payload(event, payload, instance_id)
            conn.execute("BEGIN IMMEDIATE")
            if event == "create":
                workflow = BpmnWorkflow(spec, subprocess_specs)
                workflow.do_engine_steps()
                complete_ready_task(workflow, event, data)
                conn.execute(
                    "INSERT INTO instances (id, state) VALUES (?, ?)",
                    (instance_id, serializer.serialize_json(workflow)),
                )
            else:
                (stored,) = conn.execute(
                    "SELECT state FROM instances WHERE id = ?", (instance_id,)
                ).fetchone()
                workflow = serializer.deserialize_json(stored)
                complete_ready_task(workflow, event, data)
                conn.execute(
                    "UPDATE instances SET state = ? WHERE id = ?",
                    (serializer.serialize_json(workflow), instance_id),
                )
            conn.execute("COMMIT")
    elapsed = time.perf_counter() - started

    rows = conn.execute("SELECT id, state FROM instances ORDER BY id").fetchall()
    conn.close()
    if len(rows) != n:
        raise RuntimeError(f"SpiffWorkflow: {len(rows)} instances stored, expected {n}")
    for instance_id, stored in rows:
        workflow = serializer.deserialize_json(stored)
        if not workflow.is_completed():
            raise RuntimeError(f"SpiffWorkflow: instance {instance_id} is not completed")
        artefact = workflow.data.get("artefact") or {}
        if artefact.get("score") != EXPECTED_SCORE or workflow.data.get("instance") != instance_id:
            raise RuntimeError(
                f"SpiffWorkflow: instance {instance_id} has wrong data {workflow.data!r}"
            )
    return elapsed


# --------------------------------------------------------------------------
# transitions
# --------------------------------------------------------------------------

STATES = ("created", "task_done", "approval_requested", "approved", "recorded")
TRANSITIONS = (
    {"trigger": "complete_task", "source": "created", "dest": "task_done"},
    {"trigger": "request_approval", "source": "task_done", "dest": "approval_requested"},
    {"trigger": "approve", "source": "approval_requested", "dest": "approved"},
    {"trigger": "record", "source": "approved", "dest": "recorded", "before": "write_artefact"},
)


class ApprovalRecord:
    """The model object the Machine decorates; ``data`` is the instance's JSON."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    # Callbacks receive the trigger's keyword arguments (send_event=False).
    def absorb(self, **payload: Any) -> None:
        self.data.update(payload)

    def write_artefact(self, **payload: Any) -> None:
        self.data["artefact"] = _artefact({**self.data, **payload})


def _machine_kwargs() -> dict[str, Any]:
    # auto_transitions=False: the to_<state>() shortcuts are not used, and an
    # approval workflow must not offer a way to jump past approval.  It is a
    # documented constructor option and also makes construction cheaper.
    return dict(
        states=list(STATES),
        transitions=[dict(t) for t in TRANSITIONS],
        auto_transitions=False,
        before_state_change="absorb",
    )


def run_transitions(n: int, workdir: Path, *, reuse_machine: bool = False) -> float:
    """Run the workload on transitions; return the seconds spent on the events.

    By default a new ``Machine`` is built for every event, with
    ``initial=<stored state>``, as the workload prescribes for a stateless
    service.  Caveat: transitions also documents a cheaper pattern, one
    ``Machine`` built at start-up and ``add_model(model, initial=...)`` /
    ``remove_model(model)`` per event; ``reuse_machine=True`` measures that
    variant (still no instance state kept between events).
    """
    from transitions import Machine

    conn = _open_db(Path(workdir) / "peer_transitions.db")
    conn.execute(
        "CREATE TABLE instances (id INTEGER PRIMARY KEY, state TEXT NOT NULL, data TEXT NOT NULL)"
    )
    shared = Machine(model=None, **_machine_kwargs()) if reuse_machine else None

    ids = range(1, n + 1)
    started = time.perf_counter()
    for event, payload in EVENTS:
        for instance_id in ids:
            data = _event_payload(event, payload, instance_id)
            conn.execute("BEGIN IMMEDIATE")
            if event == "create":
                model = ApprovalRecord({})
                state = STATES[0]
            else:
                state, stored = conn.execute(
                    "SELECT state, data FROM instances WHERE id = ?", (instance_id,)
                ).fetchone()
                model = ApprovalRecord(json.loads(stored))
            if shared is None:
                Machine(model=model, initial=state, **_machine_kwargs())
            else:
                shared.add_model(model, initial=state)
            if event == "create":
                model.absorb(**data)
            else:
                # Raises MachineError if the event does not apply in this state.
                model.trigger(event, **data)
            if shared is not None:
                shared.remove_model(model)
            if event == "create":
                conn.execute(
                    "INSERT INTO instances (id, state, data) VALUES (?, ?, ?)",
                    (instance_id, model.state, json.dumps(model.data)),
                )
            else:
                conn.execute(
                    "UPDATE instances SET state = ?, data = ? WHERE id = ?",
                    (model.state, json.dumps(model.data), instance_id),
                )
            conn.execute("COMMIT")
    elapsed = time.perf_counter() - started

    rows = conn.execute("SELECT id, state, data FROM instances ORDER BY id").fetchall()
    conn.close()
    if len(rows) != n:
        raise RuntimeError(f"transitions: {len(rows)} instances stored, expected {n}")
    for instance_id, state, stored in rows:
        data = json.loads(stored)
        if state != STATES[-1]:
            raise RuntimeError(f"transitions: instance {instance_id} is in state {state!r}")
        if (
            data.get("artefact", {}).get("score") != EXPECTED_SCORE
            or data.get("instance") != instance_id
        ):
            raise RuntimeError(f"transitions: instance {instance_id} has wrong data {data!r}")
    return elapsed


def main(argv: list[str]) -> int:
    n = int(argv[1]) if len(argv) > 1 else 200
    with tempfile.TemporaryDirectory(prefix="aims-bench-peers-") as tmp:
        workdir = Path(tmp)
        results = (
            ("SpiffWorkflow", run_spiffworkflow(n, workdir)),
            ("transitions (Machine rebuilt per event)", run_transitions(n, workdir)),
            (
                "transitions (one Machine, add/remove_model)",
                run_transitions(n, workdir, reuse_machine=True),
            ),
        )
    print(f"{n} instances x {len(EVENTS)} events, one SQLite commit per event")
    for name, seconds in results:
        print(
            f"  {name:<45} {n / seconds:9.1f} instances/s "
            f" ({len(EVENTS) * n / seconds:9.1f} events/s)"
        )
    print("Single run on a shared machine: compare the rows with each other, not with other runs.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
