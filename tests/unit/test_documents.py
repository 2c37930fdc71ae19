"""The register of documented information and the readiness check, through ``aims documents``
and ``aims readiness`` run in-process on a database the real runtime filled (SQLite and
PostgreSQL): what is required, what an entry and a review write to the ledger, what is refused
and how, and when Stage 1 and Stage 2 pass."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from export_world import audit_with_a_finding
from review_world import management_review
from test_export_cli import cli  # noqa: F401 - the fixture that runs `aims` in-process

from aims_workflows.documents.requirements import REQUIREMENTS
from aims_workflows.engine import evidence_kinds as ev

DOCUMENT_KEYS = [r.key for r in REQUIREMENTS if r.kind == "document"] + ["competence"]
STAGE_1 = [r.key for r in REQUIREMENTS if r.stage == 1]


@pytest.fixture
def aims(cli, harness, db_url):  # noqa: F811 - the imported fixture
    return cli(db_url, harness.config_path)


def lines_of(result) -> dict[str, dict]:
    data = json.loads(result.out)
    return {line["key"]: line for line in data["requirements"]}


def add(aims, reference: str, requirement: str, *extra: str, version: str = "1.0"):
    return aims(
        "documents",
        "add",
        reference,
        "--requirement",
        requirement,
        "--title",
        f"The {requirement}",
        "--version",
        version,
        "--author",
        "amy@example.com",
        *extra,
    )


APPROVED = (
    "--approver",
    "tom@example.com",
    "--approved-on",
    "2026-01-04",
    "--next-review",
    "2027-01-04",
)


def document_rows(harness) -> list:
    from aims_workflows.store import ledger

    with harness.db.connect() as conn:
        return [
            r
            for r in ledger.iter_rows(conn)
            if r.kind in (ev.DocumentRegistered.KIND, ev.DocumentReviewed.KIND)
        ]


# -- a fresh installation -------------------------------------------------------------------------
def test_a_fresh_installation_lists_every_missing_item_and_exits_1(aims):
    result = aims("readiness", "--stage", "2", "--format", "json", "--at", "2026-02-01")
    assert result.code == 1, result
    lines = lines_of(result)
    assert list(lines) == [r.key for r in REQUIREMENTS]
    # nothing recorded: all missing, but for nonconformities, where no audit has looked yet
    assert {k for k, v in lines.items() if v["status"] == "missing"} == set(lines) - {
        "nonconformities"
    }
    assert lines["nonconformities"]["status"] == "partial"
    assert all(v["fix"] for v in lines.values()), lines
    # a document a shipped workflow produces is fixed by running it (or by entering it)
    assert lines["scope"]["fix"] == "aims start aims-scope"
    assert lines["policy"]["fix"] == "aims start ai-policy"
    assert lines["risk-criteria"]["fix"].startswith("aims documents add REF --requirement")
    assert lines["risk-results"]["fix"].startswith("aims systems add")
    assert lines["audit-results"]["fix"] == "aims start internal-audit"
    clauses = {c["clause"]: c for c in json.loads(result.out)["clauses"]}
    assert clauses["9"]["status"] == "missing" and clauses["6.1"]["status"] == "missing"

    table = aims("readiness", "--stage", "1", "--at", "2026-02-01")
    assert table.code == 1
    assert "Stage 1 on 2026-02-01: not ready (12 missing)" in table.out
    # Stage 2 records are shown, marked, and do not count at Stage 1
    assert re.search(r"Internal audit results\s+│ missing \(stage 2\)", table.out)
    assert "aims documents add REF --requirement KEY --title T" in table.out


def test_bad_readiness_options_are_messages(aims):
    for args, words in (
        (("--stage", "3"), "there is no Stage 3"),
        (("--stage", "1", "--format", "xml"), "unknown format 'xml'"),
        (("--stage", "1", "--at", "31/01/2026"), "--at '31/01/2026' is not a day"),
    ):
        result = aims("readiness", *args)
        assert result.code == 1 and words in result.err, (args, result)


# -- the register -----------------------------------------------------------------------------
def test_add_records_one_ledger_row_and_show_tells_its_metadata(aims, harness, tmp_path):
    policy = tmp_path / "ai-policy.pdf"
    policy.write_bytes(b"%PDF- our AI policy v1")
    import hashlib

    digest = hashlib.sha256(policy.read_bytes()).hexdigest()
    result = add(aims, "AIMS-POL-001", "5.2", "--file", str(policy), *APPROVED)
    assert result.code == 0, result
    assert (
        f"registered AIMS-POL-001 v1.0 (policy, clause 5.2): approved by tom@example.com; "
        f"SHA-256 {digest}" in result.out
    )

    rows = document_rows(harness)
    assert [r.kind for r in rows] == ["document.registered"]
    entered = ev.parse_evidence(rows[0].kind, rows[0].payload)
    assert entered.document.sha256 == digest and entered.document.clause == "5.2"
    assert entered.document.approved_on == "2026-01-04" and rows[0].ref == "document:AIMS-POL-001"
    assert harness.verify().ok

    shown = aims("documents", "show", "aims-pol-001")
    assert shown.code == 0, shown
    for expected in (
        "reference:   AIMS-POL-001",
        "requirement: policy (clause 5.2)",
        "approver:    tom@example.com",
        "next review: 2027-01-04",
        f"sha256:      {digest}",
        "document.registered v1.0 by cli",
    ):
        assert expected in shown.out, shown.out

    listed = aims("documents", "list", "--format", "json")
    by_key = {r["requirement"]: r for r in json.loads(listed.out)}
    assert [d["reference"] for d in by_key["policy"]["documents"]] == ["AIMS-POL-001"]
    assert by_key["risk-results"]["produced_by"] == ["ai-risk-assessment"]
    table = aims("documents", "list")
    assert "AIMS-POL-001" in table.out and "no completed run of ai-risk-assessment" in table.out


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("X-1", "polcy"), "'polcy' is not a kind of mandatory documented information"),
        (("X-1", "6.1.3"), "clause 6.1.3 asks for more than one document"),
        (("X 1", "policy", "--location", "https://wiki/x"), "'X 1' is not a document reference"),
        (("X-1", "policy"), "say where the document is kept"),
        (("X-1", "policy", "--location", "wiki page"), "neither a URL"),
        (
            ("X-1", "policy", "--location", "https://w/x", "--approver", "tom@example.com"),
            "names both the approver and the day",
        ),
        (
            (
                "X-1",
                "policy",
                "--location",
                "https://w/x",
                "--approver",
                "tom@example.com",
                "--approved-on",
                "2026-01-04",
                "--next-review",
                "2025-12-01",
            ),
            "must come after the approval",
        ),
        (
            (
                "X-1",
                "policy",
                "--location",
                "https://w/x",
                "--approver",
                "tom@example.com",
                "--approved-on",
                "2099-01-04",
            ),
            "is after today",
        ),
        (
            ("X-1", "policy", "--location", "https://w/x", "--approved-on", "4 Jan"),
            "--approved-on '4 Jan' is not a day",
        ),
        (("X-1", "policy", "--file", "no/such.pdf"), "cannot read the document's file"),
        (("X-1", "policy", "--location", "https://w/x", "--sha256", "abc"), "64 hexadecimal"),
    ],
)
def test_bad_documents_are_refused_with_what_to_fix_and_nothing_written(aims, harness, args, words):
    result = add(aims, *args)
    assert result.code == 1 and words in result.err, result
    assert "hint:" in result.err
    assert document_rows(harness) == []


def test_a_reference_is_entered_once_then_reviewed(aims, harness):
    assert add(aims, "AIMS-SCOPE", "scope", "--location", "confluence:AIMS/Scope").code == 0
    again = add(aims, "aims-scope", "scope", "--location", "https://w/x")
    assert again.code == 1 and "is in the register already" in again.err
    assert "aims documents review AIMS-SCOPE" in again.err

    draft = aims("readiness", "--stage", "1", "--format", "json", "--at", "2026-02-01")
    assert lines_of(draft)["scope"]["status"] == "partial"
    assert "is a draft: not approved" in lines_of(draft)["scope"]["reason"]

    reviewed = aims("documents", "review", "AIMS-SCOPE", *APPROVED, "--notes", "board approved")
    assert reviewed.code == 0 and "AIMS-SCOPE confirmed: v1.0 approved by tom" in reviewed.out
    revised = aims(
        "documents",
        "review",
        "AIMS-SCOPE",
        "--approver",
        "tina@example.com",
        "--approved-on",
        "2026-01-05",
        "--next-review",
        "2027-01-05",
        "--version",
        "1.1",
    )
    assert revised.code == 0 and "AIMS-SCOPE revised: v1.1" in revised.out
    rows = document_rows(harness)
    assert [r.kind for r in rows] == [
        "document.registered",
        "document.reviewed",
        "document.reviewed",
    ]
    last = ev.parse_evidence(rows[-1].kind, rows[-1].payload)
    assert (last.outcome, last.previous_version, last.document.approver) == (
        "revised",
        "1.0",
        "tina@example.com",
    )
    shown = aims("documents", "show", "AIMS-SCOPE").out
    assert "document.reviewed v1.0 by cli (confirmed: board approved)" in shown
    assert "document.reviewed v1.1 by cli (revised)" in shown

    line = lines_of(aims("readiness", "--stage", "1", "--format", "json", "--at", "2026-02-01"))
    assert line["scope"]["status"] == "met"
    assert line["scope"]["reason"] == (
        "AIMS-SCOPE v1.1 approved by tina@example.com on 2026-01-05; next review 2027-01-05"
    )
    # a year on, its review is due: stale, and the fix is a review
    later = lines_of(aims("readiness", "--stage", "1", "--format", "json", "--at", "2027-01-05"))
    assert later["scope"]["status"] == "stale"
    assert "its review was due on 2027-01-05" in later["scope"]["reason"]
    assert later["scope"]["fix"].startswith("aims documents review AIMS-SCOPE")

    missing = aims("documents", "review", "AIMS-SCOP", *APPROVED)
    assert missing.code == 1 and "did you mean 'AIMS-SCOPE'?" in missing.err


def test_a_file_changed_since_approval_is_stale_until_a_new_version_is_reviewed(
    aims, harness, tmp_path
):
    process = tmp_path / "risk-method.md"
    process.write_text("likelihood x impact, 1-5 each\n", encoding="utf-8")
    assert add(aims, "RM-1", "risk-criteria", "--file", str(process), *APPROVED).code == 0
    # kept inside the folder of aims.yaml: recorded relative to it
    assert (
        ev.parse_evidence("document.registered", document_rows(harness)[0].payload).document.file
        == "risk-method.md"
    )
    process.write_text("likelihood x impact, 1-3 each\n", encoding="utf-8")

    line = lines_of(aims("readiness", "--stage", "1", "--format", "json", "--at", "2026-02-01"))
    assert line["risk-criteria"]["status"] == "stale"
    assert "changed since version 1.0 was recorded" in line["risk-criteria"]["reason"]

    same = aims("documents", "review", "RM-1", *APPROVED)
    assert same.code == 1 and "a changed document is a new version" in same.err
    newer = aims("documents", "review", "RM-1", *APPROVED, "--version", "2.0")
    assert newer.code == 0, newer
    line = lines_of(aims("readiness", "--stage", "1", "--format", "json", "--at", "2026-02-01"))
    assert line["risk-criteria"]["status"] == "met"

    process.unlink()
    line = lines_of(aims("readiness", "--stage", "1", "--format", "json", "--at", "2026-02-01"))
    assert line["risk-criteria"]["status"] == "partial"
    assert "cannot be read" in line["risk-criteria"]["reason"]


# -- aims.yaml --------------------------------------------------------------------------------
DECLARED = """\
documents:
  AIMS-OBJ-2026:
    requirement: "6.2"
    title: AI objectives 2026
    version: "3"
    author: amy@example.com
    approver: tom@example.com
    approved_on: 2026-01-02
    next_review: 2026-07-02
    location: https://wiki.example.com/aims/objectives
    file: {file}
