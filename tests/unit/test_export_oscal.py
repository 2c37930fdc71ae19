"""``aims export oscal``: OSCAL files written from a history the real runtime produced (SQLite and
PostgreSQL), each file checked against NIST's JSON schema and read back through compliance-trestle's
models to prove they are valid OSCAL, with
stable UUIDs, gaps and nonconformities as findings, evidence hashes that are the ledger's own,
and the promises about the output directory (never half-written, never silently replaced)."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from export_world import (
    Pack,
    assessed_world,
    audit_with_a_finding,
    tamper,
    use_soa,
    workflows_without,
)
from oscal_schemas import assert_valid_oscal
from sqlalchemy import select, text

from aims_workflows import __version__
from aims_workflows.catalog import load_catalog
from aims_workflows.errors import ExportError
from aims_workflows.export import parse_period
from aims_workflows.export._snapshot import snapshot
from aims_workflows.export.oscal import write_oscal
from aims_workflows.export.oscal._ids import (
    NAMESPACE,
    catalog_id,
    objective_id,
    oscal_id,
    sort_id,
    stable_uuid,
    token,
)
from aims_workflows.export.oscal._trestle import INSTALL_HINT
from aims_workflows.export.pack import write_audit_pack
from aims_workflows.export.soa import build_coverage
from aims_workflows.store.models import Finding
from conftest import cli_environment, run_aims

trestle_catalog = pytest.importorskip("trestle.oscal.catalog")
from trestle.oscal import OSCAL_VERSION  # noqa: E402
from trestle.oscal.assessment_plan import AssessmentPlan  # noqa: E402
from trestle.oscal.assessment_results import AssessmentResults  # noqa: E402

Catalog = trestle_catalog.Catalog
FILES = {
    "catalog.json",
    "profile.json",
    "system-security-plan.json",
    "assessment-plan.json",
    "assessment-results.json",
    "plan-of-action-and-milestones.json",
}
# OSCAL's token: a letter or underscore first, then letters, digits, - . _
TOKEN = re.compile(r"^[_A-Za-z][_A-Za-z0-9.\-]*$")


@pytest.fixture
def world(harness, answers):
    use_soa(harness)
    return assessed_world(harness, answers)


def export(h, directory: Path, **kw):
    result = write_oscal(h.app, directory, **kw)
    return result, read(directory)


class Read:
    """An export read back through trestle's models (which validate on the way in)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        # every file NIST's schema first: trestle's models are looser (see oscal_schemas)
        for path in sorted(directory.glob("*.json")):
            assert_valid_oscal(path)
        self.catalog = Catalog.oscal_read(directory / "catalog.json")
        self.plan = AssessmentPlan.oscal_read(directory / "assessment-plan.json")
        self.ar = AssessmentResults.oscal_read(directory / "assessment-results.json")
        self.result = self.ar.results[0]

    def observation(self, label: str):
        found = [o for o in self.result.observations if prop(o, "label") == label]
        assert len(found) == 1, label
        return found[0]

    def findings_on(self, control_or_clause: str) -> list:
        target = objective_id(control_or_clause)
        return [f for f in self.result.findings or [] if f.target.target_id == target]


def read(directory: Path) -> Read:
    return Read(directory)


def prop(item, name: str):
    values = [p.value for p in item.props or [] if p.name == name]
    return values[0] if values else None


def coverage(h, period=None):
    with snapshot(h.db) as conn:
        return build_coverage(
            conn,
            catalog=load_catalog(),
            workflows=h.app.workflows,
            soa=h.app.config.soa,
            period=period or parse_period(None, None),
            generated_at="now",
            organisation="Example Ltd",
        )


def ledger_hashes(h) -> dict[int, tuple[str, str | None]]:
    with h.db.connect() as conn:
        return {
            seq: (digest, run_id)
            for seq, digest, run_id in conn.execute(text("SELECT seq, hash, run_id FROM evidence"))
        }


def walk_controls(controls):
    for control in controls or []:
        yield control
        yield from walk_controls(control.controls)


def walk_groups(groups):
    for group in groups or []:
        yield group
        yield from walk_groups(getattr(group, "groups", None))


