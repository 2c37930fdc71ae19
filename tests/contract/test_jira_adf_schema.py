"""Every Atlassian Document Format (ADF) body aims sends is held to Atlassian's own JSON schema
(``@atlaskit/adf-schema``'s ``json-schema/v1/full.json``, vendored with its licence under
``sandbox/jira/adf_schema/``), and the Jira sandbox refuses one that fails it with Jira's error
answer, through the real ``jira`` client."""

from __future__ import annotations

import hashlib
import json
from importlib import resources

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jira import JIRA
from jira.exceptions import JIRAError
from jira_fixtures import (  # noqa: F401  (fixtures; tests/contract is on sys.path)
    jira_clock,
    jira_openapi,
    jira_receiver,
    jira_receiver_server,
    jira_sandbox,
    jira_spec_dict,
    jira_spec_recorder,
)
from jsonschema import Draft4Validator
from test_jira_adapter import app, conn, create_command, tracker  # noqa: F401

from aims_workflows.adapters.jira import _adf as adf
from aims_workflows.engine.commands import CancelTask, RefuseAnswers
from aims_workflows.sandbox.jira import _adf as sandbox_adf

pytestmark = pytest.mark.filterwarnings("ignore:Unsupported scheme type:UserWarning")

# npm's @atlaskit/adf-schema 57.7.22, json-schema/v1/full.json, unmodified: a changed file
# must come with a new version in adf_schema/README.md
SCHEMA_SHA256 = "5128562b75278c8a83e7e3619a570205bc80d59696985ec31a7a7883cff66fbe"
_FOLDER = resources.files("aims_workflows.sandbox.jira").joinpath("adf_schema")


@pytest.fixture(scope="module")
def adf_schema() -> Draft4Validator:
    schema = json.loads(_FOLDER.joinpath("full.json").read_text("utf-8"))
    Draft4Validator.check_schema(schema)
    return Draft4Validator(schema)


def assert_valid(validator: Draft4Validator, document: dict) -> None:
    problems = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]
    assert problems == [], json.dumps(document)[:500]


def test_the_vendored_schema_is_atlassians_file_with_its_licence():
    data = _FOLDER.joinpath("full.json").read_bytes()
    assert hashlib.sha256(data).hexdigest() == SCHEMA_SHA256
    assert "Apache License" in _FOLDER.joinpath("LICENSE").read_text("utf-8")
    assert json.loads(data)["$ref"] == "#/definitions/doc_node"


_ANY_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)


@settings(max_examples=300, deadline=None)
@given(
    text=_ANY_TEXT,
    label=st.one_of(st.none(), _ANY_TEXT),
    items=st.lists(_ANY_TEXT, max_size=4),
    level=st.integers(min_value=-3, max_value=12),
)
def test_every_builder_makes_a_document_the_schema_accepts(adf_schema, text, label, items, level):
    # what the tracker builds from workflow texts, form labels, answers and refusal reasons,
    # including empty texts, empty lists and out-of-range heading levels
    document = adf.document(
        adf.paragraph(text, label=label),
        adf.heading(text, level),
        adf.bullets(items),
        adf.paragraph(""),
    )
    assert_valid(adf_schema, document)
    assert_valid(adf_schema, adf.from_text(text))
    assert_valid(adf_schema, adf.document())


def test_the_sandbox_schema_check_names_the_failing_node():
    broken = {"type": "doc", "version": 1, "content": [{"type": "bulletList", "content": []}]}
    assert sandbox_adf.schema_problem(broken) is not None
    empty_text = {
        "type": "doc",
        "version": 1,
        "content": [{"type": "paragraph", "content": [{"type": "text", "text": ""}]}],
    }
    assert (sandbox_adf.schema_problem(empty_text) or "").startswith("content/0/content/0")
    assert sandbox_adf.schema_problem(sandbox_adf.doc("one\n\nthree")) is None


# --- the sandbox refuses what Jira refuses, through the real client --------------------------
_EMPTY_TEXT = {
    "type": "doc",
    "version": 1,
    "content": [{"type": "paragraph", "content": [{"type": "text", "text": ""}]}],
}
_UNKNOWN_MARK = {
    "type": "doc",
    "version": 1,
    "content": [
        {"type": "paragraph", "content": [{"type": "text", "text": "x", "marks": [{"type": "b"}]}]}
    ],
}


def _client(jira_sandbox) -> JIRA:
    return JIRA(
        jira_sandbox.url,
        basic_auth=jira_sandbox.credentials(),
        options={"rest_api_version": "3"},
        max_retries=0,
    )


def test_an_invalid_description_gets_jiras_400(jira_sandbox):
    client = _client(jira_sandbox)
    for document in (_EMPTY_TEXT, _UNKNOWN_MARK):
        with pytest.raises(JIRAError) as err:
            client.create_issue(
                project="AIMS", issuetype={"name": "Task"}, summary="s", description=document
            )
        assert err.value.status_code == 400
        assert err.value.response.json() == {
            "errorMessages": [],
            "errors": {"description": sandbox_adf.NOT_VALID_ADF},
        }
    assert not jira_sandbox.state.issues  # nothing half made
    issue = client.create_issue(
        project="AIMS", issuetype={"name": "Task"}, summary="s", description=adf.from_text("ok")
    )
    with pytest.raises(JIRAError) as err:
        issue.update(fields={"description": _EMPTY_TEXT})
    assert err.value.status_code == 400
    assert err.value.response.json()["errors"] == {"description": sandbox_adf.NOT_VALID_ADF}


def test_an_invalid_comment_gets_jiras_400(jira_sandbox):
    client = _client(jira_sandbox)
    issue = client.create_issue(project="AIMS", issuetype={"name": "Task"}, summary="s")
    with pytest.raises(JIRAError) as err:
        client.add_comment(issue.key, _EMPTY_TEXT)
    assert err.value.status_code == 400
    assert err.value.response.json() == {
        "errorMessages": [],
        "errors": {"comment": "Comment body is not valid!"},
    }
    with pytest.raises(JIRAError) as err:
        issue.update(update={"comment": [{"add": {"body": _UNKNOWN_MARK}}]})
    assert err.value.status_code == 400
    assert not client.comments(issue.key)
    client.add_comment(issue.key, adf.document(adf.paragraph("fine", label="Note: ")))
    assert len(client.comments(issue.key)) == 1


# --- what the tracker sends at the edges of its input passes ---------------------------------
def test_the_tracker_sends_valid_documents_for_empty_and_odd_texts(tracker, jira_sandbox):
    """Empty description, a form without fields, blank lines, refusal without problems and a
    cancellation without a reason: each would have been an empty text node or an empty list."""
    key = tracker.perform(
        create_command(description="\n\n  \n", form=[], previous_answers={"x": "1"})
    )["ref"]
    description = jira_sandbox.issue_json(key)["fields"]["description"]
    assert sandbox_adf.schema_problem(description) is None
    tracker.perform(
        RefuseAnswers(
            key="R1/identify/1/refused/1",
            run_id="R1",
            step_id="identify",
            ref=key,
            problems=(),
            task_key="R1/identify/1/task",
        )
    )
    tracker.perform(
        CancelTask(
            key="R1/identify/1/cancel",
            run_id="R1",
            ref=key,
            task_key="R1/identify/1/task",
            reason="",
        )
    )
    comments = jira_sandbox.issue_json(key)["fields"]["comment"]["comments"]
    assert len(comments) == 2
    assert all(sandbox_adf.schema_problem(c["body"]) is None for c in comments)
