"""Tests for the ISO/IEC 42001 clause and control catalogue."""

from __future__ import annotations

import copy
import dataclasses
import subprocess
import sys
from collections import Counter

import pytest

from aims_workflows.catalog import (
    Catalog,
    CatalogEntry,
    catalog_from_data,
    load_catalog,
    normalise,
)
from aims_workflows.catalog._load import parse, read_text
from aims_workflows.errors import ConfigError, NotFound

CONTROL_IDS = [
    "A.2.2", "A.2.3", "A.2.4",
    "A.3.2", "A.3.3",
    "A.4.2", "A.4.3", "A.4.4", "A.4.5", "A.4.6",
    "A.5.2", "A.5.3", "A.5.4", "A.5.5",
    "A.6.1.2", "A.6.1.3",
    "A.6.2.2", "A.6.2.3", "A.6.2.4", "A.6.2.5", "A.6.2.6", "A.6.2.7", "A.6.2.8",
    "A.7.2", "A.7.3", "A.7.4", "A.7.5", "A.7.6",
    "A.8.2", "A.8.3", "A.8.4", "A.8.5",
    "A.9.2", "A.9.3", "A.9.4",
    "A.10.2", "A.10.3", "A.10.4",
]  # fmt: skip

TOP_GROUPS = ["A.2", "A.3", "A.4", "A.5", "A.6", "A.7", "A.8", "A.9", "A.10"]

CLAUSE_IDS = [
    "4", "4.1", "4.2", "4.3", "4.4",
    "5", "5.1", "5.2", "5.3",
    "6", "6.1", "6.1.1", "6.1.2", "6.1.3", "6.1.4", "6.2", "6.3",
    "7", "7.1", "7.2", "7.3", "7.4", "7.5", "7.5.1", "7.5.2", "7.5.3",
    "8", "8.1", "8.2", "8.3", "8.4",
    "9", "9.1", "9.2", "9.2.1", "9.2.2", "9.3", "9.3.1", "9.3.2", "9.3.3",
    "10", "10.1", "10.2",
]  # fmt: skip


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture
def raw() -> dict:
    """A fresh, mutable copy of the packaged data, for breaking on purpose."""
    return copy.deepcopy(parse(read_text()))


# The headings of ISO/IEC 42001:2023 as the standard prints them. The catalogue must describe
# each entry in its own words, so no title may repeat one of these (compared without case,
# punctuation or the s/z spelling difference).
STANDARD_HEADINGS = [
    "Context of the organization", "Understanding the organization and its context",
    "Understanding the needs and expectations of interested parties",
    "Determining the scope of the AI management system", "AI management system",
    "Leadership", "Leadership and commitment", "AI policy",
    "Roles, responsibilities and authorities", "Planning",
    "Actions to address risks and opportunities", "General", "AI risk assessment",
    "AI risk treatment", "AI system impact assessment",
    "AI objectives and planning to achieve them",
    "Planning of changes", "Support", "Resources", "Competence", "Awareness", "Communication",
    "Documented information", "Creating and updating documented information",
    "Control of documented information", "Operation", "Operational planning and control",
    "Performance evaluation", "Monitoring, measurement, analysis and evaluation",
    "Internal audit", "Internal audit programme", "Management review",
    "Management review inputs", "Management review results", "Improvement",
    "Continual improvement", "Nonconformity and corrective action",
    "Policies related to AI", "Alignment with other organizational policies",
    "Review of the AI policy", "Internal organization", "AI roles and responsibilities",
    "Reporting of concerns", "Resources for AI systems", "Resource documentation",
    "Data resources", "Tooling resources", "System and computing resources", "Human resources",
    "Assessing impacts of AI systems", "AI system impact assessment process",
    "Documentation of AI system impact assessments",
    "Assessing AI system impact on individuals or groups of individuals",
    "Assessing societal impacts of AI systems", "AI system life cycle",
    "Management guidance for AI system development",
    "Objectives for responsible development of AI system",
    "Processes for responsible AI system design and development",
    "AI system requirements and specification",
    "Documentation of AI system design and development", "AI system verification and validation",
    "AI system deployment", "AI system operation and monitoring",
    "AI system technical documentation", "AI system recording of event logs", "Data for AI systems",
    "Data for development and enhancement of AI system", "Acquisition of data",
    "Quality of data for AI systems", "Data provenance", "Data preparation",
    "Information for interested parties of AI systems",
    "System documentation and information for users", "External reporting",
    "Communication of incidents", "Information for interested parties", "Use of AI systems",
    "Processes for responsible use of AI systems", "Objectives for responsible use of AI system",
    "Intended use of the AI system", "Third-party and customer relationships",
    "Allocating responsibilities", "Suppliers", "Customers",
]  # fmt: skip


