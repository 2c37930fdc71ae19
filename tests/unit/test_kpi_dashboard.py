"""The dashboard's data on a known data set written straight into the projections: AI systems
worst first and paged, gap counts, overdue tasks with how late they are, open approvals and
findings with their age, caps that say how many more there are, and recent runs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import insert

from aims_workflows.config import KpiTargets
from aims_workflows.kpi.dashboard import Assessment, gather
from aims_workflows.kpi.html import format_age, is_run_id
from aims_workflows.store import Database
from aims_workflows.store.models import AISystem, Approval, Finding, Run, StepRecord
from aims_workflows.testing import utc

NOW = utc(2026, 6, 1, 12)


def _system(
    name: str, *, risk_days: float | None, impact_days: float | None, in_scope: bool = True
) -> dict:
    return dict(
        name=name,
        owner=f"{name.split()[0].lower()}@example.com",
        business_purpose="",
        model_type="",
        data_sources=[],
        outputs="",
        users="",
        deployment_scale="",
        dependencies=[],
        lifecycle_stage="deployed",
        risk_tier="high",
        in_scope=in_scope,
        jurisdictions=[],
        version=1,
        created_at=NOW,
        updated_at=NOW,
        risk_valid_until=None if risk_days is None else NOW + timedelta(days=risk_days),
        impact_valid_until=None if impact_days is None else NOW + timedelta(days=impact_days),
    )


def _run(run_id: str, started_days_ago: float, status: str = "running") -> dict:
    return dict(
        id=run_id,
        workflow_id="ai-risk-assessment",
        spec_version=1,
        spec_hash="h",
        subject_type="ai_system",
        subject_id="1",
        subject_name=f"system of {run_id}",
        status=status,
        current_step="identify",
        state="{}",
        lock_version=0,
        started_at=NOW - timedelta(days=started_days_ago),
        updated_at=NOW,
        completed_at=None,
    )


def _step(
    run_id: str,
    status: str,
    due_days: float | None,
    *,
    ref: str | None = None,
    assignee: str | None = "eve@example.com",
) -> dict:
    return dict(
        run_id=run_id,
        step_id="identify",
        attempt=1,
        kind="task",
        title=f"Identify for {run_id}",
        role="engineer",
        assignee=assignee,
        external_ref=ref,
        status=status,
        overdue=False,
        created_at=NOW - timedelta(days=30),
        due_at=None if due_days is None else NOW + timedelta(days=due_days),
    )


@pytest.fixture
def known(database: Database) -> Database:
    with database.begin() as conn:
        conn.execute(
            insert(AISystem.__table__),
            [
                _system("Alpha current", risk_days=200, impact_days=300),
                _system("Bravo expiring", risk_days=10, impact_days=300),
                _system("Charlie expired risk", risk_days=-3, impact_days=100),
                _system("Delta never impact", risk_days=100, impact_days=None),
                _system("Echo expired long ago", risk_days=-40, impact_days=-1),
                _system("Foxtrot out of scope", risk_days=None, impact_days=None, in_scope=False),
            ],
        )
        conn.execute(
            insert(Run.__table__), [_run(f"R{n:010d}", started_days_ago=n) for n in range(1, 26)]
        )
        conn.execute(
            insert(StepRecord.__table__),
            [
                _step("R0000000001", "open", -3.5, ref="AIMS-7"),
                _step("R0000000002", "open", -0.25, assignee=None),
                _step("R0000000003", "open", 2),  # due within 7 days, not overdue
                _step("R0000000004", "open", 30),
                _step("R0000000005", "done", -10),  # was late but is done
            ],
        )
        conn.execute(
            insert(Approval.__table__),
            [
                dict(
                    approval_id=f"R000000000{n}.approve.1.1",
                    run_id=f"R000000000{n}",
                    step_id="approve",
                    content_hash="c" * 64,
                    approvers=["risk_owner", "ciso"],
                    status=status,
                    requested_at=NOW - timedelta(hours=hours),
                )
                for n, status, hours in ((1, "open", 80), (2, "open", 5), (3, "approved", 500))
            ],
        )
        conn.execute(
            insert(Finding.__table__),
            [
                dict(
                    id="F-1",
                    title="Risk register not reviewed",
                    severity="minor",
                    source="internal-audit/R1",
                    clause="6.1.2",
                    system_name="Alpha current",
                    status="open",
                    raised_at=NOW - timedelta(days=45),
                    corrective_run_id="R0000000009",
                ),
                dict(
                    id="F-2",
                    title="Closed one",
                    severity="major",
                    source="audit",
                    clause=None,
                    system_name=None,
                    status="closed",
                    raised_at=NOW - timedelta(days=90),
                    corrective_run_id=None,
                ),
            ],
        )
    return database


def gathered(db: Database, **kw):
    with db.connect() as conn:
        return gather(
            conn,
            NOW,
            organisation="Example Ltd",
            targets=KpiTargets(),
            roles={
                "risk_owner": ["rita@example.com"],
                "ciso": ["carl@example.com", "cleo@example.com"],
            },
            **kw,
        )


def test_ai_systems_are_listed_worst_first_with_the_state_of_each_assessment(known):
    d = gathered(known)
    cov = d.coverage
    assert [s.name for s in cov.rows] == [
        "Delta never impact",
        "Echo expired long ago",
        "Charlie expired risk",
        "Bravo expiring",
        "Alpha current",
    ]
    by_name = {s.name: s for s in cov.rows}
    assert (
        by_name["Delta never impact"].impact.state,
        by_name["Delta never impact"].risk.state,
    ) == ("never", "current")
    assert by_name["Charlie expired risk"].risk == Assessment(
        "expired", NOW - timedelta(days=3), -3
    )
    assert (
        by_name["Bravo expiring"].risk.state == "expiring"
        and by_name["Bravo expiring"].risk.days == 10
    )
    assert by_name["Echo expired long ago"].impact.gap and not by_name["Bravo expiring"].risk.gap
    assert (cov.in_scope, cov.risk_gaps, cov.impact_gaps, cov.expiring) == (5, 2, 2, 1)
    assert "Foxtrot out of scope" not in by_name


def test_ai_systems_are_paged_and_a_page_past_the_end_shows_the_last(known):
    first = gathered(known, page_size=2).coverage
    assert [s.name for s in first.rows] == ["Delta never impact", "Echo expired long ago"]
    assert (first.page, first.pages, first.first, first.last) == (1, 3, 1, 2)
    last = gathered(known, page_size=2, systems_page=99).coverage
    assert [s.name for s in last.rows] == ["Alpha current"] and (
        last.page,
        last.first,
        last.last,
    ) == (3, 5, 5)


def test_overdue_tasks_oldest_first_with_how_late_and_who(known):
    d = gathered(known)
    assert d.overdue.total == 2 and d.open_tasks == 4 and d.due_soon == 1
    first, second = d.overdue.items
    assert (first.run_id, first.ref, first.who, first.workflow_id) == (
        "R0000000001",
        "AIMS-7",
        "eve@example.com",
        "ai-risk-assessment",
    )
    assert first.overdue_for == timedelta(days=3.5) and format_age(first.overdue_for) == "3 days"
    assert second.who == "(engineer)" and format_age(second.overdue_for) == "6 h"
    capped = gathered(known, list_limit=1).overdue
    assert [t.run_id for t in capped.items] == ["R0000000001"] and capped.more == 1


def test_open_approvals_and_findings_with_their_age(known):
    d = gathered(known)
    assert [a.approval_id for a in d.approvals.items] == [
        "R0000000001.approve.1.1",
        "R0000000002.approve.1.1",
    ]
    first = d.approvals.items[0]
    assert first.age == timedelta(hours=80) and first.approvers == ["risk_owner", "ciso"]
    assert first.people == ["rita@example.com", "carl@example.com", "cleo@example.com"]
    assert d.approvals.total == 2 and d.approvals.more == 0
    (finding,) = d.findings.items
    assert (finding.id, finding.clause, finding.corrective_run_id, finding.age) == (
        "F-1",
        "6.1.2",
        "R0000000009",
        timedelta(days=45),
    )


def test_recent_runs_are_the_newest_twenty(known):
    runs = gathered(known).runs
    assert len(runs) == 20
    assert [r.id for r in runs[:2]] == ["R0000000001", "R0000000002"] and runs[
        -1
    ].id == "R0000000020"


def test_an_empty_database_gives_an_empty_dashboard(database):
    d = gathered(database)
    assert d.coverage.rows == [] and d.coverage.in_scope == 0 and d.coverage.pages == 1
    assert d.overdue.total == d.approvals.total == d.findings.total == 0 and d.runs == []


@pytest.mark.parametrize(
    "seconds, text",
    [
        (59, "0 min"),
        (600, "10 min"),
        (3 * 3600, "3 h"),
        (86400, "1 day"),
        (2 * 86400, "2 days"),
        (-5, "0 min"),
    ],
)
def test_ages_read_the_way_people_say_them(seconds, text):
    assert format_age(timedelta(seconds=seconds)) == text


@pytest.mark.parametrize(
    "text, ok",
    [
        ("R3F9A0C21B7", True),
        ("RUN-009.raise_findings1.1", True),
        ("", False),
        ("../etc", False),
        ("a/b", False),
        ("<script>", False),
        ("x" * 201, False),
    ],
)
def test_run_ids_in_urls_are_checked(text, ok):
    assert is_run_id(text) is ok
