"""The risk register through the real engine and database (SQLite and PostgreSQL): an assessment
records several risks, each treatment is a tracked run due on its target date whose completion
moves the risk to its residual level, overdue treatments are found, and a re-assessment starts
from the register and records what changed."""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest
from sqlalchemy import select

from aims_workflows.errors import EngineError, NotFound
from aims_workflows.kpi.history import kpis_at
from aims_workflows.risks.queries import list_risks, overdue_treatments, risk_history
from aims_workflows.store.models import Evidence

HALLUCINATION = {
    "risk_title": "Confidently wrong answers about fees",
    "risk_description": "The model invents fee amounts; customers act on them and complain.",
    "risk_sources": ["model_behaviour", "robustness"],
    "affected_parties": "retail customers; the complaints team",
    "likelihood": 3,
    "impact": 4,
    "rating_rationale": "14 complaints in the pilot",
    "further_risks": "Personal data from chats reused for training\n\n",
}
MITIGATE = {
    "treatment": "mitigate",
    "treatment_plan": "Answer fee questions only from the tariff sheet (retrieval)",
    "controls": "A.6.2.4, A.9.3",
    "action_owner": "ed@example.com",
    "target_date": "2026-02-15",
    "residual_likelihood": 2,
    "residual_impact": 3,
    "rationale": "grounding removes most invented amounts",
}
PRIVACY = {
    "risk_description": "Customer chats used for fine-tuning without a lawful basis.",
    "risk_sources": ["privacy", "legal_compliance"],
    "affected_parties": "customers who chat with the bot",
    "likelihood": 4,
    "impact": 4,
    "rating_rationale": "the learning loop is switched on in March",
}
PRIVACY_TREAT = {
    "treatment": "mitigate",
    "treatment_plan": "Redact personal data before chats enter the training set",
    "controls": ["A.7.4", "A.6.2.8"],
    "action_owner": "eve@example.com",
    "target_date": "2026-04-30",
    "residual_likelihood": 2,
    "residual_impact": 4,
    "rationale": "redaction tested on 10k chats",
}


def _assessment(h) -> str:
    _, started = h.add_system("Chatbot")
    (run_id,) = [r for r in started if "ai-risk-assessment" in h.run_row(r).workflow_id]
    return run_id


def _run_of(h, workflow: str, spawned_by: str) -> str:
    """The one run of ``workflow`` that ``spawned_by`` started."""
    from aims_workflows.store.models import Run

    t = Run.__table__
    with h.db.connect() as conn:
        (run_id,) = conn.scalars(
            select(t.c.id).where(t.c.workflow_id == workflow, t.c.spawned_by == spawned_by)
        ).all()
    return run_id


def _assess_first_time(h) -> tuple[str, str, str]:
    """Chatbot's first assessment: RISK-1 analysed in the run, RISK-2 in its own ai-risk run."""
    run_id = _assessment(h)
    h.complete("identify", HALLUCINATION, run_id=run_id)
    h.complete("treat", MITIGATE, run_id=run_id)
    h.decide("rita@example.com", run_id=run_id)  # score 12, residual 6: the risk owner accepts
    assert h.run_row(run_id).status == "completed"
    further = _run_of(h, "ai-risk", run_id)
    h.complete("analyse", PRIVACY, run_id=further)
    h.complete("treat", PRIVACY_TREAT, run_id=further)
    h.decide("tom@example.com", run_id=further)  # inherent 16: top management accepts
    assert h.run_row(further).status == "completed"
    return run_id, further, _run_of(h, "risk-treatment", further)


