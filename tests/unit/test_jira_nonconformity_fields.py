"""What a Jira issue of type Nonconformity says as a finding: its labels give the source and the
requirement, its priority the severity; what it lacks is said with what to add."""

from __future__ import annotations

import pytest

from aims_workflows.adapters.jira._nonconformity import finding_from_issue, is_nonconformity
from aims_workflows.findings import SOURCES, FindingError
from aims_workflows.findings.report import DESCRIPTION_MAX


def fields(**extra):
    return {
        "issuetype": {"name": "Nonconformity"},
        "summary": "Supplier model card missing",
        "priority": {"name": "Medium"},
        "labels": ["external-audit"],
        **extra,
    }


def test_labels_priority_and_description_make_the_finding():
    report = finding_from_issue(
        "10044",
        "AIMS-7",
        fields(
            labels=["Source:Certification-Audit", "a.10.3", "stage-1"],
            priority={"name": "Highest"},
            description={
                "type": "doc",
                "version": 1,
                "content": [{"type": "paragraph", "content": [{"type": "text", "text": "S1-4"}]}],
            },
        ),
    )
    assert (report.source_type, report.severity, report.clause, report.description) == (
        "certification-audit",
        "major",
        "A.10.3",
        "S1-4",
    )
    assert (report.raised_by, report.tracker_issue, report.tracker_issue_id) == (
        "jira:AIMS-7",
        "AIMS-7",
        "10044",
    )


@pytest.mark.parametrize(
    ("labels", "words"),
    [
        ([], "its labels: none"),
        (["rumour", "8.2"], "its labels: rumour, 8.2"),
        (["incident", "complaint"], "it has several"),
    ],
)
def test_an_issue_without_exactly_one_source_says_which_to_add(labels, words):
    with pytest.raises(FindingError) as caught:
        finding_from_issue("1", "AIMS-1", fields(labels=labels))
    assert words in caught.value.message
    assert caught.value.hint == f"add one label of: {', '.join(SOURCES)}"


def test_a_long_description_points_to_the_issue_instead_of_being_refused():
    report = finding_from_issue("1", "AIMS-3", fields(description="x" * (DESCRIPTION_MAX + 500)))
    assert report.description is not None and len(report.description) <= DESCRIPTION_MAX
    assert report.description.endswith("[... the rest is in AIMS-3]")


def test_only_the_nonconformity_type_is_taken():
    assert is_nonconformity(fields())
    assert is_nonconformity(fields(issuetype={"name": "nonconformity"}))
    assert not is_nonconformity(fields(issuetype={"name": "Task"}))
    assert not is_nonconformity({"issuetype": "Nonconformity"})