# -- ids -------------------------------------------------------------------------------------------
def test_every_catalogue_id_maps_to_an_oscal_token_and_back():
    catalog = load_catalog()
    mapped = {entry.id: oscal_id(entry.id) for entry in catalog.entries()}
    assert (
        mapped["A.6.2.4"] == "a-6.2.4"
        and mapped["6.1.2"] == "clause-6.1.2"
        and mapped["A.6"] == "a-6"
    )
    assert all(TOKEN.match(o) for o in mapped.values())
    assert len(set(mapped.values())) == len(mapped)
    assert all(catalog_id(o) == c for c, o in mapped.items())
    with pytest.raises(ValueError):
        catalog_id("ac-2")
    # zero-padded so that text order is the standard's order
    ordered = [sort_id(e.id) for e in catalog.controls()]
    assert ordered == sorted(ordered) and sort_id("A.10.4") == "a-10.04"


def test_uuids_are_name_based_and_tokens_are_made_valid():
    first = stable_uuid("observation", "A.5.2", "Example Ltd")
    assert (
        first
        == stable_uuid("observation", "A.5.2", "Example Ltd")
        == str(uuid.uuid5(NAMESPACE, "observation\x1fA.5.2\x1fExample Ltd"))
    )
    assert uuid.UUID(first).version == 5
    assert stable_uuid("a", "b/c") != stable_uuid("a/b", "c") and stable_uuid("a") != stable_uuid(
        "b"
    )
    for raw, made in [
        ("data officer", "data-officer"),
        ("9lives", "_9lives"),
        ("", "_"),
        ("ok_role", "ok_role"),
    ]:
        assert token(raw) == made and TOKEN.match(made)


# -- the catalog -----------------------------------------------------------------------------------
def test_the_catalog_holds_every_clause_and_control_in_the_catalogues_words(harness, tmp_path):
    _, out = export(harness, tmp_path / "oscal")
    catalog = load_catalog()
    groups = out.catalog.groups
    assert [g.id for g in groups] == [f"clause-{n}" for n in range(4, 11)] + [
        f"a-{n}" for n in range(2, 11)
    ]
    controls = {
        c.id: c for g in walk_groups(groups) for c in walk_controls(getattr(g, "controls", None))
    }
    annex = [c for c in controls if c.startswith("a-")]
    assert len(annex) == 38 and len(controls) == 38 + len(
        [c for c in catalog.clauses() if c.parent]
    )
    for entry in catalog.controls() + [c for c in catalog.clauses() if c.parent]:
        control = controls[oscal_id(entry.id)]
        assert (control.title, prop(control, "label")) == (entry.title, entry.id)
        objective = [p for p in control.parts if p.name == "assessment-objective"]
        # the only prose is the catalogue's own summary
        assert [(p.id, p.prose) for p in objective] == [(objective_id(entry.id), entry.summary)]
    # sub-clauses inside their clause; A.6's controls by way of its two sub-groups
    assert [c.id for c in controls["clause-6.1"].controls] == [
        "clause-6.1.1",
        "clause-6.1.2",
        "clause-6.1.3",
        "clause-6.1.4",
    ]
    a6 = next(g for g in groups if g.id == "a-6")
    assert [g.id for g in a6.groups] == ["a-6.1", "a-6.2"]
    # the crosswalk as links inside the catalog, and the evidence kinds
    assert [link.href for link in controls["a-5.2"].links] == ["#clause-6.1.4", "#clause-8.4"]
    assert [p.value for p in controls["a-2.2"].props if p.name == "evidence-kind"] == list(
        catalog.get("A.2.2").evidence_kinds
    )
    assert out.catalog.metadata.oscal_version.root.root == OSCAL_VERSION


