"""KPIs on a known data set written through the projections, the histogram median against a
plain median of the same latencies, and the table, JSON and CSV renderings."""

from __future__ import annotations

import csv
import io
import json
import statistics
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from sqlalchemy import insert

from aims_workflows.config import KpiTargets
from aims_workflows.engine.evidence import EvidenceRecord, iso
from aims_workflows.engine.state import RunState, Subject
from aims_workflows.kpi import (
    compute_kpis,
    format_value,
    kpi_table,
    kpis_csv,
    kpis_json,
    median_from_histogram,
)
from aims_workflows.store import Database, projections
from aims_workflows.store.models import AISystem, Finding, StepRecord
from aims_workflows.testing import utc

NOW = utc(2026, 6, 1, 12)
LATENCY_MINUTES = [5.5, 42.0, 61.25, 180.0, 600.0, 2000.9, 3.0]  # median 61.25 minutes


def _run(subject: Subject, run_id: str) -> RunState:
    return RunState(
        run_id=run_id,
        spec_id="wf",
        spec_version=1,
        spec_hash="h",
        subject=subject,
        status="completed",
    )


def _record(kind: str, payload: dict, step_id: str | None = "s") -> EvidenceRecord:
    return EvidenceRecord(kind, "R", step_id, "aims", "system", NOW, payload)


def _system(
    name: str,
    *,
    in_scope: bool = True,
    risk_days: int | None = None,
    impact_days: int | None = None,
) -> dict:
    return dict(
        name=name,
        owner="o@example.com",
        business_purpose="",
        model_type="",
        data_sources=[],
        outputs="",
        users="",
        deployment_scale="",
        dependencies=[],
        lifecycle_stage="",
        risk_tier="",
        in_scope=in_scope,
        jurisdictions=[],
        version=1,
        created_at=NOW,
        updated_at=NOW,
        risk_valid_until=None if risk_days is None else NOW + timedelta(days=risk_days),
        impact_valid_until=None if impact_days is None else NOW + timedelta(days=impact_days),
    )


def _step(run_id: str, status: str, due_days: float | None) -> dict:
    return dict(
        run_id=run_id,
        step_id="s",
        attempt=1,
        kind="task",
        title="t",
        role="engineer",
        status=status,
        overdue=False,
        created_at=NOW - timedelta(days=30),
        due_at=None if due_days is None else NOW + timedelta(days=due_days),
    )


@pytest.fixture
def known(database: Database) -> Database:
    """5 systems (4 in scope), 5 task visits, 7 closed approvals, 3 findings (2 closed)."""
    with database.begin() as conn:
        conn.execute(
            insert(AISystem.__table__),
            [
                _system("current both", risk_days=100, impact_days=100),
                _system("current risk only", risk_days=1, impact_days=None),
                _system("stale risk", risk_days=-1, impact_days=5),
                _system("never assessed"),
                _system("out of scope", in_scope=False, risk_days=100, impact_days=100),
            ],
        )
        conn.execute(
            insert(StepRecord.__table__),
            [
                _step("R1", "open", -2),  # overdue
                _step("R2", "open", -0.001),  # overdue by a minute and a half
                _step("R3", "open", 3),
                _step("R4", "open", None),
                _step("R5", "done", -10),  # was late, but done: not overdue
                _step("R6", "cancelled", -10),
            ],
        )
        subject = Subject(type="ai_system", id="1", name="current both")
        for n, minutes in enumerate(LATENCY_MINUTES):
            projections.apply(
                conn,
                _run(subject, f"A{n}"),
                [
                    _record(
                        "approval.closed",
                        {
                            "approval_id": f"A{n}",
                            "outcome": "approved",
                            "latency_seconds": minutes * 60,
                            "requested_at": iso(NOW - timedelta(minutes=minutes)),
                        },
                    )
                ],
                NOW,
            )
        for finding_id, raised_days_ago in (("F-1", 10), ("F-2", 20), ("F-3", 5)):
            conn.execute(
                insert(Finding.__table__).values(
                    id=finding_id,
                    title="gap",
                    severity="minor",
                    source="audit",
                    status="open",
                    raised_at=NOW - timedelta(days=raised_days_ago),
                )
            )
        for finding_id in ("F-1", "F-2"):
            projections.apply(
                conn,
                _run(Subject(type="finding", id=finding_id, name="gap"), f"C-{finding_id}"),
                [_record("run.completed", {"workflow": "corrective-action", "version": 1}, None)],
                NOW,
            )
    return database


def compute(db: Database, targets: KpiTargets | None = None) -> dict:
    with db.connect() as conn:
        return {k.key: k for k in compute_kpis(conn, NOW, targets or KpiTargets())}


def test_each_kpi_on_a_known_data_set(known):
    k = compute(known)
    assert k["risk_assessment_coverage"].value == pytest.approx(2 / 4)
    assert k["risk_assessment_coverage"].detail == "2 of 4"
    assert k["impact_assessment_coverage"].value == pytest.approx(2 / 4)
    assert k["open_tasks"].value == 4
    assert k["overdue_tasks"].value == 2
    assert k["overdue_tasks"].detail == "2 past their due date"
    assert k["median_approval_latency_hours"].value == pytest.approx(
        61.5 / 60
    )  # bucket 61 min, its middle
    assert k["median_approval_latency_hours"].detail == "over 7 closed approvals"
    # counted to each corrective action's completion (here: its closure, the runs have no
    # implement step), and the open one by its age so far: (10 + 20 + 5) / 3
    assert k["mean_days_to_close_nonconformity"].value == pytest.approx(35 / 3)
    assert k["mean_days_to_close_nonconformity"].detail == (
        "2 actioned, 1 open (oldest 5 days); 0 awaiting the effectiveness check"
    )


