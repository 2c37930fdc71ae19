"""The Statement of Applicability and clause coverage: the ``soa:`` section of aims.yaml and the
figures computed from runs and ledger rows written by the real runtime."""

from __future__ import annotations

import json
from datetime import date

import pytest
from export_world import assessed_world, use_soa
from sqlalchemy import text

from aims_workflows.catalog import load_catalog
from aims_workflows.config import AimsConfig, load_config
from aims_workflows.engine.evidence import iso
from aims_workflows.errors import ConfigError
from aims_workflows.export import Period, build_coverage, parse_period
from aims_workflows.export._snapshot import snapshot
from aims_workflows.export.soa.render import (
    clauses_csv,
    clauses_markdown,
    coverage_json,
    soa_csv,
    soa_markdown,
)


def config_error(tmp_path, body: str) -> str:
    path = tmp_path / "aims.yaml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return caught.value.message


# -- the soa: section of aims.yaml -----------------------------------------------------------------
def test_an_unknown_control_is_named_with_a_suggestion_and_located(tmp_path):
    message = config_error(
        tmp_path, "organisation: X\nsoa:\n  controls:\n    A.6.2.9: {justification: x}\n"
    )
    assert (
        f"{tmp_path / 'aims.yaml'}:4:5 soa.controls.A.6.2.9: unknown Annex A control 'A.6.2.9'"
        in message
    )
    assert "did you mean 'A.6.2.8'?" in message


def test_every_wrong_entry_is_reported_at_once(tmp_path):
    message = config_error(
        tmp_path,
        (
            "soa:\n  controls:\n"
            "    A.10.5: {}\n"  # unknown, sibling suggested
            "    '6.1.2': {}\n"  # a clause
            "    A.6: {}\n"  # a group
            "    A.10.4: {applicable: false}\n"  # excluded without a reason
            "    A.4.2: {implementaton: wiki}\n"  # misspelt key
        ),
    )
    assert "unknown Annex A control 'A.10.5' (did you mean 'A.10.4'?)" in message
    assert "'6.1.2' is a clause, not an Annex A control" in message
    assert "'A.6' is an Annex A group, not an Annex A control" in message
    assert "soa.controls.A.10.4: an excluded control needs a justification" in message
    assert "soa.controls.A.4.2.implementaton: unknown key 'implementaton'" in message


def test_a_control_listed_twice_in_two_spellings_is_refused(tmp_path):
    message = config_error(
        tmp_path, "soa:\n  controls:\n    a.5.2: {}\n    A.5.2: {justification: x}\n"
    )
    assert "control A.5.2 is listed twice ('a.5.2' and 'A.5.2')" in message


def test_an_exclusion_whose_reason_is_blank_is_refused(tmp_path):
    message = config_error(
        tmp_path, "soa:\n  controls:\n    A.10.4: {applicable: false, justification: '   '}\n"
    )
    assert "needs a justification" in message


def test_ids_are_normalised_and_unlisted_controls_apply(tmp_path):
    path = tmp_path / "aims.yaml"
    path.write_text(
        "soa:\n  controls:\n    a.10.4: {applicable: false, justification: ' no customers '}\n",
        encoding="utf-8",
    )
    soa = load_config(path).soa
    assert set(soa.controls) == {"A.10.4"}
    assert (soa.control("A.10.4").applicable, soa.control("A.10.4").justification) == (
        False,
        "no customers",
    )
    assert soa.control("A.2.2").applicable and AimsConfig().soa.controls == {}


# -- periods ------------------------------------------------------------------------------------
def test_periods_are_whole_utc_days_and_bad_input_says_the_format():
    period = parse_period("2026-01-01", "2026-01-31")
    assert (period.since, period.until) == (date(2026, 1, 1), date(2026, 1, 31))
    assert (
        iso(period.start) == "2026-01-01T00:00:00.000000Z"
        and iso(period.end) == "2026-02-01T00:00:00.000000Z"
    )
    for since, until, words in [
        ("2026-13-01", None, "--since '2026-13-01' is not a date: expected YYYY-MM-DD"),
        (None, "31/01/2026", "--until '31/01/2026' is not a date: expected YYYY-MM-DD"),
        ("2026-1-5", None, "expected YYYY-MM-DD"),
        ("2026-02-01", "2026-01-01", "--since 2026-02-01 is after --until 2026-01-01"),
    ]:
        with pytest.raises(ValueError) as caught:
            parse_period(since, until)
        assert words in str(caught.value)
    assert not parse_period(None, "").bounded


