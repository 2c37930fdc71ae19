"""The management-review input pack, gathered from histories the real runtime produced (SQLite and
PostgreSQL): its period, the review actions, nonconformities, audits, risks, the coverage rebuilt
at past moments, the rendering, and how much of the ledger it reads."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from export_world import assessed_world, audit_with_a_finding, tamper
from kpi_world import add_finding
from review_world import action_runs, assess_high_risk, carry_out, management_review
from sqlalchemy import event, text

from aims_workflows.export._snapshot import snapshot
from aims_workflows.export.period import ClosedPeriod
from aims_workflows.export.review.gather import gather_review
from aims_workflows.export.review.model import Figure
from aims_workflows.export.review.period import choose_period
from aims_workflows.export.review.render import number, render_review
from aims_workflows.export.review.state import CoverageHistory, coverage_check
from aims_workflows.kpi import compute_kpis
from aims_workflows.kpi.queries import KpiContext


def period(h, since: str | None = None, until: str | None = None):
    with snapshot(h.db) as conn:
        return choose_period(conn, since, until, h.clock.now())


def gather(h, since: str | None = None, until: str | None = None, **kw):
    with snapshot(h.db) as conn:
        rp = choose_period(conn, since, until, h.clock.now())
        return gather_review(h.app, conn, rp, now=h.clock.now(), **kw)


def figures(section_figures) -> dict[str, Figure]:
    return {f.label: f for f in section_figures}


def pair(figure: Figure) -> tuple:
    """(before, value, trend): what a row of the pack says."""
    return figure.before, figure.value, figure.trend


# -- the period ----------------------------------------------------------------------------------
def test_without_a_review_the_period_is_the_whole_history(harness):
    h = harness
    h.add_system("Chatbot")  # the ledger's first row, today
    first_day = h.clock.now().date()
    h.clock.advance(days=500)
    rp = period(h)
    today = h.clock.now().date()
    assert rp.current == ClosedPeriod(first_day, today) and rp.days == 501
    assert rp.previous == ClosedPeriod(
        first_day - timedelta(days=501), first_day - timedelta(days=1)
    )
    assert rp.reason == (
        "the whole history, from the first ledger row, as no management review has been "
        "completed yet"
    )
    assert rp.last_review_run is None


def test_the_default_period_starts_on_the_day_the_last_review_completed(harness):
    h = harness
    h.clock.advance(days=3)
    first = management_review(h, [])
    h.clock.advance(days=30)
    second = management_review(h, ["Hire an auditor"])
    completed = h.run_row(second).completed_at
    h.clock.advance(days=40, hours=5)

    rp = period(h)
    today = h.clock.now().date()
    assert rp.last_review_run == second and rp.current == ClosedPeriod(completed.date(), today)
    assert rp.days == 41 and rp.label() == f"{completed.date()} to {today} (41 days)"
    assert rp.previous == ClosedPeriod(
        completed.date() - timedelta(days=41), completed.date() - timedelta(days=1)
    )
    assert (
        rp.reason
        == f"since the last completed management review, {second}, completed on {completed.date()}"
    )
    # an earlier end: the last review completed by then
    earlier = period(h, until=(completed - timedelta(days=1)).date().isoformat())
    assert (
        earlier.last_review_run == first
        and earlier.current.since == h.run_row(first).completed_at.date()
    )
    assert earlier.reason.startswith("since the last management review completed by --until")
    # before any review: the whole history up to --until
    assert period(h, until="2026-01-01").reason == (
        "the whole history up to --until 2026-01-01, from the first ledger row, as no management "
        "review had been completed by then"
    )
    # both given: taken as they are
    asked = period(h, since="2026-01-01", until="2026-01-10")
    assert asked.current == ClosedPeriod(date(2026, 1, 1), date(2026, 1, 10))
    assert (
        asked.previous == ClosedPeriod(date(2025, 12, 22), date(2025, 12, 31))
        and asked.reason == "as asked with --since and --until"
    )

    md = render_review(gather(h), "md")
    assert (
        f"- **Period:** {completed.date()} to {today} (41 days): since the last completed "
        f"management review, {second}" in md
    )
    assert (
        f"- **Compared with:** {rp.previous.since} to {rp.previous.until}, the 41 days before."
        in md
    )


@pytest.mark.parametrize(
    "since, until, words",
    [
        ("2026-02-30", None, "--since '2026-02-30' is not a date: expected YYYY-MM-DD"),
        (None, "tomorrow", "--until 'tomorrow' is not a date"),
        ("2026-03-01", "2026-02-01", "--since 2026-03-01 is after --until 2026-02-01: swap them"),
        ("2026-02-01", None, "--since 2026-02-01 is in the future (today is 2026-01-05)"),
    ],
)
def test_dates_that_make_no_period_are_refused_with_the_reason(harness, since, until, words):
    with pytest.raises(ValueError) as caught:
        period(harness, since, until)
    assert words in str(caught.value)


# -- 1. actions from previous reviews --------------------------------------------------------------
def test_review_actions_show_owner_due_date_and_status_and_the_decisions_are_read_from_the_minutes(
    harness,
):
    h = harness
    review = management_review(
        h,
        ["Hire an auditor", "Publish the AI policy", "Train the staff"],
        improvements="Speed up approvals | add a deputy",
    )
    first, second, third = action_runs(h, review)
    decided_at = h.run_row(review).completed_at
    h.clock.advance(days=10)
    carry_out(h, first, what="Ian joined")
    h.clock.advance(days=5)
    carry_out(h, third, outcome="dropped")
    h.clock.advance(
        days=80
    )  # 95 days after the review: the second action is past its 90-day due date

    pack = gather(h)
    section = pack.actions
    assert section.last_review is not None and section.last_review.run_id == review
    minutes = section.last_review.minutes
    assert (minutes["conclusion"], minutes["review_date"], minutes["approved_by"]) == (
        "needs_improvement",
        "2026-03-20",
        ["tom@example.com", "tina@example.com"],
    )
    items = section.actions.items
    assert [a.run_id for a in items] == [second, first, third]  # the overdue one first
    late = items[0]
    assert (late.action, late.status, late.owner, late.review_run) == (
        "Publish the AI policy",
        "overdue",
        "amy@example.com",
        review,
    )
    assert late.due_at == decided_at + timedelta(days=90) and late.completed_at is None
    assert (items[1].status, items[1].what_was_done, items[2].status) == (
        "done",
        "Ian joined",
        "dropped",
    )

    f = figures(section.figures)
    assert pair(f["Review actions started"]) == (0, 3, "up")
    assert (
        pair(f["Review actions completed"]) == (0, 2, "up")
        and f["Review actions completed"].verdict == "better"
    )
    assert pair(f["... of which dropped or only partly done"]) == (0, 1, "up")
    assert pair(f["Review actions open"]) == (
        0,
        1,
        "up",
    )  # at the start of the day the review completed: none yet
    assert (
        pair(f["Review actions overdue"]) == (0, 1, "up")
        and f["Review actions overdue"].verdict == "worse"
    )

    md = render_review(pack, "md")
    assert (
        f"| Publish the AI policy | 2026-03-20 ({review}) | amy@example.com | "
        f"{late.due_at:%Y-%m-%d} | **OVERDUE** |  | {second} |" in md
    )
    assert "- **Conclusion on the AIMS:** needs improvement" in md
    assert '- **Approved by:** tom@example.com ("agreed"); tina@example.com ("agreed too")' in md
    assert "- **Decisions on continual improvement:** Speed up approvals \\| add a deputy" in md
    assert (
        "- external issues: New AI regulation in force" in md
    )  # the last review's input, for reference
    # before the due date the same action is open, not overdue
    early = gather(h, until=(decided_at + timedelta(days=30)).date().isoformat())
    assert {a.run_id: a.status for a in early.actions.actions.items}[second] == "open"


# -- 3 and 4. nonconformities and audits -----------------------------------------------------------
def test_a_nonconformity_raised_and_closed_in_the_period_counts_with_its_days_to_close(
    harness, answers
):
    h = harness
    assessed_world(h, answers)
    audit, corrective = audit_with_a_finding(h, answers)  # raised 2026-02-15, closed 32 days later
    h.clock.advance(days=20)
    pack = gather(h, since="2026-02-01", until="2026-03-31")

    n = pack.nonconformities
    f = figures(n.figures)
    assert (
        pair(f["Nonconformities raised"]) == (0, 1, "up")
        and f["Nonconformities raised"].verdict is None
    )
    assert pair(f["Nonconformities closed"]) == (0, 1, "up")
    assert pair(f["Nonconformities open"]) == (0, 0, "same")
    # the KPI's meaning: to the corrective action implemented (not the effectiveness check)
    days = f["Mean days to close"]
    with h.db.connect() as conn:
        live = {
            at: {
                k.key: k
                for k in compute_kpis(conn, at, h.app.config.kpi_targets, context=KpiContext())
            }["mean_days_to_close_nonconformity"].value
            for at in (pack.as_of, pack.period.current.start)
        }
    assert days.value == live[pack.as_of] and days.before == live[pack.period.current.start]
    assert days.before is None and days.value < 32.0  # the 30-day wait is not counted
    assert days.met is True  # the target is 60 days
    assert pair(f["Effectiveness checks: effective"]) == (0, 1, "up")
    assert n.by_source.rows == [("internal-audit", (0, 1, 1, 0))]
    assert n.by_severity.rows == [("minor", (0, 1, 1, 0))]
    (row,) = n.items.items
    assert (row.status, row.days, row.effective, row.corrective_run, row.source) == (
        "closed",
        32.0,
        True,
        corrective,
        "internal-audit",
    )

    a = pack.audits
    (report,) = a.audits.items
    assert (report.run_id, report.reference, report.status, report.nonconformities_raised) == (
        audit,
        "IA-2026-1",
        "completed",
        1,
    )
    # by the areas the audit's programme planned, as each area's run concluded
    assert report.results == {
        "Governance and leadership": "conforming",
        "Risk and impact": "minor_nonconformity",
        "AI system lifecycle and data": "conforming",
        "Monitoring, measurement and improvement": "conforming",
    }
    assert report.findings == [answers["audit.minor"]["finding"]]
    fa = figures(a.figures)
    assert pair(fa["Internal audits completed"]) == (0, 1, "up")
    assert pair(fa["Audit areas found conforming"]) == (0, 3, "up")
    assert pair(fa["Nonconformities raised by internal audits"]) == (0, 1, "up")

    md = render_review(pack, "md")
    assert (
        f"| {row.id}: Internal audit IA-2026-1: Risk and impact | minor | internal-audit | - | "
        "2026-02-15 | 2026-03-19 | "
        f"32 days | effective | {corrective} |"
    ) in md
    assert (
        "| Mean days to close <br>_to the corrective action implemented, open ones by their "
        f"age; at the end and the start of the period, as aims kpi_ | n/a | {days.value:.0f} "
        "days | n/a | ≤ 60 days (met at the end) |" in md
    )
    assert "| Risk and impact | minor nonconformity |" in md

    # the period before: raised there, still open at its end
    before = gather(h, since="2026-01-01", until="2026-02-28")
    assert pair(figures(before.nonconformities.figures)["Nonconformities open"]) == (0, 1, "up")
    (open_row,) = before.nonconformities.items.items
    open_for = (datetime(2026, 3, 1, tzinfo=UTC) - open_row.raised_at).total_seconds() / 86400
    assert (
        open_row.status == "open"
        and open_row.closed_at is None
        and open_row.days == pytest.approx(open_for)
    )  # to the period's end


def test_the_reviews_mean_days_to_close_is_the_kpi_at_each_end_of_the_period(harness, answers):
    h = harness  # the clock starts on 2026-01-05
    runs = {}
    for finding_id in ("F-1", "F-2"):
        add_finding(h, finding_id, "complaint", h.clock.now())
        runs[finding_id] = h.rt.start("corrective-action", finding=finding_id).run.run_id
        h.pump()
        h.clock.advance(days=10)
    run = runs["F-1"]  # raised 2026-01-05, actioned 2026-02-09; F-2 (2026-01-15) stays open
    h.clock.set(datetime(2026, 2, 9, 12, tzinfo=UTC))
    for step in ("correct", "root_cause", "plan"):
        h.complete(step, answers["ca." + step], run_id=run)
    h.decide("amy@example.com", run_id=run)
    h.complete("implement", answers["ca.implement"], run_id=run)
    h.clock.set(datetime(2026, 3, 10, tzinfo=UTC))
    pack = gather(h, since="2026-02-01", until="2026-02-28")

    days = figures(pack.nonconformities.figures)["Mean days to close"]
    ends = (pack.as_of, pack.period.current.start)
    with h.db.connect() as conn:
        kpi = {
            at: {
                k.key: k
                for k in compute_kpis(conn, at, h.app.config.kpi_targets, context=KpiContext())
            }["mean_days_to_close_nonconformity"].value
            for at in ends
        }
    assert (days.value, days.before) == (kpi[pack.as_of], kpi[pack.period.current.start])
    raised = datetime(2026, 1, 5, 9, tzinfo=UTC), datetime(2026, 1, 15, 9, tzinfo=UTC)
    actioned = datetime(2026, 2, 9, 12, tzinfo=UTC)

    def age(start: datetime, end: datetime) -> float:
        return (end - start).total_seconds() / 86400

    assert days.before == pytest.approx(
        (age(raised[0], pack.period.current.start) + age(raised[1], pack.period.current.start)) / 2
    )  # both open at the start, by their age
    assert days.value == pytest.approx(
        (age(raised[0], actioned) + age(raised[1], pack.as_of)) / 2
    )  # F-1 to its action, F-2 still open at the end


def test_an_ineffective_corrective_action_is_counted_and_the_last_check_is_shown(harness, answers):
    h = harness
    audit = h.start_audit()
    h.pump()
    h.complete("programme", answers["audit.programme"], run_id=audit)
    h.decide("amy@example.com", run_id=audit)
    h.audit_areas(
        audit, answers, check_risk=dict(answers["audit.minor"], result="major_nonconformity")
    )
    h.decide("amy@example.com", run_id=audit)
    child = f"{audit}.raise_findings1.1"
    for round_ in (1, 2):
        for step in ("correct", "root_cause", "plan") if round_ == 1 else ("root_cause", "plan"):
            h.complete(step, answers["ca." + step], run_id=child)
        h.decide("amy@example.com", run_id=child)
        h.complete("implement", answers["ca.implement"], run_id=child)
        h.clock.advance(days=31)
        h.rt.tick()
        h.pump()
        h.complete("verify", {"effective": round_ == 2, "observations": "checked"}, run_id=child)
    assert h.run_row(child).status == "completed"

    n = gather(h).nonconformities
    f = figures(n.figures)
    assert pair(f["Effectiveness checks: not effective (back to root cause)"])[1] == 1
    assert f["Effectiveness checks: effective"].value == 1 and f["... of which major"].value == 1
    assert n.items.items[0].effective is True and n.by_severity.rows == [("major", (0, 1, 1, 0))]


# -- 5. risks, impacts, inventory, and the trends --------------------------------------------------
def test_risk_distribution_acceptances_and_coverage_against_the_previous_period(harness, answers):
    h = harness
    world = assessed_world(
        h, answers
    )  # Chatbot: risk 6 (low), residual 2 (low) on 2026-01-05; Scorer registered 02-14
    h.clock.advance(days=10)
    assess_high_risk(
        h, world.risk2
    )  # Scorer: 16 (high), residual 12 (medium), accepted by top management
    h.clock.set(datetime(2026, 3, 10, 12, tzinfo=UTC))
    pack = gather(
        h, since="2026-02-01", until="2026-03-02"
    )  # previous period: 2026-01-02 to 2026-01-31

    risk = pack.risk
    f = figures(risk.assessments)
    assert pair(f["Risks entered in the register"]) == (1, 1, "same")
    assert pair(f["... rated high before treatment"]) == (0, 1, "up")
    assert (
        pair(f["Mean score before treatment"]) == (6, 16, "up")
        and f["Mean score before treatment"].verdict is None
    )
    assert (
        pair(f["Mean residual score"]) == (2, 12, "up")
        and f["Mean residual score"].verdict == "worse"
    )
    assert pair(f["Accepted with a residual score of 10 or more"]) == (0, 1, "up")
    assert pair(f["Accepted by top management"]) == (0, 1, "up")
    assert risk.levels.rows == [
        ("high", (0, 1, 0, 0)),
        ("medium", (0, 0, 0, 1)),
        ("low", (1, 0, 1, 0)),
    ]
    assert risk.treatments.rows == [("accept", (1, 0)), ("mitigate", (0, 1))]
    (accepted,) = risk.accepted_above.items
    assert (
        accepted.system,
        accepted.risk,
        accepted.score,
        accepted.residual_score,
        accepted.accepted_by,
        accepted.acceptance_level,
    ) == ("Scorer", "Unfair scores", 16, 12, ["tom@example.com"], "top_management")

    impact = figures(risk.impact)
    assert pair(impact["Risk assessment runs completed"]) == (1, 1, "same")
    assert pair(impact["Impact assessment runs completed"]) == (1, 0, "down")
    assert pair(impact["In-scope AI systems never impact-assessed"]) == (0, 1, "up")
    inventory = figures(risk.inventory)
    assert pair(inventory["AI systems registered"]) == (1, 1, "same")
    assert pair(inventory["In-scope AI systems"]) == (1, 2, "up")
    assert [(c.system, c.what) for c in risk.changes.items] == [("Scorer", "added")]

    # coverage at the start (only Chatbot, assessed) and at
    # the end of the period (Scorer's impact still open)
    kpis = figures(pack.performance.kpis)
    risk_cov, impact_cov = (
        kpis["In-scope AI systems with a current risk assessment"],
        kpis["In-scope AI systems with a current impact assessment"],
    )
    assert (risk_cov.before, risk_cov.value, risk_cov.trend) == (1.0, 1.0, "same")
    assert (impact_cov.before, impact_cov.value, impact_cov.trend, impact_cov.verdict) == (
        1.0,
        0.5,
        "down",
        "worse",
    )
    assert impact_cov.note == "1 of 1 at the start, 1 of 2 at the end" and impact_cov.met is False
    assert (
        pack.as_of == datetime(2026, 3, 3, tzinfo=UTC)
        and not pack.ends_now
        and pack.end_day == date(2026, 3, 2)
    )

    md = render_review(pack, "md")
    assert "| Mean residual score | 2 | 12 | ↑ up (worse) |  |" in md
    assert (
        "| high | 0 | 1 | 0 | 0 |" in md
        and "| medium | 0 | 0 | 0 | 1 |" in md
        and "| low | 1 | 0 | 1 | 0 |" in md
    )
    assert (
        "| Scorer | Unfair scores | 16 (high) | mitigate | 12 (medium) | tom@example.com | top "
        "management |" in md
    )
    assert (
        "| In-scope AI systems with a current impact assessment <br>_1 of 1 at the start, 1 of 2 "
        "at the end_ | 100% | 50% | "
        "↓ down (worse) | ≥ 90% (NOT MET at the end) |"
    ) in md
    assert (
        "| At a moment | At the start (2026-02-01) | At the end (2026-03-02) | Trend | Target |"
        in md
    )
    # a lower threshold lists the low residual risk of the period too
    lower = gather(h, since="2026-01-01", until="2026-03-02", risk_threshold=2)
    assert [r.system for r in lower.risk.accepted_above.items] == ["Scorer", "Chatbot"]


def test_coverage_rebuilt_at_past_moments_matches_what_the_kpis_said_then(harness, answers):
    """Material changes, a system taken out of scope and expiry: at each moment the KPI projection
    is read, and later the same moment is rebuilt from the history."""
    h = harness
    seen: list[tuple[datetime, float | None, float | None]] = []

    def note_kpis():
        with h.db.connect() as conn:
            k = {
                x.key: x.value for x in compute_kpis(conn, h.clock.now(), h.app.config.kpi_targets)
            }
        seen.append((h.clock.now(), k["risk_assessment_coverage"], k["impact_assessment_coverage"]))

    note_kpis()  # nothing registered: no ratio at all
    h.clock.advance(minutes=1)
    world = assessed_world(h, answers)
    note_kpis()
    h.clock.advance(days=1)
    h.app.inventory.set(
        "Chatbot", {"data_sources": ["support tickets", "chat logs"]}
    )  # ends its impact assessment
    h.pump()
    note_kpis()
    h.clock.advance(days=1)
    # out of scope once top management approves the change
    _, (change,) = h.app.inventory.set("Scorer", {"in_scope": False}, reason="Retired")
    h.pump()
    h.complete(
        "consequences",
        {
            "consequences": "None left",
            "scope_statement_revised": False,
            "recommendation": "approve",
        },
        run_id=change,
    )
    h.decide("tom@example.com", reason="Retired indeed", run_id=change)
    note_kpis()
    h.clock.advance(days=1)
    assess_high_risk(h, world.risk2)  # out of scope, still assessed: it does not count
    note_kpis()
    h.clock.advance(days=400)  # Chatbot's first risk assessment has expired; its new runs are open
    note_kpis()
    assert [s[1:] for s in seen] == [
        (None, None),
        (0.5, 0.5),
        (0.5, 0.0),
        (1.0, 0.0),
        (1.0, 0.0),
        (0.0, 0.0),
    ]

    with snapshot(h.db) as conn:
        history = CoverageHistory(conn, h.app.runtime.specs, h.app.workflows, seen[0][0])
        for moment, risk, impact in seen:
            rebuilt = history.at(moment)
            assert (rebuilt.ratio("risk_assessment"), rebuilt.ratio("impact_assessment")) == (
                risk,
                impact,
            ), moment
        now = history.at(h.clock.now())
        assert coverage_check(conn, now) == []
        assert now.states["impact_assessment"] == {1: "ended_by_change"} and now.states[
            "risk_assessment"
        ] == {1: "expired"}


def test_a_projection_changed_behind_the_applications_back_is_pointed_out(harness, answers):
    h = harness
    assessed_world(h, answers)
    with h.db.begin() as conn:
        conn.execute(text("UPDATE ai_systems SET risk_valid_until = NULL WHERE name = 'Chatbot'"))
    pack = gather(h)
    (note,) = pack.performance.notes
    assert (
        "risk assessments current: 0 in the KPI projection, 1 rebuilt from the completed runs"
        in note
    )
    assert (
        "**Note:** The coverage rebuilt from the run history does not match the KPI projection"
        in render_review(pack, "md")
    )


# -- 6. the ledger ---------------------------------------------------------------------------------
def test_the_chain_is_verified_or_its_skipping_is_said(harness, answers):
    h = harness
    assessed_world(h, answers)
    rows = h.count("evidence")
    verified = gather(h)
    assert (
        verified.chain.verified
        and verified.chain.check.rows_checked == rows == verified.chain.head_seq
    )
    assert f"verified when this pack was generated: {rows} rows" in render_review(verified, "md")
    skipped = gather(h, verify=False)
    assert (
        skipped.chain.check is None
        and not skipped.chain.verified
        and skipped.chain.head_hash == verified.chain.head_hash
    )
    assert "NOT VERIFIED for this pack (generated with `--no-verify`)" in render_review(
        skipped, "md"
    )
    assert "Evidence chain NOT VERIFIED for this pack" in render_review(skipped, "html")
    tamper(h.db, "UPDATE evidence SET actor = 'mallory@example.com' WHERE seq = 4")
    broken = gather(h)
    assert broken.chain.check.first_bad_seq == 4 and not broken.chain.verified
    assert "**Evidence chain: BROKEN at row 4**" in render_review(broken, "md")
    assert "THE EVIDENCE CHAIN IS BROKEN at row 4" in render_review(broken, "html")


def test_only_the_ledger_rows_of_the_runs_that_matter_are_read(harness, answers):
    """No scan of the ledger without --verify: rows are read by run id (indexed), plus the two
    bound lookups of the period's first and last row."""
    h = harness
    assessed_world(h, answers)
    audit_with_a_finding(h, answers)
    management_review(h, ["Hire an auditor"])
    statements: list[str] = []
    with snapshot(h.db) as conn:
        event.listen(conn, "before_cursor_execute", lambda *a: statements.append(a[2]))
        rp = choose_period(conn, None, None, h.clock.now())
        gather_review(h.app, conn, rp, now=h.clock.now(), verify=False)
    ledger = [s for s in statements if "FROM evidence" in s]
    by_run = [s for s in ledger if "evidence.run_id IN" in s]
    bounds = [s for s in ledger if "min(evidence.seq)" in s or "max(evidence.seq)" in s]
    assert by_run and len(bounds) == 2 and len(by_run) + len(bounds) == len(ledger), ledger
    assert not any(
        "evidence.kind IN" in s or "evidence.kind =" in s for s in by_run
    )  # the run_id index (see _ledger_of)

    statements.clear()
    with snapshot(h.db) as conn:
        event.listen(conn, "before_cursor_execute", lambda *a: statements.append(a[2]))
        gather_review(h.app, conn, rp, now=h.clock.now(), verify=True)
    assert any(
        "FROM evidence" in s and "LIMIT" in s for s in statements
    )  # the verification's keyset pages


