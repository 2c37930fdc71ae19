"""The clause report's roll-up (``aims export clauses``): a parent clause is implemented only
when every one of its sub-clauses is, and a workflow that names a clause names the whole of it."""

from __future__ import annotations

import csv
import io

from export_world import assessed_world, audit_with_a_finding
from review_world import management_review
from test_export_soa import coverage

from aims_workflows.export.soa.render import clauses_csv


def test_a_parent_is_implemented_only_when_every_sub_clause_is(harness, answers):
    h = harness
    assessed_world(h, answers)
    audit_with_a_finding(h, answers)
    management_review(h, ["Hire an auditor"])
    report = coverage(h)
    clauses = {c.id: c for c in report.clauses}

    # 6.1.2-6.1.4 have completed runs, 6.1.1 has none: 6.1 and 6 are partial, not implemented
    assert {clauses[i].status for i in ("6.1.2", "6.1.3", "6.1.4")} == {"implemented"}
    # gap-analysis names 6.1.1 but has not run: no evidence yet, though not a gap
    assert clauses["6.1.1"].status == "no_evidence" and clauses["6.1.1"].runs_completed == 0
    assert clauses["6.1"].status == clauses["6"].status == "partial"
    assert "sub-clauses without evidence: 6.1.1" in clauses["6.1"].notes
    assert "sub-clauses without evidence: 6.1, 6.2, 6.3" in clauses["6"].notes
    # the management review gives 4.1 and 4.2 evidence; 4.3 and 4.4 have none: 4 is not implemented
    assert clauses["4.1"].status == "implemented" and clauses["4.3"].status == "no_evidence"
    assert clauses["4"].status == "partial"
    assert clauses["4"].status_label == "evidence for some sub-clauses, not all"

    # internal-audit names 9.2 and management-review 9.3: their sub-clauses are named with them,
    # so 9.2 and 9.3 are implemented once runs complete; 9 is, as all of 9.1-9.3 are
    for sub in ("9.2.1", "9.2.2", "9.3.1", "9.3.2", "9.3.3"):
        assert clauses[sub].status == "implemented", sub
        assert not clauses[sub].gap
    assert "internal-audit" in clauses["9.2.1"].workflows
    assert clauses["9.2"].status == clauses["9.3"].status == clauses["9"].status == "implemented"

    summary = report.summary()
    assert "4" in summary["clauses_partial"] and "9" not in summary["clauses_partial"]
    rows = {r["clause"]: r for r in csv.DictReader(io.StringIO(clauses_csv(report)))}
    assert rows["4"]["status"] == "partial"
