"""What starts runs: schedules, inventory triggers, spawned runs with findings, and the workflow
version a run is pinned to."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from aims_workflows.errors import SpecError
from aims_workflows.kpi import compute_kpis
from aims_workflows.store.models import AISystem, Finding, Run


def kpis(h) -> dict[str, float | None]:
    with h.db.connect() as conn:
        return {k.key: k.value for k in compute_kpis(conn, h.clock.now(), h.app.config.kpi_targets)}


def runs(h) -> list[tuple[str, str, str]]:
    t = Run.__table__
    with h.db.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                select(t.c.workflow_id, t.c.subject_name, t.c.status).order_by(
                    t.c.started_at, t.c.workflow_id, t.c.subject_name
                )
            )
        ]


def open_runs(h, workflow: str | None = None) -> list[str]:
    t = Run.__table__
    query = select(t.c.id).where(t.c.status.in_(("new", "running")))
    if workflow:
        query = query.where(t.c.workflow_id == workflow)
    with h.db.connect() as conn:
        return list(conn.scalars(query))


def finish_assessments(h, answers, system: str) -> None:
    """Take the open risk and impact assessments of ``system`` to completion."""
    t = Run.__table__
    with h.db.connect() as conn:
        pending = conn.execute(
            select(t.c.id, t.c.workflow_id).where(
                t.c.subject_name == system, t.c.status == "running"
            )
        ).all()
    for run_id, workflow in pending:
        if workflow == "ai-risk-assessment":
            h.complete("identify", answers["risk.identify"], run_id=run_id)
            h.complete("treat", answers["risk.treat"], run_id=run_id)
            h.decide("rita@example.com", run_id=run_id)
        else:
            for step, key in (
                ("context", "impact.context"),
                ("impacts", "impact.impacts"),
                ("mitigate", "impact.mitigate"),
            ):
                h.complete(step, answers[key], run_id=run_id)
            h.decide("amy@example.com", run_id=run_id)
        assert h.run_row(run_id).status == "completed"


# -- schedules -------------------------------------------------------------------------------------
def due_today(h, *workflows: str) -> None:
    """aims.yaml says these schedules first fall due today (``schedules: {W: {first_due}}``)."""
    from aims_workflows.config import ScheduleConfig

    h.rt.config = h.rt.config.model_copy(
        update={"schedules": {w: ScheduleConfig(first_due=h.clock.now().date()) for w in workflows}}
    )


def test_schedules_start_once_per_interval_per_in_scope_subject(harness, answers):
    h = harness
    due_today(h, "internal-audit", "management-review")
    h.add_system("InScope")
    h.add_system("OutOfScope", in_scope=False)
    assert sorted(w for w, _, _ in runs(h)) == [
        "ai-impact-assessment",
        "ai-risk-assessment",
    ]  # from registration

    started = h.rt.run_schedules()
    # the organisation's yearly workflows never ran; the in-scope system's assessments are open
    assert sorted(h.run_row(r).workflow_id for r in started) == [
        "internal-audit",
        "management-review",
    ]
    assert h.rt.run_schedules() == []

    # closing a run does not bring the next one forward: the interval counts from the last start
    for run_id in started:
        h.rt.cancel(run_id, "postponed")
    finish_assessments(h, answers, "InScope")
    h.clock.advance(days=364)
    assert h.rt.run_schedules() == []

    h.clock.advance(days=1)
    again = h.rt.run_schedules()
    # the yearly AI policy review, without a date in aims.yaml, falls due a year after the
    # ledger's first row
    assert sorted((h.run_row(r).workflow_id, h.run_row(r).subject_name) for r in again) == [
        ("ai-impact-assessment", "InScope"),
        ("ai-policy", "Example Ltd"),
        ("ai-risk-assessment", "InScope"),
        ("data-quality", "InScope"),
        ("intended-use", "InScope"),
        ("internal-audit", "Example Ltd"),
        ("management-review", "Example Ltd"),
        ("soa-review", "Example Ltd"),
        ("supplier-review", "InScope"),
    ]
    assert h.rt.run_schedules() == []
    assert not any(name == "OutOfScope" for _, name, _ in runs(h))


def test_a_schedule_does_not_start_a_second_run_while_one_is_open(harness):
    h = harness
    due_today(h, "internal-audit", "management-review", "soa-review")
    first = h.rt.run_schedules()
    assert len(first) == 3
    h.clock.advance(days=400)
    # both are still open a year later; only the AI policy review falls due (a year after the
    # ledger's first row)
    assert [h.run_row(r).workflow_id for r in h.rt.run_schedules()] == ["ai-policy"]
    audit = next(r for r in first if h.run_row(r).workflow_id == "internal-audit")
    h.rt.cancel(audit, "replaced")
    assert [h.run_row(r).workflow_id for r in h.rt.run_schedules()] == ["internal-audit"]


def test_a_scheduled_run_records_its_trigger(harness):
    h = harness
    due_today(h, "internal-audit", "management-review")
    (run_id, _) = h.rt.run_schedules()
    with h.db.connect() as conn:
        from aims_workflows.store import ledger

        started = next(ledger.iter_rows(conn, run_id=run_id, kind="run.started"))
    assert started.actor == "scheduler"
    assert "schedule (every 365d)" in started.payload


def test_the_first_pass_starts_no_yearly_workflow(harness):
    """Installing aims does not start an internal audit and a management review at once: without
    a date in aims.yaml they first fall due a year after the ledger's first row, and an AI
    system's yearly assessments a year after it was registered."""
    h = harness
    assert h.rt.run_schedules() == []  # an empty ledger: nothing is due
    _, registered = h.add_system("Chatbot")
    for run_id in registered:
        h.rt.cancel(run_id, "not needed yet")
    assert h.rt.run_schedules() == []
    h.clock.advance(days=364)
    assert h.rt.run_schedules() == []
    h.clock.advance(days=1)
    assert sorted(
        (h.run_row(r).workflow_id, h.run_row(r).subject_name) for r in h.rt.run_schedules()
    ) == [
        ("ai-impact-assessment", "Chatbot"),
        ("ai-policy", "Example Ltd"),
        ("ai-risk-assessment", "Chatbot"),
        ("data-quality", "Chatbot"),
        ("intended-use", "Chatbot"),
        ("internal-audit", "Example Ltd"),
        ("management-review", "Example Ltd"),
        ("soa-review", "Example Ltd"),
        ("supplier-review", "Chatbot"),
    ]


