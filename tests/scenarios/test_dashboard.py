"""The compliance dashboard through the real web app (``web.create_app`` over the app the runtime
drives), on SQLite and PostgreSQL: what a compliance lead reads after the injected clock moves,
the run pages, the KPI JSON, the token, escaping, and a tampered ledger."""

from __future__ import annotations

import base64
import dataclasses
import html as html_lib
import json
import re
from datetime import timedelta

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import text

from aims_workflows.engine.evidence import iso
from aims_workflows.kpi import compute_kpis, kpis_json
from aims_workflows.kpi.queries import KpiContext
from aims_workflows.sandbox._server import BackgroundServer
from aims_workflows.store import ledger
from aims_workflows.web import create_app

TOKEN = "dash-7f3c9e1a-token"


@pytest.fixture
def serve():
    """``serve(app, token=None)`` -> an HTTP client of the real web app served on loopback."""
    started: list[tuple[BackgroundServer, httpx.Client]] = []

    def start(app, token: str | None = None) -> httpx.Client:
        if token is not None:
            app = dataclasses.replace(
                app, settings=app.settings.model_copy(update={"dashboard_token": SecretStr(token)})
            )
        server = BackgroundServer(create_app(app, process_in_background=False)).start()
        started.append((server, httpx.Client(base_url=server.url)))
        return started[-1][1]

    yield start
    for server, http in started:
        http.close()
        server.stop()


def plain(markup: str) -> str:
    """The text a reader sees: tags dropped (a line-break opportunity, <wbr>, adds no space),
    entities decoded, spaces collapsed."""
    markup = markup.replace("<wbr>", "")
    return re.sub(r"\s+", " ", html_lib.unescape(re.sub(r"<[^>]+>", " ", markup))).strip()


def part(markup: str, anchor: str) -> str:
    """The page from the element with id ``anchor`` to the next section heading."""
    start = markup.index(f'id="{anchor}"')
    end = markup.find("<h2", start + 1)
    return markup[start : end if end > 0 else None]


def row(markup: str, needle: str) -> str:
    """The text of the one table row that contains ``needle``."""
    rows = [
        plain(r) for r in re.findall(r"<tr[^>]*>.*?</tr>", markup, flags=re.S) if needle in plain(r)
    ]
    assert len(rows) == 1, f"{len(rows)} rows contain {needle!r}"
    return rows[0]


def plain_part(markup: str, anchor: str) -> str:
    return plain(part(markup, anchor))


def card(markup: str, key: str) -> str:
    match = re.search(
        rf'<div class="card (\w+)" id="kpi-{key}">(.*?)</div>\s*(?=<div class="card|</div>)',
        markup,
        flags=re.S,
    )
    assert match, key
    return match.group(1) + ": " + plain(match.group(2))


def get(c: httpx.Client, path: str = "/dashboard") -> str:
    response = c.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    return response.text


def runs_of(h, started) -> dict[str, str]:
    return {h.run_row(r).workflow_id: r for r in started}


def test_an_overdue_task_appears_with_how_late_it_is(harness, serve):
    h = harness
    _, started = h.add_system("Chatbot")
    risk = runs_of(h, started)["ai-risk-assessment"]
    identify = h.open_task("identify", risk)
    c = serve(h.app)

    before = get(c)
    assert "No task is past its due date." in before
    assert "✓ met" in card(before, "overdue_tasks") and card(before, "overdue_tasks").startswith(
        "ok:"
    )

    h.clock.advance(days=13)  # the identify task was due 10 days after it was created
    page = get(c)
    line = row(part(page, "overdue"), risk)
    assert "Risk assessment: identify and analyse a risk of Chatbot" in line
    assert (
        "eve@example.com" in line
        and identify.ref in line
        and "2026-01-15" in line
        and "3 days" in line
    )
    assert f'href="/dashboard/runs/{risk}"' in page
    overdue = card(page, "overdue_tasks")
    assert (
        overdue.startswith("bad:")
        and "✗ not met" in overdue
        and "target <= 0" in overdue
        and "2 past their due date" in overdue
    )
    assert "2 overdue of 2 open" in plain_part(page, "overdue")
    assert (
        f"Generated {h.clock.now():%Y-%m-%d %H:%M} UTC" in page
    )  # the runtime's clock, not the wall clock


