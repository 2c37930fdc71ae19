"""The inventory record an "AI system proposal" issue proposes, and what a bad one is told."""

from __future__ import annotations

from typing import Any

import pytest

from aims_workflows.adapters.jira._proposal import ProposalError, record_from_issue
from aims_workflows.adapters.jira._reported import is_of_type


def fields(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "issuetype": {"name": "AI system proposal"},
        "summary": "Claims triage assistant",
        "description": {
            "type": "doc",
            "version": 1,
            "content": [
                {"type": "paragraph", "content": [{"type": "text", "text": "Sorts claims."}]}
            ],
        },
        "labels": [],
    }
    return {**base, **changes}


def test_the_record_is_at_inception_and_out_of_scope():
    record = record_from_issue("AIMS-7", fields(), "Pia@Example.com")
    assert (record.name, record.owner, record.business_purpose) == (
        "Claims triage assistant",
        "pia@example.com",
        "Sorts claims.",
    )
    assert (record.lifecycle_stage, record.in_scope) == ("inception", False)


def test_labels_fill_the_other_fields_and_may_name_the_owner():
    labels = ["owner:olga@example.com", "deployment-scale:internal", "jurisdictions:EU", "team-x"]
    labels += ["jurisdictions:UK", "dependencies:vendor-llm"]
    record = record_from_issue("AIMS-7", fields(labels=labels), "pia@example.com")
    assert record.owner == "olga@example.com"
    assert record.deployment_scale == "internal"
    assert record.jurisdictions == ["EU", "UK"]
    assert record.dependencies == ["vendor-llm"]


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"summary": "   "}, "has no summary"),
        ({"summary": None}, "has no summary"),
        ({"summary": "n" * 201}, "201 characters long"),
        ({"labels": ["deployment_scale:everywhere"]}, "deployment_scale"),
        ({"labels": ["model_type:a", "model_type:b"]}, "model_type twice"),
        ({"labels": ["owner:nobody"]}, "not an e-mail address"),
    ],
)
def test_a_bad_proposal_says_what_to_fix(changes, says):
    with pytest.raises(ProposalError) as caught:
        record_from_issue("AIMS-7", fields(**changes), "pia@example.com")
    assert says in str(caught.value)
    assert caught.value.hint


def test_an_unknown_owner_is_asked_for():
    with pytest.raises(ProposalError, match="owner of the system proposed in AIMS-7"):
        record_from_issue("AIMS-7", fields(), None)


def test_only_the_proposal_type_is_taken():
    assert is_of_type(fields(), "AI system proposal")
    assert is_of_type(fields(issuetype={"name": "ai system PROPOSAL"}), "AI system proposal")
    assert not is_of_type(fields(issuetype={"name": "Task"}), "AI system proposal")
    assert not is_of_type({"issuetype": "AI system proposal"}, "AI system proposal")