# -- rendering -------------------------------------------------------------------------------------
def test_text_from_people_is_escaped_in_html_and_markdown(harness, answers):
    h = harness
    h.add_system("<img src=x onerror=alert(1)>|Bot", owner="olga@example.com")
    management_review(h, ["<script>alert('x')</script> | close the gap"])
    pack = gather(h)
    page = render_review(pack, "html")
    assert "<script>" not in page and "<img" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; | close the gap" in page
    assert "&lt;img src=x onerror=alert(1)&gt;|Bot" in page
    assert (
        "src=" not in page.replace("&lt;img src=x", "")
        and "<link" not in page
        and "http" not in page
    )  # self-contained
    assert "@media print" in page
    md = render_review(pack, "md")
    assert "| &lt;script&gt;alert('x')&lt;/script&gt; \\| close the gap |" in md
    assert "| &lt;img src=x onerror=alert(1)&gt;\\|Bot | 1 | added |" in md


@pytest.mark.parametrize(
    "value, unit, shown",
    [
        (0.1 + 0.2, "days", "0.3 days"),
        (38.0, "days", "38 days"),
        (2 / 3, "ratio", "67%"),
        (1.0, "ratio", "100%"),
        (1234, "count", "1,234"),
        (1234.56, "hours", "1,234.6 hours"),
        (None, "days", "n/a"),
        (12.0, "score", "12"),
        (0.04, "hours", "0 hours"),
    ],
)
def test_numbers_are_shown_without_floating_noise(value, unit, shown):
    assert number(value, unit) == shown


