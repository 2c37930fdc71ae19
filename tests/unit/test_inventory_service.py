"""The AI system inventory on a real database: add, set and history, imports from CSV, JSON and
YAML, and a bad file refused whole with nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from aims_workflows.errors import InventoryError
from aims_workflows.inventory import AISystemRecord
from aims_workflows.store import inventory as inventory_store
from aims_workflows.store import ledger
from aims_workflows.store.models import AISystem

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "inventory"
TABLES = ("ai_systems", "ai_system_history", "evidence", "runs", "outbox", "steps")


def counts(h) -> dict[str, int]:
    return {table: h.count(table) for table in TABLES}


def system(h, name: str) -> dict:
    with h.db.connect() as conn:
        return inventory_store.get(conn, name)


def history(h, name: str) -> list[dict]:
    with h.db.connect() as conn:
        return inventory_store.history(conn, inventory_store.get(conn, name)["id"])


def evidence(h, kind: str) -> list[dict]:
    with h.db.connect() as conn:
        return [json.loads(r.payload) for r in ledger.iter_rows(conn, kind=kind)]


# -- add, set, history ---------------------------------------------------------------------------
def test_add_keeps_the_record_its_first_version_and_evidence(harness):
    h = harness
    row, _ = h.add_system(
        "Chatbot", owner="Olga@Example.com", model_type="llm", data_sources="tickets; articles"
    )
    assert (row["name"], row["owner"], row["version"]) == ("Chatbot", "olga@example.com", 1)
    assert row["data_sources"] == ["tickets", "articles"]
    assert row["created_at"] == h.clock.now()
    (v1,) = history(h, "chatbot")  # names are found case-insensitively
    assert v1["version"] == 1 and v1["changed_by"] == "cli"
    assert v1["changes"]["model_type"] == [None, "llm"]
    assert v1["snapshot"]["owner"] == "olga@example.com"
    (registered,) = evidence(h, "ai_system.registered")
    assert registered["system_id"] == row["id"] and registered["record"]["name"] == "Chatbot"


def test_a_second_system_with_the_same_name_is_refused(harness):
    h = harness
    h.add_system("Chatbot")
    before = counts(h)
    with pytest.raises(InventoryError, match="exists already") as caught:
        h.add_system("CHATBOT")
    assert "aims systems set" in caught.value.hint
    assert counts(h) == before


def test_set_changes_fields_and_keeps_every_version(harness):
    h = harness
    h.add_system("Chatbot", risk_tier="limited")
    h.clock.advance(days=3)
    changes, _ = h.app.inventory.set("Chatbot", {"risk_tier": "high", "jurisdictions": "EU, UK"})
    assert changes == {"risk_tier": ["limited", "high"], "jurisdictions": [[], ["EU", "UK"]]}
    row = system(h, "Chatbot")
    assert (row["version"], row["risk_tier"], row["jurisdictions"]) == (2, "high", ["EU", "UK"])
    assert row["updated_at"] == h.clock.now() and row["created_at"] != row["updated_at"]
    v1, v2 = history(h, "Chatbot")
    assert v2["version"] == 2 and v2["changes"] == changes
    assert v2["snapshot"]["risk_tier"] == "high" and v1["snapshot"]["risk_tier"] == "limited"
    (changed,) = evidence(h, "ai_system.changed")
    assert changed["material"] == ["jurisdictions", "risk_tier"]


def test_a_set_that_changes_nothing_writes_nothing(harness):
    h = harness
    h.add_system("Chatbot", risk_tier="limited")
    before = counts(h)
    changes, started = h.app.inventory.set("Chatbot", {"risk_tier": "limited"})
    assert (changes, started) == ({}, [])
    assert counts(h) == before


def test_rename_keeps_the_history_and_refuses_a_taken_name(harness):
    h = harness
    h.add_system("Chatbot")
    h.add_system("Assistant")
    changes, _ = h.app.inventory.set("Chatbot", {"name": "Helpdesk bot"})
    assert changes == {"name": ["Chatbot", "Helpdesk bot"]}
    assert [v["version"] for v in history(h, "Helpdesk bot")] == [1, 2]
    with pytest.raises(InventoryError, match="named 'assistant' exists already"):
        h.app.inventory.set("Helpdesk bot", {"name": "assistant"})


@pytest.mark.parametrize(
    "changes, column, message",
    [
        ({"owner": "not-an-email"}, "owner", "is not an e-mail address"),
        ({"risk_tier": "severe"}, "risk_tier", "Input should be"),
        ({"in_scope": "perhaps"}, "in_scope", "valid boolean"),
    ],
)
def test_set_with_a_bad_value_names_the_field_and_writes_nothing(harness, changes, column, message):
    h = harness
    h.add_system("Chatbot")
    before = counts(h)
    with pytest.raises(InventoryError) as caught:
        h.app.inventory.set("Chatbot", changes)
    ((got_column, got_message),) = caught.value.problems
    assert got_column == column and message in got_message
    assert counts(h) == before


def test_set_of_an_unknown_field_lists_the_fields(harness):
    h = harness
    h.add_system("Chatbot")
    with pytest.raises(InventoryError, match="unknown field") as caught:
        h.app.inventory.set("Chatbot", {"colour": "blue"})
    assert "risk_tier" in caught.value.hint


def test_a_record_refuses_unknown_keys_and_bad_owners():
    with pytest.raises(ValueError):
        AISystemRecord(name="X", owner="olga@example.com", colour="blue")
    with pytest.raises(ValueError):
        AISystemRecord(name="X", owner="olga")
    with pytest.raises(ValueError):
        AISystemRecord(name="", owner="olga@example.com")


# -- imports ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["systems.csv", "systems.json", "systems.yaml"])
def test_import_adds_every_row(harness, name):
    h = harness
    added, changed, started = h.app.inventory.import_file(FIXTURES / name)
    h.pump()
    rows = {r["name"]: r for r in (system(h, n) for n in ("Support chatbot", "CV screener"))}
    assert changed == 0 and added == (3 if name.endswith(".csv") else 2)
    chatbot = rows["Support chatbot"]
    assert chatbot["owner"] == "olga@example.com" and chatbot["model_type"] == "llm"
    assert chatbot["data_sources"] == ["help centre articles", "past tickets"]
    assert chatbot["risk_tier"] == "limited"
    # registration starts the assessments of the systems in scope only
    in_scope = sum(1 for r in rows.values() if r["in_scope"]) + 0
    assert len(started) == 2 * in_scope
    assert h.count("ai_system_history") == added


def test_import_of_the_csv_reads_yes_no_and_lists(harness):
    h = harness
    h.app.inventory.import_file(FIXTURES / "systems.csv")
    chatbot, forecasting = system(h, "Support chatbot"), system(h, "Forecasting")
    assert chatbot["in_scope"] is True and forecasting["in_scope"] is False
    assert chatbot["jurisdictions"] == ["EU", "UK"] and forecasting["jurisdictions"] == []


def test_importing_the_same_file_again_changes_nothing(harness):
    h = harness
    h.app.inventory.import_file(FIXTURES / "systems.json")
    before = counts(h)
    assert h.app.inventory.import_file(FIXTURES / "systems.json") == (0, 0, [])
    assert counts(h) == before


def test_import_updates_existing_systems(harness, tmp_path):
    h = harness
    h.app.inventory.import_file(FIXTURES / "systems.json")
    # systems.yaml takes CV screener out of scope, which needs a reason and an approval
    with pytest.raises(InventoryError, match="the row for 'CV screener' sets in_scope to false"):
        h.app.inventory.import_file(FIXTURES / "systems.yaml")
    assert system(h, "CV screener")["in_scope"] is True
    assert [v["version"] for v in history(h, "CV screener")] == [1]
    changed_tier = tmp_path / "systems.yaml"
    changed_tier.write_text(
        (FIXTURES / "systems.yaml")
        .read_text(encoding="utf-8")
        .replace("in_scope: no", "")
        .replace("risk_tier: high", "risk_tier: limited"),
        encoding="utf-8",
    )
    added, changed, started = h.app.inventory.import_file(changed_tier)
    assert (added, changed) == (0, 1)
    assert system(h, "CV screener")["risk_tier"] == "limited"
    assert [v["version"] for v in history(h, "CV screener")] == [1, 2]


@pytest.mark.parametrize(
    "name, expected",
    [
        (
            "bad_row.csv",
            [
                (2, "owner", "'hana-at-example.com' is not an e-mail address"),
                (2, "risk_tier", "Input should be"),
            ],
        ),
        ("bad_row.json", [(2, "colour", "unknown column"), (3, "name", "Field required")]),
        ("bad_row.yaml", [(2, "name", "duplicate of row 1")]),
    ],
)
def test_a_file_with_a_bad_row_is_refused_whole(harness, name, expected):
    h = harness
    h.add_system("Existing")
    before = counts(h)
    with pytest.raises(InventoryError) as caught:
        h.app.inventory.import_file(FIXTURES / name)
    got = caught.value.problems
    assert [(row, column) for row, column, _ in got] == [
        (row, column) for row, column, _ in expected
    ]
    for (_, _, message), (_, _, wanted) in zip(got, expected, strict=True):
        assert wanted in message
    assert "nothing was imported" in caught.value.message
    lines = {"bad_row.csv": " (line 3)", "bad_row.yaml": " (line 4)", "bad_row.json": ""}[
        name
    ]  # JSON has no lines to name
    for row, column, _ in expected:
        assert f"row {row}{lines if row == 2 else ''}, column {column}:" in caught.value.message
    h.pump()
    assert counts(h) == before


def test_a_row_that_clashes_with_the_database_refuses_the_file_whole(harness, tmp_path):
    """Checks that need the database (a rename onto a taken name) also roll the import back."""
    h = harness
    h.add_system("Alpha")
    h.add_system("Beta")
    path = tmp_path / "clash.json"
    path.write_text(
        json.dumps(
            [
                {"name": "Gamma", "owner": "g@example.com"},
                {"name": "alpha", "owner": "a@example.com"},
            ]
        )
    )
    h.app.inventory.import_file(path)  # 'alpha' updates Alpha's owner: fine
    assert system(h, "Alpha")["owner"] == "a@example.com"
    before = counts(h)
    path.write_text(
        json.dumps(
            [
                {"name": "Delta", "owner": "d@example.com"},
                {"name": "Delta", "owner": "e@example.com"},
            ]
        )
    )
    with pytest.raises(InventoryError):
        h.app.inventory.import_file(path)
    assert counts(h) == before


@pytest.mark.parametrize(
    "name, message",
    [
        ("broken.yaml", "not valid YAML"),
        ("broken.json", "not valid JSON"),
        ("empty.csv", "no header row"),
    ],
)
def test_unreadable_files_are_refused_with_a_reason(harness, name, message):
    h = harness
    before = counts(h)
    with pytest.raises(InventoryError, match=message):
        h.app.inventory.import_file(FIXTURES / name)
    assert counts(h) == before


def test_unsupported_missing_and_binary_files_are_refused(harness, tmp_path):
    h = harness
    with pytest.raises(InventoryError, match="unsupported file type '.xlsx'"):
        (tmp_path / "s.xlsx").write_bytes(b"PK\x03\x04")
        h.app.inventory.import_file(tmp_path / "s.xlsx")
    with pytest.raises(InventoryError, match="no such file"):
        h.app.inventory.import_file(tmp_path / "missing.csv")
    (tmp_path / "junk.csv").write_bytes(b"\xff\xfe\x00\x81binary")
    with pytest.raises(InventoryError, match="cannot be read as UTF-8"):
        h.app.inventory.import_file(tmp_path / "junk.csv")
    (tmp_path / "none.json").write_text("[]")
    with pytest.raises(InventoryError, match="no systems"):
        h.app.inventory.import_file(tmp_path / "none.json")
    assert h.count("ai_systems") == 0


def test_the_inventory_table_holds_what_was_imported(harness):
    h = harness
    h.app.inventory.import_file(FIXTURES / "systems.csv")
    t = AISystem.__table__
    with h.db.connect() as conn:
        names = list(conn.scalars(select(t.c.name).order_by(t.c.name)))
    assert names == ["CV screener", "Forecasting", "Support chatbot"]
