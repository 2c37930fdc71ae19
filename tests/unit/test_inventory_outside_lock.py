"""The runs an inventory change starts are planned before its write transaction: registering a
system, a material change, an import of many rows and an approved scope change evaluate the
triggered workflows' scope conditions and first steps (templates) on a snapshot, and the write
lock is held only to store the change and the planned starts. On SQLite the lock is this
process's write gate; the test watches it (see test_runtime_outside_lock.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_runtime_outside_lock import GateWatch
from test_runtime_timers_schedules_outside_lock import harness_with

from aims_workflows.inventory import AISystemRecord
from aims_workflows.spec import _bounds

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

SHIPPED = Path(__file__).resolve().parents[2] / "workflows"

ON_SCOPE = """\
id: scope-follow-up
version: 1
title: Follow a change of scope
subject: ai_system
trigger:
  on:
    - event: ai_system.changed
      fields: [in_scope]
steps:
  - id: follow
    kind: task
    role: aims_owner
    title: "{{ subject.name | upper }} is {{ 'in' if subject.in_scope else 'out of' }} scope"
"""


def _watch(h, monkeypatch) -> GateWatch:
    watch = GateWatch(h.db.gate, _bounds.step)
    monkeypatch.setattr(_bounds, "step", watch)
    return watch


def _workflows(h, run_ids: list[str]) -> list[str]:
    return sorted(h.run_row(r).workflow_id for r in run_ids)


def test_registering_a_system_plans_its_runs_outside_the_write_lock(harness, monkeypatch):
    watch = _watch(harness, monkeypatch)
    row, started = harness.app.inventory.add(
        AISystemRecord(name="Chatbot", owner="olga@example.com")
    )
    assert "ai-risk-assessment" in _workflows(harness, started)
    assert all(harness.run_row(r).subject_id == str(row["id"]) for r in started)
    assert watch.steps > 0, "the registration started no run that evaluated a template"
    assert watch.under_lock == 0
    harness.pump()
    task = harness.open_task("identify")
    assert "Chatbot" in task.title
    harness.verify()


def test_a_material_change_plans_its_runs_outside_the_write_lock(harness, monkeypatch):
    harness.add_system("Chatbot")
    watch = _watch(harness, monkeypatch)
    changes, started = harness.app.inventory.set("Chatbot", {"data_sources": "crm,tickets"})
    assert "data_sources" in changes
    assert "data-quality" in _workflows(harness, started)
    assert watch.steps > 0, "the change started no run that evaluated a template"
    assert watch.under_lock == 0
    # the risk assessment registration started is still open: not started twice
    assert "ai-risk-assessment" not in _workflows(harness, started)
    harness.verify()


def test_an_import_plans_every_row_outside_the_write_lock(harness, monkeypatch, tmp_path):
    harness.add_system("Chatbot")
    path = tmp_path / "systems.csv"
    path.write_text(
        "name,owner,deployment_scale\n"
        "Chatbot,olga@example.com,public\n"
        "Scorer,oscar@example.com,internal\n"
        "Router,nina@example.com,pilot\n"
        "Ranker,olga@example.com,limited\n",
        encoding="utf-8",
    )
    watch = _watch(harness, monkeypatch)
    added, changed, started = harness.app.inventory.import_file(path)
    assert (added, changed) == (3, 1)
    subjects = {harness.run_row(r).subject_name for r in started}
    assert {"Scorer", "Router", "Ranker"} <= subjects
    assert "intended-use" in _workflows(harness, started)  # Chatbot's deployment scale
    assert watch.steps > 0
    assert watch.under_lock == 0
    harness.verify()


def test_an_approved_scope_change_plans_the_runs_it_starts_outside_the_write_lock(
    db_url, tmp_path, clock, make_harness, monkeypatch
):
    scope_change = (SHIPPED / "ai-system-scope-change.yaml").read_text(encoding="utf-8")
    h = harness_with(
        make_harness,
        db_url,
        tmp_path,
        clock,
        {"ai-system-scope-change": scope_change, "scope-follow-up": ON_SCOPE},
    )
    h.add_system("Prototype", in_scope=False)
    _, (run,) = h.app.inventory.set("Prototype", {"in_scope": "yes"}, reason="Goes live")
    h.pump()
    h.complete(
        "consequences",
        {
            "consequences": "Its assessments become required",
            "scope_statement_revised": True,
            "recommendation": "approve",
        },
        run_id=run,
    )
    watch = _watch(h, monkeypatch)
    h.decide("tina@example.com", reason="Live systems are governed", run_id=run)
    assert h.run_row(run).status == "completed"
    assert h.open_task("follow").title == "PROTOTYPE is in scope"
    assert watch.steps > 0
    assert watch.under_lock == 0
    h.verify()
    h.app.db.dispose()


def test_an_approved_intake_plans_its_change_and_assessments_outside_the_write_lock(
    harness, monkeypatch
):
    from test_operational_workflows import PROPOSAL, TRIAGE

    h = harness
    _, (intake,) = h.add_system(
        "CV screener", owner="olga@example.com", lifecycle_stage="inception", in_scope=False
    )
    h.complete("proposal", PROPOSAL, run_id=intake)
    h.complete("triage", {**TRIAGE, "risk_tier": "limited"}, run_id=intake)
    h.decide("amy@example.com", run_id=intake)
    watch = _watch(h, monkeypatch)
    h.decide("carl@example.com", run_id=intake)  # the intake completes: its decision applies
    assert h.run_row(intake).status == "completed"
    assert "CV screener" in h.open_task("identify").title
    assert watch.steps > 0
    assert watch.under_lock == 0
    h.verify()