# -- the assessment results ------------------------------------------------------------------------
def test_the_results_and_plan_are_valid_oscal_tied_together_by_hashes(harness, world, tmp_path):
    result, out = export(harness, tmp_path / "oscal")
    assert set(result.files) == FILES == {p.name for p in out.directory.iterdir()}
    # beyond the models' field checks: trestle's own validators (no duplicate UUIDs, responsible
    # parties in defined roles, the catalog readable through its catalog interface)
    from trestle.core.validator_factory import validator_factory

    validators = list(validator_factory.get_all())
    assert len(validators) >= 5
    for model in (out.catalog, out.plan, out.ar):
        for validator in validators:
            assert validator.model_is_valid(model, True), (
                type(model).__name__,
                validator.error_msg(),
            )
    for name, digest in result.files.items():
        assert hashlib.sha256((out.directory / name).read_bytes()).hexdigest() == digest
    meta = out.ar.metadata
    assert meta.title == "ISO/IEC 42001 assessment results: Example Ltd (everything recorded)"
    assert abs(meta.last_modified - harness.clock.now()) < timedelta(milliseconds=1)
    assert meta.version == __version__ and meta.oscal_version.root.root == OSCAL_VERSION
    # the people of aims.yaml in their roles
    parties = {p.name: p for p in meta.parties}
    assert parties["Example Ltd"].type == "organization" and [
        str(e) for e in parties["amy@example.com"].email_addresses
    ] == ["amy@example.com"]
    responsible = {r.role_id: r.party_uuids for r in meta.responsible_parties}
    assert responsible["aims_owner"] == [parties["amy@example.com"].uuid]
    assert {r.id for r in meta.roles} >= {"aims_owner", "top_management", "internal_auditor"}
    # the results import the plan written beside them; back-matter carries each file's SHA-256
    assert out.ar.import_ap.href == "assessment-plan.json"
    hashes = {
        r.rlinks[0].href: r.rlinks[0].hashes[0].value
        for r in out.ar.back_matter.resources
        if r.rlinks
    }
    assert hashes == {
        "catalog.json": result.files["catalog.json"],
        "assessment-plan.json": result.files["assessment-plan.json"],
    }
    # the plan imports the SSP written beside it, whose SHA-256 is in the plan's back-matter
    assert out.plan.import_ssp.href == "system-security-plan.json"
    (ssp,) = [
        r for r in out.plan.back_matter.resources if r.rlinks[0].href == "system-security-plan.json"
    ]
    assert ssp.rlinks[0].hashes[0].value == result.files["system-security-plan.json"]
    assert "AI management system" in ssp.title
    # reviewed: the applicable controls; A.10.4 is excluded in aims.yaml
    selection = out.result.reviewed_controls.control_selections[0]
    assert [c.control_id for c in selection.exclude_controls] == ["a-10.4"]
    assert len(selection.include_controls) == 37 and "a-10.4" not in {
        c.control_id for c in selection.include_controls
    }
    assert out.plan.reviewed_controls == out.result.reviewed_controls
    # every control id the results name is in the catalog
    catalog_ids = {
        c.id
        for g in walk_groups(out.catalog.groups)
        for c in walk_controls(getattr(g, "controls", None))
    }
    assert {c.control_id for c in selection.include_controls} <= catalog_ids


def test_every_annex_a_control_has_an_observation_that_matches_the_soa(harness, world, tmp_path):
    _, out = export(harness, tmp_path / "oscal")
    report = coverage(harness)
    assert len([o for o in out.result.observations if prop(o, "soa-status")]) == 38
    for row in report.controls:
        observation = out.observation(row.id)
        assert [getattr(m, "value", m) for m in observation.methods] == ["EXAMINE"]
        assert prop(observation, "soa-status") == row.status
        assert int(prop(observation, "evidence-rows")) == row.evidence_rows
        assert (int(prop(observation, "runs-completed")), int(prop(observation, "runs-open"))) == (
            row.runs_completed,
            row.runs_open,
        )
        assert [p.value for p in observation.props if p.name == "workflow"] == list(row.workflows)
        listed = observation.relevant_evidence or []
        # the rows listed per run add up to the SoA's figure
        assert sum(int(prop(e, "ledger-rows")) for e in listed) == row.evidence_rows, row.id
    impact = out.observation("A.5.2")
    assert "Why: Our systems affect applicants." in impact.description
    assert (
        "Excluded from the Statement of Applicability. Why: No AI system is offered to customers."
        in out.observation("A.10.4").description
    )