"""


def test_aims_yaml_names_records_kept_outside_aims(aims, harness, tmp_path):
    (tmp_path / "objectives.pdf").write_bytes(b"objectives")
    text = harness.config_path.read_text(encoding="utf-8")
    harness.config_path.write_text(text + DECLARED.format(file="objectives.pdf"), encoding="utf-8")

    line = lines_of(aims("readiness", "--stage", "1", "--format", "json", "--at", "2026-02-01"))
    assert line["objectives"]["status"] == "met"
    assert line["objectives"]["reason"].startswith("AIMS-OBJ-2026 v3 (aims.yaml) approved by tom")
    shown = aims("documents", "show", "AIMS-OBJ-2026").out
    assert "kept in:     aims.yaml" in shown and "sha256:      " in shown
    assert document_rows(harness) == []  # declaring writes nothing

    # a review through aims is a ledger row, and from then on the register's entry counts
    assert aims("documents", "review", "AIMS-OBJ-2026", *APPROVED).code == 0
    shown = aims("documents", "show", "AIMS-OBJ-2026").out
    assert "kept in:     the register" in shown and "next review: 2027-01-04" in shown

    harness.config_path.write_text(text + DECLARED.format(file="gone.pdf"), encoding="utf-8")
    result = aims("documents", "list")
    assert result.code == 1, result
    assert re.search(
        r"aims\.yaml:\d+:\d+ documents\.AIMS-OBJ-2026\.file: cannot read 'gone\.pdf' "
        r"\(no such file\)",
        result.err,
    ), result.err
    assert "relative to aims.yaml" in result.err

    harness.config_path.write_text(
        text + DECLARED.format(file="objectives.pdf").replace('"6.2"', "objectivs"),
        encoding="utf-8",
    )
    result = aims("documents", "list")
    assert result.code == 1 and "did you mean 'objectives'?" in result.err, result


# -- a populated installation ---------------------------------------------------------------------
def register_everything(aims) -> None:
    for n, key in enumerate(DOCUMENT_KEYS):
        result = add(
            aims, f"DOC-{n}", key, "--location", f"https://wiki.example.com/{key}", *APPROVED
        )
        assert result.code == 0, result


def assess_chatbot(h, answers) -> tuple[str, str]:
    _, started = h.add_system("Chatbot")
    risk = next(r for r in started if h.run_row(r).workflow_id == "ai-risk-assessment")
    impact = next(r for r in started if r != risk)
    h.complete("identify", answers["risk.identify"], run_id=risk)
    h.complete("treat", answers["risk.treat"], run_id=risk)
    h.decide("rita@example.com", reason="residual risk acceptable", run_id=risk)
    for step in ("context", "impacts", "mitigate"):
        h.complete(step, answers[f"impact.{step}"], run_id=impact)
    h.decide("amy@example.com", run_id=impact)
    return risk, impact


def test_stage_1_then_stage_2_pass_once_everything_is_there(aims, harness, answers):
    register_everything(aims)
    first = aims("readiness", "--stage", "1", "--format", "json", "--at", "2026-02-01")
    lines = lines_of(first)
    assert {k for k in STAGE_1 if lines[k]["status"] != "met"} == {
        "risk-results",
        "treatment-results",
        "impact-results",
    }
    assert lines["risk-results"]["reason"] == "no AI system in scope in the inventory"

    h = harness
    risk, impact = assess_chatbot(h, answers)
    _, started = h.add_system("Scorer", owner="oscar@example.com")
    stage1 = aims("readiness", "--stage", "1", "--format", "json", "--at", "2026-02-01")
    lines = lines_of(stage1)
    assert lines["risk-results"]["status"] == "partial", lines["risk-results"]
    assert lines["risk-results"]["reason"] == (
        "1 of 2 AI systems in scope have a current risk assessment; not Scorer"
    )
    risk2 = next(r for r in started if h.run_row(r).workflow_id == "ai-risk-assessment")
    assert lines["risk-results"]["fix"] == (
        f"finish run {risk2} (ai-risk-assessment of Scorer): aims runs show {risk2}"
    )
    assert stage1.code == 1
    h.app.inventory.set("Scorer", {"in_scope": "false"}, reason="A pilot, not live")
    h.pump()
    assert aims("readiness", "--stage", "1", "--at", "2026-02-01").code == 1, "not until approved"
    h.complete(
        "consequences",
        {
            "consequences": "No assessments needed while it is a pilot",
            "scope_statement_revised": False,
            "recommendation": "approve",
        },
    )
    h.decide("tom@example.com", reason="A pilot with no customers")
    stage1 = aims("readiness", "--stage", "1", "--at", "2026-02-01")
    assert stage1.code == 0, stage1
    assert "Stage 1 on 2026-02-01: ready (12 met)" in stage1.out

    # the runs are the records of 8.2-8.4, with the identification of 7.5.2 from the ledger
    listed = {
        r["requirement"]: r for r in json.loads(aims("documents", "list", "--format", "json").out)
    }
    (record,) = listed["risk-results"]["documents"]
    assert record["origin"] == "runs" and record["title"] == "AI risk assessment: Chatbot"
    assert (record["author"], record["approver"]) == ("eve@example.com", "rita@example.com")
    assert record["version"] == "ai-risk-assessment v2" and record["approved_on"] == "2026-01-05"
    assert record["next_review"] == "2027-01-05" and record["location"].startswith("aims runs show")
    assert record["reference"] == risk
    assert [d["reference"] for d in listed["impact-results"]["documents"]] == [impact]
    shown = aims("documents", "show", risk)
    assert shown.code == 0, shown
    assert "kept in:     the ledger (a run)" in shown.out
    assert "requirement: risk-results (clause 8.2)" in shown.out

    stage2 = aims("readiness", "--stage", "2", "--format", "json", "--at", "2026-02-01")
    assert stage2.code == 1
    lines = lines_of(stage2)
    assert lines["audit-results"]["status"] == "missing"
    assert lines["review-results"]["fix"] == "aims start management-review"

    audit, corrective = audit_with_a_finding(h, answers)
    management_review(h, ["Hire an auditor"])
    at = (h.clock.now()).date().isoformat()
    stage2 = aims("readiness", "--stage", "2", "--format", "json", "--at", at)
    lines = lines_of(stage2)
    assert stage2.code == 0, {k: v for k, v in lines.items() if v["status"] != "met"}
    assert re.fullmatch(
        rf"internal-audit completed \d{{4}}-\d\d-\d\d \({audit}\)",
        lines["audit-results"]["reason"],
    )
    assert lines["nonconformities"]["reason"] == ("1 nonconformity raised: 1 closed")
    assert {c["clause"]: c["status"] for c in json.loads(stage2.out)["clauses"]}["9"] == "met"

    # thirteen months later the records have lapsed: stale, and Stage 2 fails again
    year_on = aims("readiness", "--stage", "2", "--format", "json", "--at", "2027-03-15")
    lines = lines_of(year_on)
    assert year_on.code == 1
    assert lines["audit-results"]["status"] == "stale"
    assert lines["risk-results"]["status"] == "stale"
    assert lines["scope"]["status"] == "stale"
    assert corrective


def test_a_nonconformity_without_corrective_action_is_partial(aims, harness, answers):
    from sqlalchemy import update

    from aims_workflows.store.models import Finding, Run

    audit, corrective = audit_with_a_finding(harness, answers)
    with harness.db.begin() as conn:  # a corrective action cancelled before it closed anything
        conn.execute(update(Finding.__table__).values(status="open", closed_at=None))
        conn.execute(
            update(Run.__table__).where(Run.__table__.c.id == corrective).values(status="cancelled")
        )
    at = harness.clock.now().date().isoformat()
    line = lines_of(aims("readiness", "--stage", "2", "--format", "json", "--at", at))
    finding = line["nonconformities"]
    assert finding["status"] == "partial"
    assert finding["reason"].startswith(
        "1 of 1 nonconformities have no corrective action under way"
    )
    assert finding["fix"].startswith("aims start corrective-action --finding ")


def test_the_register_survives_reading_back_every_row(harness):
    """Each payload the register writes parses back to its model and re-serialises to the
    stored bytes."""
    from datetime import date

    from aims_workflows.documents.model import DocumentFields
    from aims_workflows.documents.register import DocumentRegister
    from aims_workflows.engine.evidence import canonical_json

    register = DocumentRegister(harness.rt, harness.app.config, harness.config_path.parent)
    fields = DocumentFields(
        requirement="soa",
        title="SoA",
        version="4",
        author="amy@example.com",
        location="confluence:12345",
    )
    register.add("SOA-4", fields, today=date(2026, 1, 5))
    register.review(
        "SOA-4",
        approver="tom@example.com",
        approved_on=date(2026, 1, 5),
        next_review=date(2026, 7, 5),
        today=date(2026, 1, 5),
    )
    for row in document_rows(harness):
        parsed = ev.parse_evidence(row.kind, row.payload)
        assert canonical_json(ev.evidence_payload(parsed)) == row.payload
    assert [d.reference for d in register.list()] == ["SOA-4"]
    assert Path(harness.config_path).exists()


def test_a_bad_review_is_refused_and_writes_nothing(aims, harness):
    assert add(aims, "POL-1", "policy", "--location", "https://w/p").code == 0
    for args, words in (
        (
            ("--approver", "tom", "--approved-on", "2026-01-04", "--next-review", "2027-01-04"),
            "approver: 'tom' is not an e-mail address",
        ),
        (
            (
                "--approver",
                "tom@example.com",
                "--approved-on",
                "2026-01-04",
                "--next-review",
                "2026-01-04",
            ),
            "must come after the approval",
        ),
        (
            (
                "--approver",
                "tom@example.com",
                "--approved-on",
                "2099-01-04",
                "--next-review",
                "2100-01-04",
            ),
            "is after today",
        ),
        ((*APPROVED, "--file", "missing.pdf"), "cannot read the document's file"),
        ((*APPROVED, "--location", "intranet"), "neither a URL"),
    ):
        result = aims("documents", "review", "POL-1", *args)
        assert result.code == 1 and words in result.err, (args, result)
    assert [r.kind for r in document_rows(harness)] == ["document.registered"]