def test_one_assessment_records_several_risks_each_with_a_tracked_treatment(harness):
    h = harness
    run_id, further, _ = _assess_first_time(h)
    with h.db.connect() as conn:
        risks = list_risks(conn, today=date(2026, 1, 10))
    assert [(r["risk_id"], r["title"], r["level"], r["score"]) for r in risks] == [
        ("RISK-1", "Confidently wrong answers about fees", "medium", 12),
        ("RISK-2", "Personal data from chats reused for training", "high", 16),
    ]
    first, second = risks
    assert first["residual"] == "6 (low)" and first["treatment_status"] == "open"
    assert first["controls"] == ["A.6.2.4", "A.9.3"] and first["target_date"] == "2026-02-15"
    assert first["accepted_by"] == ["rita@example.com"] and first["last_run_id"] == run_id
    assert (
        second["controls"] == ["A.6.2.8", "A.7.4"] and second["action_owner"] == "eve@example.com"
    )
    assert second["acceptance_level"] == "top_management" and second["last_run_id"] == further
    # each treatment is a Jira task due at the end of its target date, naming its risk
    tasks = sorted(t.title for t in h.tracker.open_tasks() if t.step_id == "carry_out")
    assert tasks == [
        "Risk treatment RISK-1: Confidently wrong answers about fees (due 2026-02-15)",
        "Risk treatment RISK-2: Personal data from chats reused for training (due 2026-04-30)",
    ]
    dues = sorted(t.due_at or "" for t in h.tracker.open_tasks() if t.step_id == "carry_out")
    assert dues[0].startswith("2026-02-15T23:59:59") and dues[1].startswith("2026-04-30T23:59:59")


def test_overdue_treatments_are_found_and_a_done_treatment_moves_the_risk_to_residual(harness):
    h = harness
    _, _, _ = _assess_first_time(h)
    h.clock.set(datetime.fromisoformat("2026-02-20T09:00:00+00:00"))
    with h.db.connect() as conn:
        (late,) = overdue_treatments(conn, h.clock.now().date())
    assert (late["risk_id"], late["due_date"], late["days_overdue"]) == ("RISK-1", "2026-02-15", 5)
    assert late["action_owner"] == "ed@example.com" and late["status"] == "overdue"
    # the KPI counts it now, and not at a moment before its target date
    kpi = _kpi(h, "overdue_treatments")
    assert (kpi.value, kpi.target, kpi.met) == (1, 0, False)
    with h.db.connect() as conn:
        earlier = kpis_at(
            conn,
            datetime.fromisoformat("2026-02-10T12:00:00+00:00"),
            h.app.config.kpi_targets,
            specs=h.rt.specs,
            workflows=h.app.workflows,
            now=h.clock.now(),
        )
    assert next(k for k in earlier if k.key == "overdue_treatments").value == 0
    first_treatment = late["run_id"]
    h.complete(
        "carry_out",
        {
            "outcome": "done",
            "what_was_done": "Fee answers now quote the tariff sheet",
            "evidence_link": "https://git.example.com/chatbot/pull/88",
            "completed_on": "2026-02-20",
        },
        run_id=first_treatment,
    )
    with h.db.connect() as conn:
        assert overdue_treatments(conn, h.clock.now().date()) == []
    assert _kpi(h, "overdue_treatments").met is True
    with h.db.connect() as conn:
        risk = risk_history(conn, "risk-1", today=h.clock.now().date())
    assert (risk["level"], risk["score"], risk["treatment_status"]) == ("low", 6, "done")
    assert [e["event"] for e in risk["history"]] == [
        "identified",
        "treatment started",
        "treatment done",
    ]
    assert risk["history"][-1]["late"] is True and risk["history"][-1]["residual"] == "6 (low)"