def test_evidence_names_ledger_rows_by_seq_and_their_chain_hash(harness, world, tmp_path):
    _, out = export(harness, tmp_path / "oscal")
    stored = ledger_hashes(harness)
    ledger = next(r for r in out.ar.back_matter.resources if r.title.startswith("Evidence ledger"))
    entries = [e for o in out.result.observations for e in o.relevant_evidence or []]
    assert len(entries) > 5
    resources = {f"#{r.uuid}": r for r in out.ar.back_matter.resources}
    for entry in entries:
        seq = int(prop(entry, "ledger-seq"))
        assert prop(entry, "ledger-hash") == stored[seq][0]
        assert stored[seq][1] == prop(entry, "run-id")  # the row is the named run's
        # it points at a back-matter resource for that very row, carrying its seq and hash
        row = resources[entry.href]
        assert (prop(row, "ledger-seq"), prop(row, "ledger-hash")) == (str(seq), stored[seq][0])
        assert row.title == f"Evidence ledger row #{seq}" and row.rlinks is None
    cited = [r for r in out.ar.back_matter.resources if r.title.startswith("Evidence ledger row")]
    assert len(cited) == len({e.href for e in entries})  # one resource per row, none unused
    head = max(stored)
    assert (
        prop(ledger, "ledger-head-seq") == str(head)
        and prop(ledger, "ledger-head-hash") == stored[head][0]
    )
    assert (
        prop(ledger, "ledger-chain-verified") == "true"
        and prop(out.result, "ledger-chain-verified") == "true"
    )
    assert (
        ledger.rlinks is None
    )  # the rows themselves are in the audit pack, not beside these files


@pytest.fixture
def without_policy(make_harness, database, db_url, tmp_path, clock, answers):
    """The assessed world of an organisation that does not use the ai-policy workflow: A.2.2 to
    A.2.4 have no workflow."""
    (tmp_path / "org").mkdir()
    h = make_harness(
        db_url, tmp_path / "org", clock, workflows=workflows_without(tmp_path / "wf", "ai-policy")
    )
    use_soa(h)
    assessed_world(h, answers)
    yield h
    h.app.db.dispose()


def test_gaps_are_not_satisfied_and_evidenced_controls_satisfied(without_policy, tmp_path):
    harness = without_policy
    result, out = export(harness, tmp_path / "oscal")
    report = coverage(harness)
    by_id = {c.id: c for c in report.controls}
    gaps = [c.id for c in report.controls if c.gap]
    assert "A.2.2" in gaps
    for control in gaps:
        (finding,) = out.findings_on(control)
        assert (
            finding.target.status.state.value == "not-satisfied" and prop(finding, "gap") == "true"
        )
        assert finding.related_observations[0].observation_uuid == out.observation(control).uuid
    (impact,) = out.findings_on("A.5.2")
    assert by_id["A.5.2"].status == "implemented"
    assert (impact.target.status.state.value, impact.target.status.reason) == ("satisfied", "pass")
    # described with evidence outside aims: NIST requires a status, so not-satisfied for the
    # reason "other", marked as not determined by aims; excluded: no finding at all
    (resources,) = out.findings_on("A.4.2")
    status = resources.target.status
    assert (status.state.value, status.reason) == ("not-satisfied", "other")
    assert "Not determined by aims" in status.remarks
    assert prop(resources, "determination") == "aims-not-determined"
    assert resources.target.implementation_status.state == "implemented"
    assert out.findings_on("A.10.4") == []
    # every finding has a status and names aims-workflows (a tool) as its origin
    assert all(f.target.status is not None for f in out.result.findings)
    tool = out.plan.assessment_assets.components[0]
    assert tool.title.startswith("aims-workflows") and tool.type.root == "software"
    for finding in out.result.findings:
        (origin,) = finding.origins
        assert [(a.type.value, a.actor_uuid) for a in origin.actors] == [("tool", tool.uuid)]
        assert prop(finding, "determination") in {"aims-automated", "aims-not-determined"}
        assert next(p for p in finding.props if p.name == "determination").ns is not None
    states = [f.target.status.state.value for f in out.result.findings]
    assert result.findings == {
        "satisfied": states.count("satisfied"),
        "not_satisfied": states.count("not-satisfied"),
        "nonconformities": 0,
        "poam_items": 0,
        "treatments_completed": 0,
    }
    assert states.count("satisfied") == report.summary()["implemented"]


