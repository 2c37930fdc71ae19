"""The dashboard's HTML on its own: the templates ship with the package, render with nothing in
the database, escape what they are given, and link only to run ids that are safe in a URL."""

from __future__ import annotations

import fnmatch
import tomllib
from datetime import timedelta
from pathlib import Path

from aims_workflows.config import KpiTargets
from aims_workflows.kpi import Kpi
from aims_workflows.kpi.chain_status import ChainStatus
from aims_workflows.kpi.dashboard import Capped, Coverage, DashboardData, OverdueTask, RecentRun
from aims_workflows.kpi.html import render_dashboard, render_error
from aims_workflows.testing import utc

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "src" / "aims_workflows" / "kpi" / "templates"
NOW = utc(2026, 6, 1, 12)


def data(**changes) -> DashboardData:
    base = dict(
        organisation="Example Ltd",
        generated_at=NOW,
        targets=KpiTargets(),
        kpis=[Kpi("open_tasks", "Open tasks", 0, "count", None, None, "0 open")],
        coverage=Coverage([], 0, 1, 50, 0, 0, 0),
        open_tasks=0,
        due_soon=0,
        overdue=Capped([], 0),
        approvals=Capped([], 0),
        findings=Capped([], 0),
        runs=[],
        chain=None,
    )
    return DashboardData(**{**base, **changes})


def test_every_template_ships_as_package_data():
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]["aims_workflows"]
    templates = [
        p.relative_to(ROOT / "src" / "aims_workflows").as_posix()
        for p in TEMPLATES.rglob("*")
        if p.is_file()
    ]
    assert templates and all(
        any(fnmatch.fnmatch(t, pattern) for pattern in patterns) for t in templates
    ), templates


def test_an_empty_dashboard_says_what_is_missing():
    page = render_dashboard(data())
    assert "No AI system is in scope yet" in page and "No task is past its due date." in page
    assert "Evidence chain not verified" in page
    assert (
        "<script" not in page and "http://" not in page and "https://" not in page
    )  # nothing loaded from elsewhere


def test_links_are_made_only_from_safe_run_ids_and_jira_keys():
    run = RecentRun("R0A1B2C3D4E", "wf", 1, "S", "running", None, NOW, None)
    odd = RecentRun("x/../../admin", "wf", 1, "S", "failed", None, NOW, None)
    task = OverdueTask(
        "R0A1B2C3D4E",
        "wf",
        "S",
        "s",
        "Do it",
        "eve@example.com",
        NOW,
        timedelta(days=2),
        "AIMS-12",
        False,
    )
    local = OverdueTask(
        "R0A1B2C3D4F",
        "wf",
        "S",
        "s",
        "Do it",
        "eve@example.com",
        NOW,
        timedelta(days=2),
        "LOCAL:R0A1B2C3D4F/s/1",
        False,
    )
    page = render_dashboard(
        data(runs=[run, odd], overdue=Capped([task, local], 3)),
        jira_url="https://example.atlassian.net/",
    )
    assert 'href="/dashboard/runs/R0A1B2C3D4E"' in page
    assert 'href="/dashboard/runs/x' not in page and "x/../../admin" in page  # shown, not linked
    assert 'href="https://example.atlassian.net/browse/AIMS-12"' in page
    assert "browse/LOCAL" not in page and "LOCAL:R0A1B2C3D4F/s/1" in page
    assert "1 more overdue tasks not shown" in page and "2 days" in page


def test_a_broken_chain_is_said_in_words():
    broken = ChainStatus(
        40,
        "ab" * 32,
        17,
        17,
        "row 17 (task.completed) was altered: its content no longer matches its hash",
        NOW,
        NOW,
    )
    page = render_dashboard(data(chain=broken))
    assert (
        "✗ Evidence chain BROKEN at row 17" in page
        and "row 17 (task.completed) was altered" in page
    )


def test_error_pages_escape_their_message():
    page = render_error(404, "No such run", "There is no run '<b>x</b>'.")
    assert "&lt;b&gt;x&lt;/b&gt;" in page and "<b>x</b>" not in page