def _heading_key(text: str) -> str:
    words = "".join(ch if ch.isalnum() else " " for ch in text.lower()).split()
    return " ".join(words).replace("organization", "organisation")


def test_no_title_repeats_a_heading_of_the_standard(catalog: Catalog) -> None:
    headings = {_heading_key(h) for h in STANDARD_HEADINGS}
    repeated = [
        f"{e.id} {e.title!r}" for e in catalog.entries() if _heading_key(e.title) in headings
    ]
    assert repeated == []


def test_audit_and_review_sub_clauses_are_listed(catalog: Catalog) -> None:
    assert [c.id for c in catalog.children("9.2")] == ["9.2.1", "9.2.2"]
    assert [c.id for c in catalog.children("9.3")] == ["9.3.1", "9.3.2", "9.3.3"]


# -- contents ----------------------------------------------------------------------------------


def test_exactly_38_controls_in_standard_order(catalog: Catalog) -> None:
    controls = catalog.controls()
    assert len(controls) == 38
    assert [c.id for c in controls] == CONTROL_IDS
    assert all(c.kind == "control" for c in controls)


def test_nine_top_level_groups_and_every_control_belongs_to_one(catalog: Catalog) -> None:
    top = [g.id for g in catalog.groups() if g.parent is None]
    assert top == TOP_GROUPS
    assert [g.id for g in catalog.groups() if g.parent is not None] == ["A.6.1", "A.6.2"]
    per_group = Counter(c.group for c in catalog.controls())
    assert per_group == {
        "A.2": 3, "A.3": 2, "A.4": 5, "A.5": 4, "A.6": 9,
        "A.7": 5, "A.8": 4, "A.9": 3, "A.10": 3,
    }  # fmt: skip
    for control in catalog.controls():
        assert control.id.startswith(control.group + ".")


def test_a6_controls_sit_in_their_sub_groups(catalog: Catalog) -> None:
    assert catalog.get("A.6.1.2").parent == "A.6.1"
    assert catalog.get("A.6.2.8").parent == "A.6.2"
    assert catalog.get("A.6.2.8").group == "A.6"
    assert [c.id for c in catalog.controls("A.6.1")] == ["A.6.1.2", "A.6.1.3"]
    assert len(catalog.controls("A.6")) == 9
    assert [c.id for c in catalog.controls("a.10")] == ["A.10.2", "A.10.3", "A.10.4"]


def test_every_listed_clause_present_in_order(catalog: Catalog) -> None:
    assert [c.id for c in catalog.clauses()] == CLAUSE_IDS
    assert all(c.kind == "clause" and c.group is None for c in catalog.clauses())


def test_entries_put_clauses_first_and_sort_numerically(catalog: Catalog) -> None:
    ids = [e.id for e in catalog.entries()]
    assert ids[: len(CLAUSE_IDS)] == CLAUSE_IDS
    # Numeric, not lexical: 10 after 9, A.10 after A.9.
    assert ids.index("10") > ids.index("9.3")
    assert ids.index("A.10") > ids.index("A.9.4")
    assert ids.index("A.6.1") < ids.index("A.6.1.2") < ids.index("A.6.2")
    assert len(catalog) == len(ids) == len(set(ids))
    assert [e.id for e in catalog] == ids


def test_no_duplicate_ids_and_parents_resolve(catalog: Catalog) -> None:
    ids = [e.id for e in catalog.entries()]
    assert len(ids) == len(set(ids))
    for entry in catalog.entries():
        if entry.parent is None:
            assert entry.id in TOP_GROUPS or entry.id.isdigit()
            continue
        parent = catalog.get(entry.parent)
        assert entry.id.startswith(parent.id + ".")
        assert entry in catalog.children(parent.id)


def test_every_entry_has_text_and_controls_have_known_evidence(catalog: Catalog) -> None:
    vocabulary = catalog.evidence_kinds
    assert "approval" in vocabulary
    for entry in catalog.entries():
        assert entry.title.strip() and entry.summary.strip()
        assert "\n" not in entry.title
    for control in catalog.controls():
        assert control.evidence_kinds
        assert set(control.evidence_kinds) <= set(vocabulary)