def test_an_open_nonconformity_is_a_finding_on_its_clause_until_it_is_closed(
    harness, world, answers, tmp_path
):
    audit_with_a_finding(harness, answers)
    with harness.db.connect() as conn:
        f = Finding.__table__
        finding_id, title, raised, closed = conn.execute(
            select(f.c.id, f.c.title, f.c.raised_at, f.c.closed_at)
        ).one()
        raised_row = conn.execute(
            text("SELECT seq, hash FROM evidence WHERE kind = 'finding.raised'")
        ).one()
    assert closed is not None
    # a period ending the day it was raised: open at the end of it
    _, out = export(
        harness, tmp_path / "then", period=parse_period(None, raised.date().isoformat())
    )
    (finding,) = out.findings_on("6.1.2")
    assert finding.title == f"Open nonconformity {finding_id}: {title}"
    assert (
        finding.target.status.state.value == "not-satisfied"
        and prop(finding, "finding-id") == finding_id
    )
    observation = next(
        o
        for o in out.result.observations
        if o.uuid == finding.related_observations[0].observation_uuid
    )
    assert (
        observation.description.startswith("Nonconformity (")
        and "against clause 6.1.2." in observation.description
    )
    evidence = observation.relevant_evidence[0]
    assert (int(prop(evidence, "ledger-seq")), prop(evidence, "ledger-hash")) == (
        raised_row.seq,
        raised_row.hash,
    )
    assert "clause-6.1.2" in {
        c.control_id
        for s in out.result.reviewed_controls.control_selections
        for c in s.include_controls
    }
    assert prop(out.result, "open-nonconformities") == "1"
    # everything recorded: it was closed by its corrective action since
    _, now = export(harness, tmp_path / "now")
    assert now.findings_on("6.1.2") == [] and prop(now.result, "open-nonconformities") == "0"


def test_a_period_bounds_the_result_and_its_figures(harness, world, tmp_path):
    period = parse_period("2026-02-10", None)
    _, out = export(harness, tmp_path / "oscal", period=period)
    report = coverage(harness, period)
    assert out.result.start == period.start and abs(
        out.result.end - harness.clock.now()
    ) < timedelta(milliseconds=1)
    assert (
        prop(out.result, "period-since") == "2026-02-10"
        and prop(out.result, "period-until") is None
    )
    for row in report.controls:
        assert int(prop(out.observation(row.id), "evidence-rows")) == row.evidence_rows
    risk = out.observation("A.5.2")
    first_seqs = [int(prop(e, "ledger-first-seq")) for e in risk.relevant_evidence or []]
    with harness.db.connect() as conn:
        first_in_period = conn.execute(
            text("SELECT min(seq) FROM evidence WHERE recorded_at >= '2026-02-10'")
        ).scalar()
    assert all(seq >= first_in_period for seq in first_seqs)


# -- stability -------------------------------------------------------------------------------------
def uuids(out: Read) -> dict[str, set[str]]:
    r = out.result
    return {
        "observations": {o.uuid for o in r.observations},
        "findings": {f.uuid for f in r.findings},
        "result": {r.uuid},
        "catalog": {out.catalog.uuid},
        "plan": {out.plan.uuid},
    }


def test_re_exports_are_identical_and_keep_their_uuids_when_the_data_moves_on(
    harness, world, answers, tmp_path
):
    _, first = export(harness, tmp_path / "a")
    export(harness, tmp_path / "b")
    for name in FILES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name

    # more evidence later: the same things keep their UUIDs; the results document gets a new one
    harness.clock.advance(days=1)
    harness.complete("identify", answers["risk.identify"], run_id=world.risk2)
    _, later = export(harness, tmp_path / "c")
    assert uuids(later) == uuids(first)
    assert later.ar.uuid != first.ar.uuid
    assert int(prop(later.observation("A.5.2"), "evidence-rows")) >= int(
        prop(first.observation("A.5.2"), "evidence-rows")
    )
    # another period is another result
    _, other = export(harness, tmp_path / "d", period=parse_period("2026-01-01", None))
    assert other.result.uuid != first.result.uuid and other.catalog.uuid == first.catalog.uuid


