"""Golden tests: recorded event histories replayed through ``advance``.

Each ``histories/<name>.json`` names a workflow fixture (``tests/fixtures/workflows/good``), the
run's subject, inputs and id, and the events in order, each as its fields (``kind`` first, as
:func:`~aims_workflows.engine.parse_event` reads them) with the ``now`` it arrived at. In an
``approval.decided`` event, ``"approval_id": "$current"`` and ``"content_hash": "$current"`` stand
for the values of the request open at that moment, as the Slack button would carry them.

``expected/<name>.json`` holds what the engine must produce: for every event whether it was
ignored, the commands (kind and idempotency key), the evidence (kind, step, actor, payload),
the final run state, and the head of the evidence hash chain. The comparison is exact.

To re-record after an intended change in the engine's behaviour::

    AIMS_GOLDEN_UPDATE=1 .venv/bin/python -m pytest tests/golden

then read the diff of ``tests/golden/expected`` line by line before committing it: a recorded
file is a claim that its content is right, not merely what the code does today.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from aims_workflows.engine import (
    GENESIS_HASH,
    ChainedEvidence,
    Event,
    Subject,
    advance,
    chain,
    dump_run,
    load_run,
    new_run,
    parse_event,
    verify_chain,
)
from aims_workflows.spec import load_spec

HERE = Path(__file__).resolve().parent
WORKFLOWS = HERE.parent / "fixtures" / "workflows" / "good"
HISTORIES = sorted((HERE / "histories").glob("*.json"))
UPDATE = os.environ.get("AIMS_GOLDEN_UPDATE") == "1"


def _time(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    assert moment.tzinfo is not None, f"{text!r} needs a time zone"
    return moment


def _event(raw: dict[str, Any], run) -> Event:
    fields = {k: v for k, v in raw.items() if k != "now"}
    for key in ("approval_id", "content_hash"):
        if fields.get(key) == "$current":
            assert run.approval is not None, f"{raw}: no open approval for '$current'"
            fields[key] = getattr(run.approval, key)
    return parse_event(fields)


def replay(history: dict[str, Any]) -> dict[str, Any]:
    return replay_with_rows(history)[0]


def replay_with_rows(history: dict[str, Any]) -> tuple[dict[str, Any], list[ChainedEvidence]]:
    """The replay's summary, and the ledger rows it chained (as the store would hold them)."""
    loaded = load_spec(WORKFLOWS / f"{history['workflow']}.yaml")
    run = new_run(
        loaded.spec,
        run_id=history["run_id"],
        spec_hash=loaded.content_hash,
        subject=Subject.model_validate(history["subject"]),
        inputs=history.get("inputs") or None,
        parent_run_id=history.get("parent_run_id"),
    )
    steps, rows = [], []
    previous = None
    for index, raw in enumerate(history["events"]):
        now = _time(raw["now"])
        assert previous is None or now >= previous, f"event {index} goes back in time"
        previous = now
        transition = advance(loaded.spec, run, _event(raw, run), now)
        rows += chain(
            transition.evidence,
            start_seq=len(rows) + 1,
            prev_hash=rows[-1].hash if rows else GENESIS_HASH,
            recorded_at=now,
        )
        run = load_run(dump_run(transition.run))  # as the runtime stores it between events
        assert run == transition.run
        steps.append(
            {
                "event": index,
                "kind": raw["kind"],
                "ignored": transition.ignored,
                "commands": [[c.kind, c.key] for c in transition.commands],
                "evidence": [
                    {
                        "kind": e.kind,
                        "step_id": e.step_id,
                        "actor": e.actor,
                        "payload": json.loads(json.dumps(e.payload, default=str)),
                    }
                    for e in transition.evidence
                ],
            }
        )
    assert verify_chain(rows) is None
    summary = {
        "workflow": history["workflow"],
        "spec_hash": loaded.content_hash,
        "steps": steps,
        "final_state": json.loads(dump_run(run)),
        "evidence_rows": len(rows),
        "chain_head": rows[-1].hash if rows else GENESIS_HASH,
    }
    return summary, rows


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
def test_history_replays_exactly(path: Path):
    history = json.loads(path.read_text())
    actual = replay(history)
    expected_path = HERE / "expected" / path.name
    if UPDATE:
        expected_path.write_text(
            json.dumps(actual, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        )
    assert expected_path.exists(), (
        f"no recording for {path.name}: run with AIMS_GOLDEN_UPDATE=1 and review it"
    )
    expected = json.loads(expected_path.read_text())
    assert actual == expected


def test_every_recording_has_a_history():
    recorded = {p.name for p in (HERE / "expected").glob("*.json")}
    assert recorded == {p.name for p in HISTORIES}


def test_replay_is_repeatable():
    history = json.loads(HISTORIES[0].read_text())
    assert replay(history) == replay(history)