def test_an_assessment_is_current_then_expired(harness, answers, serve):
    h = harness
    _, started = h.add_system("Chatbot", risk_tier="limited", lifecycle_stage="deployed")
    risk = runs_of(h, started)["ai-risk-assessment"]
    h.complete("identify", answers["risk.identify"], run_id=risk)
    h.complete("treat", answers["risk.treat"], run_id=risk)
    h.decide("rita@example.com", run_id=risk)
    c = serve(h.app)

    page = get(c)
    system = row(part(page, "systems"), "olga@example.com")
    valid_until = (h.clock.now() + timedelta(days=365)).strftime("%Y-%m-%d")
    assert system.startswith("Chatbot olga@example.com limited deployed")
    assert (
        f"current until {valid_until}" in system and "never assessed" in system
    )  # no impact assessment yet
    assert '<tr class="gap">' in part(
        page, "systems"
    )  # the row is marked: an assessment is missing
    assert card(page, "risk_assessment_coverage").startswith("ok:") and "1 of 1" in card(
        page, "risk_assessment_coverage"
    )
    assert "✗ not met" in card(page, "impact_assessment_coverage")
    assert "0 without a current risk assessment · 1 without a current impact assessment" in page

    h.clock.advance(days=400)
    page = get(c)
    system = row(part(page, "systems"), "olga@example.com")
    assert f"expired {valid_until} (35 days ago)" in system
    risk_card = card(page, "risk_assessment_coverage")
    assert (
        risk_card.startswith("bad:")
        and "✗ not met" in risk_card
        and "0%" in risk_card
        and "0 of 1" in risk_card
    )
    assert "1 without a current risk assessment" in page


def test_open_approvals_and_nonconformities_with_their_age(harness, serve, answers):
    h = harness
    audit = h.start_audit()
    h.pump()
    h.complete("programme", answers["audit.programme"], run_id=audit)
    h.clock.advance(hours=30)
    page = get(serve(h.app))
    approval = row(part(page, "approvals"), "amy@example.com")
    assert (
        audit in approval
        and "internal-audit · Example Ltd approve_programme aims_owner amy@example.com" in approval
    )
    assert "1 day" in approval
    assert "1 waiting" in plain_part(page, "approvals")

    h.decide("amy@example.com", run_id=audit)
    h.audit_areas(audit, answers, check_risk=answers["audit.minor"])
    h.decide("amy@example.com", run_id=audit)
    h.clock.advance(days=40)
    page = get(serve(h.app))
    findings = plain_part(page, "findings")
    assert "1 open" in findings and "Internal audit IA-2026-1: Risk and impact" in findings
    finding = row(part(page, "findings"), "Internal audit IA-2026-1: Risk and impact")
    assert (
        "minor 6.1.2" in finding
        and "40 days" in finding
        and f"{audit}.raise_findings1.1" in finding
    )
    assert "No approval is waiting for a decision." in page


def test_a_run_page_shows_the_timeline(harness, answers, serve):
    h = harness
    _, started = h.add_system("Chatbot")
    risk = runs_of(h, started)["ai-risk-assessment"]
    h.complete("identify", answers["risk.identify"], run_id=risk)
    c = serve(h.app)

    page = get(c)
    assert row(part(page, "runs"), risk).startswith(
        f"{risk} ai-risk-assessment v2 Chatbot running treat"
    )
    run_page = get(c, f"/dashboard/runs/{risk}")
    assert "ai-risk-assessment v2" in run_page and "Chatbot" in run_page
    with h.db.connect() as conn:
        rows = list(ledger.iter_rows(conn, run_id=risk))
    assert f"{len(rows)} ledger rows" in plain(run_page)
    completed = next(r for r in rows if r.kind == "task.completed")
    line = row(run_page, f"#{completed.seq}")
    assert (
        "task 'identify' completed by eve@example.com via jira" in line
        and completed.hash[:10] in line
    )
    assert "Waiting for task treat" in plain(run_page) and "rita@example.com" in plain(run_page)