def test_a_reassessment_starts_from_the_register_and_records_what_changed(harness):
    h = harness
    _assess_first_time(h)
    h.clock.advance(days=60)
    again = h.rt.start("ai-risk-assessment", system="Chatbot", again=True).run.run_id
    h.pump()
    shown = _task_description(h, again, "identify")
    assert "holds these open risks:" in shown
    assert "RISK-1: Confidently wrong answers about fees - medium, score 12" in shown
    assert "RISK-2: Personal data from chats reused for training - high, score 16" in shown

    # an id that is not in the register is refused with the close ones
    answers = {
        **HALLUCINATION,
        "risk_title": "Chats kept longer than the retention policy allows",
        "further_risks": "",
        "changes": "The bot now learns from customer chats every night.",
        "rerate": "RISK-9",
        "close": "RISK-1: fee answers come from the tariff sheet only since February",
    }
    refused = h.complete("identify", answers, run_id=again)
    (reason,) = [
        e.payload["problems"] for e in refused.transition.evidence if "problems" in e.payload
    ]
    assert any(
        "'RISK-9' (did you mean RISK-2 or RISK-1?) not among RISK-1, RISK-2" in p for p in reason
    ), reason
    # a closure without a reason does not fit the form
    no_reason = h.complete(
        "identify", {**answers, "rerate": "RISK-2", "close": "RISK-1"}, run_id=again
    )
    assert not any(e.kind == "task.completed" for e in no_reason.transition.evidence)

    h.complete("identify", {**answers, "rerate": "RISK-2"}, run_id=again)
    h.complete("treat", {**MITIGATE, "treatment": "accept", "target_date": None}, run_id=again)
    h.decide("rita@example.com", run_id=again)
    rerate = _run_of(h, "ai-risk", again)
    analyse = h.open_task("analyse", rerate)
    assert analyse.title.startswith("Risk analysis RISK-2: Personal data from chats")
    assert "Re-rating RISK-2, now in the register as:" in _task_description(h, rerate, "analyse")
    h.complete("analyse", {**PRIVACY, "likelihood": 5}, run_id=rerate)
    h.complete("treat", PRIVACY_TREAT, run_id=rerate)
    h.decide("tina@example.com", run_id=rerate)
    # re-rated to 20, above the shipped step-up threshold: Tina confirms in Jira too
    held = h.pending_approval(rerate)
    h.rt.decide(
        held.approval_id,
        person="tina@example.com",
        decision="confirm",
        reason=f"aims confirm {held.approval_id}",
        via="jira",
        ref="TASK-9#comment-1",
    )
    h.pump()

    with h.db.connect() as conn:
        risks = {r["risk_id"]: r for r in list_risks(conn, today=h.clock.now().date())}
        review = [
            json.loads(p)
            for p in conn.scalars(
                select(Evidence.__table__.c.payload).where(
                    Evidence.__table__.c.run_id == again,
                    Evidence.__table__.c.kind == "artefact.recorded",
                )
            )
        ]
        history = risk_history(conn, "RISK-2", today=h.clock.now().date())
        still_open = list_risks(conn, today=h.clock.now().date(), open_only=True)
    assert [r["risk_id"] for r in still_open] == ["RISK-2", "RISK-3"]
    assert risks["RISK-1"]["status"] == "closed"
    assert (
        risks["RISK-1"]["close_reason"]
        == "fee answers come from the tariff sheet only since February"
    )
    assert risks["RISK-3"]["title"] == "Chats kept longer than the retention policy allows"
    assert (risks["RISK-2"]["score"], risks["RISK-2"]["level"]) == (20, "high")
    (diff,) = [r["fields"] for r in review if r["artefact"] == "risk_register_review"]
    assert diff["previous_risk_ids"] == ["RISK-1", "RISK-2"]
    assert diff["close"] == ["RISK-1: fee answers come from the tariff sheet only since February"]
    assert diff["rerate"] == ["RISK-2"] and diff["added"] == []
    assert "RISK-2: Personal data from chats" in diff["previous_register"]
    rerated = [e for e in history["history"] if e["event"] == "re-rated"]
    assert rerated and rerated[0]["before"] == "16 (high)" and rerated[0]["inherent"] == "20 (high)"


def test_unknown_register_ids_are_refused_with_the_close_matches(harness):
    h = harness
    _assess_first_time(h)
    with pytest.raises(EngineError) as err:
        h.rt.start("ai-risk", system="Chatbot", inputs={"risk": "RISK-12"})
    assert "RISK-12 is not an open risk of Chatbot" in str(err.value)
    assert "did you mean RISK-2 or RISK-1?" in str(err.value)
    with h.db.connect() as conn, pytest.raises(NotFound) as missing:
        risk_history(conn, "RISK-21", today=date(2026, 1, 10))
    assert "did you mean RISK-2 or RISK-1?" in str(missing.value)


def test_a_mitigation_without_owner_or_target_date_is_refused_with_what_to_add(harness):
    h = harness
    run_id = _assessment(h)
    h.complete("identify", HALLUCINATION, run_id=run_id)
    incomplete = {k: v for k, v in MITIGATE.items() if k not in ("action_owner", "target_date")}
    outcome = h.complete("treat", incomplete, run_id=run_id)
    (problems,) = [
        e.payload["problems"] for e in outcome.transition.evidence if "problems" in e.payload
    ]
    assert "Person responsible for the plan: an answer is required." in problems
    assert "Plan completed by: an answer is required." in problems
    bad = h.complete("identify", {**HALLUCINATION, "likelihood": 7}, run_id=_assessment_again(h))
    (problems,) = [
        e.payload["problems"] for e in bad.transition.evidence if "problems" in e.payload
    ]
    assert "Likelihood (1 rare - 5 almost certain): must be at most 5, not 7." in problems