def test_a_first_due_date_in_aims_yaml_is_kept(harness):
    from datetime import timedelta

    from aims_workflows.config import ScheduleConfig

    h = harness
    h.add_system("Chatbot")
    later = (h.clock.now() + timedelta(days=40)).date()
    h.rt.config = h.rt.config.model_copy(
        update={"schedules": {"internal-audit": ScheduleConfig(first_due=later)}}
    )
    h.clock.advance(days=39)
    assert h.rt.run_schedules() == []
    h.clock.advance(days=1)
    assert [h.run_row(r).workflow_id for r in h.rt.run_schedules()] == ["internal-audit"]


# -- inventory triggers ---------------------------------------------------------------------------
def test_registering_a_system_starts_the_subscribed_workflows(harness):
    h = harness
    _, started = h.add_system("Chatbot")
    assert sorted(h.run_row(r).workflow_id for r in started) == [
        "ai-impact-assessment",
        "ai-risk-assessment",
    ]
    _, none = h.add_system("Shelved", in_scope=False)
    assert none == []


def test_a_material_change_starts_the_impact_assessment_and_marks_the_old_one_stale(
    harness, answers
):
    h = harness
    h.add_system("Chatbot", users="staff")
    finish_assessments(h, answers, "Chatbot")
    assert kpis(h)["impact_assessment_coverage"] == 1.0
    assert kpis(h)["risk_assessment_coverage"] == 1.0

    h.clock.advance(days=10)
    changes, started = h.app.inventory.set("Chatbot", {"users": "the public"})
    h.pump()
    assert changes == {"users": ["staff", "the public"]}
    # 'users' matters to the impact assessment and the intended use, not to the risk assessment
    assert sorted(h.run_row(r).workflow_id for r in started) == [
        "ai-impact-assessment",
        "intended-use",
    ]
    assert kpis(h)["impact_assessment_coverage"] == 0.0
    assert kpis(h)["risk_assessment_coverage"] == 1.0
    with h.db.connect() as conn:
        system = conn.execute(select(AISystem.__table__)).one()
    assert system.impact_valid_until == h.clock.now()
    kinds = h.kinds()
    assert kinds.count("ai_system.changed") == 1

    # a change both workflows subscribe to starts the
    # risk assessment; the impact one is open already
    _, started = h.app.inventory.set("Chatbot", {"model_type": "llm"})
    assert [h.run_row(r).workflow_id for r in started] == ["ai-risk-assessment"]
    assert len(open_runs(h, "ai-impact-assessment")) == 1


def test_a_non_material_change_starts_nothing_and_keeps_the_assessments_current(harness, answers):
    h = harness
    h.add_system("Chatbot")
    finish_assessments(h, answers, "Chatbot")
    before = h.count("runs")
    changes, started = h.app.inventory.set("Chatbot", {"owner": "oscar@example.com"})
    h.pump()
    assert changes == {"owner": ["olga@example.com", "oscar@example.com"]}
    assert started == [] and h.count("runs") == before
    assert kpis(h)["impact_assessment_coverage"] == 1.0
    assert h.kinds().count("ai_system.changed") == 1


