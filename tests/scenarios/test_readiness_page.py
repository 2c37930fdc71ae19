"""``/dashboard/readiness`` and ``/api/readiness`` through the real web app served on loopback
(SQLite and PostgreSQL): the same list as ``aims readiness``, linked from the dashboard, behind
the dashboard's token, with a bad stage answered 400."""

from __future__ import annotations

from datetime import date

from test_dashboard import TOKEN, part, plain, serve  # noqa: F401 - the fixture that serves the app

from aims_workflows.documents.model import DocumentFields
from aims_workflows.documents.register import DocumentRegister


def test_the_page_lists_every_requirement_with_its_fix(harness, serve):  # noqa: F811
    h = harness
    DocumentRegister(h.rt, h.app.config, h.config_path.parent).add(
        "AIMS-POL-1",
        DocumentFields(
            requirement="policy",
            title="AI policy <draft>",
            version="0.9<b>",
            author="amy@example.com",
            location="https://wiki.example.com/policy?a=1&b=2",
        ),
        today=date(2026, 1, 5),
    )
    c = serve(h.app)
    dashboard = c.get("/dashboard")
    assert 'href="/dashboard/readiness"' in dashboard.text

    page = c.get("/dashboard/readiness")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    text = plain(page.text)
    assert "Certification readiness: Stage 2" in text and "✗ Not ready for Stage 2" in text
    requirements = plain(part(page.text, "requirements"))
    # the scope has a shipped workflow: running it is the fix
    assert "4.3 Scope of the AI management system (scope) missing no aims-scope run yet" in (
        requirements
    )
    assert "aims start aims-scope" in requirements
    assert "aims documents add REF --requirement risk-criteria" in requirements
    # what people typed is escaped, never markup
    assert "AIMS-POL-1 v0.9<b> is a draft: not approved" in requirements
    assert "<b>" not in page.text and "v0.9&lt;b&gt;" in page.text
    # policy and nonconformities (no audit held yet) are partial; the rest missing
    assert "14 missing, 2 partial" in text
    clauses = plain(part(page.text, "clauses"))
    assert "6.1 missing" in clauses

    api = c.get("/api/readiness?stage=1")
    assert api.status_code == 200
    data = api.json()
    assert data["stage"] == 1 and data["ready"] is False
    lines = {line["key"]: line for line in data["requirements"]}
    assert lines["policy"]["status"] == "partial" and lines["audit-results"]["required"] is False

    stage1 = c.get("/dashboard/readiness?stage=1")
    assert "Certification readiness: Stage 1" in plain(stage1.text)


def test_a_bad_stage_is_400_and_the_token_guards_both(harness, serve):  # noqa: F811
    open_ = serve(harness.app)
    for bad in ("3", "x", "", "1%00"):
        page = open_.get(f"/dashboard/readiness?stage={bad}")
        assert page.status_code == 400 and "stage must be 1 or 2" in page.text, bad
        api = open_.get(f"/api/readiness?stage={bad}")
        assert api.status_code == 400 and api.json() == {
            "error": "stage must be 1 or 2, as in ?stage=1"
        }

    guarded = serve(harness.app, token=TOKEN)
    for path in ("/dashboard/readiness", "/api/readiness"):
        assert guarded.get(path).status_code == 401, path
        allowed = guarded.get(path, headers={"Authorization": f"Bearer {TOKEN}"})
        assert allowed.status_code == 200, path