def _kpi(h, key: str):
    from aims_workflows.kpi import compute_kpis

    with h.db.connect() as conn:
        kpis = compute_kpis(conn, h.clock.now(), h.app.config.kpi_targets)
    return next(k for k in kpis if k.key == key)


def _task_description(h, run_id: str, step_id: str) -> str:
    """The description the Jira issue of a task was created with (the outbox command)."""
    from aims_workflows.store.models import OutboxItem

    t = OutboxItem.__table__
    with h.db.connect() as conn:
        payloads = conn.scalars(
            select(t.c.payload).where(t.c.run_id == run_id, t.c.kind == "task.create")
        ).all()
    (command,) = [json.loads(p) for p in payloads if json.loads(p)["step_id"] == step_id]
    return str(command["description"])


def _assessment_again(h) -> str:
    run = h.rt.start("ai-risk-assessment", system="Chatbot", again=True).run.run_id
    h.pump()
    return run


def test_the_audit_pack_carries_the_register_its_treatments_and_history(harness, tmp_path):
    from export_world import Pack

    from aims_workflows.export.pack import write_audit_pack

    h = harness
    _, _, privacy_treatment = _assess_first_time(h)
    h.clock.set(datetime.fromisoformat("2026-03-01T09:00:00+00:00"))
    write_audit_pack(h.app, tmp_path / "pack.zip")
    pack = Pack(tmp_path / "pack.zip")
    listed = {f["path"] for f in pack.json("manifest.json")["files"]}
    assert {"risks.csv", "risks.json", "risk_treatments.csv", "risk_history.csv"} <= listed
    risks = pack.csv("risks.csv")
    assert [(r["risk_id"], r["level"], r["treatment_status"]) for r in risks] == [
        ("RISK-1", "medium", "overdue"),
        ("RISK-2", "high", "open"),
    ]
    assert json.loads(risks[1]["controls"]) == ["A.6.2.8", "A.7.4"]
    treatments = pack.csv("risk_treatments.csv")
    assert [(t["risk_id"], t["due_date"], t["status"], t["days_overdue"]) for t in treatments] == [
        ("RISK-1", "2026-02-15", "overdue", "14"),
        ("RISK-2", "2026-04-30", "open", "0"),
    ]
    assert treatments[1]["run_id"] == privacy_treatment
    history = pack.csv("risk_history.csv")
    assert [(e["risk_id"], e["event"]) for e in history] == [
        ("RISK-1", "identified"),
        ("RISK-1", "treatment started"),
        ("RISK-2", "identified"),
        ("RISK-2", "treatment started"),
    ]
    document = pack.json("risks.json")
    assert document["as_of"] == "2026-03-01"
    assert [len(r["history"]) for r in document["risks"]] == [2, 2]


def test_the_upgrade_carries_single_risk_entries_into_the_register(db_url):
    """A database of the single-risk assessment: each register entry becomes a risk of its own,
    in the order recorded, readable with its history."""
    from sqlalchemy import insert

    from aims_workflows.store import Database
    from aims_workflows.store.models import RiskRegisterEntry

    db = Database(db_url)
    db.upgrade("0009")
    at = datetime.fromisoformat("2025-11-03T10:00:00+00:00")
    with db.begin() as conn:
        for n, (system, risk, score) in enumerate(
            [("Chatbot", "Wrong fees", 12), ("Scorer", "Proxy bias", 20)], start=1
        ):
            fields = {
                "risk": risk,
                "score": score,
                "level": "medium",
                "treatment": "mitigate",
                "residual_score": 4,
                "residual_level": "low",
                "target_date": "2025-12-31",
                "accepted_by": ["rita@example.com"],
            }
            conn.execute(
                insert(RiskRegisterEntry.__table__).values(
                    run_id=f"R-OLD-{n}",
                    system_name=system,
                    risk=risk,
                    likelihood=3,
                    impact=4,
                    score=score,
                    treatment="mitigate",
                    residual_score=4,
                    owner="rita@example.com",
                    fields=fields,
                    recorded_at=at,
                )  # fmt: skip
            )
    db.upgrade()
    try:
        with db.connect() as conn:
            risks = list_risks(conn, today=date(2026, 1, 10))
            history = risk_history(conn, "RISK-2", today=date(2026, 1, 10))
        assert [
            (r["risk_id"], r["system"], r["title"], r["inherent"], r["level"]) for r in risks
        ] == [
            ("RISK-1", "Chatbot", "Wrong fees", "12 (medium)", "low"),
            ("RISK-2", "Scorer", "Proxy bias", "20 (medium)", "low"),
        ]
        assert [(e["event"], e["run_id"]) for e in history["history"]] == [("assessed", "R-OLD-2")]
    finally:
        db.dispose()


