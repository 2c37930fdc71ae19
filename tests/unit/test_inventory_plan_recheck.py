"""An inventory change is planned on a snapshot and stored after checking the plan still holds
(inventory/change_plans): another writer's change between the two is not overwritten and the
runs started see the system as it is stored, on each database."""

from __future__ import annotations

from aims_workflows.inventory import AISystemRecord
from aims_workflows.inventory import service as inventory_service
from aims_workflows.store import inventory as inventory_store
from aims_workflows.store import runs as run_store


def _subject(h, run_id: str):
    with h.db.connect() as conn:
        run, _ = run_store.load(conn, run_id)
    return run.subject


def test_a_change_stored_after_another_writers_change_is_planned_again(harness, monkeypatch):
    h = harness
    h.add_system("Chatbot")
    planned = []
    original = inventory_service.plan_change

    def plan_then_someone_else_writes(*args, **kwargs):
        plan = original(*args, **kwargs)
        planned.append(plan)
        if len(planned) == 1:  # between this plan and its write, another change lands
            h.app.inventory.set("Chatbot", {"outputs": "scores"})
        return plan

    monkeypatch.setattr(inventory_service, "plan_change", plan_then_someone_else_writes)
    changes, started = h.app.inventory.set("Chatbot", {"data_sources": "crm,tickets"})

    assert len(planned) == 3  # ours, the other writer's, ours again on the row it wrote
    assert set(changes) == {"data_sources"}
    with h.db.connect() as conn:
        row = inventory_store.get(conn, "Chatbot")
        history = inventory_store.history(conn, row["id"])
    assert row["outputs"] == "scores" and row["data_sources"] == ["crm", "tickets"]
    assert [set(v["changes"]) for v in history[1:]] == [{"outputs"}, {"data_sources"}]
    [data_quality] = [r for r in started if h.run_row(r).workflow_id == "data-quality"]
    assert _subject(h, data_quality).attributes["outputs"] == "scores"
    h.verify()


def test_a_registration_planned_beside_another_gets_an_id_of_its_own(harness, monkeypatch):
    h = harness
    planned = []
    original = inventory_service.plan_add

    def plan_then_someone_else_adds(*args, **kwargs):
        plan = original(*args, **kwargs)
        planned.append(plan)
        if len(planned) == 1:
            h.app.inventory.add(AISystemRecord(name="Scorer", owner="oscar@example.com"))
        return plan

    monkeypatch.setattr(inventory_service, "plan_add", plan_then_someone_else_adds)
    row, started = h.app.inventory.add(AISystemRecord(name="Chatbot", owner="olga@example.com"))

    with h.db.connect() as conn:
        scorer = inventory_store.get(conn, "Scorer")
    assert row["id"] != scorer["id"]
    assert started
    for run_id in started:
        subject = _subject(h, run_id)
        assert (subject.id, subject.name) == (str(row["id"]), "Chatbot")
        assert h.run_row(run_id).subject_id == str(row["id"])
    h.verify()
