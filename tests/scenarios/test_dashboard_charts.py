"""The dashboard's charts, SoA panel and run page answers through the real web app (SQLite and
PostgreSQL): what the charts draw is what the KPI JSON says, values are escaped, and a completed
task's answers are shown whole under their form's labels."""

from __future__ import annotations

import html as html_lib
import json
import re

import httpx
import pytest

from aims_workflows.sandbox._server import BackgroundServer
from aims_workflows.web import create_app


@pytest.fixture
def client(harness):
    server = BackgroundServer(create_app(harness.app, process_in_background=False)).start()
    with httpx.Client(base_url=server.url) as http:
        yield http
    server.stop()


def get(client: httpx.Client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, response.text
    return response.text


def test_the_charts_draw_the_kpis_and_the_soa(harness, answers, client):
    h = harness
    _, started = h.add_system("Chatbot <i>")
    risk = next(r for r in started if h.run_row(r).workflow_id == "ai-risk-assessment")
    h.complete("identify", answers["risk.identify"], run_id=risk)
    h.complete("treat", answers["risk.treat"], run_id=risk)
    h.decide("rita@example.com", run_id=risk)
    h.clock.advance(days=30)  # the impact assessment's first task is overdue
    page = get(client, "/dashboard")
    kpis = {k["key"]: k for k in json.loads(get(client, "/api/kpis"))["kpis"]}

    for key, kpi in kpis.items():
        value = "" if kpi["value"] is None else repr(kpi["value"])
        assert f'data-kpi="{key}" data-value="{value}"' in page, key
        points = re.findall(
            rf'class="point" data-series="{key}" data-at="([^"]+)" data-value="([^"]*)"', page
        )
        if kpi["value"] is not None:  # the coverage chart and the KPI's own trend end on it
            last = [v for at, v in points if at == max(a for a, _ in points)]
            assert last and set(last) == {value}, key
    overdue = kpis["overdue_tasks"]["value"]
    assert overdue >= 1
    assert f'data-chart="overdue-by-who" data-total="{overdue!r}"' in page
    assert f'data-chart="overdue-by-system" data-total="{overdue!r}"' in page
    assert f'data-chart="overdue-by-owner" data-total="{overdue!r}"' in page
    assert 'data-label="olga@example.com"' in page  # the system's owner, accountable for it
    assert 'data-label="Chatbot &lt;i&gt;"' in page and "Chatbot <i>" not in page
    assert 'data-chart="latency" data-total="1"' in page  # the one decided approval
    assert 'id="soa"' in page and page.count('class="cell"') == 38
    assert re.search(r'data-controls="38" data-applicable="\d+" data-gaps="\d+"', page)
    assert "<script" not in page


def test_the_run_page_shows_answers_whole_under_their_labels(harness, answers, client):
    h = harness
    _, started = h.add_system("Chatbot")
    risk = next(r for r in started if h.run_row(r).workflow_id == "ai-risk-assessment")
    long = "The model answers <confidently> & wrongly. " * 20  # ~860 characters
    h.complete(
        "identify", {**answers["risk.identify"], "risk_description": long.strip()}, run_id=risk
    )
    page = get(client, f"/dashboard/runs/{risk}")
    pairs = [
        (html_lib.unescape(dt), html_lib.unescape(dd))
        for dt, dd in re.findall(r"<dt>([^<]*)</dt><dd>([^<]*)</dd>", page)
    ]
    answered = dict(pairs)
    assert answered["Risk description (cause, event, consequence)"] == long.strip()
    assert answered["Risk title"] == "Biased answers"
    assert answered["Risk sources"] == "bias_fairness, data_quality"
    assert answered["Likelihood (1 rare - 5 almost certain)"] == "2"
    assert "&lt;confidently&gt; &amp; wrongly" in page and "<confidently>" not in page
    labels = [label for label, _ in pairs]
    assert labels.index("Risk title") < labels.index("Likelihood (1 rare - 5 almost certain)")
    assert "risk_description=" not in page  # no cut key=value line any more
    assert "recorded risk_evaluation" in page and "<dt>score</dt><dd>6</dd>" in page


def test_the_dashboard_keeps_its_soa_for_two_minutes(harness):
    from aims_workflows.report import ChartCache

    h = harness
    cache = ChartCache()
    with h.db.connect() as conn:
        first = cache.soa(h.app, conn, h.clock.now())
        h.clock.advance(minutes=1)
        assert cache.soa(h.app, conn, h.clock.now()) is first
        h.clock.advance(minutes=2)
        later = cache.soa(h.app, conn, h.clock.now())
    assert later is not first and later.generated_at > first.generated_at


def test_nonconformity_ageing_counts_the_open_findings_by_age_and_severity(
    harness, answers, client
):
    h = harness
    audit = h.start_audit()
    h.pump()
    h.complete("programme", answers["audit.programme"], run_id=audit)
    h.decide("amy@example.com", run_id=audit)
    h.audit_areas(audit, answers, check_risk=answers["audit.minor"])
    h.decide("amy@example.com", run_id=audit)
    h.clock.advance(days=40)
    page = get(client, "/dashboard")
    ageing = page[
        page.index('data-chart="ageing"') : page.index("</svg>", page.index('data-chart="ageing"'))
    ]
    assert 'data-total="1"' in ageing
    assert 'data-label="31–60 d" data-value="1"' in ageing
    assert 'data-kind="minor" data-value="1"' in ageing
    assert 'data-label="0–30 d" data-value="0"' in ageing