def test_children(catalog: Catalog) -> None:
    assert [c.id for c in catalog.children("6")] == ["6.1", "6.2", "6.3"]
    assert [c.id for c in catalog.children("6.1")] == ["6.1.1", "6.1.2", "6.1.3", "6.1.4"]
    assert [c.id for c in catalog.children("A.6")] == ["A.6.1", "A.6.2"]
    assert catalog.children("A.7.5") == []
    with pytest.raises(NotFound):
        catalog.children("A.99")


def test_crosswalk_runs_both_ways(catalog: Catalog) -> None:
    assert [e.id for e in catalog.related("A.5.2")] == ["6.1.4", "8.4"]
    assert "A.5.2" in [e.id for e in catalog.related("6.1.4")]
    assert all(e.kind == "clause" for c in catalog.controls() for e in catalog.related(c.id))


def test_entries_are_immutable(catalog: Catalog) -> None:
    entry = catalog.get("A.7.5")
    with pytest.raises(dataclasses.FrozenInstanceError):
        entry.title = "changed"  # type: ignore[misc]
    catalog.controls().clear()  # a returned list is a copy
    assert len(catalog.controls()) == 38


# -- normalisation and lookup ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("A.5.2", "A.5.2"),
        ("a.5.2", "A.5.2"),
        ("  A.5.2 ", "A.5.2"),
        ("A. 5.2", "A.5.2"),
        ("A5.2", "A.5.2"),
        ("6.1.2.", "6.1.2"),
        (8.2, "8.2"),
        (10.1, "10.1"),
        (4, "4"),
    ],
)
def test_normalise(given: object, expected: str) -> None:
    assert normalise(given) == expected
    assert Catalog.normalise(given) == expected


@pytest.mark.parametrize("bad", [None, True, ["A.5.2"], b"A.5.2"])
def test_normalise_rejects_non_ids(bad: object) -> None:
    with pytest.raises(TypeError):
        normalise(bad)


def test_lookup_accepts_any_spelling_and_returns_canonical(catalog: Catalog) -> None:
    entry = catalog.get(" a.7.5 ")
    assert entry.id == "A.7.5"
    assert entry.title == "Where data comes from"
    assert catalog.get(8.2).id == "8.2"  # unquoted in a YAML workflow file
    assert "a.6.2.8" in catalog
    assert catalog.is_known("A.10.4")
    assert not catalog.is_known("A.10.5")
    assert not catalog.is_known(None)
    assert None not in catalog
    assert "A.1" not in catalog


def test_get_unknown_raises_not_found_with_hint(catalog: Catalog) -> None:
    with pytest.raises(NotFound) as info:
        catalog.get("A.6.2.9")
    assert info.value.hint == "did you mean 'A.6.2.8'?"
    assert str(info.value) == "unknown control 'A.6.2.9' (did you mean 'A.6.2.8'?)"

    with pytest.raises(NotFound, match=r"unknown clause '6\.1\.5'.*'6\.1\.4'"):
        catalog.get("6.1.5")


def test_get_unknown_without_close_match_has_no_hint(catalog: Catalog) -> None:
    with pytest.raises(NotFound) as info:
        catalog.get("risk register")
    assert info.value.hint is None
    with pytest.raises(NotFound):
        catalog.get(None)


@pytest.mark.parametrize(
    ("typo", "expected"),
    [
        ("A.6.2.9", "A.6.2.8"),
        ("a.6.2.9", "A.6.2.8"),
        ("A.5.6", "A.5.5"),
        ("A.5.1", "A.5.2"),
        ("A.2.5", "A.2.4"),
        ("6.1.5", "6.1.4"),
        ("A5.2.", "A.5.2"),
        ("6.2.8", "A.6.2.8"),  # Annex prefix forgotten
        ("A.7.55", "A.7.5"),
        ("A.11.2", "A.10.2"),
        ("10.3", "10.2"),
        ("7.5.4", "7.5.3"),
        ("a.10.2", "A.10.2"),  # known ids come back canonical
    ],
)
def test_suggest_on_typos(catalog: Catalog, typo: str, expected: str) -> None:
    assert catalog.suggest(typo) == expected


