"""`aims demo` end to end: the story it tells is what the database holds afterwards."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from aims_workflows.cli import main
from aims_workflows.config import KpiTargets
from aims_workflows.kpi import compute_kpis
from aims_workflows.store import Database, ledger
from aims_workflows.store.models import Approval, Finding, RiskRegisterEntry, Run, StepRecord


def run_cli(argv: list[str]) -> int:
    try:
        main(argv)
    except SystemExit as ended:
        return ended.code or 0
    return 0


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """The demo played once for the module: its database and what it printed."""
    import contextlib
    import io

    path = tmp_path_factory.mktemp("demo") / "aims-demo.db"
    printed = io.StringIO()
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(printed):
        mp.delenv("AIMS_DATABASE_URL", raising=False)
        mp.setenv("COLUMNS", "120")
        assert run_cli(["demo", "--db", str(path)]) == 0
    db = Database(f"sqlite:///{path}")
    yield path, db, printed.getvalue()
    db.dispose()


@pytest.fixture(scope="module")
def demo_db(demo_run):
    path, db, _ = demo_run
    return path, db


def test_the_demo_takes_three_systems_through_the_five_workflows(demo_db):
    _, db = demo_db
    with db.connect() as conn:
        by_workflow = dict(
            conn.execute(
                select(Run.__table__.c.workflow_id, func.count()).group_by(
                    Run.__table__.c.workflow_id
                )
            ).all()
        )
        open_runs = conn.execute(
            select(Run.__table__.c.workflow_id).where(Run.__table__.c.status != "completed")
        ).all()
    # registration starts risk and impact per system; a material change re-opens both for one
    assert by_workflow["ai-risk-assessment"] == 4 and by_workflow["ai-impact-assessment"] == 4
    assert by_workflow["internal-audit"] == 1 and by_workflow["management-review"] == 1
    assert by_workflow["corrective-action"] == 2 and by_workflow["review-action"] == 2
    # the chatbot's new data source (chat history) also starts a data quality review, besides
    # the credit model's started by hand
    assert by_workflow["data-quality"] == 2
    # a further chatbot risk and the re-rating of its fee risk; five treatment actions
    assert by_workflow["ai-risk"] == 2 and by_workflow["risk-treatment"] >= 5
    # left open: one action of the management review and the credit scoring retraining
    assert sorted(r.workflow_id for r in open_runs) == ["review-action", "risk-treatment"]


def test_the_demo_walks_the_roadmap_from_gap_analysis_to_management_review(demo_db):
    """Every step of the roadmap has a completed run: one per objective and per role
    assignment, a training record per learner (and one for the auditor's competence gap),
    suppliers, data and intended use for the systems that need them."""
    _, db = demo_db
    runs = Run.__table__
    with db.connect() as conn:
        completed = dict(
            conn.execute(
                select(runs.c.workflow_id, func.count())
                .where(runs.c.status == "completed")
                .group_by(runs.c.workflow_id)
            ).all()
        )
        order = [
            w
            for (w,) in conn.execute(
                select(runs.c.workflow_id)
                .where(runs.c.parent_run_id.is_(None))
                .order_by(runs.c.started_at)
            )
        ]
    assert {k: completed.get(k) for k in ("ai-objectives", "roles-and-competence")} == {
        "ai-objectives": 3,
        "roles-and-competence": 3,
    }
    assert completed["training-record"] == 3  # two engineers, and Inês's 42001 course
    for workflow in (
        "gap-analysis",
        "aims-scope",
        "ai-policy",
        "training",
        "audit-programme",
        "internal-audit",
        "management-review",
    ):
        assert completed.get(workflow) == 1, workflow
    for workflow, at_least in (
        ("supplier-review", 2),
        ("data-quality", 2),  # the credit model by hand, the chatbot on its data change
        ("intended-use", 2),
        ("soa-review", 1),
        ("ai-incident", 1),
        ("corrective-action", 2),  # the audit's finding and the incident's
    ):
        assert completed.get(workflow, 0) >= at_least, workflow
    first = {w: order.index(w) for w in reversed(order)}
    assert (
        first["gap-analysis"]
        < first["aims-scope"]
        < first["ai-policy"]
        < first["ai-objectives"]
        < first["roles-and-competence"]
        < first["training"]
        < first["ai-risk-assessment"]
        < first["soa-review"]
        < first["ai-incident"]
        < first["audit-programme"]
        < first["internal-audit"]
        < first["management-review"]
    )


def test_every_role_holder_acknowledged_the_policy(demo_db):
    import json

    from aims_workflows.demo.cast import CONFIG

    _, db = demo_db
    with db.connect() as conn:
        rows = list(ledger.iter_rows(conn))
    acknowledged = {
        json.loads(r.payload)["person"]
        for r in rows
        if r.kind == "approval.decided" and r.step_id == "acknowledge"
    }
    assert acknowledged == {p for people in CONFIG.roles.values() for p in people}


def test_the_demo_is_ready_for_stage_2(demo_db, monkeypatch, capsys):
    """`aims readiness --stage 2` against the demo's database passes (exit 0), every line met,
    with the processes kept on the wiki entered in the register."""
    import json

    path, _ = demo_db
    monkeypatch.setenv("AIMS_DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.setenv("AIMS_CONFIG", str(path.with_suffix(".yaml")))
    capsys.readouterr()
    assert run_cli(["readiness", "--stage", "2"]) == 0
    assert "Stage 2 on" in capsys.readouterr().out
    assert run_cli(["readiness", "--stage", "2", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ready"] is True
    assert {line["status"] for line in report["requirements"]} == {"met"}
    reasons = {line["key"]: line["reason"] for line in report["requirements"]}
    assert reasons["risk-criteria"].startswith("AIMS-PRO-003")
    assert reasons["impact-process"].startswith("AIMS-PRO-005")


def test_the_demo_tells_its_story_and_prints_its_readiness_table(demo_run):
    """A chapter per roadmap step, in the roadmap's order, ending with the readiness table as
    `aims readiness` prints it."""
    _, _, out = demo_run
    chapters = [
        "Gap analysis",
        "Scope of the AI management system",
        "AI policy",
        "AI objectives",
        "Roles and competence",
        "Training",
        "The AI system inventory",
        "Suppliers, data quality and intended use",
        "Statement of Applicability",
        "An AI incident",
        "The internal audit programme",
        "Internal audit finds a nonconformity",
        "Management review",
        "Certification readiness",
    ]
    positions = [out.index(title) for title in chapters]
    assert positions == sorted(positions)
    assert "Stage 2 on" in out and ": ready (" in out
    assert "is not among the workflows in use" not in out


def _first_run(path, workflow: str, subject: str) -> str:
    db = Database(f"sqlite:///{path}")
    try:
        with db.connect() as conn:
            return conn.scalar(
                select(Run.__table__.c.id)
                .where(
                    Run.__table__.c.workflow_id == workflow,
                    Run.__table__.c.subject_name == subject,
                )
                .order_by(Run.__table__.c.started_at)
            )
    finally:
        db.dispose()


def test_one_rejection_two_nonconformities_two_overdue_tasks(demo_db):
    _, db = demo_db
    with db.connect() as conn:
        rejected = conn.scalar(
            select(func.count())
            .select_from(Approval.__table__)
            .where(Approval.__table__.c.status == "rejected")
        )
        findings = conn.execute(
            select(
                Finding.__table__.c.status,
                Finding.__table__.c.severity,
                Finding.__table__.c.source_type,
            )
        ).all()
        steps, runs = StepRecord.__table__, Run.__table__
        overdue = conn.execute(
            select(runs.c.workflow_id, steps.c.step_id)
            .join(runs, runs.c.id == steps.c.run_id)
            .where(steps.c.status == "open", steps.c.due_at < datetime.now(UTC))
        ).all()
        risks = conn.execute(
            select(
                RiskRegisterEntry.__table__.c.system_name, RiskRegisterEntry.__table__.c.treatment
            )
        ).all()
        rows = list(ledger.iter_rows(conn))
    assert rejected == 1
    # the internal audit's nonconformity and the incident's, both through corrective action
    assert sorted((f.source_type, f.status, f.severity) for f in findings) == [
        ("incident", "closed", "minor"),
        ("internal", "closed", "minor"),
    ]
    # the management review's action and the credit retraining left undone (the CV
    # mitigation was done, late)
    assert sorted(tuple(o) for o in overdue) == [
        ("review-action", "carry_out"),
        ("risk-treatment", "carry_out"),
    ]
    assert sorted(r.system_name for r in risks) == [
        "CV screening assistant",
        "Credit scoring model",
        "Support chatbot",
        "Support chatbot",
        "Support chatbot",
        "Support chatbot",
    ]
    kinds = {r.kind for r in rows}
    assert {
        "task.escalated",
        "approval.refused",
        "finding.raised",
        "wait.ended",
        "attachment.recorded",
    } & kinds >= {"task.escalated", "approval.refused", "finding.raised", "wait.ended"}
    # tasks went through Jira and decisions through Slack
    assert any(r.kind == "task.completed" and r.via == "jira" for r in rows)
    assert any(r.kind == "approval.decided" and r.via == "slack" for r in rows)


def test_kpis_and_chain_after_the_demo(demo_db):
    _, db = demo_db
    with db.connect() as conn:
        kpis = {k.key: k for k in compute_kpis(conn, datetime.now(UTC), KpiTargets())}
        report = ledger.verify(conn)
    assert report.ok and report.rows > 150
    assert kpis["risk_assessment_coverage"].value == 1.0
    assert kpis["impact_assessment_coverage"].value == 1.0  # the CV mitigation, done late
    assert kpis["overdue_tasks"].value == 2  # a review action and a risk treatment
    assert kpis["overdue_treatments"].value == 1
    # measured to the corrective action: the 30-day wait before the effectiveness check is not
    # counted, the check is reported beside it
    assert 0 < kpis["mean_days_to_close_nonconformity"].value < 30
    assert kpis["nonconformity_action_effectiveness"].value == 1.0
    assert kpis["median_approval_latency_hours"].value is not None


def test_the_demo_database_can_be_explored_with_the_other_commands(demo_db, monkeypatch, capsys):
    path, _ = demo_db
    monkeypatch.setenv("AIMS_DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.setenv("AIMS_CONFIG", str(path.with_suffix(".yaml")))  # the file the demo wrote
    for argv in (
        ["runs", "list"],
        ["runs", "show", _first_run(path, "ai-risk-assessment", "Credit scoring model")],
        ["evidence", "verify"],
        ["kpi", "--format", "json"],
        ["risks", "list"],
        ["risks", "show", "RISK-1"],
    ):
        assert run_cli(argv) == 0, argv
    out = capsys.readouterr().out
    assert (
        "rejected" in out and "evidence chain verified" in out and "risk_assessment_coverage" in out
    )
    assert "Confidently wrong answers about fees" in out  # its re-rating: see the test below


def test_the_chatbot_reassessment_adds_its_privacy_risk_and_rerates_the_fee_risk(demo_db):
    from aims_workflows.risks.queries import list_risks, risk_history

    _, db = demo_db
    with db.connect() as conn:
        today = datetime.now(UTC).date()
        chatbot = list_risks(conn, today=today, system="Support chatbot")
        fees = risk_history(conn, chatbot[0]["risk_id"], today=today)
        overdue = [r for r in list_risks(conn, today=today) if r["treatment_status"] == "overdue"]
    assert [r["title"] for r in chatbot] == [
        "Confidently wrong answers about fees and card blocking",
        "Unsuitable advice to customers in financial difficulty",
        "Personal data from customer chats used for training without a lawful basis",
    ]
    privacy = chatbot[2]
    assert privacy["sources"] == ["privacy", "data_quality", "legal_compliance"]
    assert privacy["inherent"] == "16 (high)" and privacy["acceptance_level"] == "top_management"
    assert [e["event"] for e in fees["history"]] == [
        "identified",
        "treatment started",
        "treatment done",
        "re-rated",
    ]
    assert [(r["system"], r["treatment"]) for r in overdue] == [
        ("Credit scoring model", "mitigate")
    ]


def test_the_demo_shows_a_delegation_and_who_people_are(demo_db):
    """Rui's leave: a delegation in the ledger, Ana's decision for him, and every Jira and
    Slack action attributed to a person of the directory (some Jira e-mails are hidden)."""
    import json

    _, db = demo_db
    with db.connect() as conn:
        rows = list(ledger.iter_rows(conn))
    [granted] = [r for r in rows if r.kind == "delegation.granted"]
    payload = json.loads(granted.payload)
    assert (payload["from_person"], payload["to_person"], payload["role"]) == (
        "rui.costa@example.com",
        "ana.silva@example.com",
        "risk_owner",
    )
    covered = [
        json.loads(r.payload)
        for r in rows
        if r.kind == "approval.decided" and "on_behalf_of" in json.loads(r.payload)
    ]
    assert [(d["person"], d["on_behalf_of"]) for d in covered] == [
        ("ana.silva@example.com", "rui.costa@example.com")
    ]
    people = {r.actor for r in rows if r.kind in ("task.completed", "approval.decided")}
    assert all("@" in person for person in people), people  # never a bare accountId
    assert any(
        r.kind == "person.linked" and json.loads(r.payload)["account"] == "jira" for r in rows
    )


def test_the_demo_shows_a_step_up_for_a_critical_risk_acceptance(demo_db):
    """The credit scoring model's critical risk (inherent score 20): top management's Slack
    approval waits until the same person confirms it in Jira."""
    import json

    _, db = demo_db
    with db.connect() as conn:
        rows = list(ledger.iter_rows(conn))
    [asked] = [r for r in rows if r.kind == "approval.step_up_requested"]
    payload = json.loads(asked.payload)
    assert payload["condition"] == "evaluate.score >= 20 or residual.score >= 15"
    assert asked.via == "slack"
    [decided] = [
        r
        for r in rows
        if r.kind == "approval.decided"
        and json.loads(r.payload)["approval_id"] == payload["approval_id"]
    ]
    assert decided.actor == asked.actor and decided.via == "jira"
    assert json.loads(decided.payload)["assurance"].startswith("stepped up: verified by jira")


def test_the_demo_people_write_their_answers_and_reasons_in_their_own_words(demo_db):
    """No answer repeats its field's label ("Changes to the AIMS: Changes to the AIMS ..."), no
    reason names a step id ("Reviewed accept_owner ..."), and fields left empty stay empty."""
    import json

    from aims_workflows.app import shipped_workflows_dir
    from aims_workflows.spec.checks import DEFAULT_ROLES
    from aims_workflows.spec.loader import load_workflows
    from aims_workflows.spec.model import TaskStep

    labels: dict[str, str] = {}
    for item in load_workflows([shipped_workflows_dir()], roles=set(DEFAULT_ROLES) | {"x"}):
        for step in item.spec.steps:
            if isinstance(step, TaskStep):
                labels.update({f.id: f.label for f in step.form})
                step_ids = {s.id for s in item.spec.steps}
    _, db = demo_db
    with db.connect() as conn:
        rows = list(ledger.iter_rows(conn))
    answers = [
        (key, value)
        for r in rows
        if r.kind == "task.completed"
        for key, value in json.loads(r.payload)["answers"].items()
    ]
    assert len(answers) > 100
    echoed = [(k, v) for k, v in answers if isinstance(v, str) and v.startswith(labels[k])]
    assert echoed == []
    assert "aims_changes_detail" not in dict(answers)  # "no changes": the detail is left out
    # every answer was written for its workflow: the form-driven fallback text never shows
    fallback = "Checked with the team; nothing unusual to report."
    assert [k for k, v in answers if v == fallback] == []
    reasons = [json.loads(r.payload)["reason"] for r in rows if r.kind == "approval.decided"]
    assert reasons and not [r for r in reasons if "Reviewed" in r or "_" in r]
    assert step_ids  # the shipped steps were read


def test_the_demo_audit_pack_verifies_and_its_soa_links_the_register(
    demo_db, monkeypatch, tmp_path
):
    """The demo's audit pack verifies untouched with its own verifier; soa.csv names the risks
    the approved SoA links to each control (the register's links, taken over by the draft); a
    count edited in soa.csv or clauses.csv (the manifest made to agree) is named by the
    verifier, cell and all."""
    import csv
    import io
    import sys
    import zipfile
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
    from export_world import edit_cell, rewrite_in_pack, verify_pack

    path, db = demo_db
    monkeypatch.setenv("AIMS_DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.setenv("AIMS_CONFIG", str(path.with_suffix(".yaml")))
    assert run_cli(["export", "audit-pack", "--out", str(tmp_path / "pack.zip")]) == 0
    directory = tmp_path / "unpacked"
    with zipfile.ZipFile(tmp_path / "pack.zip") as zf:
        zf.extractall(directory)
    untouched = verify_pack(directory)
    assert untouched.returncode == 0, untouched.stdout
    assert "every row of soa.csv and clauses.csv is what the rows" in untouched.stdout
    # the whole ledger is in the pack: the KPIs' base measures are rebuilt from its rows
    assert "KPIs in evidence/kpi_facts.json are what the ledger rows (row 1" in untouched.stdout

    from aims_workflows.risks.queries import list_risks

    with db.connect() as conn:
        chosen: dict[str, set[str]] = {}
        for risk in list_risks(conn, today=datetime.now(UTC).date(), open_only=True):
            for control in risk["controls"]:
                chosen.setdefault(control, set()).add(risk["risk_id"])
    assert chosen, "the demo's risk treatments choose controls"
    soa = (directory / "soa.csv").read_bytes().decode("utf-8")
    listed = {r["control"]: set(r["risks"].split()) for r in csv.DictReader(io.StringIO(soa))}
    assert {c: r for c, r in listed.items() if r} == chosen

    for name, key, column in (
        ("soa.csv", "control", "evidence_rows"),
        ("clauses.csv", "clause", "runs_completed"),
    ):
        text = (directory / name).read_bytes().decode("utf-8")
        rows = list(csv.DictReader(io.StringIO(text)))
        (line, row) = next((n, r) for n, r in enumerate(rows, start=2) if int(r[column]) > 0)
        more = str(int(row[column]) + 1)  # more than the rows show: not a minimum any more
        edited, _ = edit_cell(text, key, column, lambda r, k=key, own=row[key]: r[k] == own, more)
        rewrite_in_pack(directory, name, edited.encode("utf-8"))
        check = verify_pack(directory)
        assert check.returncode == 1
        assert (
            f"FAILED: {name} row {line} ({key} {row[key]}), column {column}: it says "
            f"'{more}', the ledger rows in the pack give '{row[column]}'" in check.stdout
        ), check.stdout
        rewrite_in_pack(directory, name, text.encode("utf-8"))
    assert verify_pack(directory).returncode == 0