def _artefacts(h, run_id: str, artefact: str) -> list[dict]:
    """The fields of each ``artefact`` the run recorded, oldest first."""
    with h.db.connect() as conn:
        payloads = conn.scalars(
            select(Evidence.__table__.c.payload)
            .where(
                Evidence.__table__.c.run_id == run_id,
                Evidence.__table__.c.kind == "artefact.recorded",
            )
            .order_by(Evidence.__table__.c.seq)
        ).all()
    found = [json.loads(p) for p in payloads]
    return [p["fields"] for p in found if p["artefact"] == artefact]


def _problems(outcome) -> list[str]:
    (problems,) = [
        e.payload["problems"] for e in outcome.transition.evidence if "problems" in e.payload
    ]
    return problems


def test_the_soa_starts_from_the_register_and_links_only_risks_it_holds(harness):
    """soa-review shows the register's open risks with the controls their treatments chose; a
    link to a risk the register does not hold is refused naming the ids it holds; excluding a
    control a risk's treatment chose is sent back until the draft says why it is overruled;
    the SoA export and soa.csv show each control's linked risks."""
    from test_export_soa import coverage
    from test_operational_workflows import inclusion_lines, soa_draft

    from aims_workflows.export.soa.render import soa_csv

    h = harness
    _assess_first_time(h)
    run = h.rt.start("soa-review").run.run_id
    h.pump()
    shown = _task_description(h, run, "draft")
    assert "RISK-1: A.6.2.4, A.9.3\nRISK-2: A.6.2.8, A.7.4" in shown

    links = "RISK-1: A.6.2.4, A.9.3\nRISK-2: A.6.2.8, A.7.4"
    unknown = h.complete(
        "draft", soa_draft(risk_links="RISK-1: A.6.2.4\nRISK-7: A.9.3"), run_id=run
    )
    assert any(
        "'RISK-7' (did you mean RISK-2 or RISK-1?) not among RISK-1, RISK-2" in p
        for p in _problems(unknown)
    ), _problems(unknown)
    assert _artefacts(h, run, "soa_draft_check") == []  # refused at the form, nothing recorded

    excluding = {
        "excluded": ["A.10.4", "A.7.4"],
        "exclusions": (
            "A.10.4: No AI system is provided to customers; all serve staff only.\n"
            "A.7.4: Data quality is the data platform team's, outside the AIMS scope."
        ),
        "inclusions": inclusion_lines({"A.10.4", "A.7.4"}),
        "risk_links": links,
    }
    h.complete("draft", soa_draft(**excluding), run_id=run)
    (check,) = _artefacts(h, run, "soa_draft_check")
    assert check["excluded_though_chosen"] == ["A.7.4"]
    assert check["unjustified_exclusions"] == [] and check["unjustified_inclusions"] == []
    assert h.run_row(run).current_step == "draft"  # sent back, not to approval
    reissued = _task_description_latest(h, run, "draft")
    assert "chosen by risk treatments" in reissued and "A.7.4" in reissued

    overruled = (
        "A.7.4: The supplier redacts the chats under contract (A.10.3); RISK-2 is treated "
        "there, not by a data control of ours."
    )
    h.complete("draft", soa_draft(**excluding, register_overruled=overruled), run_id=run)
    h.decide("tom@example.com", reason="Consistent with the risk register.", run_id=run)
    assert h.run_row(run).status == "completed"
    (soa,) = _artefacts(h, run, "statement_of_applicability")
    assert soa["risk_links"] == links.splitlines()
    assert soa["register_overruled"] == [overruled]

    report = coverage(h)
    by_id = {c.id: c for c in report.controls}
    assert by_id["A.6.2.4"].risks == ("RISK-1",) and by_id["A.9.3"].risks == ("RISK-1",)
    assert by_id["A.7.4"].risks == ("RISK-2",) and not by_id["A.7.4"].applicable
    assert by_id["A.2.2"].risks == ()
    rows = {line.split(",")[0]: line for line in soa_csv(report).splitlines()}
    assert rows["control"].startswith("control,title,applicable,justification,risks,")
    assert ",RISK-1," in rows["A.6.2.4"] and ",RISK-2," in rows["A.7.4"]