# -- without the extra -----------------------------------------------------------------------------
@pytest.fixture
def no_trestle(monkeypatch):
    """As if compliance-trestle were not installed: every import of it fails."""
    for name in [m for m in sys.modules if m == "trestle" or m.startswith("trestle.")] + [
        "trestle"
    ]:
        monkeypatch.setitem(sys.modules, name, None)


def test_without_compliance_trestle_the_error_names_the_install_command(
    harness, world, tmp_path, no_trestle
):
    with pytest.raises(ExportError) as caught:
        write_oscal(harness.app, tmp_path / "oscal")
    assert "compliance-trestle" in caught.value.message and INSTALL_HINT in caught.value.hint
    assert INSTALL_HINT == "pip install 'aims-workflows[oscal]'"
    assert [p for p in tmp_path.iterdir() if "oscal" in p.name] == []
    # the audit pack is complete without its oscal/ folder
    write_audit_pack(harness.app, tmp_path / "pack.zip")
    pack = Pack(tmp_path / "pack.zip")
    assert "soa.csv" in pack.files and not any(name.startswith("oscal/") for name in pack.files)


# -- the output directory --------------------------------------------------------------------------
def test_an_earlier_export_is_replaced_only_with_force_and_nothing_else_ever(
    harness, world, tmp_path
):
    target = tmp_path / "out" / "oscal"
    target.parent.mkdir()
    first, _ = export(harness, target)
    harness.clock.advance(hours=1)
    with pytest.raises(ExportError) as caught:
        write_oscal(harness.app, target)
    assert "holds an export already" in caught.value.message and "--force" in caught.value.hint
    assert {n: hashlib.sha256((target / n).read_bytes()).hexdigest() for n in FILES} == first.files
    second = write_oscal(harness.app, target, force=True)
    assert second.files != first.files
    assert {n: hashlib.sha256((target / n).read_bytes()).hexdigest() for n in FILES} == second.files
    assert [p.name for p in target.parent.iterdir()] == [
        "oscal"
    ]  # no temporary or set-aside directory left

    # a directory with anything else in it is never replaced, not even with --force
    papers = tmp_path / "papers"
    papers.mkdir()
    (papers / "thesis.txt").write_text("years of work")
    (papers / "catalog.json").write_text("{}")
    with pytest.raises(ExportError) as caught:
        write_oscal(harness.app, papers, force=True)
    assert "holds other files (thesis.txt)" in caught.value.message
    assert sorted(p.name for p in papers.iterdir()) == ["catalog.json", "thesis.txt"]
    # an empty directory is used; a file or a missing parent is a clear error
    (tmp_path / "empty").mkdir()
    write_oscal(harness.app, tmp_path / "empty")
    assert {p.name for p in (tmp_path / "empty").iterdir()} == FILES
    for bad, words in [
        (tmp_path / "aims.yaml", "is not a directory"),
        (tmp_path / "missing" / "x", "does not exist"),
    ]:
        with pytest.raises(ExportError) as caught:
            write_oscal(harness.app, bad)
        assert words in caught.value.message
    assert not (tmp_path / "missing").exists()