def test_a_trend_follows_the_numbers_as_shown():
    assert Figure("x", 2 / 3, 0.667, "ratio").trend == "same"  # both shown as 67%
    assert Figure("x", 0.31, 0.3, "days", "down").trend == "same"
    assert Figure("x", 0.36, 0.3, "days", "down").verdict == "worse"
    assert Figure("x", 4, 5, better="down").verdict == "better"
    assert Figure("x", 4, None).trend is None and Figure("x", 4, 4, better="up").verdict is None
    assert Figure("x", 0.9, None, "ratio", "up", target=0.95).met is False
    assert Figure("x", 1, None, better="down", target=1).met is True


def test_a_run_pinned_to_a_version_that_is_not_stored_uses_the_current_validity_and_says_so(
    harness, answers
):
    h = harness
    world = assessed_world(h, answers)
    with h.db.begin() as conn:
        conn.execute(
            text("UPDATE runs SET spec_hash = :h WHERE id = :id"), {"h": "f" * 64, "id": world.risk}
        )
    pack = gather(h)
    assert pack.performance.notes == [
        "some ai-risk-assessment runs were pinned to a workflow version that is not stored; "
        "the current version's validity was used for them"
    ]
    assert (
        figures(pack.performance.kpis)["In-scope AI systems with a current risk assessment"].value
        == 0.5
    )