def _task_description_latest(h, run_id: str, step_id: str) -> str:
    """The description of the latest Jira issue created for a task of ``step_id``."""
    from aims_workflows.store.models import OutboxItem

    t = OutboxItem.__table__
    with h.db.connect() as conn:
        payloads = conn.scalars(
            select(t.c.payload)
            .where(t.c.run_id == run_id, t.c.kind == "task.create")
            .order_by(t.c.id)
        ).all()
    commands = [json.loads(p) for p in payloads if json.loads(p)["step_id"] == step_id]
    return str(commands[-1]["description"])


def test_a_treatment_task_goes_to_its_named_action_owner_and_only_they_complete_it(harness):
    h = harness
    run_id = _assessment(h)
    h.complete("identify", {**HALLUCINATION, "further_risks": ""}, run_id=run_id)
    # ed is the second engineer in aims.yaml: the role alone would give the task to eve
    h.complete("treat", MITIGATE, run_id=run_id)
    h.decide("rita@example.com", run_id=run_id)
    treatment = _run_of(h, "risk-treatment", run_id)
    task = h.open_task("carry_out", treatment)
    assert task.assignee == "ed@example.com"
    assert "is not a person aims knows" not in _task_description(h, treatment, "carry_out")
    done = {
        "outcome": "done",
        "what_was_done": "Fee answers now quote the tariff sheet",
        "evidence_link": "https://git.example.com/chatbot/pull/88",
        "completed_on": "2026-02-01",
    }
    refused = h.complete("carry_out", done, run_id=treatment, person="eve@example.com")
    assert "it is ed@example.com's own task" in refused.transition.evidence[0].payload["reason"]
    h.complete("carry_out", done, run_id=treatment)
    assert h.run_row(treatment).status == "completed"
    (result,) = [
        json.loads(r.payload)
        for r in _evidence(h, treatment)
        if r.kind == "artefact.recorded" and "risk_treatment_result" in r.payload
    ]
    assert result["fields"]["assigned_to"] == "ed@example.com"


def test_an_action_owner_aims_does_not_know_falls_back_to_the_engineer_role_with_a_note(harness):
    h = harness
    run_id = _assessment(h)
    h.complete("identify", {**HALLUCINATION, "further_risks": ""}, run_id=run_id)
    h.complete("treat", {**MITIGATE, "action_owner": "pat@vendor.example"}, run_id=run_id)
    h.decide("rita@example.com", run_id=run_id)
    treatment = _run_of(h, "risk-treatment", run_id)
    assert h.run_row(treatment).status == "running"
    assert h.open_task("carry_out", treatment).assignee == "eve@example.com"
    assert (
        "pat@vendor.example is not a person aims knows, so this task went to the engineer role"
        in _task_description(h, treatment, "carry_out")
    )
    (note,) = [m for m in h.notifier.sent if "pat@vendor.example" in m["message"]]
    assert sorted(note["people"]) == ["amy@example.com", "rita@example.com"]
    # any holder of the role may complete it, as with any role task
    h.complete(
        "carry_out",
        {
            "outcome": "partly_done",
            "what_was_done": "Retrieval in place for the top 20 fee questions",
            "reason": "The vendor delivers the rest in March",
            "completed_on": "2026-02-10",
        },
        run_id=treatment,
        person="ed@example.com",
    )
    assert h.run_row(treatment).status == "completed"


def _evidence(h, run_id: str) -> list:
    t = Evidence.__table__
    with h.db.connect() as conn:
        return conn.execute(select(t).where(t.c.run_id == run_id).order_by(t.c.seq)).all()
