"""Every Annex A control of the catalogue is evidenced by a shipped workflow: named in the
``evidences:`` of a step, so that runs leave ledger rows against it, not only claimed by the
workflow as a whole. Computed from the files in ``workflows/``; nothing is skipped."""

from __future__ import annotations

from pathlib import Path

from aims_workflows.catalog import load_catalog
from aims_workflows.spec import load_workflows

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"


def evidenced_by_steps() -> dict[str, set[str]]:
    """Control id -> the workflows with a step that names it."""
    found: dict[str, set[str]] = {}
    shipped = load_workflows([WORKFLOWS])
    for workflow_id in shipped.ids():
        for step in shipped.get(workflow_id).spec.steps:
            for cid in step.evidences:
                found.setdefault(cid, set()).add(workflow_id)
    return found


def test_every_annex_a_control_is_evidenced_by_a_shipped_workflow():
    controls = [c.id for c in load_catalog().controls()]
    assert len(controls) == 38
    evidenced = evidenced_by_steps()
    missing = [c for c in controls if c not in evidenced]
    assert missing == [], "Annex A controls no shipped workflow step evidences: " + ", ".join(
        missing
    )


def test_a_workflow_claims_no_control_that_none_of_its_steps_evidences():
    shipped = load_workflows([WORKFLOWS])
    unbacked = {}
    for workflow_id in shipped.ids():
        spec = shipped.get(workflow_id).spec
        by_steps = {cid for step in spec.steps for cid in step.evidences}
        claimed = {cid for cid in spec.evidences if cid.startswith("A.")}
        if claimed - by_steps:
            unbacked[workflow_id] = sorted(claimed - by_steps)
    assert unbacked == {}
