"""The KPI formulas (kpi/formulas.py, shipped in the audit pack as evidence/aims_kpis.py): every
KPI aims measures is its formula applied to the base measures it kept, and those base measures,
written as JSON and read back as the pack's verifier reads them, give the same row of kpis.csv;
facts that fit no formula are refused by name. And the pack's JSON reading gives what
json.loads gives."""

from __future__ import annotations

import json

import pytest
from export_world import assessed_world, audit_with_a_finding, use_soa
from kpi_world import add_finding, kpis

from aims_workflows.export.pack import auditor
from aims_workflows.kpi import formulas, kpis_csv
from aims_workflows.kpi.queries import definitions


def _rows_from_facts(found: dict) -> str:
    """kpis.csv as the verifier makes it: from each KPI's facts, through JSON and back."""
    defined = {d.key: d for d in definitions()}
    entries = [
        {
            "key": k.key,
            "label": k.label,
            "unit": k.unit,
            "target": k.target,
            "direction": defined[k.key].direction,
            "facts": json.loads(json.dumps(k.facts)),
        }
        for k in found.values()
    ]
    return formulas.csv_text(formulas.rebuilt(entry) for entry in entries)


def test_every_kpi_is_its_formula_over_the_facts_it_kept(harness, answers):
    h = harness
    use_soa(h)
    moments = [kpis(h)]  # nothing yet: n/a readings have facts too
    assessed_world(h, answers)
    moments.append(kpis(h))
    audit_with_a_finding(h, answers)
    add_finding(h, "F-OPEN", "incident", h.clock.now())
    h.clock.advance(days=400)  # assessments expired, the open finding aged
    moments.append(kpis(h))
    for found in moments:
        assert set(found) == {d.key for d in definitions()}
        assert all(k.facts and k.facts["formula"] in formulas.FORMULAS for k in found.values())
        assert _rows_from_facts(found) == kpis_csv(list(found.values()))
    last = moments[-1]
    assert last["risk_assessment_coverage"].value == 0  # the world did change between moments
    assert last["open_findings"].value and last["mean_days_to_close_nonconformity"].value


def test_facts_no_formula_can_use_are_refused_by_name():
    with pytest.raises(ValueError, match="no KPI formula is called 'median_guess'"):
        formulas.apply({"formula": "median_guess"})
    with pytest.raises(ValueError, match="the facts of formula 'coverage' do not fit it"):
        formulas.apply({"formula": "coverage", "current": 3})
    assert formulas.apply({"formula": "coverage", "current": 3, "in_scope": 4}) == (
        0.75,
        "3 of 4",
        None,
    )


@pytest.mark.parametrize(
    "text",
    [
        '[1,"a",{"b":null}]',
        ' {"a": 1} ',
        '{"a": 1}\n',
        "1 2",
        "",
        "   ",
        "[1,",
        "-Infinity",
        '"\\u00fc"',
    ],
)
def test_the_packs_json_reading_is_json_loads(text):
    try:
        want = json.loads(text)
    except ValueError as err:
        with pytest.raises(ValueError) as raised:
            auditor.loads(text)
        assert str(raised.value) == str(err)
    else:
        assert auditor.loads(text) == want