def test_unknown_and_malformed_run_ids(harness, serve):
    c = serve(harness.app)
    missing = c.get("/dashboard/runs/R0000000000")
    assert missing.status_code == 404 and "There is no run 'R0000000000'" in plain(missing.text)
    for bad in ("bad%3Cid%3E", "%2E%2E", "a%2Fb"):
        response = c.get(f"/dashboard/runs/{bad}")
        assert response.status_code in (400, 404), bad
        assert "<id>" not in response.text
    assert c.get("/dashboard/runs/bad%3Cid%3E").status_code == 400
    assert c.get("/dashboard?page=abc").status_code == 400


def test_every_value_is_escaped(harness, serve):
    h = harness
    name = "<script>alert('x')</script>"
    _, started = h.add_system(name, owner="olga@example.com")
    run_id = started[0]
    c = serve(h.app)
    for path in ("/dashboard", f"/dashboard/runs/{run_id}"):
        page = get(c, path)
        assert "<script" not in page, path
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page, path
    response = c.get("/dashboard")
    assert (
        "script-src" not in response.headers["content-security-policy"]
    )  # no script may run at all
    assert response.headers["cache-control"] == "no-store"


def test_api_kpis_is_what_aims_kpi_prints_as_json(harness, serve):
    h = harness
    h.add_system("Chatbot")
    h.clock.advance(days=12)
    response = serve(h.app).get("/api/kpis")
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    with h.db.connect() as conn:
        context = KpiContext(h.app.workflows, h.app.config.soa)
        expected = kpis_json(
            compute_kpis(conn, h.clock.now(), h.app.config.kpi_targets, context=context),
            iso(h.clock.now()),
        )
    assert response.text == expected
    by_key = {k["key"]: k for k in json.loads(response.text)["kpis"]}
    assert by_key["overdue_tasks"]["value"] == 2 and by_key["overdue_tasks"]["met"] is False