@pytest.mark.parametrize("failure", [OSError("disk full"), KeyboardInterrupt()])
def test_a_failed_export_leaves_nothing_and_keeps_the_earlier_one(
    harness, world, tmp_path, monkeypatch, failure
):
    out = tmp_path / "out"
    out.mkdir()
    before, _ = export(harness, out / "oscal")
    real_write = Path.write_bytes
    written = []

    def failing_write(self, data):
        if self.name == "assessment-plan.json":  # three files are written by then, the plan not
            raise type(failure)(*failure.args)
        written.append(self.name)
        return real_write(self, data)

    monkeypatch.setattr(Path, "write_bytes", failing_write)
    with pytest.raises(type(failure)):
        write_oscal(harness.app, out / "oscal", force=True)
    with pytest.raises(type(failure)):
        write_oscal(harness.app, out / "fresh")
    monkeypatch.undo()
    assert written == ["catalog.json", "profile.json", "system-security-plan.json"] * 2
    assert [p.name for p in out.iterdir()] == ["oscal"]
    assert {
        n: hashlib.sha256((out / "oscal" / n).read_bytes()).hexdigest() for n in FILES
    } == before.files


# -- a broken chain, the audit pack ----------------------------------------------------------------
def test_a_broken_chain_is_a_not_satisfied_finding_on_7_5_3(harness, world, tmp_path):
    tamper(harness.db, "UPDATE evidence SET actor = 'mallory@example.com' WHERE seq = 3")
    result, out = export(harness, tmp_path / "oscal")
    assert not result.chain.ok and result.chain.first_bad_seq == 3
    (finding,) = out.findings_on("7.5.3")
    assert finding.target.status.state.value == "not-satisfied" and "row 3" in finding.description
    assert prop(out.result, "ledger-chain-verified") == "false"


def test_the_audit_pack_carries_the_oscal_files_pointing_at_its_ledger(harness, world, tmp_path):
    write_audit_pack(harness.app, tmp_path / "pack.zip")
    pack = Pack(tmp_path / "pack.zip")
    assert {n for n in pack.files if n.startswith("oscal/")} == {f"oscal/{n}" for n in FILES}
    listed = {f["path"] for f in pack.json("manifest.json")["files"]}
    assert {f"oscal/{n}" for n in FILES} <= listed
    Catalog.model_validate(pack.json("oscal/catalog.json")["catalog"])
    AssessmentPlan.model_validate(pack.json("oscal/assessment-plan.json")["assessment-plan"])
    ar = AssessmentResults.model_validate(
        pack.json("oscal/assessment-results.json")["assessment-results"]
    )
    ledger = next(r for r in ar.back_matter.resources if r.title.startswith("Evidence ledger"))
    assert ledger.rlinks[0].href == "../evidence/ledger.jsonl"
    rows = {row["seq"]: row["hash"] for row in pack.ledger()}
    entries = [e for o in ar.results[0].observations for e in o.relevant_evidence or []]
    assert entries and all(
        rows[int(prop(e, "ledger-seq"))] == prop(e, "ledger-hash") for e in entries
    )


# -- people in aims.yaml ---------------------------------------------------------------------------
def test_an_address_trestle_refuses_still_names_the_person(harness, tmp_path):
    harness.config_path.write_text(
        "organisation: Lab\nroles:\n  aims_owner: [amy@lab.test]\n", encoding="utf-8"
    )
    from aims_workflows.config import load_config

    harness.app.config = load_config(harness.config_path)
    _, out = export(harness, tmp_path / "oscal")
    person = next(p for p in out.ar.metadata.parties if p.name == "amy@lab.test")
    assert person.type == "person" and person.email_addresses is None
    assert out.ar.metadata.title.startswith("ISO/IEC 42001 assessment results: Lab")


def test_a_line_break_in_a_name_does_not_break_the_files(harness, answers, tmp_path):
    harness.add_system("Chatbot\nv2")
    _, out = export(harness, tmp_path / "oscal")
    descriptions = [
        e.description for o in out.result.observations for e in o.relevant_evidence or []
    ]
    assert any("on Chatbot v2:" in d for d in descriptions)


# -- the command -----------------------------------------------------------------------------------
def run_cli(monkeypatch, capsys, harness, db_url, *args: str):
    cli_environment(monkeypatch)
    monkeypatch.setenv("AIMS_DATABASE_URL", db_url)
    monkeypatch.setenv("AIMS_CONFIG", str(harness.config_path))
    result = run_aims(capsys, *args)
    return result.code, result.out, result.err