def test_a_change_reaches_open_runs_of_the_system(harness, answers):
    """The new owner is who the mitigation task of an open impact assessment goes to."""
    h = harness
    _, started = h.add_system("Chatbot")
    impact = next(r for r in started if h.run_row(r).workflow_id == "ai-impact-assessment")
    h.app.inventory.set("Chatbot", {"owner": "oscar@example.com"})
    h.pump()
    h.complete("context", answers["impact.context"], run_id=impact)
    h.complete("impacts", answers["impact.impacts"], run_id=impact)
    assert h.open_task("mitigate", impact).assignee == "oscar@example.com"


# -- spawned runs with findings --------------------------------------------------------------------


def test_an_internal_audit_finding_spawns_a_corrective_action_that_closes_it(harness, answers):
    h = harness
    audit = h.start_audit()
    h.pump()
    h.complete("programme", answers["audit.programme"], run_id=audit)
    h.decide("amy@example.com", run_id=audit)
    h.audit_areas(audit, answers, check_risk=answers["audit.minor"])
    h.clock.advance(days=1)
    h.decide("amy@example.com", run_id=audit)

    assert h.run_row(audit).status == "completed"
    child = f"{audit}.raise_findings1.1"
    row = h.run_row(child)
    assert (row.workflow_id, row.status) == ("corrective-action", "running")
    # the audit does not wait for its corrective actions, yet each names the audit that started it
    assert (row.spawned_by, row.parent_run_id) == (audit, None)
    from aims_workflows.kpi.timeline import run_timeline

    with h.db.connect() as conn:
        # its area checks, then the corrective action
        areas = [f"{audit}.check_areas1.{n}" for n in range(1, 5)]
        assert run_timeline(conn, audit).spawned == [*areas, child]
        assert run_timeline(conn, child).spawned_by == audit
    with h.db.connect() as conn:
        finding = conn.execute(select(Finding.__table__)).one()
    assert finding.title == "Internal audit IA-2026-1: Risk and impact"
    assert (finding.severity, finding.clause, finding.status, finding.corrective_run_id) == (
        "minor",
        "6.1.2",
        "open",
        child,
    )
    assert finding.description == "Two risks unreviewed"
    assert finding.source == f"internal-audit/{audit}"
    assert finding.source_type == "internal"  # counted as an internal audit's
    assert "finding.raised" in h.kinds(audit)
    # open, it counts by its age so far: just raised
    assert kpis(h)["mean_days_to_close_nonconformity"] == 0.0

    h.clock.advance(days=3)
    h.close_corrective_action(child, answers)

    assert h.run_row(child).status == "completed"
    with h.db.connect() as conn:
        finding = conn.execute(select(Finding.__table__)).one()
    assert finding.status == "closed"
    assert finding.closed_at - finding.raised_at == h.clock.now() - finding.raised_at
    # to the corrective action, implemented 3 days after the finding: the 30-day wait and the
    # effectiveness check after it are not counted
    assert kpis(h)["mean_days_to_close_nonconformity"] == pytest.approx(3)
    assert kpis(h)["nonconformity_action_effectiveness"] == 1.0
    closure = h.kinds(child)
    assert closure[-2:] == ["artefact.recorded", "run.completed"]
    assert h.verify().ok


def test_an_audit_without_nonconformities_spawns_nothing(harness, answers):
    h = harness
    audit = h.start_audit()
    h.pump()
    h.complete("programme", answers["audit.programme"], run_id=audit)
    h.decide("amy@example.com", run_id=audit)
    h.audit_areas(audit, answers)
    h.decide("amy@example.com", run_id=audit)
    assert h.run_row(audit).status == "completed"
    # the audit and its four area checks
    assert h.count("findings") == 0 and h.count("runs") == 5


# -- pinned versions -------------------------------------------------------------------------------
MINI = """\
id: mini
version: {version}
title: Mini review
subject: ai_system
evidences: ["6.1.2"]
trigger:
  manual: true
steps:
  - id: first
    kind: task
    role: engineer
    title: "First look at {{{{ subject.name }}}}"
    form:
      - {{id: note, type: text, label: Note}}
  - id: second
    kind: task
    role: engineer
    title: "{title} {{{{ subject.name }}}}"
    form:
      - {{id: note, type: text, label: Note}}
"""


@pytest.fixture
def mini_dir(tmp_path):
    directory = tmp_path / "workflows"
    directory.mkdir()
    (directory / "mini.yaml").write_text(
        MINI.format(version=1, title="Second look (v1) at"), encoding="utf-8"
    )
    return directory