# -- coverage from real runs -----------------------------------------------------------------------
def coverage(h, period: Period = Period()):
    with snapshot(h.db) as conn:
        return build_coverage(
            conn,
            catalog=load_catalog(),
            workflows=h.app.workflows,
            soa=h.app.config.soa,
            period=period,
            generated_at=iso(h.clock.now()),
            organisation=h.app.config.organisation,
        )


def rows_of(h, *run_ids: str) -> tuple[int, str]:
    """Ledger rows of these runs and the latest effective_at, counted straight from the table."""
    marks = ", ".join(f":r{i}" for i in range(len(run_ids)))
    params = {f"r{i}": r for i, r in enumerate(run_ids)}
    with h.db.connect() as conn:
        return tuple(
            conn.execute(
                text(f"SELECT count(*), max(effective_at) FROM evidence WHERE run_id IN ({marks})"),
                params,
            ).one()
        )


def test_the_soa_from_real_runs(harness, answers):
    h = harness
    use_soa(h)
    world = assessed_world(h, answers)
    report = coverage(h)
    by_id = {c.id: c for c in report.controls}
    assert [c.id for c in report.controls] == [c.id for c in load_catalog().controls()]

    # the impact assessment evidences A.5.2-A.5.5: one
    # run completed, one open, every row of both counted
    impact = by_id["A.5.2"]
    rows, latest = rows_of(h, world.impact, world.impact2)
    assert impact.workflows == ("ai-impact-assessment",)
    assert (
        impact.runs_completed,
        impact.runs_open,
        impact.evidence_rows,
        impact.latest_evidence,
    ) == (1, 1, rows, latest)
    assert (impact.status, impact.gap, impact.justification) == (
        "implemented",
        False,
        "Our systems affect applicants",
    )
    assert "no justification for inclusion in aims.yaml or an approved SoA" in by_id["A.5.3"].notes

    # excluded with its reason from aims.yaml
    customers = by_id["A.10.4"]
    assert (customers.applicable, customers.status, customers.justification) == (
        False,
        "excluded",
        "No AI system is offered to customers",
    )
    assert not customers.gap

    # every control has a shipped workflow now: applicable, nothing said about it, no run yet is
    # no evidence, but not a gap (a gap is a control no workflow names: see the clauses, 7.1)
    computing = by_id["A.4.5"]
    assert (
        computing.applicable,
        computing.status,
        computing.gap,
        computing.evidence_rows,
        computing.workflows,
    ) == (True, "no_evidence", False, 0, ("ai-system-intake",))
    # an implementation described outside aims is not a gap
    resources = by_id["A.4.2"]
    assert (resources.gap, resources.status, resources.evidence_rows) == (False, "described", 0)
    assert resources.implementation == "Resource register https://wiki.example.com/res"
    # named by a workflow that has not run yet: no evidence, but not a gap
    validation = by_id["A.6.2.4"]
    assert (validation.workflows, validation.status, validation.gap, validation.runs_completed) == (
        ("ai-system-change-review",),
        "no_evidence",
        False,
        0,
    )

    summary = report.summary()
    assert summary["excluded"] == 1 and summary["applicable"] == 37
    assert summary["gaps"] == []
    assert summary["implemented"] == 4  # A.5.2 .. A.5.5
    assert summary["described"] == 1 and summary["no_evidence"] == 32