def test_the_token_guards_the_dashboard_and_the_api_only(harness, caplog, serve):
    h = harness
    _, started = h.add_system("Chatbot")
    c = serve(h.app, token=TOKEN)
    for path in (
        "/dashboard",
        f"/dashboard/runs/{started[0]}",
        "/dashboard/runs/R0000000000",
        "/api/kpis",
        "/api/other",
    ):
        refused = c.get(path)
        assert refused.status_code == 401, path
        assert (
            "AIMS_DASHBOARD_TOKEN" in refused.text
            and TOKEN not in refused.text
            and "Chatbot" not in refused.text
        )
    assert c.get("/dashboard").headers["www-authenticate"].startswith("Basic ")
    assert c.get("/api/kpis").json()["error"].startswith("this page needs the dashboard token")
    wrong = c.get("/dashboard", headers={"Authorization": "Bearer " + TOKEN[:-1]})
    assert wrong.status_code == 401
    assert c.get("/dashboard", headers={"Authorization": "Basic !!notbase64"}).status_code == 401

    assert c.get("/dashboard", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    basic = base64.b64encode(f"anyone:{TOKEN}".encode()).decode()
    assert c.get("/api/kpis", headers={"Authorization": f"Basic {basic}"}).status_code == 200
    assert c.get("/healthz").status_code == 200  # health and webhooks are not the dashboard's
    assert (
        TOKEN not in caplog.text
        and "refused GET '/dashboard' from 127.0.0.1: no token" in caplog.text
    )
    assert TOKEN not in repr(
        h.app.settings.model_copy(update={"dashboard_token": SecretStr(TOKEN)})
    )


def test_a_blank_token_is_no_token(harness, serve):
    assert serve(harness.app, token="  ").get("/dashboard").status_code == 200


def _drop_triggers(h) -> None:
    with h.db.begin() as conn:
        if h.db.dialect == "sqlite":
            conn.execute(text("DROP TRIGGER IF EXISTS evidence_no_update"))
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS evidence_no_update_delete ON evidence"))


def test_the_chain_status_is_cached_and_a_tampered_row_is_named(harness, answers, serve):
    h = harness
    _, started = h.add_system("Chatbot")
    c = serve(h.app)
    with h.db.connect() as conn:
        seq, head_hash = ledger.head(conn)
    page = plain(get(c))
    assert f"Evidence chain verified {seq} rows, head #{seq} {head_hash[:12]}" in page
    assert f"Last checked {h.clock.now():%Y-%m-%d %H:%M} UTC (full pass" in page

    # appends since: only they are checked, and the page says so
    h.clock.advance(minutes=10)
    h.complete(
        "identify", answers["risk.identify"], run_id=runs_of(h, started)["ai-risk-assessment"]
    )
    with h.db.connect() as conn:
        seq2, _ = ledger.head(conn)
    page = plain(get(c))
    assert (
        seq2 > seq
        and f"Evidence chain verified {seq2} rows" in page
        and "the rows appended since the full pass" in page
    )

    # an edit in place moves no head: seen at the next full pass, an hour after the last one
    _drop_triggers(h)
    with h.db.begin() as conn:
        conn.execute(text("UPDATE evidence SET actor = 'mallory@example.com' WHERE seq = 2"))
    assert "Evidence chain verified" in plain(get(c))
    h.clock.advance(minutes=51)
    page = plain(get(c))
    assert "Evidence chain BROKEN at row 2" in page and "row 2 (" in page and "was altered" in page
    assert "Evidence chain verified" not in page


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::", "aims.example.com"])
def test_serving_beyond_loopback_needs_a_token(host):
    from aims_workflows.errors import ConfigError
    from aims_workflows.web.dashboard import require_token_beyond_loopback

    with pytest.raises(ConfigError) as refused:
        require_token_beyond_loopback(host, None)
    assert "AIMS_DASHBOARD_TOKEN" in refused.value.hint and "--host 127.0.0.1" in refused.value.hint
    require_token_beyond_loopback(host, TOKEN)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"])
def test_loopback_needs_no_token(host):
    from aims_workflows.web.dashboard import require_token_beyond_loopback

    require_token_beyond_loopback(host, None)


def test_a_broken_workflow_file_is_named_and_the_dashboard_keeps_working(
    database, db_url, tmp_path, clock, make_harness, serve
):
    import shutil

    from aims_workflows.app import shipped_workflows_dir

    folder = tmp_path / "wf"
    shutil.copytree(shipped_workflows_dir(), folder)
    broken = folder / "management-review.yaml"
    broken.write_text(broken.read_text().replace("steps:", "stepz:", 1))
    h = make_harness(db_url, tmp_path, clock, workflows=folder)
    try:
        h.add_system("Chatbot")
        http = serve(h.app)
        page = http.get("/dashboard")
        assert page.status_code == 200
        text = plain(page.text)
        assert "Workflow files not loaded" in text
        assert "management-review.yaml" in text and "missing required key 'steps'" in text
        assert "Chatbot" in text  # the rest of the page is there
        assert http.get("/api/kpis").status_code == 200
    finally:
        h.app.db.dispose()


def test_each_kpi_card_says_how_it_is_measured(harness, serve, answers):
    from aims_workflows.kpi.queries import definitions

    h = harness
    _, started = h.add_system("Chatbot")
    impact = runs_of(h, started)["ai-impact-assessment"]
    for step in ("context", "impacts", "mitigate"):
        h.complete(step, answers["impact." + step], run_id=impact)
    h.decide("amy@example.com", run_id=impact)
    page = get(serve(h.app))
    for definition in definitions():
        shown = card(page, definition.key)
        assert "How it is measured" in shown
        assert f"Formula {definition.formula}" in shown and f"Owner {definition.owner}" in shown
    controls = card(page, "controls_with_current_evidence")
    assert controls.startswith("bad:") and "4 of 38 applicable current" in controls
    assert "Target >= 90% (kpi_targets.controls_with_current_evidence in aims.yaml)" in controls
    # the formula is also the label's tooltip
    assert 'title="controls whose latest evidence is at most' in page