def test_the_command_writes_the_files_and_refuses_to_overwrite(
    harness, world, db_url, tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(
        monkeypatch,
        capsys,
        harness,
        db_url,
        "export",
        "oscal",
        "--out",
        "oscal",
        "--since",
        "2026-01-01",
    )
    assert code == 0, err
    assert f"wrote {tmp_path / 'oscal'}/ (OSCAL {OSCAL_VERSION}) for from 2026-01-01" in out
    for name in FILES:
        assert (
            f"{name}  sha256 {hashlib.sha256((tmp_path / 'oscal' / name).read_bytes()).hexdigest()}"
            in out
        )
    assert "gap(s)" in out and "open nonconformities: 0" in out
    code, out, err = run_cli(
        monkeypatch, capsys, harness, db_url, "export", "oscal", "--out", "oscal"
    )
    assert code == 1 and "holds an export already" in err and "--force" in err
    assert (
        run_cli(
            monkeypatch, capsys, harness, db_url, "export", "oscal", "--out", "oscal", "--force"
        )[0]
        == 0
    )
    code, _, err = run_cli(
        monkeypatch, capsys, harness, db_url, "export", "oscal", "--until", "31/01/2026"
    )
    assert code == 2 and "expected YYYY-MM-DD" in err
    # without --out: a dated directory here
    assert run_cli(monkeypatch, capsys, harness, db_url, "export", "oscal")[0] == 0
    (dated,) = tmp_path.glob("aims-oscal-*")
    assert (
        re.fullmatch(r"aims-oscal-\d{4}-\d{2}-\d{2}", dated.name)
        and {p.name for p in dated.iterdir()} == FILES
    )


def test_the_command_without_the_extra_says_how_to_install_it(
    harness, db_url, tmp_path, monkeypatch, capsys, no_trestle
):
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(
        monkeypatch, capsys, harness, db_url, "export", "oscal", "--out", "oscal"
    )
    assert code == 1
    assert "error: OSCAL export needs compliance-trestle, which is not installed" in err
    assert "pip install 'aims-workflows[oscal]'" in err
    assert not (tmp_path / "oscal").exists()


def test_the_command_exits_1_on_a_broken_chain_and_still_writes(
    harness, world, db_url, tmp_path, monkeypatch, capsys
):
    tamper(harness.db, "UPDATE evidence SET payload = '{}' WHERE seq = 2")
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(
        monkeypatch, capsys, harness, db_url, "export", "oscal", "--out", "oscal"
    )
    assert code == 1 and "evidence chain BROKEN at row 2" in err
    assert read(tmp_path / "oscal").findings_on("7.5.3")


def test_help_lists_the_command_and_start_up_never_imports_trestle():
    code = (
        "import sys; from typer.main import get_command; from aims_workflows.cli "
        "import app; get_command(app); print(sorted(m for m in sys.modules if "
        "m.split('.')[0] == 'trestle' or m.startswith('aims_workflows.export')))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "[]"
    from typer.testing import CliRunner

    from aims_workflows.cli import app

    runner = CliRunner(env={"COLUMNS": "300", "NO_COLOR": "1"})
    assert "oscal" in runner.invoke(app, ["export", "--help"]).output
    text_ = runner.invoke(app, ["export", "oscal", "--help"]).output
    assert "--since" in text_ and "--force" in text_ and "aims-workflows[oscal]" in text_


def test_a_value_trestle_refuses_is_a_clear_error_and_nothing_is_written(
    harness, world, tmp_path, monkeypatch
):
    from aims_workflows.export.oscal import results as oscal_results

    # a time without a zone, which OSCAL cannot hold, stands for any value trestle's models refuse
    monkeypatch.setattr(
        oscal_results, "_span", lambda *a: (harness.clock.now().replace(tzinfo=None),) * 2
    )
    with pytest.raises(ExportError) as caught:
        write_oscal(harness.app, tmp_path / "oscal")
    assert (
        caught.value.message
        == "the OSCAL files could not be built: Input should have timezone info at Result.start"
    )
    assert (
        not (tmp_path / "oscal").exists()
        and [p for p in tmp_path.iterdir() if "oscal" in p.name] == []
    )
