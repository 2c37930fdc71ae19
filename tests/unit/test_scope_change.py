"""Moving an AI system into or out of the AIMS scope through the real runtime (SQLite and
PostgreSQL): refused without a reason, held for top management's approval with one, applied
only when approved, so the coverage KPIs' denominators do not move on a request alone."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from test_export_cli import cli  # noqa: F401 - the fixture that runs `aims` in-process

from aims_workflows.config import KpiTargets
from aims_workflows.errors import InventoryError
from aims_workflows.inventory import AISystemRecord
from aims_workflows.kpi.queries import compute_kpis
from aims_workflows.store import inventory as inventory_store

CONSEQUENCES = {
    "consequences": "Its assessments stop being required; customers keep the opt-out",
    "scope_statement_revised": True,
    "recommendation": "approve",
}


def _in_scope(h, name: str) -> bool:
    with h.db.connect() as conn:
        return bool(inventory_store.get(conn, name)["in_scope"])


def _denominator(h) -> str:
    with h.db.connect() as conn:
        kpis = {k.key: k for k in compute_kpis(conn, h.clock.now(), KpiTargets())}
    return kpis["risk_assessment_coverage"].detail


def _ledger_rows(h) -> int:
    return h.count("evidence")


def test_a_scope_change_without_a_reason_is_refused_and_writes_nothing(harness):
    h = harness
    h.add_system("Chatbot")
    before = _ledger_rows(h)
    with pytest.raises(InventoryError) as refused:
        h.app.inventory.set("Chatbot", {"in_scope": "false"})
    assert refused.value.message == (
        "taking 'Chatbot' out of scope needs a reason and the approval of top management; "
        "the inventory is unchanged"
    )
    assert refused.value.hint == (
        "aims systems set 'Chatbot' in_scope=false --reason 'why the scope changes'"
    )
    with pytest.raises(InventoryError, match="needs a reason"):
        h.app.inventory.set("Chatbot", {"in_scope": "no"}, reason="   ")
    # together with another field: refused whole, the other field unchanged too
    with pytest.raises(InventoryError) as mixed:
        h.app.inventory.set("Chatbot", {"in_scope": "false", "risk_tier": "high"}, reason="Retired")
    assert "cannot be changed together with risk_tier; nothing was changed" in mixed.value.message
    assert _in_scope(h, "Chatbot") and _ledger_rows(h) == before
    assert h.count("runs", "WHERE workflow_id = 'ai-system-scope-change'") == 0


@pytest.mark.parametrize("decision", ["approve", "reject"])
def test_the_change_waits_for_top_management_and_is_made_only_on_approval(harness, decision):
    h = harness
    h.add_system("Chatbot")
    h.add_system("Scorer", owner="oscar@example.com")
    assert _denominator(h) == "0 of 2"
    changes, (run,) = h.app.inventory.set(
        "Scorer", {"in_scope": "false"}, reason="Replaced by the vendor model in May"
    )
    h.pump()
    assert changes == {}
    assert h.run_row(run).workflow_id == "ai-system-scope-change"
    # requested, not decided: the inventory and the KPIs stay as they were
    assert _in_scope(h, "Scorer") and _denominator(h) == "0 of 2"
    task = h.open_task("consequences", run)
    assert (
        task.title == "Scope change: Scorer out of the AIMS" and task.assignee == "amy@example.com"
    )
    h.complete("consequences", CONSEQUENCES, run_id=run)
    request = h.pending_approval(run)
    assert "oscar@example.com" not in request.people  # the system's owner does not decide
    assert set(request.people) == {"tom@example.com", "tina@example.com"}
    with pytest.raises(InventoryError, match=f"already waiting for a decision in run {run}"):
        h.app.inventory.set("Scorer", {"in_scope": "false"}, reason="again")
    h.decide("tom@example.com", decision, reason="Considered the consequences", run_id=run)

    assert h.run_row(run).status == "completed"
    if decision == "reject":
        assert _in_scope(h, "Scorer") and _denominator(h) == "0 of 2"
        return
    assert not _in_scope(h, "Scorer") and _denominator(h) == "0 of 1"
    with h.db.connect() as conn:
        history = inventory_store.history(conn, inventory_store.get(conn, "Scorer")["id"])
        changed = conn.execute(
            text("SELECT actor, payload FROM evidence WHERE kind = 'ai_system.changed'")
        ).all()
    assert history[-1]["changed_by"] == "tom@example.com"
    assert history[-1]["changes"] == {"in_scope": [True, False]}
    assert [row.actor for row in changed] == ["tom@example.com"]
    h.verify()


def test_two_requests_at_the_same_moment_start_one_scope_change(harness, monkeypatch):
    h = harness
    h.add_system("Scorer", owner="oscar@example.com")
    runtime, first = h.app.runtime, []
    planned = runtime._started

    def another_request_lands_meanwhile(*args, **kwargs):
        # after this request read that none was waiting, before it stores its run
        if not first:
            first.append(None)
            first[0] = h.app.inventory.set("Scorer", {"in_scope": "false"}, reason="Retired")[1][0]
        return planned(*args, **kwargs)

    monkeypatch.setattr(runtime, "_started", another_request_lands_meanwhile)
    with pytest.raises(InventoryError) as refused:
        h.app.inventory.set("Scorer", {"in_scope": "false"}, reason="Replaced by the vendor")
    assert f"already waiting for a decision in run {first[0]}" in refused.value.message
    assert h.count("runs", "WHERE workflow_id = 'ai-system-scope-change'") == 1
    h.verify()


def test_bringing_a_system_into_scope_starts_its_assessments_once_approved(harness):
    h = harness
    row, started = h.add_system("Prototype", in_scope=False)
    assert started == []
    _, (run,) = h.app.inventory.set("Prototype", {"in_scope": "yes"}, reason="Goes live")
    h.pump()
    h.complete("consequences", CONSEQUENCES, run_id=run)
    h.decide("tina@example.com", reason="Live systems are governed", run_id=run)
    assert _in_scope(h, "Prototype")
    assert h.count("runs", "WHERE workflow_id = 'ai-system-scope-change'") == 1


def test_an_import_that_moves_a_system_in_or_out_of_scope_is_refused_whole(harness, tmp_path):
    h = harness
    h.add_system("Chatbot")
    path = Path(tmp_path / "systems.yaml")
    path.write_text(
        "- name: Chatbot\n  owner: olga@example.com\n  in_scope: no\n"
        "- name: Newcomer\n  owner: nina@example.com\n",
        encoding="utf-8",
    )
    with pytest.raises(InventoryError) as refused:
        h.app.inventory.import_file(path)
    assert "the row for 'Chatbot' sets in_scope to false" in refused.value.message
    assert "nothing was imported" in refused.value.message
    assert "aims systems set 'Chatbot' in_scope=false --reason" in refused.value.hint
    assert _in_scope(h, "Chatbot") and h.count("ai_systems") == 1


def test_the_command_line_says_what_is_missing_and_what_happens_next(cli, harness, db_url):  # noqa: F811
    aims = cli(db_url, harness.config_path)
    harness.app.inventory.add(AISystemRecord(name="Chatbot", owner="olga@example.com"))
    refused = aims("systems", "set", "Chatbot", "in_scope=false")
    assert refused.code == 1
    assert "needs a reason and the approval of top management" in refused.err
    assert "--reason" in refused.err
    held = aims("systems", "set", "Chatbot", "in_scope=false", "--reason", "Retired in June")
    assert held.code == 0, held
    assert "in_scope of 'Chatbot' is unchanged until top management approves" in held.out
    assert "ai-system-scope-change" in held.out
    assert _in_scope(harness, "Chatbot")
    shown = aims("systems", "show", "Chatbot")
    assert "in_scope: True" in shown.out
    assert "a change of in_scope waits for top management's decision: aims runs show R" in (
        " ".join(shown.out.split())
    )