def test_a_run_started_on_version_1_finishes_on_version_1(
    make_harness, database, db_url, tmp_path, clock, mini_dir
):
    first_app = make_harness(db_url, tmp_path, clock, workflows=mini_dir)
    second_app = None
    try:
        first_app.add_system("Chatbot", in_scope=False)
        old = first_app.rt.start("mini", system="Chatbot").run.run_id
        first_app.pump()

        (mini_dir / "mini.yaml").write_text(
            MINI.format(version=2, title="Second look (v2) at"), encoding="utf-8"
        )
        restarted = tmp_path / "restarted"
        restarted.mkdir()
        second_app = make_harness(
            db_url,
            restarted,
            clock,
            workflows=mini_dir,
            tracker=first_app.tracker,
            approvals=first_app.approvals,
            notifier=first_app.notifier,
        )
        new = second_app.rt.start("mini", system="Chatbot", again=True).run.run_id
        second_app.pump()

        second_app.complete("first", {"note": "ok"}, run_id=old)
        second_app.complete("first", {"note": "ok"}, run_id=new)
        assert second_app.open_task("second", old).title == "Second look (v1) at Chatbot"
        assert second_app.open_task("second", new).title == "Second look (v2) at Chatbot"
        second_app.complete("second", {"note": "done"}, run_id=old)
        assert (second_app.run_row(old).spec_version, second_app.run_row(old).status) == (
            1,
            "completed",
        )
        assert second_app.run_row(new).spec_version == 2
        assert second_app.count("spec_versions") == 2
    finally:
        first_app.db.dispose()
        if second_app:
            second_app.db.dispose()


def test_a_changed_file_that_kept_its_version_is_refused_with_the_place_to_fix(
    make_harness, database, db_url, tmp_path, clock, mini_dir
):
    first_app = make_harness(db_url, tmp_path, clock, workflows=mini_dir)
    second_app = None
    try:
        first_app.add_system("Chatbot", in_scope=False)
        first_app.rt.start("mini", system="Chatbot")
        (mini_dir / "mini.yaml").write_text(
            MINI.format(version=1, title="Quietly changed"), encoding="utf-8"
        )
        restarted = tmp_path / "restarted"
        restarted.mkdir()
        second_app = make_harness(db_url, restarted, clock, workflows=mini_dir)
        with pytest.raises(SpecError) as caught:
            second_app.rt.start("mini", system="Chatbot", again=True)
        (problem,) = caught.value.problems
        assert str(mini_dir / "mini.yaml") in str(problem) or "mini.yaml" in str(problem)
        assert problem.line == 2
        assert "version 1 changed since runs were started on it" in str(problem)
        assert "raise 'version' to 2" in str(problem)
        assert second_app.count("runs") == 1
    finally:
        first_app.db.dispose()
        if second_app:
            second_app.db.dispose()


def test_an_unchanged_file_starts_more_runs_on_the_same_version(
    make_harness, database, db_url, tmp_path, clock, mini_dir
):
    h = make_harness(db_url, tmp_path, clock, workflows=mini_dir)
    try:
        h.add_system("Chatbot", in_scope=False)
        h.add_system("Other", in_scope=False)
        h.rt.start("mini", system="Chatbot")
        h.rt.start("mini", system="Other")
        assert h.count("spec_versions") == 1
    finally:
        h.db.dispose()


def test_a_scheduled_start_that_loses_a_race_is_skipped_not_an_error(harness, monkeypatch):
    """Another worker started the run between this worker's read of the open runs and its own
    start: the unique index over open scheduled runs refuses the second, in its savepoint."""
    from datetime import timedelta

    from sqlalchemy import text

    h = harness
    h.add_system("Chatbot", in_scope=False)
    with h.db.begin() as conn:
        conn.execute(text("UPDATE ai_systems SET in_scope = true"))
    h.clock.advance(timedelta(days=365))  # the first due date: a year after registration
    first = h.rt.run_schedules()
    # the system's risk, impact, data, intended use and supplier reviews; the audit, the
    # management review, the SoA review and the AI policy
    assert len(first) == 9
    # a year on, last year's runs still open, and a read of the open runs that is out of date
    h.clock.advance(timedelta(days=366))
    monkeypatch.setattr(type(h.rt), "_open_subjects", lambda self, conn, workflow: set())
    assert h.rt.run_schedules() == []
    with h.db.connect() as conn:
        runs = conn.execute(text("SELECT count(*) FROM runs")).scalar()
        scheduled = conn.execute(text("SELECT count(*) FROM runs WHERE scheduled")).scalar()
    assert runs == scheduled == 9
    assert h.verify().ok