@pytest.mark.parametrize("nonsense", ["", "   ", "risk register", "Z", None])
def test_suggest_gives_up_on_nonsense(catalog: Catalog, nonsense: object) -> None:
    assert catalog.suggest(nonsense) is None


# -- loading and validation --------------------------------------------------------------------


def test_load_catalog_is_cached() -> None:
    assert load_catalog() is load_catalog()


def test_data_file_states_it_is_not_the_standard_text() -> None:
    header = read_text().split("\n\n", 1)[0].lower()
    assert "copyright" in header
    assert "own words" in header


def test_packaged_data_round_trips(raw: dict) -> None:
    rebuilt = catalog_from_data(raw)
    assert [e.id for e in rebuilt.entries()] == [e.id for e in load_catalog().entries()]


def test_duplicate_id_is_rejected(raw: dict) -> None:
    raw["annex_a"]["controls"].append(copy.deepcopy(raw["annex_a"]["controls"][0]))
    with pytest.raises(ConfigError) as info:
        catalog_from_data(raw)
    assert "duplicate id 'A.2.2'" in str(info.value)
    assert "expected 38 controls, found 39" in str(info.value)


def test_missing_control_is_rejected(raw: dict) -> None:
    raw["annex_a"]["controls"] = [c for c in raw["annex_a"]["controls"] if c["id"] != "A.9.4"]
    raw["crosswalk"].pop("A.9.4")
    with pytest.raises(ConfigError, match="expected 38 controls, found 37"):
        catalog_from_data(raw)


def test_missing_parent_is_rejected(raw: dict) -> None:
    raw["clauses"] = [c for c in raw["clauses"] if c["id"] != "7.5"]
    with pytest.raises(ConfigError) as info:
        catalog_from_data(raw)
    message = str(info.value)
    assert "parent '7.5' does not exist" in message
    assert "7.5.1" in message and "7.5.3" in message  # every problem, not just the first


def test_parent_must_match_numbering(raw: dict) -> None:
    control = next(c for c in raw["annex_a"]["controls"] if c["id"] == "A.6.2.4")
    control["parent"] = "A.6.1"
    with pytest.raises(ConfigError, match="numbering implies 'A.6.2'"):
        catalog_from_data(raw)


def test_unquoted_id_is_rejected(raw: dict) -> None:
    raw["clauses"][1]["id"] = 4.1
    with pytest.raises(ConfigError, match="must be a quoted string"):
        catalog_from_data(raw)


def test_unknown_evidence_kind_and_bad_crosswalk_are_rejected(raw: dict) -> None:
    raw["annex_a"]["controls"][0]["evidence_kinds"] = ["document", "vibes"]
    raw["crosswalk"]["A.2.2"] = ["5.9"]
    with pytest.raises(ConfigError) as info:
        catalog_from_data(raw)
    assert "unknown evidence kind 'vibes'" in str(info.value)
    assert "'5.9' is not a known clause" in str(info.value)


def test_misspelt_key_is_rejected(raw: dict) -> None:
    raw["clauses"][0]["sumary"] = raw["clauses"][0].pop("summary")
    with pytest.raises(ConfigError) as info:
        catalog_from_data(raw)
    assert "unexpected key 'sumary'" in str(info.value)
    assert "missing key 'summary'" in str(info.value)


def test_non_mapping_and_broken_yaml_are_config_errors() -> None:
    with pytest.raises(ConfigError):
        catalog_from_data([])  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="cannot parse"):
        parse("clauses: [unclosed")


def test_constructor_checks_structure() -> None:
    orphan = CatalogEntry("6.1", "clause", "Orphan", "No parent present.", "6", None)
    with pytest.raises(ConfigError, match="parent '6' does not exist"):
        Catalog([orphan])
    root = CatalogEntry("6", "clause", "Planning", "Top.", None, None)
    small = Catalog([orphan, root])
    assert [e.id for e in small.entries()] == ["6", "6.1"]


def test_import_stays_light() -> None:
    # Compared with the bare package, so imports added to aims_workflows/__init__ by other
    # parts of the project do not make this test about them.
    code = (
        "import sys, aims_workflows\n"
        "before = set(sys.modules)\n"
        "import aims_workflows.catalog\n"
        "heavy = ('ruamel', 'ruamel.yaml', 'difflib', 'importlib.resources')\n"
        "print(','.join(m for m in heavy if m in sys.modules and m not in before))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == ""