def test_clauses_count_what_names_them_or_their_sub_clauses(harness, answers):
    h = harness
    world = assessed_world(h, answers)
    clauses = {c.id: c for c in coverage(h).clauses}
    risk_rows, _ = rows_of(h, world.risk, world.risk2)
    both_rows, _ = rows_of(h, world.risk, world.risk2, world.impact, world.impact2)
    assert clauses["6.1.2"].workflows == ("ai-risk", "ai-risk-assessment")
    assert clauses["6.1.2"].evidence_rows == risk_rows
    assert (clauses["6.1.2"].runs_completed, clauses["6.1.2"].runs_open) == (1, 1)
    # 6.1 rolls up 6.1.2-6.1.4: both assessments, every
    # row once; management review names 6.1.3 in one step
    assert {"ai-risk-assessment", "ai-impact-assessment"} <= set(clauses["6.1"].workflows)
    assert clauses["6.1"].evidence_rows == both_rows
    assert clauses["6"].evidence_rows == both_rows
    assert "management-review (steps:" in clauses["6.1.3"].workflows_text()
    assert clauses["7.1"].gap and clauses["7.1"].workflows == ()


def test_a_period_counts_only_its_runs_and_rows(harness, answers):
    h = harness
    world = assessed_world(h, answers)
    later = coverage(h, parse_period("2026-02-10", None))
    impact = {c.id: c for c in later.controls}["A.5.2"]
    rows, _ = rows_of(h, world.impact2)
    # the first impact assessment completed in January: outside the period
    assert (impact.runs_completed, impact.runs_open, impact.evidence_rows, impact.status) == (
        0,
        1,
        rows,
        "in_progress",
    )
    earlier = {c.id: c for c in coverage(h, parse_period(None, "2026-01-31")).controls}["A.5.2"]
    first_rows, _ = rows_of(h, world.impact)
    assert (earlier.runs_completed, earlier.runs_open, earlier.evidence_rows) == (1, 0, first_rows)
    # a period with no rows yet: the second assessment is still open in it, nothing else counts
    quiet = {c.id: c for c in coverage(h, parse_period("2027-01-01", None)).controls}["A.5.2"]
    assert (quiet.evidence_rows, quiet.runs_completed, quiet.runs_open, quiet.status) == (
        0,
        0,
        1,
        "in_progress",
    )


def test_the_renderings_carry_the_same_facts(harness, answers):
    h = harness
    use_soa(
        h,
        "soa:\n  controls:\n    A.10.4: {applicable: "
        "false, justification: 'No customers | none =1'}\n",
    )
    assessed_world(h, answers)
    report = coverage(h)
    import csv
    import io

    rows = {r["control"]: r for r in csv.DictReader(io.StringIO(soa_csv(report)))}
    assert rows["A.10.4"]["applicable"] == "no" and rows["A.10.4"]["status"] == "excluded"
    assert rows["A.10.4"]["justification"] == "No customers | none =1"
    assert rows["A.4.5"]["gap"] == "false" and rows["A.5.2"]["status"] == "implemented"
    assert (
        int(rows["A.5.2"]["evidence_rows"])
        == {c.id: c for c in report.controls}["A.5.2"].evidence_rows
    )
    markdown = soa_markdown(report)
    assert (
        "| A.10.4 Meeting customer needs | **no** | No customers \\| none =1 |" in markdown
    )  # a pipe cannot break the table
    assert "No gaps: every applicable control has a workflow" in markdown and "A.4.5" in markdown
    data = json.loads(coverage_json(report, part="controls"))
    assert "clauses" not in data and len(data["controls"]) == 38
    assert data["summary"]["gaps"] == report.summary()["gaps"]
    clause_rows = {r["clause"]: r for r in csv.DictReader(io.StringIO(clauses_csv(report)))}
    assert (
        clause_rows["7.1"]["no_workflow"] == "true"
        and clause_rows["8.2"]["status"] == "implemented"
    )
    assert "| 8.2 Running AI risk assessments | ai-risk; ai-risk-assessment |" in clauses_markdown(
        report
    )


def test_an_excluded_control_that_workflows_evidence_is_pointed_out(harness, answers):
    h = harness
    use_soa(
        h, "soa:\n  controls:\n    A.5.4: {applicable: false, justification: 'Not our concern'}\n"
    )
    assessed_world(h, answers)
    effects = {c.id: c for c in coverage(h).controls}["A.5.4"]
    assert (effects.status, effects.applicable, effects.gap) == ("excluded", False, False)
    assert effects.evidence_rows > 0 and effects.workflows == ("ai-impact-assessment",)
    assert "excluded, yet workflows evidence it: review the exclusion" in effects.notes