def test_targets_decide_met_and_not_met(known):
    k = compute(known)
    assert k["risk_assessment_coverage"].met is False  # 50% < 95%
    assert k["overdue_tasks"].met is False
    assert k["median_approval_latency_hours"].met is True
    assert k["mean_days_to_close_nonconformity"].met is True
    assert k["open_tasks"].met is True and k["open_tasks"].target == 50
    relaxed = compute(
        known,
        KpiTargets(
            risk_assessment_coverage=0.5, overdue_tasks=2, mean_days_to_close_nonconformity=11
        ),
    )
    assert relaxed["risk_assessment_coverage"].met is True
    assert relaxed["overdue_tasks"].met is True
    assert relaxed["mean_days_to_close_nonconformity"].met is False


def test_an_empty_database_has_no_values_rather_than_zero_division(database: Database):
    k = compute(database)
    assert k["risk_assessment_coverage"].value is None and k["risk_assessment_coverage"].met is None
    assert k["median_approval_latency_hours"].value is None
    assert k["mean_days_to_close_nonconformity"].value is None
    assert k["open_tasks"].value == 0 and k["overdue_tasks"].met is True


def test_closing_a_finding_twice_counts_it_once(known):
    with known.begin() as conn:
        projections.apply(
            conn,
            _run(Subject(type="finding", id="F-1", name="gap"), "again"),
            [_record("run.completed", {"workflow": "corrective-action", "version": 1}, None)],
            NOW + timedelta(days=5),
        )
    assert compute(known)["mean_days_to_close_nonconformity"].detail.startswith(
        "2 actioned, 1 open"
    )


# -- the histogram median --------------------------------------------------------------------------
def _buckets(minutes: list[float]) -> list[tuple[int, int]]:
    """Whole-minute buckets, as the approval.closed projection fills them."""
    counts: dict[int, int] = {}
    for m in minutes:
        counts[int(m // 1)] = counts.get(int(m // 1), 0) + 1
    return list(counts.items())


def test_histogram_median_of_the_known_latencies_matches_the_plain_median():
    plain = statistics.median(LATENCY_MINUTES)
    assert median_from_histogram(_buckets(LATENCY_MINUTES)) == pytest.approx(plain, abs=0.5)


def test_histogram_median_of_an_even_count_averages_the_middle_two():
    # 10 and 100 minutes: the median is 55 minutes, not either end
    assert median_from_histogram(_buckets([10.2, 100.7])) == pytest.approx(
        statistics.median([10.2, 100.7]), abs=0.5
    )
    assert median_from_histogram([(10, 1), (100, 1)]) == pytest.approx(55.5)
    assert median_from_histogram([]) is None
    assert median_from_histogram([(3, 0)]) is None


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.floats(min_value=0, max_value=60 * 24 * 30, allow_nan=False), min_size=1, max_size=60
    )
)
def test_histogram_median_is_within_half_a_minute_of_the_plain_median(minutes):
    assert abs(median_from_histogram(_buckets(minutes)) - statistics.median(minutes)) <= 0.5 + 1e-9


# -- renderings ------------------------------------------------------------------------------------
def test_json_rendering_carries_every_kpi(known):
    kpis = list(compute(known).values())
    data = json.loads(kpis_json(kpis, "2026-06-01T12:00:00.000000Z"))
    assert data["generated_at"] == "2026-06-01T12:00:00.000000Z"
    by_key = {k["key"]: k for k in data["kpis"]}
    assert set(by_key) == {
        "risk_assessment_coverage",
        "impact_assessment_coverage",
        "open_tasks",
        "overdue_tasks",
        "median_approval_latency_hours",
        "mean_days_to_close_nonconformity",
        "nonconformity_action_effectiveness",
        "controls_with_current_evidence",
        "repeated_audit_findings",
        "overdue_treatments",
        "training_completion",
        "incident_median_hours_to_triage",
        "incident_median_hours_to_contain",
        "incident_median_days_to_close",
        "open_findings",
        "nonconformities_raised",
    }
    assert by_key["overdue_tasks"] == {
        "key": "overdue_tasks",
        "label": "Overdue tasks",
        "value": 2,
        "unit": "count",
        "target": 0,
        "met": False,
        "detail": "2 past their due date",
        "breakdown": None,
    }


def test_csv_rendering_has_a_header_and_a_row_per_kpi(known):
    kpis = list(compute(known).values())
    rows = list(csv.DictReader(io.StringIO(kpis_csv(kpis))))
    assert [r["key"] for r in rows] == [k.key for k in kpis]
    coverage = rows[0]
    assert (coverage["value"], coverage["target"], coverage["met"], coverage["unit"]) == (
        "0.5",
        "0.95",
        "false",
        "ratio",
    )
    assert next(r for r in rows if r["key"] == "controls_with_current_evidence")["met"] == ""


def test_csv_rendering_of_missing_values_is_empty(database):
    rows = list(csv.DictReader(io.StringIO(kpis_csv(list(compute(database).values())))))
    assert next(r for r in rows if r["key"] == "median_approval_latency_hours")["value"] == ""


def test_table_rendering_shows_values_targets_and_status(known):
    kpis = list(compute(known).values())
    console = Console(record=True, width=200, color_system=None)
    console.print(kpi_table(kpis))
    out = console.export_text()
    assert "In-scope AI systems with a current risk assessment" in out
    assert "50%" in out and ">= 95%" in out and "not met" in out
    assert "1.0 hours" in out and "11.7 days" in out
    assert [format_value(k) for k in kpis][:4] == ["50%", "50%", "4", "2"]
